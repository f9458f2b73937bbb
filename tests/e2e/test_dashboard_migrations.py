"""The dashboard's provider-migration pages (issue 12, part 4), through the whole app.

An officer of the Sở plans moving a school's staff from Viettel MySign to the Government
CA (the dry run writes nothing and is logged as a read of each person), starts it, follows
it through the JSON the page's script polls, pauses it while the test signatures wait on
the phones, resumes it, and rolls it back; another migration is confirmed. Every table
exports to CSV and XLSX. A district office's officer and a teacher are refused the
actions; ids and values that name nothing get a page that says so.

The providers are the demo's simulators on loopback and the jobs run on a real Dramatiq
worker (Redis) in this process. Each test moves a school of its own.
"""

import asyncio
import csv
import io
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import dramatiq
import lxml.html
import openpyxl
import pytest
from sqlalchemy import select

from hub.adapters.signing.simulator import Phone, PhoneAnswer, SimState
from hub.db import models
from hub.db.engine import Database
from hub.demo.signing import DemoSigning
from hub.domain.enums import SigningProvider
from hub.domain.personal_data import mask_personal_id
from hub.jobs import migration
from hub.jobs.core import JobRuntime, JobState
from hub.web import i18n
from hub.web.app import create_app
from hub.web.dashboard import migrations as pages
from tests import signing_support as support
from tests.helpers import Visitor, visiting
from tests.people import People, new_personal_id, people_school
from tests.schools import (
    SigningSchool,
    certificate_row,
    default_certificate,
    signing_school,
    staff_name,
)
from tests.world import World, writers_district

BCY, MYSIGN, SMARTCA = SigningProvider.BCY, SigningProvider.MYSIGN, SigningProvider.SMARTCA
VI, EN = i18n.catalogue("vi"), i18n.catalogue("en")
BASE = "/dashboard/migrations"
T = TypeVar("T")

demo = support.demo


# --- the hub with a worker and the simulators --------------------------------------------------


@pytest.fixture(scope="module")
def runtime(settings, demo, tmp_path_factory) -> JobRuntime:  # type: ignore[no-untyped-def]
    """The worker's runtime, enrolling at the simulators; it starts no certificate refresh."""
    return support.enrolling_runtime(settings, demo, tmp_path_factory.mktemp("migration-worker"))


@pytest.fixture(scope="module")
async def worker(runtime: JobRuntime) -> AsyncIterator[dramatiq.Worker]:
    async with support.running_worker(runtime) as started:
        yield started


@pytest.fixture(scope="module")
def hub_app(settings, db, demo, runtime, worker):  # type: ignore[no-untyped-def]
    """The hub, signing through the simulators and sending jobs to the worker."""
    from hub.jobs.actors import send

    return create_app(
        settings, db, signing=demo.signing, send_jobs=send, enrolment=runtime.enrolment
    )


@pytest.fixture(scope="module")
async def people(db: Database, world: World) -> People:
    return await people_school(db, code="DMG")


@pytest.fixture
async def officer(hub_app, people: People) -> AsyncIterator[Visitor]:  # type: ignore[no-untyped-def]
    async with visiting(hub_app, people.officer, people.names[people.officer]) as visitor:
        yield visitor


@pytest.fixture
async def school(db: Database, world: World, demo: DemoSigning) -> SigningSchool:
    """The test's own school: two MySign teachers (the first already holds a Government CA
    credential), one SmartCA teacher, a MySign principal."""
    found = await signing_school(
        db,
        demo,
        code=f"01MG{secrets.token_hex(3).upper()}",
        school_year_id=world.current_year_id,
        teacher_providers=[MYSIGN, MYSIGN, SMARTCA],
        principal_provider=MYSIGN,
        per_class=0,
    )
    first = found.teachers[0]
    demo.back_offices[BCY].enrol(first, full_name=await staff_name(db, first), personal_id=first)
    return found


@pytest.fixture
def phones_wait(demo: DemoSigning) -> Any:
    """The Government CA's signers do not answer until the test approves by hand."""
    office = demo.back_offices[BCY]
    office.phone = Phone(answer=PhoneAnswer.IGNORE)
    yield office
    office.phone = Phone(confirm_delay=0.2)


# --- the story -----------------------------------------------------------------------------------


async def test_plan_start_pause_resume_and_roll_back(
    officer: Visitor, school: SigningSchool, db: Database, people: People, phones_wait: Any
) -> None:
    movers = [school.teachers[0], school.teachers[1], school.principal]
    old = {p: (await default_certificate(db, p)).id for p in movers}

    listed = await officer.web.get(BASE)
    assert listed.status_code == 200
    form = page(listed.text).cssselect('form[action="/dashboard/migrations/plan"]')[0]
    assert {o.get("value") for o in form.cssselect("#to option")} == {
        p.value for p in migration.MIGRATABLE
    }

    plan_address = f"{BASE}/plan?from=MYSIGN&to=BCY&school={school.code}"
    planned = await officer.web.get(plan_address)
    assert planned.status_code == 200, planned.text
    html = page(planned.text)
    rows = {row[0]: row for row in cells(html, "plan")}
    first, second, third = [rows[await staff_name(db, p)] for p in school.teachers]
    principal = rows[await staff_name(db, school.principal)]
    assert first[6] == VI["dashboard.migrations.action.SWITCH"] and first[5] == "Có"
    assert first[2] == MYSIGN.label and first[3] != "—"
    assert second[6] == principal[6] == VI["dashboard.migrations.action.ENROL"]
    assert third[6] == VI["dashboard.migrations.action.SKIP"]
    assert "NOT_AT_SOURCE" in third[7] and "Không dùng chữ ký số của Viettel MySign." in third[7]
    # Who needs something comes first; the summary counts each action.
    assert [r.get("data-action") for r in html.cssselect("#plan tbody tr")] == [
        "ENROL",
        "ENROL",
        "SWITCH",
        "SKIP",
    ]
    summary = {
        li.get("data-action"): li.cssselect("strong")[0].text
        for li in html.cssselect("#plan-summary li")
    }
    assert summary == {"NEEDS_ENROLMENT": "0", "ENROL": "2", "SWITCH": "1", "SKIP": "1"}
    assert await _migrations_of(db, school) == []  # a dry run: nothing written
    assert {p: (await default_certificate(db, p)).id for p in movers} == old
    assert await _logged(db, people.officer, school) >= 4  # each person's read is logged

    exported = await officer.web.get(f"{plan_address}&format=csv&table=plan")
    lines = read_csv(exported.content)
    assert lines[0][0] == VI["dashboard.migrations.column.full_name"]
    assert sorted(line[0] for line in lines[1:]) == sorted(rows)
    workbook = await read_xlsx(officer, f"{plan_address}&format=xlsx")
    sheet = workbook[VI["dashboard.migrations.sheet.plan"]]
    assert len(list(sheet.iter_rows(min_row=2))) == 4

    start = html.cssselect('form[action="/dashboard/migrations/start"]')[0]
    fields = {i.get("name"): i.get("value") for i in start.cssselect("input")}
    assert fields == {
        "csrf_token": officer.csrf,
        "from": "MYSIGN",
        "to": "BCY",
        "school": school.code,
    }
    started = await officer.web.post(f"{BASE}/start", data=fields)
    assert started.status_code == 303, started.text
    address, done = started.headers["location"].split("?")
    assert done == "done=started"
    shown = page((await officer.web.get(started.headers["location"])).text)
    assert text(shown, ".done") == VI["dashboard.migrations.done.started"]
    assert shown.cssselect("#migration")[0].get("data-state") == "RUNNING"
    assert shown.cssselect('script[src="/static/migration.js"]')
    assert shown.cssselect("noscript meta[http-equiv=refresh]")  # readable without script

    status = await progress_until(officer, address, lambda s: s["counts"]["testing"] == 3)
    assert (status["state"], status["total"], status["counts"]["skipped"]) == ("RUNNING", 4, 1)
    assert status["progressText"] == "Đã xong 1/4 người"
    assert buttons(page((await officer.web.get(address)).text)) == ["pause", "rollback"]

    paused = await officer.web.post(f"{address}/pause", data={"csrf_token": officer.csrf})
    assert paused.headers["location"] == f"{address}?done=paused"
    status = await progress(officer, address)
    assert status["state"] == "PAUSED"
    assert status["reasonText"] == VI["dashboard.migrations.paused_by_user"]
    # The phones answer while the migration is paused: proven, but nobody is switched.
    for transaction in list(phones_wait.transactions.values()):
        if transaction.credential.user_id in movers and transaction.state is SimState.PENDING:
            phones_wait.approve(transaction.transaction_id)
    held = await until(
        lambda: people_in(officer, f"{address}?show=testing"),
        lambda found: sorted(found.values()) == ["PROVEN"] * 3,
    )
    assert set(held) == {await staff_name(db, p) for p in movers}
    assert {p: (await default_certificate(db, p)).id for p in movers} == old
    shown = page((await officer.web.get(address)).text)
    assert buttons(shown) == ["resume", "rollback"]
    assert text(shown, "#migration-state") == VI["dashboard.migrations.state.PAUSED"]

    resumed = await officer.web.post(f"{address}/resume", data={"csrf_token": officer.csrf})
    assert resumed.headers["location"] == f"{address}?done=resumed"
    status = await progress_until(officer, address, lambda s: s["state"] == "SWITCHED")
    assert status["counts"] | {"switched": 3, "skipped": 1} == status["counts"]
    assert status["finished"] == 4 and not status["open"]
    for person in movers:
        default = await default_certificate(db, person)
        assert default.provider is BCY and default.preferred
    shown = page((await officer.web.get(address)).text)
    assert buttons(shown) == ["confirm", "rollback"]
    assert not shown.cssselect("noscript meta[http-equiv=refresh]")

    unticked = await officer.web.post(f"{address}/rollback", data={"csrf_token": officer.csrf})
    assert unticked.headers["location"] == f"{address}?done=not_ticked"
    assert (await progress(officer, address))["state"] == "SWITCHED"
    rolled = await officer.web.post(
        f"{address}/rollback", data={"csrf_token": officer.csrf, "understood": "yes"}
    )
    assert rolled.headers["location"] == f"{address}?done=rolled_back"
    status = await progress(officer, address)
    assert (status["state"], status["counts"]["rolled_back"]) == ("ROLLED_BACK", 3)
    for person in movers:
        assert (await default_certificate(db, person)).id == old[person]
    shown = page((await officer.web.get(f"{address}?done=rolled_back")).text)
    assert buttons(shown) == []
    assert text(shown, ".done") == VI["dashboard.migrations.done.rolled_back"]
    # The history names the officer who acted, by their masked personal ID.
    officer_did = f"{VI['dashboard.migrations.actor.officer']} ({mask_personal_id(people.officer)})"
    assert people.officer not in shown.text_content()
    assert [row[1:3] for row in cells(shown, "history")] == [
        [VI["dashboard.migrations.step.STARTED"], officer_did],
        [VI["dashboard.migrations.step.PAUSED"], officer_did],
        [VI["dashboard.migrations.step.RESUMED"], officer_did],
        [VI["dashboard.migrations.step.FINISHED"], VI["dashboard.migrations.actor.worker"]],
        [VI["dashboard.migrations.step.ROLLED_BACK"], officer_did],
    ]
    people_rows = cells(shown, "people")
    assert sorted(row[3] for row in people_rows) == sorted(
        [VI["dashboard.migrations.item.ROLLED_BACK"]] * 3
        + [VI["dashboard.migrations.item.SKIPPED"]]
    )

    # A rolled-back migration cannot be confirmed: the page says why, in plain words.
    refused = await officer.web.post(
        f"{address}/confirm", data={"csrf_token": officer.csrf, "understood": "yes"}
    )
    assert refused.status_code == 400
    assert "chỉ xác nhận được khi mọi người đã chuyển xong" in refused.text
    assert "Traceback" not in refused.text


async def test_another_migration_is_confirmed_and_every_table_exports(
    officer: Visitor, school: SigningSchool, db: Database
) -> None:
    movers = [school.teachers[0], school.teachers[1], school.principal]
    old = {p: (await default_certificate(db, p)).id for p in movers}
    started = await officer.web.post(
        f"{BASE}/start",
        data={"csrf_token": officer.csrf, "from": "MYSIGN", "to": "BCY", "school": school.code},
    )
    address = started.headers["location"].split("?")[0]
    await progress_until(officer, address, lambda s: s["state"] == "SWITCHED")

    confirmed = await officer.web.post(
        f"{address}/confirm", data={"csrf_token": officer.csrf, "understood": "yes"}
    )
    assert confirmed.headers["location"] == f"{address}?done=confirmed"
    status = await progress(officer, address)
    assert (status["state"], status["counts"]["confirmed"]) == ("CONFIRMED", 3)
    for person in movers:
        assert (await default_certificate(db, person)).provider is BCY
        assert (
            await certificate_row(db, old[person])
        ).retired_at is not None  # no fallback any more
    shown = page((await officer.web.get(address)).text)
    assert text(shown, "#migration-state") == VI["dashboard.migrations.state.CONFIRMED"]
    assert buttons(shown) == []
    refused = await officer.web.post(
        f"{address}/rollback", data={"csrf_token": officer.csrf, "understood": "yes"}
    )
    assert refused.status_code == 400
    assert "đợt chuyển đã được xác nhận, không hoàn tác được" in refused.text

    # The migration's tables, one CSV each and one workbook, as the page shows them.
    people_rows = cells(shown, "people")
    exported = read_csv((await officer.web.get(f"{address}?format=csv&table=people")).content)
    assert exported[0][:2] == [
        VI["dashboard.migrations.column.full_name"],
        VI["dashboard.migrations.column.school"],
    ]
    assert [line[:4] for line in exported[1:]] == [row[:4] for row in people_rows]
    history = read_csv((await officer.web.get(f"{address}?format=csv&table=history")).content)
    assert [line[1] for line in history[1:]] == [row[1] for row in cells(shown, "history")]
    workbook = await read_xlsx(officer, f"{address}?format=xlsx")
    assert workbook.sheetnames == [
        VI["dashboard.migrations.sheet.people"],
        VI["dashboard.migrations.sheet.history"],
    ]
    sheet = workbook[VI["dashboard.migrations.sheet.people"]]
    assert [list(r[:4]) for r in sheet.iter_rows(min_row=2, values_only=True)] == [
        row[:4] for row in people_rows
    ]

    # The list of migrations: this one is there, confirmed, and exports too.
    listed = page((await officer.web.get(BASE)).text)
    job_id = address.rsplit("/", 1)[1]
    row = listed.cssselect(f'#migrations tr[data-job="{job_id}"]')[0]
    assert VI["dashboard.migrations.state.CONFIRMED"] in row.text_content()
    lines = read_csv((await officer.web.get(f"{BASE}?format=csv")).content)
    mine = [line for line in lines if line[-1] == job_id]
    assert mine and mine[0][4:7] == [VI["dashboard.migrations.state.CONFIRMED"], "4", "4"]
    workbook = await read_xlsx(officer, f"{BASE}?format=xlsx")
    assert workbook.sheetnames == [VI["dashboard.migrations.sheet.migrations"]]

    # The same page in English.
    english = page((await officer.web.get(f"{address}?lang=en")).text)
    assert text(english, "#migration-state") == EN["dashboard.migrations.state.CONFIRMED"]


# --- who may do what ---------------------------------------------------------------------------


async def test_a_district_office_or_a_teacher_is_refused_the_actions(
    hub_app, people: People, db: Database, school: SigningSchool
) -> None:  # type: ignore[no-untyped-def]
    office = await _district_officer(db)
    somebody = f"{BASE}/{uuid.uuid4()}"
    start = {"from": "MYSIGN", "to": "BCY", "school": school.code}
    async with visiting(hub_app, office, "Phạm Văn Phòng") as visitor:
        # The district's officer reads and plans for the district's schools…
        plan = await visitor.web.get(f"{BASE}/plan?from=MYSIGN&to=BCY&school={school.code}")
        assert plan.status_code == 200
        html = page(plan.text)
        assert not html.cssselect('form[action="/dashboard/migrations/start"]')
        assert VI["dashboard.migrations.only_department"] in plan.text
        # …but runs nothing: a migration is the Sở's.
        for address in (f"{BASE}/start", *(f"{somebody}/{c.value}" for c in migration.Control)):
            refused = await visitor.web.post(address, data={"csrf_token": visitor.csrf, **start})
            assert refused.status_code == 403, address
            assert "FORBIDDEN" in refused.text
    assert await _migrations_of(db, school) == []

    async with visiting(hub_app, people.teacher, people.names[people.teacher]) as teacher:
        for address in (BASE, f"{BASE}/plan?from=MYSIGN&to=BCY&school={school.code}"):
            assert (await teacher.web.get(address)).status_code == 403
        for address in (f"{BASE}/start", f"{somebody}/pause", f"{somebody}/rollback"):
            refused = await teacher.web.post(address, data={"csrf_token": teacher.csrf, **start})
            assert refused.status_code == 403
            assert '<html lang="vi">' in refused.text
    assert await _migrations_of(db, school) == []


async def test_an_action_without_the_session_token_is_refused(
    officer: Visitor, school: SigningSchool, db: Database
) -> None:
    refused = await officer.web.post(
        f"{BASE}/start", data={"from": "MYSIGN", "to": "BCY", "school": school.code}
    )
    assert refused.status_code == 403 and "CSRF_FAILED" in refused.text
    assert await _migrations_of(db, school) == []


async def test_ids_and_values_that_name_nothing_are_said_plainly(officer: Visitor) -> None:
    unknown = str(uuid.uuid4())
    for address in (f"{BASE}/{unknown}", f"{BASE}/{unknown}/progress", f"{BASE}/not-a-job"):
        answer = await officer.web.get(address)
        assert answer.status_code == 400, address
        assert "không có đợt chuyển nhà cung cấp" in answer.text
        assert "INVALID_ARGUMENT" in answer.text
    for control in migration.Control:
        answer = await officer.web.post(
            f"{BASE}/{unknown}/{control.value}",
            data={"csrf_token": officer.csrf, "understood": "yes"},
        )
        assert answer.status_code == 400 and unknown in answer.text
    asked = {
        "from=PKCS11&to=BCY&district=1": 400,
        "from=NOBODY&to=BCY&district=1": 400,
        "from=MYSIGN&to=MYSIGN&school=01XXXX": 404,  # no such school
        "from=MYSIGN&to=BCY": 400,  # no scope
        "from=MYSIGN&to=BCY&district=1&school=01XXXX": 400,  # two scopes
        "from=MYSIGN&to=BCY&district=abc": 400,
        "from=MYSIGN&to=BCY&district=2147483647": 400,
    }
    for query, status in asked.items():
        answer = await officer.web.get(f"{BASE}/plan?{query}")
        assert answer.status_code == status, (query, answer.text)
        assert "Traceback" not in answer.text
    english = await officer.web.get(f"{BASE}/plan?from=MYSIGN&to=BCY&lang=en")
    assert "choose a district office or enter a school" in english.text


async def test_the_same_provider_twice_is_refused_in_words(
    officer: Visitor, school: SigningSchool
) -> None:
    answer = await officer.web.get(f"{BASE}/plan?from=MYSIGN&to=MYSIGN&school={school.code}")
    assert answer.status_code == 400
    assert "cần hai nhà cung cấp ký số từ xa khác nhau" in answer.text


def test_every_word_the_pages_look_up_is_in_the_catalogue() -> None:
    """The keys the pages build from values (states, steps, actions…) exist in both
    languages; the keys written out in the templates are checked with all the others."""
    keys = [
        *(f"dashboard.migrations.state.{s.value}" for s in JobState),
        *(f"dashboard.migrations.item.{s.value}" for s in migration.ItemState),
        *(f"dashboard.migrations.group.{g}" for g in migration.GROUPS),
        *(f"dashboard.migrations.action.{a.value}" for a in migration.Action),
        *(f"dashboard.migrations.action_help.{a.value}" for a in migration.Action),
        *(f"dashboard.migrations.step.{s.value}" for s in migration.Step),
        *(f"dashboard.migrations.control.{c.value}" for c in migration.Control),
        *(f"dashboard.migrations.control_help.{c.value}" for c in migration.Control),
        *(f"dashboard.migrations.understood.{c.value}" for c in pages.FOR_GOOD),
        *(f"dashboard.migrations.done.{d}" for d in (*pages.DONE.values(), pages.NOT_TICKED)),
        *(f"dashboard.migrations.sheet.{s}" for s in ("migrations", "plan", "people", "history")),
    ]
    for catalogue in (VI, EN):
        assert [key for key in keys if key not in catalogue] == []


# --- helpers ---------------------------------------------------------------------------------


def page(body: str) -> Any:
    return lxml.html.fromstring(body)


def text(html: Any, selector: str) -> str:
    return " ".join(html.cssselect(selector)[0].text_content().split())


def cells(html: Any, table_id: str) -> list[list[str]]:
    """The body rows of the page's table ``table_id``, each cell's words."""
    return [
        [" ".join(cell.text_content().split()) for cell in row.cssselect("th, td")]
        for row in html.cssselect(f"#{table_id} tbody tr")
    ]


def buttons(html: Any) -> list[str]:
    """The controls the migration's page offers, in order."""
    return [
        form.get("action").rsplit("/", 1)[1] for form in html.cssselect(".migration-controls form")
    ]


def read_csv(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


async def read_xlsx(visitor: Visitor, address: str) -> Any:
    answer = await visitor.web.get(address)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    return openpyxl.load_workbook(io.BytesIO(answer.content))


async def progress(visitor: Visitor, address: str) -> dict[str, Any]:
    answer = await visitor.web.get(f"{address}/progress")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    found: dict[str, Any] = answer.json()
    return found


async def until(look: Callable[[], Awaitable[T]], done: Callable[[T], bool]) -> T:
    """What ``look`` finds once ``done`` says so (the worker moves on its own)."""
    for _ in range(300):
        found = await look()
        if done(found):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"still not there: {found}")


async def progress_until(
    visitor: Visitor, address: str, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    return await until(lambda: progress(visitor, address), done)


async def people_in(visitor: Visitor, address: str) -> dict[str, str]:
    """The people the migration's page lists, by name, with their state."""
    html = page((await visitor.web.get(address)).text)
    return {
        " ".join(row.cssselect("th")[0].text_content().split()): row.get("data-state")
        for row in html.cssselect("#people tbody tr")
    }


async def _migrations_of(db: Database, school: SigningSchool) -> list[str]:
    """The migrations of the school's staff (a migration of one school names it)."""
    async with db.sessions() as session:
        jobs = await session.scalars(
            select(models.Job.job_id).where(
                models.Job.kind == migration.KIND, models.Job.school_id == school.id
            )
        )
        return list(jobs)


async def _logged(db: Database, officer: str, school: SigningSchool) -> int:
    """How many of the school's staff the officer's reads were logged for."""
    async with db.sessions() as session:
        staff = select(models.StaffAssignment.staff_id).where(
            models.StaffAssignment.school_id == school.id
        )
        logged = await session.scalars(
            select(models.AccessLog.entity_id)
            .where(
                models.AccessLog.person == officer,
                models.AccessLog.entity == "staff",
                models.AccessLog.entity_id.in_(staff),
            )
            .distinct()
        )
        return len(list(logged))


async def _district_officer(db: Database) -> str:
    """A new officer of the writers' district office (Phòng GDĐT), by personal ID."""
    personal_id = new_personal_id(1972)
    async with db.unit_of_work() as session:
        district = await writers_district(session)
        session.add(
            models.DepartmentOfficer(
                personal_id=personal_id,
                full_name="Phạm Văn Phòng",
                granted_by="test",
                district_id=district.id,
            )
        )
    return personal_id
