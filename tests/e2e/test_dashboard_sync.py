"""The dashboard's national sync pages (issue 12, part 4): an officer of the Sở starts a
run from the page, sees it with the figures it recorded and the records the national
systems refused — which pupil, which school, the code and message, the personal ID
masked, every read logged — and sends them again, one or all of a run, through the
service the API uses. A retry really sends: the records go to the simulated sector
database and transcript store, and their letters resolve, or stay open counting one
more attempt while the far side still refuses. Every table exports to CSV and XLSX. A
district office's officer, a teacher and a guardian are turned away.

The runs go through a Dramatiq worker in this process on a real Redis, against the
national systems simulated on loopback, as in tests/integration/test_national_sync.py.
They are runs of the shared test database: each test looks at the records of its own
school in them, and sends only student records (or only its own transcripts), so
other tests' pupils and transcripts are left as they were.
"""

import asyncio
import csv
import hashlib
import html
import io
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import openpyxl
import pytest
from sqlalchemy import select

from hub.adapters.national.simulator import SectorDatabaseSimulator, TranscriptStoreSimulator
from hub.adapters.population.simulator import PopulationSimulator
from hub.adapters.signing.simulator import SimulatorServer
from hub.auth.access import Caller
from hub.auth.people import grant_officer
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.domain.enums import OrgLevel, Sex
from hub.jobs import sync
from hub.jobs.actors import send
from hub.jobs.core import JobRuntime
from hub.jobs.sync import Phase, SyncServices
from hub.web import i18n
from hub.web.app import create_app
from tests.helpers import Visitor, visiting
from tests.pages import table, words
from tests.people import People, enrolled_pupil, new_personal_id, people_school
from tests.signing_support import jobs_settings, running_worker
from tests.world import World, writers_district

VI = i18n.catalogue("vi")
DEPARTMENT = Caller("so-gddt", frozenset({"sync:run"}), OrgLevel.DEPARTMENT, None)
FINAL = ("COMPLETED", "FAILED", "CANCELLED")


# --- the national systems, the worker, the app that sends to it ----------------------------------


@dataclass
class FarSides:
    sector: SectorDatabaseSimulator
    store: TranscriptStoreSimulator
    population: PopulationSimulator
    servers: list[SimulatorServer]

    def services(self) -> SyncServices:
        sector, store, population = (server.url for server in self.servers)
        return SyncServices.connect(sector_url=sector, store_url=store, population_url=population)


@pytest.fixture(scope="module")
def far() -> Iterator[FarSides]:
    sides = FarSides(
        SectorDatabaseSimulator(), TranscriptStoreSimulator(), PopulationSimulator(), []
    )
    for side in (sides.sector, sides.store, sides.population):
        sides.servers.append(SimulatorServer(side.app()).start())
    yield sides
    for server in sides.servers:
        server.stop()


@pytest.fixture
async def worker(settings: Settings, far: FarSides) -> AsyncIterator[None]:
    """A worker with the national systems' clients, its broker the one the app sends to."""
    worker_settings = jobs_settings(settings)
    runtime = JobRuntime(
        worker_settings, Database(worker_settings.database_url), sync=far.services()
    )
    async with running_worker(runtime, threads=2):
        yield


@pytest.fixture(scope="module")
def hub_app(settings: Settings, db: Database):  # type: ignore[no-untyped-def]
    """The hub as served with a broker: its pages hand runs to the workers."""
    return create_app(settings, db, send_jobs=send)


@pytest.fixture(scope="module")
async def people(db: Database, world: World) -> People:
    return await people_school(db, code="DSY")


@pytest.fixture
async def officer(hub_app, people: People) -> AsyncIterator[Visitor]:  # type: ignore[no-untyped-def]
    async with visiting(hub_app, people.officer, people.names[people.officer]) as visitor:
        yield visitor


# --- a school of the test's own, its pupils ------------------------------------------------------


@dataclass
class Pupils:
    school_id: int
    school_name: str
    #: full name → (student id, personal ID or None)
    pupils: dict[str, tuple[int, str | None]]

    def id_of(self, name: str) -> int:
        return self.pupils[name][0]

    def personal_id(self, name: str) -> str:
        found = self.pupils[name][1]
        assert found is not None
        return found


async def pupils_school(db: Database, world: World, names: dict[str, bool]) -> Pupils:
    """A school in the writers' district, a class of the current year and its pupils
    (``names``: whether each has a personal ID)."""
    tag = secrets.token_hex(3)
    async with db.unit_of_work() as session:
        district = await writers_district(session)
        school = models.School(
            department_id=district.department_id,
            district_id=district.id,
            moet_code=f"DSY{tag}",
            name=f"Trường THCS Đồng Bộ {tag}",
            level="LOWER_SECONDARY",
            ownership="PUBLIC",
        )
        session.add(school)
        await session.flush()
        school_class = models.SchoolClass(
            school_id=school.id, school_year_id=world.current_year_id, name="7A", grade=7
        )
        session.add(school_class)
        await session.flush()
        found: dict[str, tuple[int, str | None]] = {}
        for name, has_id in names.items():
            full_name = f"{name} {tag}"
            student = await enrolled_pupil(
                session,
                school_class,
                full_name=full_name,
                personal_id=new_personal_id(2012) if has_id else None,
                birth_date=date(2012, 5, 6),
            )
            found[full_name] = (student.id, student.personal_id)
        return Pupils(school.id, school.name, found)


async def sealed_transcript(db: Database, world: World, pupils: Pupils, name: str) -> int:
    """A sealed transcript of the pupil ``name``, waiting to go to the transcript store."""
    async with db.unit_of_work() as session:
        class_id = await session.scalar(
            select(models.SchoolClass.id).where(models.SchoolClass.school_id == pupils.school_id)
        )
        xml = f"<hocBa>{secrets.token_hex(8)}</hocBa>".encode()
        transcript = models.Transcript(
            document_id=str(uuid.uuid4()),
            student_id=pupils.id_of(name),
            school_year_id=world.current_year_id,
            school_id=pupils.school_id,
            class_id=class_id,
            version=1,
            is_current=True,
            state="SEALED",
            xml=xml,
            pdf=b"%PDF-1.7 " + xml,
            xml_sha256=hashlib.sha256(xml).hexdigest(),
        )
        session.add(transcript)
        await session.flush()
        return transcript.id


# --- reading the pages and the runs ---------------------------------------------------------------


async def letter_rows(officer: Visitor, address: str) -> list[list[str]]:
    """The rows of a run's table of refused records, page after page ("Xem tiếp")."""
    rows: list[list[str]] = []
    following: str | None = address
    while following is not None:
        page = await officer.web.get(following)
        assert page.status_code == 200
        rows += table(page.text, "letters", cell=words)
        more = re.search(
            rf'<a href="([^"]+)">{re.escape(VI["dashboard.sync.more"])}</a>', page.text
        )
        following = html.unescape(more.group(1)) if more else None
    return rows


def run_of(response: httpx.Response) -> str:
    """The run a form's answer sends the browser to."""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/dashboard/sync/run?")
    return parse_qs(urlsplit(location).query)["run"][0]


async def finished(db: Database, run_id: str) -> models.Job:
    """The run once the worker has finished it (a far side answers on loopback at once)."""
    for _ in range(600):
        async with db.sessions() as session:
            job = await session.scalar(select(models.Job).where(models.Job.job_id == run_id))
        assert job is not None
        if job.state in FINAL:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish: {job.state} {job.reason}")


async def letters_of(db: Database, run_id: str) -> list[models.SyncDeadLetter]:
    async with db.sessions() as session:
        return list(
            await session.scalars(
                select(models.SyncDeadLetter)
                .join(models.Job, models.Job.id == models.SyncDeadLetter.job_id)
                .where(models.Job.job_id == run_id)
                .order_by(models.SyncDeadLetter.id)
            )
        )


def number(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def masked(personal_id: str) -> str:
    return "••••••••" + personal_id[-4:]


async def start_students_run(officer: Visitor, db: Database) -> models.Job:
    """A run of student records, started from the page as an officer does, finished."""
    started = await officer.web.post(
        "/dashboard/sync/start", data={"csrf_token": officer.csrf, "phase": Phase.STUDENTS.value}
    )
    return await finished(db, run_of(started))


async def a_run_with_refusals(
    officer: Visitor, db: Database, world: World, far: FarSides
) -> tuple[Pupils, models.Job]:
    """A school whose pupils An and Bình the sector database refuses, Chi has no
    personal ID and Dung goes through; a run of student records sent with them."""
    pupils = await pupils_school(db, world, {"An": True, "Bình": True, "Chi": False, "Dung": True})
    an, binh = (name for name in pupils.pupils if name.startswith(("An ", "Bình ")))
    far.sector.faults.reject = {
        pupils.personal_id(an): "PERSONAL_ID_UNKNOWN",
        pupils.personal_id(binh): "PERSONAL_ID_UNKNOWN",
    }
    try:
        job = await start_students_run(officer, db)
    finally:
        far.sector.faults.reject = {}
    assert job.state == "COMPLETED", job.reason
    return pupils, job


def name_starting(pupils: Pupils, given: str) -> str:
    return next(name for name in pupils.pupils if name.startswith(f"{given} "))


# --- the tests ------------------------------------------------------------------------------


async def test_a_run_started_from_the_page_is_shown_with_its_figures_and_refused_records(
    officer: Visitor, db: Database, world: World, far: FarSides, worker: None, people: People
) -> None:
    pupils, job = await a_run_with_refusals(officer, db, world, far)
    students = job.checkpoint["students"]
    letters = await letters_of(db, job.job_id)
    mine = [x for x in letters if x.school_id == pupils.school_id]
    assert sorted((x.entity_id, x.code) for x in mine) == sorted(
        [
            (pupils.id_of(name_starting(pupils, "An")), "PERSONAL_ID_UNKNOWN"),
            (pupils.id_of(name_starting(pupils, "Bình")), "PERSONAL_ID_UNKNOWN"),
            (pupils.id_of(name_starting(pupils, "Chi")), "PERSONAL_ID_MISSING"),
        ]
    )
    dung = name_starting(pupils, "Dung")
    assert pupils.personal_id(dung) in far.sector.students  # delivered

    runs = await officer.web.get("/dashboard/sync")
    assert runs.status_code == 200 and runs.headers["cache-control"] == "no-store"
    assert f'href="/dashboard/sync/run?run={job.job_id}"' in runs.text
    newest = table(runs.text, "runs", cell=words)[0]
    assert newest[1:5] == [
        VI["dashboard.sync.state.COMPLETED"],
        number(students["sent"]),
        number(students["rejected"]),
        number(len(letters)),
    ]
    assert students["rejected"] == len(letters) >= 3

    page = await officer.web.get(f"/dashboard/sync/run?run={job.job_id}")
    assert page.status_code == 200
    assert table(page.text, "phases", cell=words) == [
        [
            VI["dashboard.sync.phase.STUDENTS"],
            number(students["total"]),
            number(students["sent"]),
            number(students["accepted"]),
            number(students["rejected"]),
        ]
    ]
    letters_shown = await letter_rows(officer, f"/dashboard/sync/run?run={job.job_id}")
    assert len(letters_shown) == len(letters)
    rows = {row[0]: row for row in letters_shown if row[2] == pupils.school_name}
    assert len(rows) == 3
    target = VI["dashboard.sync.target.SECTOR_DATABASE"]
    for given, code in (("An", "PERSONAL_ID_UNKNOWN"), ("Chi", "PERSONAL_ID_MISSING")):
        name = name_starting(pupils, given)
        row = rows[f"{name} {target}"]
        assert row[3] == code
        assert row[5:] == ["1", VI["dashboard.sync.letter_open"]]
    an = name_starting(pupils, "An")
    assert rows[f"{an} {target}"][1] == masked(pupils.personal_id(an))
    assert "không có trong cơ sở dữ liệu quốc gia" in rows[f"{an} {target}"][4]
    assert pupils.personal_id(an) not in page.text


async def test_one_refused_record_is_inspected_masked_and_its_reading_logged(
    officer: Visitor, db: Database, world: World, far: FarSides, worker: None, people: People
) -> None:
    pupils, job = await a_run_with_refusals(officer, db, world, far)
    an = name_starting(pupils, "An")
    (letter,) = [x for x in await letters_of(db, job.job_id) if x.entity_id == pupils.id_of(an)]
    page = await officer.web.get(f"/dashboard/sync/letter?letter={letter.id}")
    assert page.status_code == 200
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())
    for shown in (
        an,
        pupils.school_name,
        "7A",
        "06/05/2012",
        "PERSONAL_ID_UNKNOWN",
        "Mã định danh cá nhân không có trong cơ sở dữ liệu quốc gia.",
        masked(pupils.personal_id(an)),
        VI["dashboard.sync.letter_open"],
    ):
        assert shown in text, shown
    assert pupils.personal_id(an) not in page.text
    assert f'name="letter" value="{letter.id}"' in page.text  # the retry form
    assert len(table(page.text, "attempts", cell=words)) == 1
    async with db.sessions() as session:
        logged = set(
            await session.scalars(
                select(models.AccessLog.item).where(
                    models.AccessLog.person == people.officer,
                    models.AccessLog.entity == "student",
                    models.AccessLog.entity_id == pupils.id_of(an),
                )
            )
        )
    assert {"record", "sync-dead-letter"} <= logged


async def test_a_retry_sends_again_and_the_letter_resolves_or_counts_another_attempt(
    officer: Visitor, db: Database, world: World, far: FarSides, worker: None, people: People
) -> None:
    pupils, job = await a_run_with_refusals(officer, db, world, far)
    an, binh, chi = (name_starting(pupils, given) for given in ("An", "Bình", "Chi"))
    letters = {x.entity_id: x for x in await letters_of(db, job.job_id)}
    first = letters[pupils.id_of(an)]

    # An alone, while the sector database still refuses her: a new run, a new refusal.
    far.sector.faults.reject = {pupils.personal_id(an): "PERSONAL_ID_UNKNOWN"}
    try:
        again = await officer.web.post(
            "/dashboard/sync/retry",
            data={"csrf_token": officer.csrf, "run": job.job_id, "letter": str(first.id)},
        )
        retry = await finished(db, run_of(again))
    finally:
        far.sector.faults.reject = {}
    assert retry.params["retry_of"] == {
        "job": job.id,
        "run_id": job.job_id,
        "letter_ids": [first.id],
    }
    sent = retry.checkpoint["students"]
    assert (sent["sent"], sent["accepted"], sent["rejected"]) == (1, 0, 1)
    assert [x.entity_id for x in await letters_of(db, retry.job_id)] == [pupils.id_of(an)]
    page = await officer.web.get(f"/dashboard/sync/letter?letter={first.id}")
    facts = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())
    assert f"{VI['dashboard.sync.column.attempts']} 2 " in facts
    assert len(table(page.text, "attempts", cell=words)) == 2
    retry_page = await officer.web.get(f"/dashboard/sync/run?run={retry.job_id}&done=retried")
    assert VI["dashboard.sync.done.retried"] in retry_page.text
    assert f'href="/dashboard/sync/run?run={job.job_id}"' in retry_page.text

    # Every open record of the first run (other tests' pupils it refused too), accepted
    # now: An and Bình go through, Chi (no personal ID) cannot be sent and stays.
    assert not any(pupils.personal_id(name) in far.sector.students for name in (an, binh))
    everyone = await officer.web.post(
        "/dashboard/sync/retry", data={"csrf_token": officer.csrf, "run": job.job_id}
    )
    last = await finished(db, run_of(everyone))
    assert last.state == "COMPLETED"
    assert last.params["retry_of"]["letter_ids"] is None  # every one still open
    assert all(pupils.personal_id(name) in far.sector.students for name in (an, binh))
    after = {x.entity_id: x for x in await letters_of(db, job.job_id)}
    assert after[pupils.id_of(an)].resolved_at is not None
    assert after[pupils.id_of(binh)].resolved_at is not None
    assert after[pupils.id_of(chi)].resolved_at is None
    refused_again = [
        x for x in await letters_of(db, last.job_id) if x.school_id == pupils.school_id
    ]
    assert [x.entity_id for x in refused_again] == [pupils.id_of(chi)]

    still = await letter_rows(officer, f"/dashboard/sync/run?run={job.job_id}&open=1")
    mine = [row for row in still if row[2] == pupils.school_name]
    assert [row[0].startswith(chi) for row in mine] == [True]
    assert mine[0][5:] == ["2", VI["dashboard.sync.letter_open"]]
    resolved = await officer.web.get(f"/dashboard/sync/letter?letter={first.id}")
    assert "Đã được nhận lúc" in resolved.text
    assert f'name="letter" value="{first.id}"' not in resolved.text  # nothing left to retry
    refused = await officer.web.post(
        "/dashboard/sync/retry",
        data={"csrf_token": officer.csrf, "run": job.job_id, "letter": str(first.id)},
    )
    assert refused.status_code == 400
    assert "không còn bản ghi nào chờ gửi lại" in refused.text


async def test_a_refused_transcript_is_inspected_and_sent_again(
    officer: Visitor, db: Database, world: World, far: FarSides, worker: None, people: People
) -> None:
    pupils = await pupils_school(db, world, {"Em": True})
    (name,) = pupils.pupils
    transcript_id = await sealed_transcript(db, world, pupils, name)
    async with db.sessions() as session:
        document = await session.scalar(
            select(models.Transcript.document_id).where(models.Transcript.id == transcript_id)
        )
    assert document is not None
    far.store.faults.reject = {document: "DOCUMENT_CONFLICT"}
    try:
        # Started as the API and ``hub sync national`` start a run of named transcripts.
        async with db.unit_of_work() as session:
            job, work = await sync.start_sync(
                session,
                caller=DEPARTMENT,
                phases=[Phase.TRANSCRIPTS],
                transcript_ids=[transcript_id],
            )
            run_id = job.job_id
        send(work)
        await finished(db, run_id)
    finally:
        far.store.faults.reject = {}
    (letter,) = await letters_of(db, run_id)
    page = await officer.web.get(f"/dashboard/sync/letter?letter={letter.id}")
    assert page.status_code == 200
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())
    for shown in (
        f"Học bạ của {name}, năm học",
        document,
        pupils.school_name,
        "DOCUMENT_CONFLICT",
        VI["dashboard.sync.target.TRANSCRIPT_STORE"],
        masked(pupils.personal_id(name)),
    ):
        assert shown in text, shown

    again = await officer.web.post(
        "/dashboard/sync/retry",
        data={"csrf_token": officer.csrf, "run": run_id, "letter": str(letter.id)},
    )
    retry = await finished(db, run_of(again))
    assert retry.params["phases"] == [Phase.TRANSCRIPTS.value]
    assert retry.checkpoint["transcripts"]["sent"] == 1
    assert (document, 1) in far.store.documents
    async with db.sessions() as session:
        state = await session.scalar(
            select(models.Transcript.state).where(models.Transcript.id == transcript_id)
        )
    assert state == "PUBLISHED"
    (resolved,) = await letters_of(db, run_id)
    assert resolved.resolved_at is not None


async def test_every_table_exports_to_csv_and_xlsx_like_the_page(
    officer: Visitor, db: Database, world: World, far: FarSides, worker: None, people: People
) -> None:
    pupils, job = await a_run_with_refusals(officer, db, world, far)
    runs = await officer.web.get("/dashboard/sync?format=csv&table=runs")
    assert runs.status_code == 200
    assert runs.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(runs.content.decode("utf-8-sig"))))
    assert lines[0][0] == VI["dashboard.sync.column.run_id"]
    newest = lines[1]
    students = job.checkpoint["students"]
    assert newest[0] == job.job_id
    assert newest[2:6] == [
        VI["dashboard.sync.state.COMPLETED"],
        str(students["sent"]),
        str(students["rejected"]),
        str(students["rejected"]),
    ]
    assert newest[6].isdigit()

    address = f"/dashboard/sync/run?run={job.job_id}"
    exported = await officer.web.get(f"{address}&format=xlsx")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/vnd.openxmlformats")
    workbook = openpyxl.load_workbook(io.BytesIO(exported.content))
    phases = workbook[VI["dashboard.sync.sheet.phases"]]
    assert [list(row) for row in phases.iter_rows(min_row=2, values_only=True)] == [
        [
            VI["dashboard.sync.phase.STUDENTS"],
            students["total"],
            students["sent"],
            students["accepted"],
            students["rejected"],
        ]
    ]
    sheet = workbook[VI["dashboard.sync.sheet.letters"]]
    exported_rows = [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]
    shown = await letter_rows(officer, address)
    assert len(exported_rows) == len(shown) == students["rejected"]
    mine = [row for row in exported_rows if row[3] == pupils.school_name]
    assert len(mine) == 3
    assert all(row[2] is None or re.fullmatch(r"•{8}\d{4}", str(row[2])) for row in mine)
    assert {row[5] for row in mine} == {"PERSONAL_ID_UNKNOWN", "PERSONAL_ID_MISSING"}

    letters = await officer.web.get(f"{address}&format=csv&table=letters")
    listed = list(csv.reader(io.StringIO(letters.content.decode("utf-8-sig"))))
    assert listed[0][1] == VI["dashboard.sync.column.record"]
    assert sorted(line[0] for line in listed[1:]) == sorted(str(row[0]) for row in exported_rows)
    letter = exported_rows[0][0]
    attempts = await officer.web.get(f"/dashboard/sync/letter?letter={letter}&format=xlsx")
    book = openpyxl.load_workbook(io.BytesIO(attempts.content))
    rows = list(book[VI["dashboard.sync.sheet.attempts"]].iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in rows] == [job.job_id]


async def test_a_long_list_of_refused_records_is_shown_page_by_page(
    officer: Visitor, db: Database, world: World, far: FarSides, worker: None, people: People
) -> None:
    pupils = await pupils_school(db, world, {f"Học Sinh {n:03}": False for n in range(201)})
    job = await start_students_run(officer, db)
    address = f"/dashboard/sync/run?run={job.job_id}"
    first = await officer.web.get(address)
    assert len(table(first.text, "letters", cell=words)) == 200
    assert VI["dashboard.sync.more"] in first.text
    rows = await letter_rows(officer, address)
    assert len(rows) == job.checkpoint["students"]["rejected"] >= 201
    mine = [row for row in rows if row[2] == pupils.school_name]
    assert len(mine) == 201 and {row[3] for row in mine} == {"PERSONAL_ID_MISSING"}
    exported = await officer.web.get(f"{address}&format=csv&table=letters")
    assert len(list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))) == len(rows) + 1


async def test_an_open_run_holds_new_ones_back_until_it_is_cancelled(
    officer: Visitor, db: Database
) -> None:
    async with db.unit_of_work() as session:  # started, its message not sent: it stays open
        job, _ = await sync.start_sync(session, caller=DEPARTMENT, phases=[Phase.STUDENTS])
        run_id = job.job_id
    try:
        runs = await officer.web.get("/dashboard/sync")
        assert VI["dashboard.sync.busy"] in runs.text
        assert 'action="/dashboard/sync/start"' not in runs.text
        assert f'<a href="/dashboard/sync/run?run={run_id}">' in runs.text
        refused = await officer.web.post(
            "/dashboard/sync/start", data={"csrf_token": officer.csrf, "phase": "STUDENTS"}
        )
        assert refused.status_code == 400 and f"lượt đồng bộ {run_id} chưa xong" in refused.text
        page = await officer.web.get(f"/dashboard/sync/run?run={run_id}")
        assert 'action="/dashboard/sync/cancel"' in page.text
        assert table(page.text, "phases", cell=words)[0][0] == VI["dashboard.sync.phase.STUDENTS"]
    finally:
        cancelled = await officer.web.post(
            "/dashboard/sync/cancel", data={"csrf_token": officer.csrf, "run": run_id}
        )
    assert run_of(cancelled) == run_id
    job = await finished(db, run_id)
    assert job.state == "CANCELLED"
    page = await officer.web.get(f"/dashboard/sync/run?run={run_id}&done=cancelled")
    assert VI["dashboard.sync.done.cancelled"] in page.text
    assert VI["dashboard.sync.state.CANCELLED"] in page.text
    assert 'action="/dashboard/sync/cancel"' not in page.text


async def test_a_district_officer_a_teacher_and_a_guardian_are_turned_away(
    hub_app, db: Database, people: People, world: World
) -> None:  # type: ignore[no-untyped-def]
    district_officer = new_personal_id(1978, Sex.MALE)
    async with db.unit_of_work() as session:
        district = await writers_district(session)
        await grant_officer(
            session,
            personal_id=district_officer,
            full_name="Phan Văn Phòng",
            granted_by="test",
            district_code=district.code,
        )
    async with db.sessions() as session:
        letter_id = await session.scalar(select(models.SyncDeadLetter.id).limit(1))
    run_id = str(uuid.uuid4())
    visitors = [
        (district_officer, "Phan Văn Phòng", "department"),
        (people.teacher, people.names[people.teacher], "reports:read"),
        (people.guardian, people.names[people.guardian], "reports:read"),
    ]
    for personal_id, name, scope in visitors:
        async with visiting(hub_app, personal_id, name) as visitor:
            for action, form in (
                ("retry", {"run": run_id, "letter": str(letter_id or 1)}),
                ("retry", {"run": run_id}),
                ("start", {"phase": "STUDENTS"}),
                ("cancel", {"run": run_id}),
            ):
                refused = await visitor.web.post(
                    f"/dashboard/sync/{action}", data={"csrf_token": visitor.csrf, **form}
                )
                assert refused.status_code == 403, (name, action)
                assert f"({scope})" in refused.text and "FORBIDDEN" in refused.text
            for address in (
                "/dashboard/sync",
                f"/dashboard/sync/run?run={run_id}",
                f"/dashboard/sync/letter?letter={letter_id or 1}",
                "/dashboard/sync?format=csv",
            ):
                page = await visitor.web.get(address)
                assert page.status_code == 403, (name, address)
                assert "FORBIDDEN" in page.text


async def test_a_form_without_its_token_or_session_changes_nothing(
    hub_app, officer: Visitor, db: Database
) -> None:  # type: ignore[no-untyped-def]
    async with db.sessions() as session:
        runs = len(
            list(await session.scalars(select(models.Job.id).where(models.Job.kind == sync.KIND)))
        )
    forged = await officer.web.post("/dashboard/sync/start", data={"phase": "STUDENTS"})
    assert forged.status_code == 403 and "CSRF_FAILED" in forged.text
    transport = httpx.ASGITransport(app=hub_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as web:
        sent = await web.post("/dashboard/sync/start", data={"phase": "STUDENTS"})
    assert sent.status_code == 303 and sent.headers["location"].startswith("/login?")
    async with db.sessions() as session:
        after = len(
            list(await session.scalars(select(models.Job.id).where(models.Job.kind == sync.KIND)))
        )
    assert after == runs


async def test_unknown_runs_letters_and_phases_are_said_plainly(
    officer: Visitor, app: Any, people: People
) -> None:
    assert (await officer.web.get("/dashboard/sync/run?run=abc")).status_code == 400
    unknown = await officer.web.get(f"/dashboard/sync/run?run={uuid.uuid4()}")
    assert unknown.status_code == 400 and "không có lượt đồng bộ" in unknown.text
    assert (await officer.web.get("/dashboard/sync/letter?letter=x")).status_code == 400
    assert (await officer.web.get("/dashboard/sync/letter?letter=2147483647")).status_code == 400
    bad = await officer.web.post(
        "/dashboard/sync/start", data={"csrf_token": officer.csrf, "phase": "EVERYTHING"}
    )
    assert bad.status_code == 400
    none = await officer.web.post("/dashboard/sync/start", data={"csrf_token": officer.csrf})
    assert none.status_code == 400 and "cần ít nhất một phần việc" in none.text
    # The hub without a broker says so, and offers no form that cannot work.
    async with visiting(app, people.officer, people.names[people.officer]) as visitor:
        page = await visitor.web.get("/dashboard/sync")
        assert (
            VI["dashboard.sync.no_workers"] in page.text or VI["dashboard.sync.busy"] in page.text
        )
        assert 'action="/dashboard/sync/start"' not in page.text
        refused = await visitor.web.post(
            "/dashboard/sync/start", data={"csrf_token": visitor.csrf, "phase": "STUDENTS"}
        )
        assert refused.status_code == 400 and "không chạy công việc nền" in refused.text
