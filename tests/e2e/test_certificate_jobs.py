"""Certificate refresh and signing-provider migration on Dramatiq, real Redis, real database.

The module works in a database of its own (a refresh reads every certificate of
the database, and the schools built here would change the figures the other
modules assert about the shared world). The worker runs in this process with its
own event loop, database engine and provider adapters (as a worker process
would); the providers are the simulators on loopback. The simulators' back
offices play what happens at the providers: a certificate revoked or renewed, a
teacher enrolled at the Government CA. Each migration test moves a school of its own
(:func:`migrating`).
"""

import asyncio
import dataclasses
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dramatiq
import httpx
import pytest
from sqlalchemy import func, select
from strawberry.asgi import GraphQL
from strawberry.relay import GlobalID

from hub.adapters.signing.simulator import Phone
from hub.auth.access import SCOPES, Caller
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.demo.signing import DemoSigning
from hub.domain.enums import CertificateStatus, OrgLevel, SigningProvider
from hub.jobs import certificates, migration
from hub.jobs.core import JobRuntime
from hub.schema import api
from hub.schema.certificates_jobs import CertificateJobMutations, CertificateJobQueries
from hub.web.app import HubGraphQL, HubServices, create_app
from tests import signing_support as support
from tests.conftest import database_of_its_own, settings_of_its_own
from tests.helpers import data, gql, register, token_for
from tests.schools import (
    SigningSchool,
    certificate_row,
    default_certificate,
    signing_school,
    staff_name,
)
from tests.world import World, build_world

BCY, MYSIGN, SMARTCA, CSC = (
    SigningProvider.BCY,
    SigningProvider.MYSIGN,
    SigningProvider.SMARTCA,
    SigningProvider.CSC,
)

RUN = """query($j: String!) { certificateRefreshRun(jobId: $j) {
  jobId state total checked updated renewed noLongerValid expiringCount problemCount
  expiring { certificateId provider ownerName staffId validTo } } }"""
START_REFRESH = "mutation { startCertificateRefresh { jobId state } }"
WITHOUT = """query($s: ID!) { staffWithoutValidCertificate(schoolId: $s) {
  totalCount edges { node { fullName } } } }"""
COVERAGE = "{ certificateCoverage(groupBy: [LEVEL]) { total { withValidCertificate } } }"
PLAN = """query($s: ID) { planProviderMigration(from: MYSIGN, to: BCY, schoolId: $s) {
  fromProvider toProvider canEnrol switch enrol needsEnrolment skip
  teachers { staffId fullName action targetAccount reasonCode reason
    current { certificateId provider serialNumber } target { credentialId serialNumber } } } }"""
PROGRESS = """fragment Progress on ProviderMigration { jobId state reasonCode reason total
  pending testing switched confirmed rolledBack failed skipped cancelled }"""
START_MIGRATION = (
    """mutation($s: ID) { startProviderMigration(from: MYSIGN, to: BCY, schoolId: $s)
  { ...Progress } }"""
    + PROGRESS
)
MIGRATION = (
    """query($j: String!) { providerMigration(jobId: $j) { ...Progress
  teachers { staffId fullName planned state reasonCode reason oldCertificateId newCertificateId }
  steps { step staffId actor code detail } } }"""
    + PROGRESS
)
CONTROL = "mutation($j: String!) { %sProviderMigration(jobId: $j) { state reasonCode reason } }"


# --- the hub with this issue's schema, a worker, the simulators --------------------------------


#: This issue's queries and mutations on their own (the hub's schema takes them as bases
#: of its Query and Mutation; a relay schema's fields cannot serve two schemas).
SCHEMA = api.HubSchema(
    query=CertificateJobQueries,
    mutation=CertificateJobMutations,
    extensions=[api.RequestLifecycle],
)


class CertificateGraphQL(HubGraphQL):
    """The hub's GraphQL endpoint serving :data:`SCHEMA`, for the jobs' queries."""

    def __init__(self, hub: HubServices) -> None:
        GraphQL.__init__(self, SCHEMA)
        self.hub = hub


@pytest.fixture(scope="module")
def settings(settings, tmp_path_factory) -> Settings:  # type: ignore[no-untyped-def]
    return settings_of_its_own(settings, tmp_path_factory.mktemp("certificate-jobs"))


@pytest.fixture(scope="module")
async def db(settings: Settings) -> AsyncIterator[Database]:
    async for database in database_of_its_own(settings):
        yield database


@pytest.fixture(scope="module")
async def world(db: Database) -> World:
    return await build_world(db)


demo = support.demo
_schools = itertools.count(1)


@pytest.fixture(scope="module")
async def refreshed(db, world, demo) -> SigningSchool:  # type: ignore[no-untyped-def]
    """The refresh test's school: teachers at Ban Cơ yếu, MySign and CSC, the principal
    at SmartCA."""
    return await signing_school(
        db,
        demo,
        code="01CERTR1",
        school_year_id=world.current_year_id,
        teacher_providers=[BCY, MYSIGN, CSC],
        principal_provider=SMARTCA,
        per_class=0,
    )


@pytest.fixture
async def migrating(db, world, demo) -> SigningSchool:  # type: ignore[no-untyped-def]
    """The test's own school, none of it moved yet: two MySign teachers (the first
    already has a Government CA credential), one SmartCA teacher, a MySign principal."""
    school = await signing_school(
        db,
        demo,
        code=f"01CERTM{next(_schools)}",
        school_year_id=world.current_year_id,
        teacher_providers=[MYSIGN, MYSIGN, SMARTCA],
        principal_provider=MYSIGN,
        per_class=0,
    )
    first = school.teachers[0]
    demo.back_offices[BCY].enrol(first, full_name=await staff_name(db, first), personal_id=first)
    return school


@pytest.fixture(scope="module")
def runtime(settings, demo, refreshed, tmp_path_factory) -> JobRuntime:  # type: ignore[no-untyped-def]
    """The worker's runtime: its own database engine and provider clients (made once the
    refreshed school is enrolled, so they know its seal), enrolling at the simulators.
    Its watchdog starts no refresh by itself: every run here is a test's."""
    return support.enrolling_runtime(settings, demo, tmp_path_factory.mktemp("worker"))


@pytest.fixture(scope="module")
async def worker(runtime) -> AsyncIterator[dramatiq.Worker]:  # type: ignore[no-untyped-def]
    async with support.running_worker(runtime) as worker:
        yield worker


@pytest.fixture(scope="module")
async def hub(settings, db, demo, runtime, worker) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """The jobs' GraphQL endpoint (:data:`SCHEMA`)."""
    from hub.jobs.actors import send

    endpoint = CertificateGraphQL(
        HubServices(settings, db, demo.signing, send, enrolment=runtime.enrolment)
    )
    transport = httpx.ASGITransport(app=endpoint)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


@pytest.fixture(scope="module")
async def reports(settings, db) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """The hub itself: tokens and the coverage reports."""
    transport = httpx.ASGITransport(app=create_app(settings, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


@pytest.fixture(scope="module")
async def department(db, reports) -> str:  # type: ignore[no-untyped-def]
    return await token_for(reports, *await register(db, org=OrgLevel.DEPARTMENT))


# --- certificate refresh -----------------------------------------------------------------------


async def test_a_refresh_records_revocations_renewals_and_expiry_and_the_report_follows(
    hub, reports, department, refreshed, demo, db
) -> None:  # type: ignore[no-untyped-def]
    school = str(GlobalID("School", str(refreshed.id)))
    before = data(await gql(reports, department, WITHOUT, {"s": school}))
    assert before["staffWithoutValidCertificate"]["totalCount"] == 0
    covered = await _covered(reports, department)
    revoked, renewed = refreshed.teachers[0], refreshed.teachers[1]
    # At the providers: the Government CA revokes the first teacher's certificate;
    # MySign renews the second's under the same credential, ending in ten days.
    revoked_row, renewed_row = await _certificate(db, revoked), await _certificate(db, renewed)
    demo.pki.revoke(demo.back_offices[BCY].credential(revoked_row.credential_id).certificate)
    office = demo.back_offices[MYSIGN]
    credential = office.credential(renewed_row.credential_id)
    now = datetime.now(UTC)
    credential.issued = demo.pki.issue_person(
        office.issuing_ca,
        full_name=await staff_name(db, renewed),
        personal_id=renewed,
        organisation="Trường THCS Ký Số 01CERTR1",
        valid_from=now - timedelta(days=360),
        valid_to=now + timedelta(days=10),
    )
    new_serial = format(credential.certificate.serial_number, "x")

    started = data(await gql(hub, department, START_REFRESH))["startCertificateRefresh"]
    run = await _refresh_done(hub, department, started["jobId"])

    assert run["noLongerValid"] >= 1 and run["renewed"] >= 1 and run["checked"] >= 5
    after_revoked, after_renewed = await _certificate(db, revoked), await _certificate(db, renewed)
    assert after_revoked.status is CertificateStatus.REVOKED
    assert after_renewed.status is CertificateStatus.ACTIVE
    assert after_renewed.serial_number == new_serial != renewed_row.serial_number
    assert abs(_utc(after_renewed.valid_to) - (now + timedelta(days=10))) < timedelta(seconds=2)
    expiring = {e["certificateId"]: e for e in run["expiring"]}
    entry = expiring[str(GlobalID("Certificate", str(after_renewed.id)))]
    assert entry["ownerName"] == await staff_name(db, renewed) and entry["provider"] == "MYSIGN"
    assert run["expiringCount"] >= 1
    # The coverage report reads the rows the refresh updated.
    without = data(await gql(reports, department, WITHOUT, {"s": school}))
    names = [e["node"]["fullName"] for e in without["staffWithoutValidCertificate"]["edges"]]
    assert names == [await staff_name(db, revoked)]
    assert await _covered(reports, department) == covered - 1

    # Asked again, the providers say the same: nothing to change.
    again = data(await gql(hub, department, START_REFRESH))["startCertificateRefresh"]
    second = await _refresh_done(hub, department, again["jobId"])
    assert second["updated"] == 0 and second["checked"] == run["checked"]


async def test_a_refresh_starts_by_itself_when_the_last_is_old_enough(  # type: ignore[no-untyped-def]
    hub, department, db, runtime
) -> None:
    from hub.jobs.actors import STALLED_WORK, send

    # every worker's watchdog asks, every few seconds
    assert certificates.refresh_when_due in STALLED_WORK
    await _no_refresh_running(db)
    # Switched off (HUB_CERTIFICATE_REFRESH_HOURS=0), a worker starts none, though one is due:
    off = runtime.settings.model_copy(update={"certificate_refresh_hours": 0})
    switched_off = dataclasses.replace(runtime, settings=off, db=db)
    assert await certificates.refresh_when_due(switched_off, stall_seconds=0) == []
    work = await certificates.refresh_if_due(db, interval=timedelta(0))
    assert work and {w.actor for w in work} == {"refresh_certificates"}
    job_id = str(work[0].args[0])
    assert job_id.startswith("CERT_REFRESH-")
    assert await certificates.refresh_if_due(db, interval=timedelta(0)) == []  # one at a time
    send(work)
    run = await _refresh_done(hub, department, job_id)
    assert run["state"] == "COMPLETED"
    assert await certificates.refresh_if_due(db, interval=timedelta(hours=1)) == []


# --- provider migration ------------------------------------------------------------------------


async def test_the_plan_is_a_dry_run_saying_what_will_happen(
    hub, department, migrating, demo, db
) -> None:  # type: ignore[no-untyped-def]
    school = str(GlobalID("School", str(migrating.id)))
    before = await _snapshot(db, migrating, demo)
    plan = data(await gql(hub, department, PLAN, {"s": school}))["planProviderMigration"]
    assert await _snapshot(db, migrating, demo) == before

    assert (plan["fromProvider"], plan["toProvider"], plan["canEnrol"]) == ("MYSIGN", "BCY", True)
    by_name = {t["fullName"]: t for t in plan["teachers"]}
    first, second, third = [by_name[await staff_name(db, p)] for p in migrating.teachers]
    principal = by_name[await staff_name(db, migrating.principal)]
    assert (first["action"], first["targetAccount"]) == ("SWITCH", True)
    assert first["current"]["provider"] == "MYSIGN" and first["target"]["serialNumber"]
    assert (second["action"], second["targetAccount"], second["target"]) == ("ENROL", False, None)
    assert (third["action"], third["reasonCode"]) == ("SKIP", migration.NOT_AT_SOURCE)
    assert "Viettel MySign" in third["reason"]
    assert principal["action"] == "ENROL"
    assert (plan["switch"], plan["enrol"], plan["skip"]) == (1, 2, 1)

    # Where the hub cannot enrol anyone, those people must register first.
    async with db.unit_of_work() as session:
        without_enrolment = await migration.plan_provider_migration(
            session,
            caller=_operator(),
            signing=demo.signing,
            from_provider=MYSIGN,
            to_provider=BCY,
            school_id=migrating.id,
            can_enrol=False,
        )
    assert without_enrolment.count(migration.Action.NEEDS_ENROLMENT) == 2
    assert await _snapshot(db, migrating, demo) == before


async def test_a_migration_runs_pauses_resumes_and_rolls_back(
    hub, department, migrating, demo, db
) -> None:  # type: ignore[no-untyped-def]
    school = str(GlobalID("School", str(migrating.id)))
    movers = [migrating.teachers[0], migrating.teachers[1], migrating.principal]
    old = {p: (await default_certificate(db, p)).id for p in movers}
    office = demo.back_offices[BCY]
    office.phone = Phone(confirm_delay=1.5)  # test signatures wait on the phones…
    try:
        started = data(await gql(hub, department, START_MIGRATION, {"s": school}))
        job_id = started["startProviderMigration"]["jobId"]
        assert started["startProviderMigration"]["total"] == 4
        for _ in range(100):  # pause once the first test signature is on a phone
            if (await _migration(hub, department, job_id))["testing"]:
                break
            await asyncio.sleep(0.02)
        paused = data(await gql(hub, department, CONTROL % "pause", {"j": job_id}))
        assert paused["pauseProviderMigration"]["state"] == "PAUSED"
        await asyncio.sleep(2.5)  # …confirmed while paused: proven, but nobody is switched
        held = await _migration(hub, department, job_id)
        assert (held["state"], held["switched"]) == ("PAUSED", 0)
        assert "PROVEN" in {t["state"] for t in held["teachers"]}, held["teachers"]
        assert {p: (await default_certificate(db, p)).id for p in movers} == old
    finally:
        office.phone = Phone(confirm_delay=0.2)
    resumed = data(await gql(hub, department, CONTROL % "resume", {"j": job_id}))
    assert resumed["resumeProviderMigration"]["state"] in ("RUNNING", "SWITCHED")
    done = await _migration_until(hub, department, job_id, "SWITCHED")
    assert (done["switched"], done["skipped"], done["failed"]) == (3, 1, 0), done["teachers"]

    for person in movers:  # the new certificate is the default, the old one the fallback
        default = await default_certificate(db, person)
        assert default.provider is BCY and default.preferred
        fallback = await certificate_row(db, old[person])
        assert fallback.retired_at is None and fallback.status is CertificateStatus.ACTIVE
    # Each was proven by a test signature the teacher confirmed at the Government CA.
    signed = {t.credential.user_id for t in office.transactions.values() if t.signatures}
    assert set(movers) <= signed
    steps = _steps_by_staff(done)
    for person in movers:
        staff = await _staff_gid(db, person)
        assert {"PLANNED", "TEST_SIGNATURE_SENT", "TEST_SIGNATURE_VERIFIED", "SWITCHED"} <= steps[
            staff
        ]
        assert steps[staff] & {"CREDENTIAL_FOUND", "ENROLLED"}
    assert "ENROLLED" in steps[await _staff_gid(db, migrating.teachers[1])]
    assert steps[await _staff_gid(db, migrating.teachers[2])] == {"SKIPPED"}
    job_steps = [s for s in done["steps"] if s["staffId"] is None]
    assert [s["step"] for s in job_steps] == ["STARTED", "PAUSED", "RESUMED", "FINISHED"]
    assert job_steps[1]["actor"] == job_steps[2]["actor"] != "worker"

    rolled = data(await gql(hub, department, CONTROL % "rollback", {"j": job_id}))
    assert rolled["rollbackProviderMigration"]["state"] == "ROLLED_BACK"
    for person in movers:  # the old defaults are back; the new certificates are withdrawn
        assert (await default_certificate(db, person)).id == old[person]
    after = await _migration(hub, department, job_id)
    assert after["rolledBack"] == 3
    rolled_back = [s for s in after["steps"] if s["step"] == "ROLLED_BACK"]
    assert len(rolled_back) == 4 and "worker" not in {s["actor"] for s in rolled_back}
    refused = await gql(hub, department, CONTROL % "confirm", {"j": job_id})
    assert refused["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"


async def test_a_migration_confirmed_drops_the_fallback(
    hub, department, migrating, demo, db
) -> None:  # type: ignore[no-untyped-def]
    school = str(GlobalID("School", str(migrating.id)))
    movers = [migrating.teachers[0], migrating.teachers[1], migrating.principal]
    await migrated_and_rolled_back(hub, department, school)
    # After the rollback, everyone has a Government CA credential: all three switch.
    plan = data(await gql(hub, department, PLAN, {"s": school}))["planProviderMigration"]
    assert (plan["switch"], plan["enrol"], plan["skip"]) == (3, 0, 1)
    old = {p: (await default_certificate(db, p)).id for p in movers}
    started = data(await gql(hub, department, START_MIGRATION, {"s": school}))
    job_id = started["startProviderMigration"]["jobId"]
    done = await _migration_until(hub, department, job_id, "SWITCHED")
    assert done["switched"] == 3, done["teachers"]
    confirmed = data(await gql(hub, department, CONTROL % "confirm", {"j": job_id}))
    assert confirmed["confirmProviderMigration"]["state"] == "CONFIRMED"
    for person in movers:
        default = await default_certificate(db, person)
        assert default.provider is BCY and default.retired_at is None
        assert (
            await certificate_row(db, old[person])
        ).retired_at is not None  # no fallback any more
    after = await _migration(hub, department, job_id)
    assert after["confirmed"] == 3
    assert [s["step"] for s in after["steps"] if s["staffId"] is None][-1] == "CONFIRMED"
    refused = await gql(hub, department, CONTROL % "rollback", {"j": job_id})
    assert refused["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"


# --- helpers -----------------------------------------------------------------------------------


async def migrated_and_rolled_back(hub: httpx.AsyncClient, token: str, school: str) -> None:
    """The school's MySign people moved to the Government CA and moved back (the steps
    before a second migration): the three of them switched, then the migration rolled back."""
    started = data(await gql(hub, token, START_MIGRATION, {"s": school}))
    job_id = started["startProviderMigration"]["jobId"]
    done = await _migration_until(hub, token, job_id, "SWITCHED")
    assert (done["switched"], done["failed"]) == (3, 0), done["teachers"]
    rolled = data(await gql(hub, token, CONTROL % "rollback", {"j": job_id}))
    assert rolled["rollbackProviderMigration"]["state"] == "ROLLED_BACK"


def _operator() -> Caller:
    return Caller(
        client_id="test", scopes=frozenset(SCOPES), org_level=OrgLevel.DEPARTMENT, school_ids=None
    )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


async def _staff_gid(db: Database, personal_id: str) -> str:
    async with db.sessions() as session:
        staff_id = await session.scalar(
            select(models.Staff.id).where(models.Staff.personal_id == personal_id)
        )
    return str(GlobalID("Staff", str(staff_id)))


async def _certificate(db: Database, personal_id: str) -> models.SigningCertificate:
    async with db.sessions() as session:
        row = await session.scalar(
            select(models.SigningCertificate)
            .join(models.Staff, models.Staff.id == models.SigningCertificate.staff_id)
            .where(models.Staff.personal_id == personal_id)
        )
    assert row is not None
    return row


async def _snapshot(db: Database, school: SigningSchool, demo: DemoSigning) -> Any:
    """The school's certificates, the migration jobs, the providers' subscribers."""
    people = [*school.teachers, school.principal]
    async with db.sessions() as session:
        rows = await session.execute(
            select(models.SigningCertificate)
            .join(models.Staff, models.Staff.id == models.SigningCertificate.staff_id)
            .where(models.Staff.personal_id.in_(people))
            .order_by(models.SigningCertificate.id)
        )
        certificates = [
            (r.id, r.provider, r.serial_number, r.status, r.preferred, r.retired_at, r.valid_to)
            for (r,) in rows.all()
        ]
        jobs = await session.scalar(select(func.count()).where(models.Job.kind == migration.KIND))
    users = {provider: sorted(office.subscribers) for provider, office in demo.back_offices.items()}
    return certificates, jobs, users


async def _covered(hub: httpx.AsyncClient, token: str) -> int:
    report = data(await gql(hub, token, COVERAGE))["certificateCoverage"]
    return int(report["total"]["withValidCertificate"])


async def _refresh_done(hub: httpx.AsyncClient, token: str, job_id: str) -> dict[str, Any]:
    for _ in range(300):
        run = data(await gql(hub, token, RUN, {"j": job_id}))["certificateRefreshRun"]
        if run["state"] == "COMPLETED":
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"the refresh did not finish: {run}")


async def _no_refresh_running(db: Database) -> None:
    for _ in range(300):
        async with db.sessions() as session:
            running = await session.scalar(
                select(func.count()).where(
                    models.Job.kind == certificates.KIND, models.Job.state == "RUNNING"
                )
            )
        if not running:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("a refresh is still running")


async def _migration(hub: httpx.AsyncClient, token: str, job_id: str) -> dict[str, Any]:
    return data(await gql(hub, token, MIGRATION, {"j": job_id}))["providerMigration"]


async def _migration_until(
    hub: httpx.AsyncClient, token: str, job_id: str, state: str
) -> dict[str, Any]:
    for _ in range(300):
        found = await _migration(hub, token, job_id)
        if found["state"] == state:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"the migration did not reach {state}: {found}")


def _steps_by_staff(found: dict[str, Any]) -> dict[str, set[str]]:
    steps: dict[str, set[str]] = {}
    for step in found["steps"]:
        if step["staffId"]:
            steps.setdefault(step["staffId"], set()).add(step["step"])
    return steps
