"""The dashboard's signing batches (issue 12, part 4): the list of the schools' bulk-signing
batches with their counts and why a batch is paused, filtered by state; a batch's
transcripts that did not sign with their reasons (a personal ID in a provider's answer
masked, the pupils' names read into the access log); a district office's officer sees
only their district's batches; a teacher or a guardian is turned away; the CSV and XLSX
hold the pages' figures; and a paused batch resumed from its page signs to the end on a
real worker.

Most tests write their batches' rows as the batch steps leave them (:mod:`hub.jobs.core`
makes and ends the jobs); the resume test starts a batch with the service the API runs,
on every provider's simulator and a Dramatiq worker on Redis.
"""

import asyncio
import csv
import io
import itertools
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select

from hub.auth.access import Caller
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.demo.signing import DemoSigning
from hub.domain.enums import CertificateStatus, OrgLevel, Ownership, SchoolLevel, SigningProvider
from hub.domain.problems import Code, HubError
from hub.domain.signers import SignerRole
from hub.jobs import core
from hub.jobs import signing as batches
from hub.jobs.core import PAUSED_BY_USER, JobState
from hub.jobs.signing import ItemState
from hub.web import i18n
from hub.web.app import create_app
from tests import signing_support as support
from tests.helpers import Visitor, visiting
from tests.pages import table, words
from tests.people import People, new_district_officer, new_personal_id, people_school
from tests.schools import SigningSchool, signing_school
from tests.world import World

VI = i18n.catalogue("vi")
demo = support.demo
worker = support.worker
_schools = itertools.count(1)
#: A signer's account at MySign, as a provider's refusal quotes it.
ACCOUNT = "CMT_001085012345"
OUTAGE = HubError(Code.PROVIDER_UNAVAILABLE, provider=SigningProvider.BCY.label).problem
REJECTED = HubError(Code.SIGNER_REJECTED, provider=SigningProvider.BCY.label).problem
UNKNOWN = HubError(
    Code.PROVIDER_USER_UNKNOWN, user=ACCOUNT, provider=SigningProvider.MYSIGN.label
).problem


@dataclass
class Batches:
    """The test's district office and its schools' batches, and one batch elsewhere."""

    district_code: str
    schools: dict[str, str]  # X, Y, Z (another district) → school name
    jobs: dict[str, str] = field(default_factory=dict)  # paused, done, cancelled, elsewhere
    pupils: dict[str, str] = field(default_factory=dict)  # returned, failed → pupil's name
    pupil_ids: list[int] = field(default_factory=list)


@pytest.fixture(scope="module")
async def people(db: Database, world: World) -> People:
    return await people_school(db, code="DBA")


@pytest.fixture
async def made(db: Database, world: World) -> AsyncIterator[Batches]:
    """Two districts of the test's own: schools X and Y in the first, Z in the second.

    X: a homeroom batch paused by Ban Cơ yếu's outage — 3 signed, 1 returned (rejected on
    the phone), 1 failed (MySign does not know the account), 2 queued — and a seal batch
    cancelled; Y: a principal's batch completed at SmartCA; Z: a batch of another
    district, running. Its documents are empty, so no worker may pick its open batches
    up once the test is over (a watchdog resumes a batch an outage paused): they are
    cancelled then."""
    code = secrets.token_hex(3)
    found = Batches(f"BA{code}", {})
    async with db.unit_of_work() as session:
        department = await session.scalar(select(models.Department).order_by(models.Department.id))
        assert department is not None
        schools: dict[str, models.School] = {}
        for district_code, letters in ((f"BA{code}", "XY"), (f"BB{code}", "Z")):
            district = models.District(
                department_id=department.id, code=district_code, name=f"Phòng {district_code}"
            )
            session.add(district)
            await session.flush()
            for letter in letters:
                school = models.School(
                    department_id=department.id,
                    district_id=district.id,
                    moet_code=f"{district_code}{letter}",
                    name=f"Trường THCS Lô Ký {letter} {code}",
                    level=SchoolLevel.LOWER_SECONDARY,
                    ownership=Ownership.PUBLIC,
                )
                session.add(school)
                schools[letter] = school
                found.schools[letter] = school.name
        await session.flush()
        now = datetime.now(UTC)

        async def batch(
            letter: str,
            role: SignerRole,
            items: list[tuple[ItemState, SigningProvider | None, Any]],
        ) -> models.Job:
            school = schools[letter]
            school_class = models.SchoolClass(
                school_id=school.id,
                school_year_id=world.current_year_id,
                name=f"9{letter}{secrets.token_hex(2)}",
                grade=9,
            )
            certificate = models.SigningCertificate(
                school_id=school.id,
                provider=SigningProvider.PKCS11,
                credential_id=uuid.uuid4().hex[:16],
                serial_number=uuid.uuid4().hex[:16],
                subject_dn="CN=?",
                issuer_dn="CN=?",
                valid_from=now - timedelta(days=1),
                valid_to=now + timedelta(days=365),
                status=CertificateStatus.ACTIVE,
            )
            session.add_all([school_class, certificate])
            await session.flush()
            job = await core.create(
                session,
                kind=batches.KIND,
                client_id="dashboard-test",
                params={"role": role.value},
                total=len(items),
                school_id=school.id,
            )
            requests: dict[SigningProvider, str] = {}
            for number, (state, provider, reason) in enumerate(items):
                pupil = models.Student(
                    personal_id=new_personal_id(2011),
                    full_name=f"Trần Văn Lô {letter}{number} {code}",
                    search_name="",
                    school_id=school.id,
                )
                session.add(pupil)
                await session.flush()
                transcript = models.Transcript(
                    document_id=str(uuid.uuid4()),
                    student_id=pupil.id,
                    school_year_id=world.current_year_id,
                    school_id=school.id,
                    class_id=school_class.id,
                    state="READY",
                    xml=b"",
                    pdf=b"",
                    xml_sha256="",
                )
                session.add(transcript)
                await session.flush()
                if provider is not None and provider not in requests:
                    requests[provider] = str(uuid.uuid4())
                    session.add(
                        models.SigningRequest(
                            request_id=requests[provider],
                            school_id=school.id,
                            role=role.value,
                            certificate_id=certificate.id,
                            provider=provider,
                            transaction={},
                            state="DONE",
                            client_id="dashboard-test",
                        )
                    )
                session.add(
                    models.SigningBatchItem(
                        job_id=job.id,
                        transcript_id=transcript.id,
                        chunk=0,
                        state=state.value,
                        request_id=requests.get(provider) if provider else None,
                        reason_code=reason.code.value if reason else None,
                        reason=reason.message if reason else None,
                        attempts=1 if provider else 0,
                    )
                )
                if state in (ItemState.RETURNED, ItemState.FAILED):
                    found.pupils[state.value] = pupil.full_name
                    found.pupil_ids.append(pupil.id)
            return job

        paused = await batch(
            "X",
            SignerRole.HOMEROOM_TEACHER,
            [(ItemState.SIGNED, SigningProvider.BCY, None)] * 3
            + [
                (ItemState.RETURNED, SigningProvider.BCY, REJECTED),
                (ItemState.FAILED, SigningProvider.MYSIGN, UNKNOWN),
            ]
            + [(ItemState.QUEUED, None, None)] * 2,
        )
        core.pause(paused, OUTAGE.code.value, OUTAGE.message)
        cancelled = await batch("X", SignerRole.SCHOOL_SEAL, [(ItemState.CANCELLED, None, None)])
        core.end(cancelled, JobState.CANCELLED, None, "Đợt ký đã bị huỷ.")
        done = await batch(
            "Y", SignerRole.PRINCIPAL, [(ItemState.SIGNED, SigningProvider.SMARTCA, None)] * 2
        )
        core.end(done, JobState.COMPLETED)
        elsewhere = await batch("Z", SignerRole.PRINCIPAL, [(ItemState.QUEUED, None, None)])
        found.jobs = {
            "paused": paused.job_id,
            "cancelled": cancelled.job_id,
            "done": done.job_id,
            "elsewhere": elsewhere.job_id,
        }
    yield found
    async with db.unit_of_work() as session:
        for job_id in (found.jobs["paused"], found.jobs["elsewhere"]):
            job = await core.lock(session, job_id)
            assert job is not None
            core.cancel(job, "Đợt ký của phép thử đã xong.")


@pytest.fixture
async def district_officer(app: Any, db: Database, made: Batches) -> AsyncIterator[Visitor]:
    officer = await new_district_officer(
        db, district_code=made.district_code, full_name="Lý Thị Cán Bộ Phòng", born=1977
    )
    async with visiting(app, *officer) as visitor:
        yield visitor


def ours(rows: list[list[str]], made: Batches) -> dict[str, list[str]]:
    """The list's rows of the test's schools, by school and role."""
    names = set(made.schools.values())
    return {f"{row[1]} · {row[2]}": row for row in rows if row[1] in names}


def state(value: JobState) -> str:
    return VI[f"dashboard.batches.state.{value.value}"]


async def test_the_list_shows_each_batch_s_counts_and_why_it_is_paused(
    officer: Visitor, made: Batches
) -> None:
    page = await officer.web.get("/dashboard/batches")
    assert page.status_code == 200
    rows = ours(table(page.text, "batches", cell=words), made)
    x, y = made.schools["X"], made.schools["Y"]
    homeroom = rows[f"{x} · {VI['dashboard.batches.role.HOMEROOM_TEACHER']}"]
    # providers, state, signed, returned, failed, waiting, total, reason
    assert homeroom[3:11] == [
        f"{SigningProvider.BCY.label}, {SigningProvider.MYSIGN.label}",
        state(JobState.PAUSED),
        "3",
        "1",
        "1",
        "2",
        "7",
        f"PROVIDER_UNAVAILABLE {OUTAGE.message}",
    ]
    principal = rows[f"{y} · {VI['dashboard.batches.role.PRINCIPAL']}"]
    assert principal[3:11] == [
        SigningProvider.SMARTCA.label,
        state(JobState.COMPLETED),
        "2",
        "0",
        "0",
        "0",
        "2",
        "",
    ]
    seal = rows[f"{x} · {VI['dashboard.batches.role.SCHOOL_SEAL']}"]
    assert seal[3:10] == ["", state(JobState.CANCELLED), "0", "0", "0", "0", "1"]
    assert f'href="/dashboard/batches/{made.jobs["paused"]}"' in page.text


async def test_the_list_keeps_one_state(officer: Visitor, made: Batches) -> None:
    page = (await officer.web.get("/dashboard/batches?state=PAUSED")).text
    rows = table(page, "batches", cell=words)
    assert {row[4] for row in rows} == {state(JobState.PAUSED)}
    assert made.jobs["paused"] in page and made.jobs["done"] not in page
    assert '<option value="PAUSED" selected>' in page
    assert (await officer.web.get("/dashboard/batches?state=NOPE")).status_code == 400


async def test_a_batch_shows_what_did_not_sign_and_why(
    officer: Visitor, made: Batches, db: Database, people: People
) -> None:
    page = await officer.web.get(f"/dashboard/batches/{made.jobs['paused']}")
    assert page.status_code == 200
    assert made.schools["X"] in page.text and OUTAGE.message in page.text
    counts = {row[0]: row[1] for row in table(page.text, "counts", cell=words)}
    assert counts == {
        VI["dashboard.batches.item_state.QUEUED"]: "2",
        VI["dashboard.batches.item_state.WAITING"]: "0",
        VI["dashboard.batches.item_state.SIGNED"]: "3",
        VI["dashboard.batches.item_state.RETURNED"]: "1",
        VI["dashboard.batches.item_state.FAILED"]: "1",
        VI["dashboard.batches.item_state.CANCELLED"]: "0",
    }
    unsigned = {row[1]: row for row in table(page.text, "unsigned", cell=words)}
    returned = unsigned[made.pupils["RETURNED"]]
    assert returned[2:5] == [
        VI["dashboard.batches.item_state.RETURNED"],
        f"SIGNER_REJECTED {REJECTED.message}",
        "1",
    ]
    failed = unsigned[made.pupils["FAILED"]]
    assert (
        failed[3] == f"PROVIDER_USER_UNKNOWN {UNKNOWN.message.replace(ACCOUNT, 'CMT_••••••••2345')}"
    )
    assert ACCOUNT not in page.text
    assert len(unsigned) == 2  # the signed and the queued are not listed
    # A paused batch can be resumed from here.
    assert f'action="/dashboard/batches/{made.jobs["paused"]}/resume"' in page.text
    async with db.sessions() as session:
        logged = set(
            await session.scalars(
                select(models.AccessLog.entity_id).where(
                    models.AccessLog.person == people.officer,
                    models.AccessLog.entity == "student",
                    models.AccessLog.item == "signing-batch",
                )
            )
        )
    assert set(made.pupil_ids) <= logged
    done = (await officer.web.get(f"/dashboard/batches/{made.jobs['done']}")).text
    assert VI["dashboard.batches.all_signed"] in done and "/resume" not in done


async def test_a_district_office_sees_its_district_s_batches_only(
    district_officer: Visitor, made: Batches
) -> None:
    page = (await district_officer.web.get("/dashboard/batches")).text
    schools = {row[1] for row in table(page, "batches", cell=words)}
    assert schools == {made.schools["X"], made.schools["Y"]}
    elsewhere = await district_officer.web.get(f"/dashboard/batches/{made.jobs['elsewhere']}")
    assert elsewhere.status_code == 400 and made.schools["Z"] not in elsewhere.text
    own = await district_officer.web.get(f"/dashboard/batches/{made.jobs['paused']}")
    assert own.status_code == 200
    exported = await district_officer.web.get("/dashboard/batches?format=csv")
    lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert {line[1] for line in lines[1:]} == {made.schools["X"], made.schools["Y"]}


async def test_a_teacher_or_a_guardian_is_turned_away(app: Any, people: People) -> None:
    for personal_id in (people.teacher, people.guardian):
        async with visiting(app, personal_id, people.names[personal_id]) as visitor:
            for address in ("/dashboard/batches", f"/dashboard/batches/{uuid.uuid4()}"):
                refused = await visitor.web.get(address)
                assert refused.status_code == 403 and "FORBIDDEN" in refused.text


async def test_the_exports_hold_the_pages_figures(officer: Visitor, made: Batches) -> None:
    page = (await officer.web.get("/dashboard/batches")).text
    shown = ours(table(page, "batches", cell=words), made)
    exported = await officer.web.get("/dashboard/batches?format=csv")
    assert exported.status_code == 200 and exported.content.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert lines[0][:2] == [
        VI["dashboard.batches.column.created"],
        VI["dashboard.batches.column.school"],
    ]
    # The file has the reason's code and message apart, and when each batch last moved.
    in_file = ours([[*line[:10], " ".join(line[10:12]).strip()] for line in lines], made)
    assert in_file == shown
    assert all(line[12] for line in lines[1:])

    address = f"/dashboard/batches/{made.jobs['paused']}"
    page = (await officer.web.get(address)).text
    workbook = openpyxl.load_workbook(
        io.BytesIO((await officer.web.get(f"{address}?format=xlsx")).content)
    )
    sheet = workbook[VI["dashboard.batches.sheet.unsigned"]]
    in_sheet = [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert [
        [row[0], row[1], row[2], f"{row[3]} {row[4]}", str(row[5]), row[6]] for row in in_sheet
    ] == table(page, "unsigned", cell=words)
    assert ACCOUNT not in str(in_sheet)
    summary = workbook[VI["dashboard.batches.sheet.batches"]]
    assert [c.value for c in summary[2]][5:10] == [3, 1, 1, 2, 7]


async def test_an_address_out_of_shape_is_said_plainly(officer: Visitor) -> None:
    assert (await officer.web.get("/dashboard/batches/not-a-batch")).status_code == 400
    assert (await officer.web.get(f"/dashboard/batches/{uuid.uuid4()}")).status_code == 400
    assert (await officer.web.get("/dashboard/batches?page=x")).status_code == 400


# --- resuming a paused batch, on a real worker -------------------------------------------


@pytest.fixture
async def school(db: Database, world: World, demo: DemoSigning) -> SigningSchool:
    """A school of the test's own: one class of three ready transcripts, its homeroom
    teacher at Ban Cơ yếu (the worker fixture enrols it before it starts)."""
    return await signing_school(
        db,
        demo,
        code=f"01DASHB{next(_schools)}{secrets.token_hex(2)}",
        school_year_id=world.current_year_id,
        teacher_providers=[SigningProvider.BCY],
        principal_provider=SigningProvider.SMARTCA,
        per_class=3,
    )


@pytest.fixture
async def hub(settings: Settings, db: Database, demo: DemoSigning, worker: Any) -> Any:
    from hub.jobs.actors import send

    return create_app(settings, db, signing=demo.signing, send_jobs=send)


async def paused_batch(db: Database, demo: DemoSigning, school: SigningSchool) -> str:
    """A homeroom batch started as the API starts one, and paused by its school's app
    before any of it was sent."""
    app = Caller(
        client_id="dashboard-test",
        scopes=frozenset({"transcripts:read", "transcripts:write", "transcripts:sign"}),
        org_level=OrgLevel.SCHOOL,
        school_ids=frozenset({school.id}),
    )
    async with db.unit_of_work() as session:
        job, _unsent = await batches.start_batch(
            session,
            caller=app,
            signing=demo.signing,
            role=SignerRole.HOMEROOM_TEACHER,
            class_id=school.class_ids[0],
            apps_may_name_signers=True,
        )
        await batches.pause(session, caller=app, job_id=job.job_id)
        return job.job_id


async def test_a_paused_batch_resumed_from_its_page_signs_to_the_end(
    hub: Any, db: Database, demo: DemoSigning, school: SigningSchool, people: People
) -> None:
    job_id = await paused_batch(db, demo, school)
    async with visiting(hub, people.officer, people.names[people.officer]) as officer:
        address = f"/dashboard/batches/{job_id}"
        page = (await officer.web.get(address)).text
        assert PAUSED_BY_USER in page and "Đợt ký đang tạm dừng theo yêu cầu." in page
        forged = await officer.web.post(f"{address}/resume", data={"csrf_token": "x"})
        assert forged.status_code == 403
        resumed = await officer.web.post(f"{address}/resume", data={"csrf_token": officer.csrf})
        assert resumed.status_code == 303
        assert resumed.headers["location"] == f"{address}?resumed=1"
        assert (
            VI["dashboard.batches.resumed"] in (await officer.web.get(f"{address}?resumed=1")).text
        )
        for _ in range(300):  # the worker sends the class to the teacher's phone, which confirms
            async with db.sessions() as session:
                job = await core.find(session, job_id)
                assert job is not None
                if job.state == JobState.COMPLETED.value:
                    break
            await asyncio.sleep(0.1)
        page = (await officer.web.get(address)).text
    assert job.state == JobState.COMPLETED.value
    counts = {row[0]: row[1] for row in table(page, "counts", cell=words)}
    assert counts[VI["dashboard.batches.item_state.SIGNED"]] == "3"
    assert state(JobState.COMPLETED) in page and "/resume" not in page
