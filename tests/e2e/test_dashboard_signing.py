"""The dashboard's signing progress (issue 12, part 4): the current school year's
transcripts by state, by district, drilled into a district's schools and a school's
classes, with how many are fully signed; a district office's officer sees only their
district; a teacher or a guardian is turned away; the CSV and XLSX hold the page's
figures.

Each test builds a district of its own (two schools, three classes, transcripts in every
state, plus an older version and another year's transcript that must not count) and
checks the figures it made.
"""

import csv
import io
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

import openpyxl
import pytest
from sqlalchemy import select

from hub.db import models
from hub.db.engine import Database
from hub.domain.enums import Ownership, SchoolLevel
from hub.domain.lifecycle import TranscriptState
from hub.web import i18n
from tests.helpers import Visitor, visiting
from tests.pages import table as rows
from tests.people import People, new_district_officer, new_personal_id, people_school
from tests.world import World

VI = i18n.catalogue("vi")
DRAFT, READY = TranscriptState.DRAFT, TranscriptState.READY
HOMEROOM, PRINCIPAL = TranscriptState.SIGNED_BY_HOMEROOM, TranscriptState.SIGNED_BY_PRINCIPAL
SEALED, PUBLISHED = TranscriptState.SEALED, TranscriptState.PUBLISHED
#: Each class's current transcripts, by state: school X has 9A and 9B, school Y has 6A.
PLAN = {
    ("X", "9A"): [DRAFT, READY, READY, HOMEROOM, SEALED, SEALED, PUBLISHED],
    ("X", "9B"): [PRINCIPAL, PRINCIPAL, SEALED],
    ("Y", "6A"): [DRAFT, DRAFT, DRAFT, PUBLISHED],
}
#: The table's columns after the name: the states in signing order, the total, the fully
#: signed, the share.
STATES = list(TranscriptState)


@dataclass
class District:
    id: int
    code: str
    name: str
    schools: dict[str, int]  # X, Y → school id
    classes: dict[str, int]  # 9A, 9B, 6A → class id


@pytest.fixture(scope="module")
async def people(db: Database, world: World) -> People:
    return await people_school(db, code="DSG")


@pytest.fixture
async def district(db: Database, world: World) -> District:
    """A district of the test's own, its transcripts as :data:`PLAN` says."""
    code = f"SG{secrets.token_hex(3)}"
    async with db.unit_of_work() as session:
        department = await session.scalar(select(models.Department).order_by(models.Department.id))
        assert department is not None
        made = models.District(
            department_id=department.id, code=code, name=f"Phòng GDĐT Tiến Độ {code}"
        )
        session.add(made)
        await session.flush()
        earlier = await session.scalar(
            select(models.SchoolYear).where(models.SchoolYear.code == "2024-2025")
        )
        if earlier is None:
            earlier = models.SchoolYear(
                code="2024-2025", starts_on=date(2024, 9, 5), ends_on=date(2025, 5, 31)
            )
            session.add(earlier)
            await session.flush()
        schools: dict[str, int] = {}
        for letter, name in (("X", "Trường THCS Tiến Độ X"), ("Y", "Trường THCS Tiến Độ Y")):
            school = models.School(
                department_id=department.id,
                district_id=made.id,
                moet_code=f"{code}{letter}",
                name=name,
                level=SchoolLevel.LOWER_SECONDARY,
                ownership=Ownership.PUBLIC,
            )
            session.add(school)
            await session.flush()
            schools[letter] = school.id
        classes: dict[str, int] = {}
        for (letter, class_name), states in PLAN.items():
            school_class = models.SchoolClass(
                school_id=schools[letter],
                school_year_id=world.current_year_id,
                name=class_name,
                grade=int(class_name[0]),
            )
            session.add(school_class)
            await session.flush()
            classes[class_name] = school_class.id
            for number, state in enumerate(states):
                student = models.Student(
                    personal_id=new_personal_id(2012),
                    full_name=f"Học Sinh {class_name} {number}",
                    search_name=f"hoc sinh {class_name} {number}",
                    school_id=schools[letter],
                )
                session.add(student)
                await session.flush()
                session.add(
                    transcript(student, school_class, world.current_year_id, state, version=2)
                )
                if number == 0:
                    # A version a correction replaced, and last year's: neither counts.
                    session.add(
                        transcript(
                            student, school_class, world.current_year_id, SEALED, current=False
                        )
                    )
                    session.add(transcript(student, school_class, earlier.id, PUBLISHED))
    return District(made.id, code, made.name, schools, classes)


def transcript(
    student: models.Student,
    school_class: models.SchoolClass,
    year_id: int,
    state: TranscriptState,
    *,
    version: int = 1,
    current: bool = True,
) -> models.Transcript:
    return models.Transcript(
        document_id=str(uuid.uuid4()),
        student_id=student.id,
        school_year_id=year_id,
        school_id=school_class.school_id,
        class_id=school_class.id,
        version=version,
        is_current=current,
        state=state.value,
        xml=b"",
        pdf=b"",
        xml_sha256="",
    )


def expected(states: list[TranscriptState]) -> list[str]:
    """A row's cells after its name, as the page shows them."""
    fully = sum(1 for s in states if s in (SEALED, PUBLISHED))
    ratio = 0.0 if not states else fully / len(states)
    return [str(states.count(s)) for s in STATES] + [
        str(len(states)),
        str(fully),
        f"{ratio * 100:.1f}%".replace(".", ","),
    ]


def all_states(*keys: tuple[str, str]) -> list[TranscriptState]:
    return [state for key in keys for state in PLAN[key]]


@pytest.fixture
async def district_officer(app, db: Database, district: District) -> AsyncIterator[Visitor]:  # type: ignore[no-untyped-def]
    """An officer of the test's district office (Phòng GDĐT)."""
    officer = await new_district_officer(
        db, district_code=district.code, full_name="Ngô Văn Cán Bộ Phòng", born=1976
    )
    async with visiting(app, *officer) as visitor:
        yield visitor


def table(page: str, table_id: str) -> dict[str, list[str]]:
    """The body rows of the page's table ``table_id`` by their first cell's text."""
    return {row[0]: row[1:] for row in rows(page, table_id)}


def as_shown(row: tuple[object, ...] | list[str]) -> list[str]:
    """An exported row's figures as the page shows them (the share last)."""
    *counts, ratio = row[1:]
    return [str(int(str(c))) for c in counts] + [
        f"{float(str(ratio)) * 100:.1f}%".replace(".", ",")
    ]


async def test_the_department_sees_each_district_by_state(
    officer: Visitor, district: District
) -> None:
    page = await officer.web.get("/dashboard/signing")
    assert page.status_code == 200
    rows = table(page.text, "progress")
    assert rows[district.name] == expected(all_states(*PLAN))
    assert rows[district.name][-1] == "35,7%"  # 5 of 14 fully signed
    assert f'href="/dashboard/signing?district={district.id}"' in page.text
    # Every district the department has, the total last and adding up.
    assert len(rows) >= 3 and VI["dashboard.total"] in rows
    total = rows[VI["dashboard.total"]]
    for column in range(len(STATES) + 2):
        assert int(total[column].replace(".", "")) == sum(
            int(row[column].replace(".", ""))
            for name, row in rows.items()
            if name != VI["dashboard.total"]
        )
    assert "<svg" in page.text and 'class="signing-state-SEALED"' in page.text
    assert VI["dashboard.signing.state.SIGNED_BY_HOMEROOM"] in page.text
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)


async def test_a_district_drills_into_its_schools_then_a_school_into_its_classes(
    officer: Visitor, district: District
) -> None:
    page = await officer.web.get(f"/dashboard/signing?district={district.id}")
    assert page.status_code == 200
    assert district.name in page.text
    schools = table(page.text, "progress")
    assert schools == {
        "Trường THCS Tiến Độ X": expected(all_states(("X", "9A"), ("X", "9B"))),
        "Trường THCS Tiến Độ Y": expected(PLAN[("Y", "6A")]),
        VI["dashboard.total"]: expected(all_states(*PLAN)),
    }
    school_x = district.schools["X"]
    assert f'href="/dashboard/signing?school={school_x}"' in page.text

    classes = table(
        (await officer.web.get(f"/dashboard/signing?school={school_x}")).text, "progress"
    )
    assert classes == {
        "9A": expected(PLAN[("X", "9A")]),
        "9B": expected(PLAN[("X", "9B")]),
        VI["dashboard.total"]: expected(all_states(("X", "9A"), ("X", "9B"))),
    }


async def test_a_district_office_sees_its_own_district_only(
    district_officer: Visitor, district: District, world: World
) -> None:
    page = await district_officer.web.get("/dashboard/signing")
    assert page.status_code == 200
    rows = table(page.text, "progress")
    assert rows == {
        district.name: expected(all_states(*PLAN)),
        VI["dashboard.total"]: expected(all_states(*PLAN)),
    }
    assert "Long Biên" not in page.text
    own = await district_officer.web.get(f"/dashboard/signing?district={district.id}")
    assert own.status_code == 200
    other = await district_officer.web.get(f"/dashboard/signing?district={world.districts['LB']}")
    assert other.status_code == 400 and "Long Biên" not in other.text
    school_a = world.schools["A"].id
    assert (
        await district_officer.web.get(f"/dashboard/signing?school={school_a}")
    ).status_code == 404
    exported = await district_officer.web.get("/dashboard/signing?format=csv")
    names = [line[0] for line in csv.reader(io.StringIO(exported.content.decode("utf-8-sig")))]
    assert names[1:] == [district.name, VI["dashboard.total"]]


async def test_a_teacher_or_a_guardian_is_turned_away(app, people: People) -> None:  # type: ignore[no-untyped-def]
    for personal_id in (people.teacher, people.guardian):
        async with visiting(app, personal_id, people.names[personal_id]) as visitor:
            for address in ("/dashboard/signing", "/dashboard/signing?format=xlsx"):
                refused = await visitor.web.get(address)
                assert refused.status_code == 403, address
                assert "FORBIDDEN" in refused.text


async def test_the_exports_hold_the_page_s_figures(officer: Visitor, district: District) -> None:
    address = f"/dashboard/signing?district={district.id}"
    shown = table((await officer.web.get(address)).text, "progress")

    exported = await officer.web.get(f"{address}&format=csv&table=progress")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert lines[0][:2] == [VI["dashboard.column.school"], VI["dashboard.signing.state.DRAFT"]]
    assert {line[0]: as_shown(line) for line in lines[1:]} == shown

    workbook = await officer.web.get(f"{address}&format=xlsx")
    assert workbook.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content))[
        VI["dashboard.signing.sheet.progress"]
    ]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert {str(row[0]): as_shown(row) for row in rows} == shown
    assert sheet.cell(row=2, column=len(STATES) + 4).number_format == "0.0%"


async def test_an_address_out_of_shape_is_said_plainly(officer: Visitor) -> None:
    assert (await officer.web.get("/dashboard/signing?district=abc")).status_code == 400
    assert (await officer.web.get("/dashboard/signing?school=2147483647")).status_code == 404
    assert (await officer.web.get("/dashboard/signing?format=csv&table=nope")).status_code == 400
