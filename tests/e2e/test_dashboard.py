"""The department's dashboard (issue 12, part 4): an officer of the Sở sees seed 003's
coverage table with the figures the API gives the same caller, drills into a district
and a school, reads the list of staff without a valid certificate with their personal
IDs masked, and takes every table away as CSV and XLSX; the reads are logged. A
teacher is turned away in Vietnamese; a browser without a session is sent to sign in.

Sessions are made directly in the session store, as the sign-in callback would.
"""

import csv
import io
import re

import httpx
import openpyxl
import pytest
from sqlalchemy import select

from hub.auth.sessions import CSRF_HEADER
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.web import i18n
from hub.web.app import create_app
from tests.helpers import Visitor, read_on_pages, visiting
from tests.pages import table
from tests.people import People, people_school
from tests.world import World

COVERAGE = """{ certificateCoverage(groupBy: [LEVEL, OWNERSHIP]) {
    rows { level ownership staffTotal withValidCertificate ratio }
    total { staffTotal withValidCertificate } } }"""
VI = i18n.catalogue("vi")


@pytest.fixture(scope="module")
async def people(db: Database, world: World) -> People:
    return await people_school(db, code="DSH")


def percent(ratio: float) -> str:
    return f"{ratio * 100:.1f}%".replace(".", ",")


def as_text(row: tuple[object, ...] | list[str], ratios: set[int]) -> list[str]:
    """An exported row as the page shows it."""
    shown = []
    for at, value in enumerate(row):
        if value is None or value == "":
            shown.append("")
        elif at in ratios:
            shown.append(percent(float(str(value))))
        elif isinstance(value, int) or str(value).isdigit():
            shown.append(f"{int(str(value)):,}".replace(",", "."))
        else:
            shown.append(str(value))
    return shown


LEVEL_RATIOS = {3, 6}


def as_text_rows(lines: list[list[str]]) -> list[list[str]]:
    """Exported CSV rows as the page shows their counts and names (ratios: see below)."""
    return [as_text(line, set()) for line in lines]


def _without(row: list[str], columns: set[int]) -> list[str]:
    return [value for at, value in enumerate(row) if at not in columns]


async def test_the_officer_sees_the_coverage_the_api_gives_the_same_caller(
    officer: Visitor,
) -> None:
    page = await officer.web.get("/dashboard")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    shown = {row[0]: row[1:] for row in table(page.text, "levels")}
    answer = await officer.web.post(
        "/graphql", json={"query": COVERAGE}, headers={CSRF_HEADER: officer.csrf}
    )
    report = answer.json()["data"]["certificateCoverage"]
    assert report["rows"]
    for row in report["rows"]:
        cells = shown[VI[f"dashboard.level.{row['level']}"]]
        at = 0 if row["ownership"] == "PUBLIC" else 3
        exact = row["withValidCertificate"] / row["staffTotal"] if row["staffTotal"] else 0.0
        assert row["ratio"] == round(exact, 4)
        # The page rounds the exact share once; the API's ratio is already rounded to four
        # places, and rounding that again can differ (0.79646 → 79.6 %, 0.7965 → 79.7 %).
        assert cells[at : at + 3] == [
            f"{row['staffTotal']:,}".replace(",", "."),
            f"{row['withValidCertificate']:,}".replace(",", "."),
            percent(exact),
        ]
    total = shown[VI["dashboard.total"]]
    staff_total = int(total[0].replace(".", "") or 0) + int(total[3].replace(".", "") or 0)
    valid = int(total[1].replace(".", "") or 0) + int(total[4].replace(".", "") or 0)
    assert (staff_total, valid) == (
        report["total"]["staffTotal"],
        report["total"]["withValidCertificate"],
    )
    assert "<svg" in page.text and 'class="bar-fill"' in page.text
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)  # no inline script


async def test_the_officer_drills_into_a_district_then_a_school(
    officer: Visitor, world: World
) -> None:
    overview = (await officer.web.get("/dashboard")).text
    long_bien = world.districts["LB"]
    link = f'href="/dashboard/coverage?district={long_bien}"'
    assert link in overview
    districts = {row[0]: row[1:] for row in table(overview, "districts")}
    assert ["10", "6", "60,0%"] in districts.values()

    district = await officer.web.get(f"/dashboard/coverage?district={long_bien}")
    assert district.status_code == 200
    schools = table(district.text, "schools")
    assert len(schools) == 2  # A and B
    assert all(row[1:4] == ["5", "3", "60,0%"] for row in schools)
    school_a = world.schools["A"].id
    assert f'href="/dashboard/staff?school={school_a}"' in district.text


async def test_the_staff_list_is_masked_and_its_reads_are_logged(
    officer: Visitor, world: World, db: Database, people: People
) -> None:
    school = world.schools["A"]
    async with db.sessions() as session:
        staff = {
            row.id: row
            for row in await session.scalars(
                select(models.Staff).where(models.Staff.id.in_(school.staff))
            )
        }
    page = await officer.web.get(f"/dashboard/staff?school={school.id}")
    assert page.status_code == 200
    rows = table(page.text, "staff")
    unsigned = [staff[i] for i in school.staff[3:]]  # teachers 3 and 4: revoked, expired
    assert sorted(row[0] for row in rows) == sorted(s.full_name for s in unsigned)
    for member in unsigned:
        assert member.personal_id not in page.text
        assert "••••••••" + member.personal_id[-4:] in page.text
    logged = await read_on_pages(db, person=people.officer, entity="staff")
    assert {s.id for s in unsigned} <= logged


async def test_every_table_exports_to_csv_like_the_page(
    settings: Settings, db: Database, people: People, world: World
) -> None:
    # As served: the figures are counted once and kept, so the file an officer downloads
    # holds the figures of the page they read, whatever changes meanwhile (the tests'
    # own hub counts at every read, and other modules' workers may be changing
    # certificates between the two requests).
    kept = create_app(settings.model_copy(update={"dashboard_refresh_seconds": 3600}), db)
    async with visiting(kept, people.officer, people.names[people.officer]) as officer:
        await _exports_like_the_page(officer, world)


async def _exports_like_the_page(officer: Visitor, world: World) -> None:
    page = (await officer.web.get("/dashboard")).text
    exported = await officer.web.get("/dashboard?format=csv&table=levels")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.content.startswith("\ufeff".encode())
    assert "attachment" in exported.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert lines[0][0] == VI["dashboard.column.level"]
    shown = table(page, "levels")
    assert [_without(line, LEVEL_RATIOS) for line in as_text_rows(lines[1:])] == [
        _without(row, LEVEL_RATIOS) for row in shown
    ]
    # The file's ratios are fractions to four places (0.7935), the page's percentages to
    # one (79,4%): each agrees with the page's within the page's rounding; shown again at
    # one place a fraction on the edge (0.7935 of 123/155) may round the other way.
    for line, row in zip(lines[1:], shown, strict=True):
        for at in LEVEL_RATIOS:
            if line[at]:
                page_ratio = float(row[at].rstrip("%").replace(",", ".")) / 100
                assert abs(float(line[at]) - page_ratio) <= 0.0005 + 1e-9, (line, row)

    districts = await officer.web.get("/dashboard?format=csv&table=districts")
    names = [line[0] for line in csv.reader(io.StringIO(districts.content.decode("utf-8-sig")))]
    assert [row[0] for row in table(page, "districts")] == names[1:]

    school = world.schools["A"]
    staff = await officer.web.get(f"/dashboard/staff?school={school.id}&format=csv")
    listed = list(csv.reader(io.StringIO(staff.content.decode("utf-8-sig"))))[1:]
    assert len(listed) == 2
    assert all(re.fullmatch(r"•{8}\d{4}", line[1]) for line in listed)


async def test_every_page_exports_to_xlsx_like_the_page(officer: Visitor, world: World) -> None:
    long_bien = world.districts["LB"]
    address = f"/dashboard/coverage?district={long_bien}"
    page = (await officer.web.get(address)).text
    exported = await officer.web.get(f"{address}&format=xlsx")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/vnd.openxmlformats")
    workbook = openpyxl.load_workbook(io.BytesIO(exported.content))
    levels = workbook[VI["dashboard.sheet.levels"]]
    values = [as_text(row, LEVEL_RATIOS) for row in levels.iter_rows(min_row=2, values_only=True)]
    assert values == table(page, "levels")
    assert levels.cell(row=2, column=4).number_format == "0.0%"
    schools = workbook[VI["dashboard.sheet.schools"]]
    values = [as_text(row, {3}) for row in schools.iter_rows(min_row=2, values_only=True)]
    assert values == [row[:4] for row in table(page, "schools")]

    staff = await officer.web.get(f"/dashboard/staff?school={world.schools['A'].id}&format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(staff.content))[VI["dashboard.sheet.staff"]]
    ids = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert len(ids) == 2 and all(re.fullmatch(r"•{8}\d{4}", str(i)) for i in ids)


async def test_a_teacher_is_turned_away_in_vietnamese(app, people: People) -> None:  # type: ignore[no-untyped-def]
    async with visiting(app, people.teacher, people.names[people.teacher]) as teacher:
        for address in ("/dashboard", "/dashboard/staff?school=1", "/dashboard?format=csv"):
            refused = await teacher.web.get(address)
            assert refused.status_code == 403
            assert '<html lang="vi">' in refused.text
            assert "không có quyền thực hiện thao tác này (reports:read)" in refused.text
            assert "FORBIDDEN" in refused.text


async def test_without_a_session_the_browser_is_sent_to_sign_in(app) -> None:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as web:
        sent = await web.get("/dashboard/coverage?district=1")
    assert sent.status_code == 303
    assert sent.headers["location"] == "/login?next=%2Fdashboard%2Fcoverage"


async def test_an_unknown_district_or_school_is_said_plainly(officer: Visitor) -> None:
    assert (await officer.web.get("/dashboard/coverage?district=abc")).status_code == 400
    assert (await officer.web.get("/dashboard/staff?school=2147483647")).status_code == 404
    assert (await officer.web.get("/dashboard?format=pdf")).status_code == 400


async def test_a_district_office_officer_sees_only_their_district(
    app,
    db: Database,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    """``hub people grant --district``: the same pages, the district's schools only; what
    only the Sở runs stays the Sở's."""
    from hub.auth.people import grant_officer
    from hub.domain.enums import Sex
    from hub.domain.personal_id import compose

    long_bien = world.districts["LB"]
    personal_id, name = compose("001", 1979, Sex.FEMALE, 917_331), "Trần Thị Cán Bộ Phòng"
    async with db.unit_of_work() as session:
        district = await session.get(models.District, long_bien)
        assert district is not None
        await grant_officer(
            session,
            personal_id=personal_id,
            full_name=name,
            granted_by="test",
            district_code=district.code,
        )
        others = [d.id for d in await session.scalars(select(models.District)) if d.id != long_bien]
        outside = await session.scalar(
            select(models.School.id).where(models.School.district_id != long_bien)
        )
    async with visiting(app, personal_id, name) as visitor:
        overview = await visitor.web.get("/dashboard")
        assert overview.status_code == 200
        names = [row[0] for row in table(overview.text, "districts")]
        assert names == [district.name]
        assert table(overview.text, "districts")[0][1:] == ["10", "6", "60,0%"]
        mine = await visitor.web.get(f"/dashboard/coverage?district={long_bien}")
        assert mine.status_code == 200 and len(table(mine.text, "schools")) == 2
        for other in others:  # another district is not theirs to open, even by its name
            theirs = await visitor.web.get(f"/dashboard/coverage?district={other}")
            assert theirs.status_code == 400
            assert 'id="schools"' not in theirs.text
        refused = await visitor.web.get(f"/dashboard/staff?school={outside}")
        assert refused.status_code == 404
