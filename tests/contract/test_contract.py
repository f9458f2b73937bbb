"""Every shared adapter check, over every registered provider against its simulator.

Nothing here names a provider: :mod:`tests.contract.conftest` runs each test once per
provider and variant. A provider's own peculiarities (its protocol's quirks, its
answers' forms) are tested in its own module beside this one.
"""

from collections.abc import AsyncIterator

import httpx
import pytest

from hub.adapters.signing.base import (
    HealthStatus,
    SigningAdapter,
    SigningError,
    Signs,
    Transaction,
    TransactionState,
)
from hub.adapters.signing.simulator import Enrolled, Faults, Phone, Simulation
from hub.domain.problems import Code
from tests import signing_support as support

TEACHER, STRANGER = "001085012345", "079199999999"
SCHOOL_CODE, SCHOOL = "01LB9999", "Trường Tiểu học Hợp Đồng"
DESCRIPTIONS = [f"Học bạ 2025-2026 — học sinh số {n}, lớp 6A1" for n in range(1, 4)]


@pytest.fixture(scope="module")
def enrolled(simulation: Simulation) -> Enrolled:
    """The key the checks sign with: a teacher's, or a school's seal."""
    if simulation.entry.signs is Signs.SEALS:
        return simulation.enrol(name=SCHOOL, school_code=SCHOOL_CODE)
    return simulation.enrol(name="Nguyễn Thị Lan", personal_id=TEACHER)


@pytest.fixture(autouse=True)
def well_behaved(simulation: Simulation) -> None:
    """Every check starts with the provider up, healthy, and a phone approving after 0.2 s."""
    if simulation.back_office is not None:
        simulation.back_office.faults = Faults()
        simulation.back_office.phone = Phone(confirm_delay=0.2)
    if simulation.server is not None:
        simulation.server.start()


@pytest.fixture
async def adapter(simulation: Simulation) -> AsyncIterator[SigningAdapter]:
    connected = simulation.connect()
    yield connected
    await connected.aclose()


async def sign(adapter: SigningAdapter, enrolled: Enrolled, count: int = 3) -> Transaction:
    [credential] = await adapter.list_credentials(enrolled.user_id)
    return await adapter.sign_hashes(credential, support.digests(count), DESCRIPTIONS[:count])


# --- what every provider does ----------------------------------------------------------------


async def test_lists_the_enrolled_credential(
    adapter: SigningAdapter, enrolled: Enrolled, simulation: Simulation
) -> None:
    [credential] = await adapter.list_credentials(enrolled.user_id)
    assert credential.provider == simulation.entry.provider == adapter.provider
    assert credential.credential_id == enrolled.credential_id
    assert credential.certificate == enrolled.certificate
    assert credential.user_id == enrolled.user_id and credential.status == "ACTIVE"
    assert credential.chain, "the issuing CA comes with the certificate"
    credential.certificate.verify_directly_issued_by(credential.chain[0])
    again = await adapter.credential(enrolled.user_id, credential.credential_id)
    assert (again.credential_id, again.certificate) == (
        credential.credential_id,
        enrolled.certificate,
    )
    await support.refused(
        adapter.credential(enrolled.user_id, "no-such-credential"),
        Code.CREDENTIAL_NOT_FOUND,
        adapter.provider,
    )


async def test_signs_a_batch_with_one_confirmation(
    adapter: SigningAdapter, enrolled: Enrolled
) -> None:
    [credential] = await adapter.list_credentials(enrolled.user_id)
    sent = support.digests(3)
    transaction = await adapter.sign_hashes(credential, sent, DESCRIPTIONS)
    assert transaction.count == 3 and transaction.provider == adapter.provider
    support.assert_signed_by(credential, await support.settle(adapter, transaction), sent)


async def test_a_restarted_worker_polls_a_stored_transaction_with_a_new_adapter(
    simulation: Simulation, enrolled: Enrolled
) -> None:
    first = simulation.connect()
    [credential] = await first.list_credentials(enrolled.user_id)
    sent = support.digests(2)
    transaction = await first.sign_hashes(credential, sent, DESCRIPTIONS[:2])
    await first.aclose()
    stored = Transaction.from_json(transaction.to_json(), provider=first.provider)
    assert stored == transaction
    second = simulation.connect()
    support.assert_signed_by(credential, await support.settle(second, stored), sent)
    await second.aclose()


async def test_more_digests_than_the_credential_allows_is_the_callers_mistake(
    adapter: SigningAdapter, enrolled: Enrolled
) -> None:
    [credential] = await adapter.list_credentials(enrolled.user_id)
    too_many = credential.max_batch + 1
    with pytest.raises(ValueError, match="digests"):
        await adapter.sign_hashes(credential, support.digests(too_many), ["x"] * too_many)
    with pytest.raises(ValueError):
        await adapter.sign_hashes(credential, [], [])


async def test_health_is_up_with_its_latency(enrolled: Enrolled, adapter: SigningAdapter) -> None:
    """Up with a key to sign with: a seal provider without any school's token is down (so
    the key is enrolled first, whatever order the checks run in)."""
    health = await adapter.health()
    assert health.provider == adapter.provider
    assert health.status is HealthStatus.UP and health.latency_ms is not None


async def test_the_hubs_own_account_refused_is_bad_credentials(
    simulation: Simulation, enrolled: Enrolled
) -> None:
    misconfigured = simulation.connect(**simulation.misconfigured)
    await support.refused(
        misconfigured.list_credentials(enrolled.user_id),
        Code.PROVIDER_BAD_CREDENTIALS,
        misconfigured.provider,
    )
    await misconfigured.aclose()


async def test_a_poll_refused_for_the_hubs_account_ends_the_transaction(
    adapter: SigningAdapter, simulation: Simulation, enrolled: Enrolled
) -> None:
    """The one classification (``base.ends_transaction``): a refusal of the hub's own
    account ends the transaction with the reason; it is never raised for a job to retry.
    A transaction that already carries its signatures needs no call and is signed."""
    transaction = await sign(adapter, enrolled)
    misconfigured = simulation.connect(**simulation.misconfigured)
    result = await misconfigured.poll(transaction)
    await misconfigured.aclose()
    if result.state is not TransactionState.SIGNED:
        assert result.state is TransactionState.FAILED and result.error is not None
        support.assert_refusal(result.error, Code.PROVIDER_BAD_CREDENTIALS, adapter.provider)


@pytest.mark.people
async def test_an_unknown_user_is_named(adapter: SigningAdapter) -> None:
    """Providers of people's keys only: a seal token answers for its own school alone."""
    await support.check_unknown_user(adapter, STRANGER)


async def test_refusals_name_the_provider_as_people_know_it(simulation: Simulation) -> None:
    error = SigningError(Code.PROVIDER_UNAVAILABLE, simulation.entry.provider, "down")
    assert simulation.entry.name in error.problem.message


# --- a provider that misbehaves -------------------------------------------------------------


@pytest.mark.remote
async def test_a_provider_that_is_down_fails_fast_and_comes_back(
    adapter: SigningAdapter, simulation: Simulation, enrolled: Enrolled
) -> None:
    assert simulation.server is not None
    await support.check_down_and_back(adapter, simulation.server, enrolled.user_id)


@pytest.mark.remote
async def test_a_server_error_is_provider_failure(
    adapter: SigningAdapter, simulation: Simulation, enrolled: Enrolled
) -> None:
    assert simulation.back_office is not None
    await support.check_server_error(adapter, simulation.back_office, enrolled.user_id, 503)


@pytest.mark.remote
async def test_a_provider_slower_than_the_timeout_is_unavailable(
    simulation: Simulation, enrolled: Enrolled
) -> None:
    assert simulation.back_office is not None
    adapter = simulation.connect(timeout=httpx.Timeout(0.3))
    await support.check_too_slow(adapter, simulation.back_office, enrolled.user_id, 0.6)
    await adapter.aclose()


@pytest.mark.remote
async def test_a_poll_while_the_provider_is_down_keeps_the_transaction(
    adapter: SigningAdapter, simulation: Simulation, enrolled: Enrolled
) -> None:
    """The other half of the classification: "provider down" says nothing about the
    transaction, so the poll raises it, and a later poll finds the transaction signed."""
    assert simulation.server is not None
    transaction = await sign(adapter, enrolled)
    simulation.server.stop()
    try:
        with pytest.raises(SigningError) as caught:
            await adapter.poll(transaction)
        support.assert_refusal(caught.value, Code.PROVIDER_UNAVAILABLE, adapter.provider)
    finally:
        simulation.server.start()
    assert (await support.settle(adapter, transaction)).state is TransactionState.SIGNED


@pytest.mark.parametrize(("fault", "code"), support.REFUSING_FAULTS)
@pytest.mark.remote
async def test_the_provider_refuses_to_sign(
    adapter: SigningAdapter, simulation: Simulation, enrolled: Enrolled, fault: str, code: Code
) -> None:
    """Refused when asked, or the transaction ends with the refusal: either way, its code."""
    [credential] = await adapter.list_credentials(enrolled.user_id)
    setattr(simulation.back_office.faults, fault, True)
    try:
        transaction = await adapter.sign_hashes(credential, support.digests(), DESCRIPTIONS)
    except SigningError as error:
        support.assert_refusal(error, code, adapter.provider)
        return
    await support.assert_ends(adapter, transaction, TransactionState.FAILED, code)


@pytest.mark.remote
async def test_a_certificate_revoked_before_the_confirmation_fails_the_transaction(
    adapter: SigningAdapter, simulation: Simulation, enrolled: Enrolled
) -> None:
    assert simulation.back_office is not None
    transaction = await sign(adapter, enrolled)
    simulation.back_office.faults.certificate_revoked = True
    await support.assert_ends(
        adapter, transaction, TransactionState.FAILED, Code.CERTIFICATE_REVOKED
    )


@pytest.mark.parametrize(("phone", "state", "code"), support.UNCONFIRMED)
@pytest.mark.remote
async def test_the_signer_does_not_confirm(
    adapter: SigningAdapter,
    simulation: Simulation,
    enrolled: Enrolled,
    phone: Phone,
    state: TransactionState,
    code: Code,
) -> None:
    assert simulation.back_office is not None
    simulation.back_office.phone = phone
    await support.assert_ends(adapter, await sign(adapter, enrolled), state, code)
