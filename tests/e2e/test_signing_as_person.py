"""Programs sign for a person (issue 11): a human signature is the signer's own.

The hub runs in production mode, where a program on its own may not name a human
signer. A school's app holds a person-bound token for each of its staff (each person
approved the app at /oauth/authorize, the app traded the code with its PKCE verifier)
and a client-credentials token of its own: the
homeroom teacher and the principal sign as themselves and as nobody else, the school
seal stays the school's machine signature, and a bulk signing batch is started by the
signer and signed by them alone — by the provider simulators on loopback and a
Dramatiq worker on a real Redis, the hub driven through GraphQL. Each test works on a
school of its own and signs what the story signed before it first (:func:`signed`).
"""

import dataclasses
import itertools
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from strawberry.relay import GlobalID

from hub.config import Mode, Settings
from hub.db import models
from hub.db.engine import Database
from hub.demo.signing import DemoSigning
from hub.domain.enums import OrgLevel, SigningProvider
from hub.jobs.core import Next
from hub.web.app import create_app
from tests import signing_support as support
from tests.helpers import (
    ALL_SCOPES,
    APP_REDIRECT_URI,
    data,
    error_codes,
    gql,
    register,
    token_for,
    token_through_authorize,
)
from tests.schools import SigningSchool, signing_school
from tests.signing_support import REQUEST, START, gid, sign_through_hub, until_done

VERIFY = """query($id: ID!) { verifyTranscript(id: $id) { verdict
  xml { signatures { role signerName personalId schoolCode verdict } }
  pdf { signatures { role signerName personalId schoolCode verdict } } } }"""
TRANSCRIPT = "query($id: ID!) { node(id: $id) { ... on Transcript { state } } }"

demo = support.demo
worker = support.worker
_schools = itertools.count(1)


@pytest.fixture
async def school(db: Database, world: Any, demo: DemoSigning) -> SigningSchool:
    """The test's own school, two classes of four ready transcripts: the first class's
    teacher signs at Ban Cơ yếu, the second's at MySign, the principal at a CSC server,
    the seal on a token."""
    return await signing_school(
        db,
        demo,
        code=f"01PERSON{next(_schools)}",
        school_year_id=world.current_year_id,
        teacher_providers=[SigningProvider.BCY, SigningProvider.MYSIGN],
        principal_provider=SigningProvider.CSC,
        per_class=4,
    )


class Outbox:
    """The hub's way to the job queue: straight to the broker, or held while a test
    changes the records between a batch's start and its first step."""

    def __init__(self, send: Callable[[Iterable[Next]], None]) -> None:
        self.send = send
        self.held: list[Next] | None = None

    def __call__(self, work: Iterable[Next]) -> None:
        if self.held is None:
            self.send(work)
        else:
            self.held.extend(work)

    def hold(self) -> None:
        self.held = []

    def release(self) -> None:
        held, self.held = self.held or [], None
        self.send(held)


@pytest.fixture
def outbox(worker: Any) -> Outbox:
    from hub.jobs.actors import send

    return Outbox(send)


@pytest.fixture(scope="module")
def production(settings: Settings, app: Any) -> Settings:
    """The tests' settings in production mode (the session's app made the token key,
    which production requires to exist)."""
    return settings.model_copy(update={"mode": Mode.PRODUCTION})


@pytest.fixture
async def hub(
    production: Settings, db: Database, demo: DemoSigning, outbox: Outbox
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(production, db, signing=demo.signing, send_jobs=outbox)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


@dataclasses.dataclass(frozen=True)
class Tokens:
    """The school app's tokens: its own, and one for each person it acts for."""

    client_id: str
    app: str  # client credentials: the program on its own
    teacher: str  # the first class's homeroom teacher
    other_teacher: str  # the second class's
    principal: str


@pytest.fixture
async def tokens(
    production: Settings, db: Database, hub: httpx.AsyncClient, school: SigningSchool
) -> Tokens:
    client_id, secret = await register(
        db, org=OrgLevel.SCHOOL, schools=[school.code], redirect_uris=[APP_REDIRECT_URI]
    )

    async def for_person(personal_id: str) -> str:
        """The person approves the app at /oauth/authorize; the app trades the code."""
        return await token_through_authorize(
            hub,
            db,
            production,
            client_id=client_id,
            secret=secret,
            personal_id=personal_id,
            scope=" ".join(ALL_SCOPES),
        )

    return Tokens(
        client_id=client_id,
        app=await token_for(hub, client_id, secret),
        teacher=await for_person(school.teachers[0]),
        other_teacher=await for_person(school.teachers[1]),
        principal=await for_person(school.principal),
    )


async def signed(hub: httpx.AsyncClient, tokens: Tokens, ids: list[int], *roles: str) -> None:
    """The transcripts signed by ``roles`` in turn, each by its holder through the app (the
    story's earlier steps)."""
    token = {"HOMEROOM_TEACHER": tokens.teacher, "PRINCIPAL": tokens.principal}
    for role in roles:
        result = await sign_through_hub(hub, token.get(role, tokens.app), ids, role)
        assert result["state"] == "SIGNED", result


def school_gid(school: SigningSchool) -> str:
    return str(GlobalID("School", str(school.id)))


def class_gid(class_id: int) -> str:
    return str(GlobalID("SchoolClass", str(class_id)))


async def request_error(
    hub: httpx.AsyncClient, token: str, ids: list[int], role: str, signer: str | None = None
) -> list[str]:
    variables = {"ids": [gid(i) for i in ids], "role": role, "signer": signer}
    return error_codes(await gql(hub, token, REQUEST, variables))


async def signed_by(db: Database, transcript_id: int) -> list[tuple[str, str | None]]:
    """Who the transcript's signature events name: (client, person), oldest first."""
    async with db.sessions() as session:
        rows = await session.execute(
            select(models.TranscriptEvent.client_id, models.TranscriptEvent.person)
            .where(
                models.TranscriptEvent.transcript_id == transcript_id,
                models.TranscriptEvent.event == "SIGNED",
            )
            .order_by(models.TranscriptEvent.id)
        )
        return [(row.client_id, row.person) for row in rows]


async def requests_signed_by(db: Database, transcript_ids: list[int], role: str) -> set[str | None]:
    """The personal IDs of the staff the provider requests for ``role`` went to."""
    async with db.sessions() as session:
        return set(
            await session.scalars(
                select(models.Staff.personal_id)
                .select_from(models.SigningRequest)
                .join(
                    models.SigningRequestItem,
                    models.SigningRequestItem.request_id == models.SigningRequest.id,
                )
                .outerjoin(models.Staff, models.Staff.id == models.SigningRequest.staff_id)
                .where(
                    models.SigningRequestItem.transcript_id.in_(transcript_ids),
                    models.SigningRequest.role == role,
                )
            )
        )


async def signers_verified(
    hub: httpx.AsyncClient, token: str, transcript_id: int
) -> list[tuple[str, str | None]]:
    """The transcript's signatures as verification reads them: (role, personal ID), in
    order, the same in the XML and the PDF and each one valid."""
    verified = data(await gql(hub, token, VERIFY, {"id": gid(transcript_id)}))["verifyTranscript"]
    assert verified["verdict"] == "VALID", verified
    xml, pdf = verified["xml"]["signatures"], verified["pdf"]["signatures"]
    assert xml == pdf
    assert all(s["verdict"] == "VALID" for s in xml)
    return [(s["role"], s["personalId"]) for s in xml]


async def test_a_program_on_its_own_may_not_name_a_human_signer(
    hub: httpx.AsyncClient, tokens: Tokens, school: SigningSchool
) -> None:
    first = school.transcripts[school.class_ids[0]][:1]
    for signer in (school.teachers[0], None):
        codes = await request_error(hub, tokens.app, first, "HOMEROOM_TEACHER", signer)
        assert codes == ["PERSON_REQUIRED"]


async def test_the_homeroom_teacher_signs_as_themself_and_as_nobody_else(
    hub: httpx.AsyncClient, tokens: Tokens, school: SigningSchool, db: Database
) -> None:
    ids = school.transcripts[school.class_ids[0]][:2]
    result = await sign_through_hub(hub, tokens.teacher, ids, "HOMEROOM_TEACHER")
    assert result == result | {"state": "SIGNED", "signed": 2, "errorCode": None}
    assert await signers_verified(hub, tokens.teacher, ids[0]) == [
        ("HOMEROOM_TEACHER", school.teachers[0])
    ]
    assert await signed_by(db, ids[0]) == [(tokens.client_id, school.teachers[0])]
    assert await requests_signed_by(db, ids, "HOMEROOM_TEACHER") == {school.teachers[0]}

    # The teacher's app may not ask for the principal's signature, whichever role.
    rest = school.transcripts[school.class_ids[0]][2:]
    for role, waiting in (("PRINCIPAL", ids), ("HOMEROOM_TEACHER", rest)):
        codes = await request_error(hub, tokens.teacher, waiting, role, school.principal)
        assert codes == ["SIGNER_NOT_CALLER"]


async def test_a_teacher_who_does_not_hold_the_role_is_refused(
    hub: httpx.AsyncClient, tokens: Tokens, school: SigningSchool
) -> None:
    not_theirs = school.transcripts[school.class_ids[0]][2:]
    codes = await request_error(hub, tokens.other_teacher, not_theirs, "HOMEROOM_TEACHER")
    assert codes == ["SIGNER_NOT_ROLE_HOLDER"]


async def test_the_principal_signs_as_themself_and_the_seal_with_the_apps_own_token(
    hub: httpx.AsyncClient, tokens: Tokens, school: SigningSchool, db: Database
) -> None:
    ids = school.transcripts[school.class_ids[0]][:2]
    await signed(hub, tokens, ids, "HOMEROOM_TEACHER")
    principal = await sign_through_hub(hub, tokens.principal, ids, "PRINCIPAL")
    assert principal["state"] == "SIGNED"
    seal = await sign_through_hub(hub, tokens.app, ids, "SCHOOL_SEAL")
    assert seal["state"] == "SIGNED"
    assert await signers_verified(hub, tokens.app, ids[0]) == [
        ("HOMEROOM_TEACHER", school.teachers[0]),
        ("PRINCIPAL", school.principal),
        ("SCHOOL_SEAL", None),  # the school's, not a person's
    ]
    assert await signed_by(db, ids[0]) == [
        (tokens.client_id, school.teachers[0]),
        (tokens.client_id, school.principal),
        (tokens.client_id, None),
    ]
    assert await requests_signed_by(db, ids, "SCHOOL_SEAL") == {None}


async def test_a_program_on_its_own_may_not_start_a_batch_for_a_human_signer(
    hub: httpx.AsyncClient, tokens: Tokens, school: SigningSchool, db: Database
) -> None:
    for variables in (
        {"role": "HOMEROOM_TEACHER", "c": class_gid(school.class_ids[0])},
        {"role": "PRINCIPAL", "s": school_gid(school)},
    ):
        assert error_codes(await gql(hub, tokens.app, START, variables)) == ["PERSON_REQUIRED"]
    async with db.sessions() as session:
        jobs = await session.scalar(select(func.count()).where(models.Job.school_id == school.id))
    assert jobs == 0


async def test_a_homeroom_batch_holds_only_the_transcripts_of_the_teacher_who_starts_it(
    hub: httpx.AsyncClient, tokens: Tokens, school: SigningSchool, db: Database
) -> None:
    first, second = school.class_ids
    await signed(hub, tokens, school.transcripts[first][:2], "HOMEROOM_TEACHER")
    # Another class's teacher finds nothing of theirs waiting in the first class.
    refused = await gql(
        hub, tokens.other_teacher, START, {"role": "HOMEROOM_TEACHER", "c": class_gid(first)}
    )
    assert error_codes(refused) == ["INVALID_ARGUMENT"]
    assert "không có học bạ nào đang chờ" in refused["errors"][0]["message"]
    # Across the school, the first class's teacher gets their own class's two left.
    started = data(
        await gql(hub, tokens.teacher, START, {"role": "HOMEROOM_TEACHER", "s": school_gid(school)})
    )["startSigningBatch"]
    assert started["total"] == 2
    batch = await until_done(hub, tokens.teacher, started["jobId"])
    assert batch == batch | {"state": "COMPLETED", "signed": 2, "failed": 0}
    rest = school.transcripts[first][2:]
    assert sorted(int(GlobalID.from_id(i["transcriptId"]).node_id) for i in batch["items"]) == rest
    assert await requests_signed_by(db, rest, "HOMEROOM_TEACHER") == {school.teachers[0]}
    assert await signed_by(db, rest[0]) == [(tokens.client_id, school.teachers[0])]
    async with db.sessions() as session:
        job = await session.scalar(select(models.Job).where(models.Job.job_id == started["jobId"]))
        assert job is not None and job.params["person"] == school.teachers[0]
        ready = await session.scalar(
            select(func.count()).where(
                models.Transcript.id.in_(school.transcripts[second]),
                models.Transcript.state == "READY",
            )
        )
    assert ready == 4  # the second class's teacher has not signed


async def test_a_batch_started_by_the_principal_signs_as_the_principal(
    hub: httpx.AsyncClient, tokens: Tokens, school: SigningSchool, db: Database, demo: DemoSigning
) -> None:
    first = school.transcripts[school.class_ids[0]]
    sealed, rest = first[:2], first[2:]
    await signed(hub, tokens, sealed, "HOMEROOM_TEACHER", "PRINCIPAL", "SCHOOL_SEAL")
    await signed(hub, tokens, rest, "HOMEROOM_TEACHER")
    office = demo.back_offices[SigningProvider.CSC]
    before = len(office.transactions)
    started = data(
        await gql(hub, tokens.principal, START, {"role": "PRINCIPAL", "s": school_gid(school)})
    )["startSigningBatch"]
    assert started["total"] == 2
    batch = await until_done(hub, tokens.principal, started["jobId"])
    assert batch == batch | {"state": "COMPLETED", "signed": 2, "failed": 0}, batch["items"]
    assert len(office.transactions) == before + 1  # one confirmation on the principal's phone
    assert await requests_signed_by(db, rest, "PRINCIPAL") == {school.principal}
    assert (await signers_verified(hub, tokens.principal, rest[0]))[1] == (
        "PRINCIPAL",
        school.principal,
    )
    assert await signed_by(db, rest[0]) == [
        (tokens.client_id, school.teachers[0]),
        (tokens.client_id, school.principal),
    ]


async def test_a_seal_batch_still_runs_on_the_apps_own_token(
    hub: httpx.AsyncClient, tokens: Tokens, school: SigningSchool, db: Database
) -> None:
    first = school.transcripts[school.class_ids[0]]
    sealed, rest = first[:2], first[2:]
    await signed(hub, tokens, sealed, "HOMEROOM_TEACHER", "PRINCIPAL", "SCHOOL_SEAL")
    await signed(hub, tokens, rest, "HOMEROOM_TEACHER", "PRINCIPAL")
    started = data(
        await gql(hub, tokens.app, START, {"role": "SCHOOL_SEAL", "s": school_gid(school)})
    )["startSigningBatch"]
    assert started["total"] == 2
    batch = await until_done(hub, tokens.app, started["jobId"])
    assert batch == batch | {"state": "COMPLETED", "signed": 2, "failed": 0}
    assert [role for role, _ in await signers_verified(hub, tokens.app, rest[1])] == [
        "HOMEROOM_TEACHER",
        "PRINCIPAL",
        "SCHOOL_SEAL",
    ]
    assert (await signed_by(db, rest[1]))[-1] == (tokens.client_id, None)


async def test_a_role_moved_after_the_start_fails_the_batch_rather_than_sign_as_someone_else(
    hub: httpx.AsyncClient,
    tokens: Tokens,
    school: SigningSchool,
    db: Database,
    demo: DemoSigning,
    outbox: Outbox,
) -> None:
    second = school.class_ids[1]
    transactions = {p: len(o.transactions) for p, o in demo.back_offices.items()}
    outbox.hold()
    try:
        started = data(
            await gql(
                hub,
                tokens.other_teacher,
                START,
                {"role": "HOMEROOM_TEACHER", "c": class_gid(second)},
            )
        )["startSigningBatch"]
        assert started["total"] == 4
        # Before the worker sends anything, the class gets the first class's teacher.
        await _set_homeroom_teacher(db, second, school.teachers[0])
    finally:
        outbox.release()
    try:
        batch = await until_done(hub, tokens.other_teacher, started["jobId"])
    finally:
        await _set_homeroom_teacher(db, second, school.teachers[1])
    assert batch == batch | {"state": "COMPLETED", "signed": 0, "failed": 4}
    assert {i["reasonCode"] for i in batch["items"]} == {"SIGNER_NOT_CALLER"}
    # Nobody's phone was asked, and the transcripts still wait for their teacher.
    assert {p: len(o.transactions) for p, o in demo.back_offices.items()} == transactions
    for transcript in school.transcripts[second]:
        state = data(await gql(hub, tokens.app, TRANSCRIPT, {"id": gid(transcript)}))["node"]
        assert state == {"state": "READY"}


async def _set_homeroom_teacher(db: Database, class_id: int, personal_id: str) -> None:
    async with db.unit_of_work() as session:
        staff = select(models.Staff.id).where(models.Staff.personal_id == personal_id)
        await session.execute(
            update(models.SchoolClass)
            .where(models.SchoolClass.id == class_id)
            .values(homeroom_teacher_id=staff.scalar_subquery())
        )
