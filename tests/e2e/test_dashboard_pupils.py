"""The dashboard's pupils without a verified personal ID (issue 12, part 4): an officer of
the Sở counts them district by district and school by school, with why — no ID,
not checked yet, details differing from the population database, unknown there — and
reads a school's list with the IDs masked and the reads logged; every table exports to
CSV and XLSX. A district office's officer sees their own district only; a teacher and
a guardian are turned away.

Each test builds a district of its own (two schools) and a second district beside it,
so its figures are exactly the pupils it made, whatever else the database holds.
"""

import csv
import io
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import openpyxl
import pytest
from sqlalchemy import select

from hub.auth.access import Caller
from hub.db import models
from hub.db.engine import Database
from hub.domain.enums import IdentityStatus, OrgLevel, Ownership, SchoolLevel, Sex
from hub.jobs import sync
from hub.jobs.core import JobState
from hub.web import i18n
from tests.helpers import Visitor, read_on_pages, visiting
from tests.pages import table
from tests.people import (
    People,
    enrolled_pupil,
    new_district_officer,
    new_personal_id,
    people_school,
)
from tests.world import World

VI = i18n.catalogue("vi")
DEPARTMENT = Caller("so-gddt", frozenset({"sync:run"}), OrgLevel.DEPARTMENT, None)
#: A school's pupils: (given name, has a personal ID, identity status).
PUPILS_X = [
    ("An", True, IdentityStatus.VERIFIED),
    ("Bảo", True, IdentityStatus.VERIFIED),
    ("Cúc", False, IdentityStatus.UNVERIFIED),
    ("Dũng", True, IdentityStatus.UNVERIFIED),
    ("Hà", True, IdentityStatus.MISMATCH),
    ("Khoa", True, IdentityStatus.UNKNOWN),
]
PUPILS_Y = [
    ("Lan", True, IdentityStatus.VERIFIED),
    ("Minh", False, IdentityStatus.UNVERIFIED),
    ("Nga", False, IdentityStatus.UNVERIFIED),
]


@pytest.fixture(scope="module")
async def people(db: Database, world: World) -> People:
    return await people_school(db, code="DPU")


@dataclass
class District:
    id: int
    code: str
    name: str
    #: school name → school id
    schools: dict[str, int]
    #: full name → (student id, personal ID or None)
    pupils: dict[str, tuple[int, str | None]] = field(default_factory=dict)


async def district_of_pupils(
    db: Database, world: World, schools: dict[str, list[tuple[str, bool, IdentityStatus]]]
) -> District:
    """A district of its own, its schools, a class each and their pupils."""
    tag = secrets.token_hex(3)
    async with db.unit_of_work() as session:
        department = await session.scalar(select(models.Department).order_by(models.Department.id))
        assert department is not None
        district = models.District(
            department_id=department.id, code=f"P{tag}", name=f"Phòng GDĐT Định Danh {tag}"
        )
        session.add(district)
        await session.flush()
        made = District(district.id, district.code, district.name, {})
        for school_name, pupils in schools.items():
            school = models.School(
                department_id=department.id,
                district_id=district.id,
                moet_code=f"DPU{school_name}{tag}",
                name=f"Trường Tiểu học {school_name} {tag}",
                level=SchoolLevel.PRIMARY,
                ownership=Ownership.PUBLIC,
            )
            session.add(school)
            await session.flush()
            made.schools[school_name] = school.id
            school_class = models.SchoolClass(
                school_id=school.id,
                school_year_id=world.current_year_id,
                name=f"4{school_name}",
                grade=4,
            )
            session.add(school_class)
            await session.flush()
            for given, has_id, status in pupils:
                full_name = f"Trần Thị {given} {tag}"
                student = await enrolled_pupil(
                    session,
                    school_class,
                    full_name=full_name,
                    personal_id=new_personal_id(2015) if has_id else None,
                    birth_date=date(2015, 2, 3),
                    identity_status=status,
                )
                made.pupils[full_name] = (student.id, student.personal_id)
    return made


async def identity_report_naming(db: Database, student_id: int, fields: list[str]) -> None:
    """A finished run whose identity report says the pupil's ``fields`` differ at the
    population database, as the identity phase writes it (running that phase here would
    check every unverified pupil of the shared database)."""
    async with db.unit_of_work() as session:
        job, _ = await sync.start_sync(session, caller=DEPARTMENT, phases=[sync.Phase.IDENTITY])
        checkpoint = dict(job.checkpoint)
        identity = checkpoint["identity"] | {
            "mismatched": 1,
            "issues": [{"studentId": student_id, "result": "MISMATCH", "fields": fields}],
        }
        job.checkpoint = checkpoint | {"identity": identity, "phase": sync.DONE}
        job.state, job.finished_at = JobState.COMPLETED.value, datetime.now(UTC)


def reason(key: str) -> str:
    return VI[f"dashboard.pupils.reason.{key}"]


async def two_districts(db: Database, world: World) -> tuple[District, District]:
    mine = await district_of_pupils(db, world, {"X": PUPILS_X, "Y": PUPILS_Y})
    other = await district_of_pupils(db, world, {"Z": [("Oanh", False, IdentityStatus.UNVERIFIED)]})
    return mine, other


async def test_the_officer_counts_them_by_district_then_by_school(
    officer: Visitor, db: Database, world: World
) -> None:
    mine, other = await two_districts(db, world)
    overview = await officer.web.get("/dashboard/pupils")
    assert overview.status_code == 200 and overview.headers["cache-control"] == "no-store"
    rows = {row[0]: row[1:] for row in table(overview.text, "districts")}
    # pupils, not verified, share, then: no ID, not checked, details differ, unknown there
    assert rows[mine.name] == ["9", "6", "66,7%", "3", "1", "1", "1"]
    assert rows[other.name] == ["1", "1", "100,0%", "1", "0", "0", "0"]
    assert f'href="/dashboard/pupils/district?district={mine.id}"' in overview.text
    total = table(overview.text, "districts")[-1]
    assert total[0] == VI["dashboard.pupils.total"]
    assert int(total[2].replace(".", "")) >= 7

    district = await officer.web.get(f"/dashboard/pupils/district?district={mine.id}")
    assert district.status_code == 200
    schools = table(district.text, "schools")
    assert schools == [
        [f"Trường Tiểu học X {mine.code[1:]}", "6", "4", "66,7%", "1", "1", "1", "1"],
        [f"Trường Tiểu học Y {mine.code[1:]}", "3", "2", "66,7%", "2", "0", "0", "0"],
        [VI["dashboard.pupils.total"], "9", "6", "66,7%", "3", "1", "1", "1"],
    ]
    assert f'href="/dashboard/pupils/school?school={mine.schools["X"]}"' in district.text


async def test_a_schools_list_says_why_with_the_ids_masked_and_the_reads_logged(
    officer: Visitor, db: Database, world: World, people: People
) -> None:
    mine, _ = await two_districts(db, world)
    tag = mine.code[1:]
    ha = mine.pupils[f"Trần Thị Hà {tag}"]
    await identity_report_naming(db, ha[0], ["birthDate"])
    page = await officer.web.get(f"/dashboard/pupils/school?school={mine.schools['X']}")
    assert page.status_code == 200
    rows = table(page.text, "pupils")
    expected = {
        f"Trần Thị Cúc {tag}": reason("MISSING"),
        f"Trần Thị Dũng {tag}": reason("UNVERIFIED"),
        f"Trần Thị Hà {tag}": f"{reason('MISMATCH')}: ngày sinh",
        f"Trần Thị Khoa {tag}": reason("UNKNOWN"),
    }
    assert {row[0]: row[4] for row in rows} == expected
    assert all(row[1:3] == ["4X", "03/02/2015"] for row in rows)
    for name, (_, personal_id) in mine.pupils.items():
        if personal_id is None:
            continue
        assert personal_id not in page.text
        if name in expected:
            assert {row[0]: row[3] for row in rows}[name] == "••••••••" + personal_id[-4:]
    assert {row[0]: row[3] for row in rows}[f"Trần Thị Cúc {tag}"] == ""
    listed = {mine.pupils[name][0] for name in expected}
    logged = await read_on_pages(db, person=people.officer, entity="student")
    ours = {student_id for student_id, _ in mine.pupils.values()}
    assert logged & ours == listed  # the pupils shown, and only they


async def test_a_district_officer_sees_only_their_district(app, db: Database, world: World) -> None:  # type: ignore[no-untyped-def]
    mine, other = await two_districts(db, world)
    officer = await new_district_officer(
        db, district_code=mine.code, full_name="Phan Văn Phòng", born=1979, sex=Sex.MALE
    )
    async with visiting(app, *officer) as visitor:
        overview = await visitor.web.get("/dashboard/pupils")
        assert overview.status_code == 200
        assert table(overview.text, "districts") == [
            [mine.name, "9", "6", "66,7%", "3", "1", "1", "1"]
        ]
        assert other.name not in overview.text
        exported = await visitor.web.get("/dashboard/pupils?format=csv&table=districts")
        lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert [line[0] for line in lines[1:]] == [mine.name]
        district = await visitor.web.get(f"/dashboard/pupils/district?district={mine.id}")
        assert len(table(district.text, "schools")) == 3
        school = await visitor.web.get(f"/dashboard/pupils/school?school={mine.schools['Y']}")
        assert len(table(school.text, "pupils")) == 2
        elsewhere = await visitor.web.get(f"/dashboard/pupils/district?district={other.id}")
        assert elsewhere.status_code == 400 and other.name not in elsewhere.text
        hidden = await visitor.web.get(f"/dashboard/pupils/school?school={other.schools['Z']}")
        assert hidden.status_code == 404 and "Oanh" not in hidden.text
        csv_hidden = await visitor.web.get(
            f"/dashboard/pupils/school?school={other.schools['Z']}&format=csv"
        )
        assert csv_hidden.status_code == 404


async def test_every_table_exports_to_csv_and_xlsx_like_the_page(
    officer: Visitor, db: Database, world: World
) -> None:
    mine, _ = await two_districts(db, world)
    address = f"/dashboard/pupils/district?district={mine.id}"
    page = (await officer.web.get(address)).text
    exported = await officer.web.get(f"{address}&format=xlsx")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(exported.content))[
        VI["dashboard.pupils.sheet.schools"]
    ]
    rows = [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert [row[:3] + row[4:] for row in rows] == [
        [f"Trường Tiểu học X {mine.code[1:]}", 6, 4, 1, 1, 1, 1],
        [f"Trường Tiểu học Y {mine.code[1:]}", 3, 2, 2, 0, 0, 0],
    ]
    assert [round(row[3], 4) for row in rows] == [0.6667, 0.6667]
    assert sheet.cell(row=2, column=4).number_format == "0.0%"
    assert [row[0] for row in rows] == [row[0] for row in table(page, "schools")[:-1]]
    headers = [cell.value for cell in sheet[1]]
    assert headers[4:] == [reason(key) for key in ("MISSING", "UNVERIFIED", "MISMATCH", "UNKNOWN")]

    overview = await officer.web.get("/dashboard/pupils?format=xlsx")
    districts = openpyxl.load_workbook(io.BytesIO(overview.content))[
        VI["dashboard.pupils.sheet.districts"]
    ]
    assert [mine.name, 9, 6] in [
        list(row[:3]) for row in districts.iter_rows(min_row=2, values_only=True)
    ]

    school = f"/dashboard/pupils/school?school={mine.schools['X']}"
    listed = await officer.web.get(f"{school}&format=csv")
    assert listed.status_code == 200 and listed.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(listed.content.decode("utf-8-sig"))))
    assert lines[0] == [
        VI[f"dashboard.pupils.column.{key}"]
        for key in ("full_name", "class", "birth_date", "personal_id", "why")
    ]
    assert [line[0] for line in lines[1:]] == [
        row[0] for row in table((await officer.web.get(school)).text, "pupils")
    ]
    assert all(re.fullmatch(r"(•{8}\d{4})?", line[3]) for line in lines[1:])
    book = openpyxl.load_workbook(
        io.BytesIO((await officer.web.get(f"{school}&format=xlsx")).content)
    )
    assert book.sheetnames == [VI["dashboard.pupils.sheet.pupils"]]


async def test_a_teacher_and_a_guardian_are_turned_away(
    app, people: People, db: Database, world: World
) -> None:  # type: ignore[no-untyped-def]
    mine, _ = await two_districts(db, world)
    for personal_id in (people.teacher, people.guardian):
        async with visiting(app, personal_id, people.names[personal_id]) as visitor:
            for address in (
                "/dashboard/pupils",
                f"/dashboard/pupils/district?district={mine.id}",
                f"/dashboard/pupils/school?school={mine.schools['X']}",
                f"/dashboard/pupils/school?school={mine.schools['X']}&format=csv",
            ):
                refused = await visitor.web.get(address)
                assert refused.status_code == 403, address
                assert "FORBIDDEN" in refused.text and "Trần Thị" not in refused.text


async def test_unknown_districts_and_schools_are_said_plainly(officer: Visitor) -> None:
    assert (await officer.web.get("/dashboard/pupils/district?district=abc")).status_code == 400
    assert (
        await officer.web.get("/dashboard/pupils/district?district=2147483647")
    ).status_code == 400
    assert (await officer.web.get("/dashboard/pupils/school?school=0")).status_code == 404
    assert (await officer.web.get("/dashboard/pupils/school?school=2147483647")).status_code == 404
    assert (await officer.web.get("/dashboard/pupils?format=pdf")).status_code == 400
