"""The population database's family-relationship contract: the hub's client against the
simulator of the far side, over real HTTP on loopback (hub/adapters/population)."""

from collections.abc import AsyncIterator, Iterator

import pytest

from hub.adapters.national.simulator import FarSideFaults
from hub.adapters.population import protocol
from hub.adapters.population.client import PopulationClient
from hub.adapters.population.protocol import RelationshipQuery
from hub.adapters.population.simulator import PopulationSimulator
from hub.adapters.signing.simulator import SimulatorServer
from hub.domain.enums import RelationshipAnswer, Sex
from hub.domain.personal_id import compose

CHILD = compose("001", 2014, Sex.FEMALE, 810_001)
FATHER = compose("001", 1984, Sex.MALE, 810_002)
MOTHER = compose("001", 1986, Sex.FEMALE, 810_003)
AUNT = compose("001", 1980, Sex.FEMALE, 810_004)  # a citizen, but not the child's guardian
STRANGER = compose("001", 1980, Sex.MALE, 810_005)  # no citizen holds this number


@pytest.fixture(scope="module")
def far_side() -> Iterator[tuple[PopulationSimulator, SimulatorServer]]:
    simulator = PopulationSimulator()
    simulator.add_relationship(CHILD, FATHER, protocol.FATHER)
    simulator.add_relationship(CHILD, MOTHER, protocol.MOTHER)
    simulator.add_citizen(AUNT, "Lê Thị Dì", "1980-02-02")
    server = SimulatorServer(simulator.app()).start()
    yield simulator, server
    server.stop()


@pytest.fixture
async def client(
    far_side: tuple[PopulationSimulator, SimulatorServer],
) -> AsyncIterator[PopulationClient]:
    simulator, server = far_side
    simulator.faults = FarSideFaults()
    server.start()
    population = PopulationClient(server.url)
    yield population
    await population.aclose()


def ask(ref: str, guardian: str, relation: str, child: str = CHILD) -> RelationshipQuery:
    return {
        "ref": ref,
        "childPersonalId": child,
        "guardianPersonalId": guardian,
        "relation": relation,
    }


async def test_each_relationship_gets_its_answer(client: PopulationClient) -> None:
    answers = await client.verify_relationships(
        [
            ask("father", FATHER, protocol.FATHER),
            ask("mother", MOTHER, protocol.MOTHER),
            ask("mother-as-father", MOTHER, protocol.FATHER),  # recorded, but another relation
            ask("aunt", AUNT, protocol.GUARDIAN),  # both citizens, nothing recorded
            ask("stranger", STRANGER, protocol.FATHER),
            ask("unknown-child", FATHER, protocol.FATHER, child=STRANGER),
        ]
    )
    assert answers == {
        "father": RelationshipAnswer.MATCHED,
        "mother": RelationshipAnswer.MATCHED,
        "mother-as-father": RelationshipAnswer.MISMATCHED,
        "aunt": RelationshipAnswer.MISMATCHED,
        "stranger": RelationshipAnswer.UNKNOWN,
        "unknown-child": RelationshipAnswer.UNKNOWN,
    }


async def test_relationships_seeded_over_http_are_answered(far_side, client) -> None:
    simulator, server = far_side
    child = compose("001", 2015, Sex.MALE, 810_010)
    guardian = compose("001", 1970, Sex.FEMALE, 810_011)
    seeded = await client.http.client.post(
        f"{server.url}/_sim/relationships",
        json=[{"childPersonalId": child, "guardianPersonalId": guardian, "relation": "GUARDIAN"}],
    )
    assert seeded.status_code == 200
    answers = await client.verify_relationships([ask("g", guardian, "GUARDIAN", child=child)])
    assert answers == {"g": RelationshipAnswer.MATCHED}
    assert simulator.relationships[(child, guardian)] == "GUARDIAN"


async def test_a_far_side_failing_is_unreachable_for_every_request(far_side, client) -> None:
    simulator, _ = far_side
    simulator.faults = FarSideFaults(server_error=503)
    answers = await client.verify_relationships(
        [ask("father", FATHER, protocol.FATHER), ask("stranger", STRANGER, protocol.FATHER)]
    )
    assert answers == {
        "father": RelationshipAnswer.UNREACHABLE,
        "stranger": RelationshipAnswer.UNREACHABLE,
    }
    simulator.faults = FarSideFaults(fail_next=1)  # then all is well again
    again = await client.verify_relationships([ask("father", FATHER, protocol.FATHER)])
    assert again == {"father": RelationshipAnswer.UNREACHABLE}
    assert await client.verify_relationships([ask("father", FATHER, protocol.FATHER)]) == {
        "father": RelationshipAnswer.MATCHED
    }


async def test_a_far_side_down_is_unreachable_for_every_request(far_side, client) -> None:
    _, server = far_side
    server.stop()
    try:
        answers = await client.verify_relationships([ask("father", FATHER, protocol.FATHER)])
    finally:
        server.start()
    assert answers == {"father": RelationshipAnswer.UNREACHABLE}


async def test_more_than_one_batch_is_sent_in_batches(far_side, client) -> None:
    simulator, _ = far_side
    before = simulator.requests
    count = protocol.MAX_REQUESTS + 1
    answers = await client.verify_relationships(
        [ask(str(n), FATHER, protocol.FATHER) for n in range(count)]
    )
    assert len(answers) == count and set(answers.values()) == {RelationshipAnswer.MATCHED}
    assert simulator.requests - before == 2


async def test_the_simulator_refuses_what_is_not_a_batch(far_side, client) -> None:
    _, server = far_side
    http = client.http.client
    too_many = [ask(str(n), FATHER, protocol.FATHER) for n in range(protocol.MAX_REQUESTS + 1)]
    assert (
        await http.post(f"{server.url}{protocol.RELATIONSHIPS_PATH}", json={})
    ).status_code == 400
    big = await http.post(f"{server.url}{protocol.RELATIONSHIPS_PATH}", json={"requests": too_many})
    assert big.status_code == 413
