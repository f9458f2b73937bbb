"""Helpers for the spreadsheet import tests: files filled from the published templates,
a school of the tests' own, and an import run to its end without a broker."""

import csv
import io
from datetime import date
from typing import Any

import httpx
from openpyxl import load_workbook
from sqlalchemy import select

from hub.db import models
from hub.db.engine import Database
from hub.domain.enums import Ownership, SchoolLevel, Sex
from hub.domain.personal_id import compose
from hub.jobs import imports
from hub.spreadsheets.layouts import LAYOUTS
from hub.spreadsheets.templates import xlsx_template
from tests.world import writers_district

#: Serials of their own (the six digits after the year): the world takes the first few
#: hundred, tests/people.py from 100000.
_serial = iter(range(500_000, 690_000))


def personal_id(year: int, sex: Sex = Sex.FEMALE) -> str:
    """A personal ID no other test person of these modules holds."""
    return compose("001", year, sex, next(_serial))


def xlsx_from_template(kind: str, rows: list[list[Any]]) -> bytes:
    """The published template of ``kind`` with ``rows`` under its header."""
    workbook = load_workbook(io.BytesIO(xlsx_template(LAYOUTS[kind])))
    sheet = workbook.worksheets[0]
    for number, row in enumerate(rows, start=2):
        for column, value in enumerate(row, start=1):
            sheet.cell(row=number, column=column, value=value)
    body = io.BytesIO()
    workbook.save(body)
    return body.getvalue()


def csv_file(
    headers: list[str], rows: list[list[Any]], *, delimiter: str = ",", bom: bool = True
) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter)
    writer.writerow(headers)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + text.getvalue()).encode()


def results_of(body: bytes) -> dict[int, str]:
    """The "Kết quả" column of a result file, by row number (the header's row is 1)."""
    if body.startswith(b"PK"):
        sheet = load_workbook(io.BytesIO(body)).worksheets[0]
        rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    else:
        text = body.decode("utf-8").removeprefix("\ufeff")
        first = text.splitlines()[0]
        delimiter = ";" if first.count(";") > first.count(",") else ","
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    column = rows[0].index("Kết quả")
    return {
        number: str(row[column])
        for number, row in enumerate(rows, start=1)
        if number > 1 and column < len(row) and row[column] not in (None, "")
    }


async def school_of_its_own(
    db: Database, code: str, *, level: SchoolLevel, classes: dict[str, int]
) -> dict[str, int]:
    """A school ``code`` in the writers' district with ``classes`` (name → grade) this
    year: the classes' ids by name, and the school's as ``""``."""
    async with db.unit_of_work() as session:
        district = await writers_district(session)
        year = await session.scalar(select(models.SchoolYear).where(models.SchoolYear.is_current))
        assert year is not None
        school = models.School(
            department_id=district.department_id,
            district_id=district.id,
            moet_code=code,
            name=f"Trường {code}",
            level=level,
            ownership=Ownership.PUBLIC,
        )
        session.add(school)
        await session.flush()
        made = {"": school.id}
        for name, grade in classes.items():
            school_class = models.SchoolClass(
                school_id=school.id, school_year_id=year.id, name=name, grade=grade
            )
            session.add(school_class)
            await session.flush()
            made[name] = school_class.id
    return made


async def pupil_in(db: Database, class_id: int, *, name: str, born: int) -> str:
    """A new pupil enrolled in ``class_id``: her personal ID."""
    from tests.people import enrolled_pupil

    pid = personal_id(born)
    async with db.unit_of_work() as session:
        school_class = await session.get(models.SchoolClass, class_id)
        assert school_class is not None
        await enrolled_pupil(
            session, school_class, full_name=name, personal_id=pid, birth_date=date(born, 2, 3)
        )
    return pid


async def run_import(db: Database, job_id: str) -> None:
    """Every part of an import, then its end, as the workers would (no broker)."""
    async with db.sessions() as session:
        job = await session.scalar(select(models.Job).where(models.Job.job_id == job_id))
        assert job is not None
        parts = job.params["parts"]
    for part in range(parts):
        await imports.write_part(db, job_id=job_id, part=part)
    await imports.finish(db, job_id=job_id)


async def upload(
    http: httpx.AsyncClient, token: str | None, kind: str, body: bytes, name: str
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await http.post(f"/imports/{kind}", files={"file": (name, body)}, headers=headers)
