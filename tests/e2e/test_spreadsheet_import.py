"""Spreadsheet import (issue 14) over HTTP: templates, each kind's round trip, formats,
refusals, authorisation, an interrupted job resumed, and the officers' page.

The module works in a database of its own (its imports write students, staff and
gradebooks other modules would count); the jobs' steps run here directly, as a worker
would (tests/e2e/test_spreadsheet_import_job.py runs one through the real broker).
"""

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.domain.enums import OrgLevel, SchoolLevel, Sex
from hub.jobs import imports
from hub.jobs.core import JobRuntime
from hub.web.app import create_app
from tests.conftest import database_of_its_own, settings_of_its_own
from tests.helpers import client_token
from tests.people import People, people_school
from tests.spreadsheets import (
    csv_file,
    personal_id,
    pupil_in,
    results_of,
    run_import,
    school_of_its_own,
    upload,
    xlsx_from_template,
)
from tests.world import build_world

SECONDARY, PRIMARY, OTHER = "01IMP06", "01IMP03", "01IMPX9"
#: What an answer must never show: a Python exception's text.
LEAKS = ("Traceback", "Error(", "Exception", "sqlalchemy", "openpyxl")


@pytest.fixture(scope="module")
def settings(settings, tmp_path_factory) -> Settings:  # type: ignore[no-untyped-def]
    return settings_of_its_own(settings, tmp_path_factory.mktemp("imports"))


@pytest.fixture(scope="module")
async def db(settings: Settings) -> AsyncIterator[Database]:
    async for database in database_of_its_own(settings):
        yield database


@pytest.fixture(scope="module")
async def schools(db: Database) -> dict[str, dict[str, int]]:
    await build_world(db)
    return {
        SECONDARY: await school_of_its_own(
            db, SECONDARY, level=SchoolLevel.LOWER_SECONDARY, classes={"6A1": 6}
        ),
        PRIMARY: await school_of_its_own(db, PRIMARY, level=SchoolLevel.PRIMARY, classes={"3A": 3}),
        OTHER: await school_of_its_own(
            db, OTHER, level=SchoolLevel.LOWER_SECONDARY, classes={"7B": 7}
        ),
    }


@pytest.fixture(scope="module")
def app(settings: Settings, db: Database, schools):  # type: ignore[no-untyped-def]
    return create_app(settings, db)


@pytest.fixture(scope="module")
async def http(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        yield client


@pytest.fixture(scope="module")
async def token(db: Database, http: httpx.AsyncClient) -> str:
    """A department-wide app allowed every write."""
    return await client_token(db, http, org=OrgLevel.DEPARTMENT)


@pytest.fixture(scope="module")
async def people(db: Database, schools) -> People:  # type: ignore[no-untyped-def]
    return await people_school(db, code="01IMPPG")


async def import_file(
    http: httpx.AsyncClient, db: Database, token: str, kind: str, body: bytes, name: str
) -> dict[int, str]:
    """Upload, run the job to its end, and read the result file's "Kết quả" column."""
    sent = await upload(http, token, kind, body, name)
    assert sent.status_code == 202, sent.text
    job_id = sent.json()["jobId"]
    await run_import(db, job_id)
    progress = await http.get(f"/imports/{job_id}", headers={"Authorization": f"Bearer {token}"})
    assert progress.json()["state"] == "COMPLETED", progress.text
    assert progress.json()["resultReady"] is True
    got = await http.get(f"/imports/{job_id}/result", headers={"Authorization": f"Bearer {token}"})
    assert got.status_code == 200
    assert got.content[:2] == body[:2]  # the format sent: XLSX (PK…) or CSV
    return results_of(got.content)


def verdicts(results: dict[int, str]) -> dict[int, str]:
    """Each row's result: its word, or «Lỗi» with the codes of its errors."""
    short = {}
    for row, said in results.items():
        if said.startswith("Lỗi"):
            codes = [part.split("]")[0] for part in said.split("[")[1:]]
            short[row] = "Lỗi " + ",".join(codes)
        else:
            short[row] = said.split(" — ")[0]
    return short


async def round_trip(
    http: httpx.AsyncClient,
    db: Database,
    token: str,
    kind: str,
    body: bytes,
    expected: dict[int, str],
    name: str = "tep.xlsx",
) -> None:
    """Import ``body`` twice: ``expected`` the first time; the good rows unchanged after."""
    first = verdicts(await import_file(http, db, token, kind, body, name))
    assert first == expected
    again = verdicts(await import_file(http, db, token, kind, body, name))
    assert again == {
        row: said if said.startswith("Lỗi") else "Không đổi" for row, said in expected.items()
    }


# --- templates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    ["students", "staff", "guardians", "secondary", "year-records", "retests", "primary", "traits"],
)
async def test_each_kind_has_a_template_in_xlsx_and_csv(http: httpx.AsyncClient, kind: str):
    xlsx = await http.get(f"/imports/templates/{kind}.xlsx")
    assert xlsx.status_code == 200
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(xlsx.content))
    data, guide = workbook.worksheets
    assert guide.title == "Hướng dẫn"
    headers = [cell.value for cell in data[1]]
    assert all(cell.font.bold for cell in data[1])
    described = {row[0] for row in guide.iter_rows(min_row=6, values_only=True)}
    assert set(headers) <= described
    text = await http.get(f"/imports/templates/{kind}.csv")
    assert text.content.startswith("\ufeff".encode())
    assert next(csv.reader(io.StringIO(text.content.decode("utf-8-sig")))) == headers


async def test_an_unknown_template_is_not_found(http: httpx.AsyncClient):
    assert (await http.get("/imports/templates/grades.xlsx")).status_code == 404
    assert (await http.get("/imports/templates/students.pdf")).status_code == 404


# --- each kind, there and back -----------------------------------------------------------------


async def test_students_round_trip_in_xlsx_with_excel_date_cells(http, db, token, schools):  # type: ignore[no-untyped-def]
    lan, binh = personal_id(2013), personal_id(2013, Sex.MALE)
    wrong_date, wrong_sex = personal_id(2013), personal_id(2013)
    rows = [
        [lan, None, "Nguyễn Thị Lan", datetime(2013, 9, 5), "Nữ", "Kinh", SECONDARY, "6A1"],
        [binh, None, "Trần Văn Bình", "12/01/2013", "nam", None, SECONDARY, None],
        [wrong_date, None, "Lê Thị Sai Ngày", "31/02/2013", "Nữ", None, SECONDARY, None],
        [wrong_sex, None, "Lê Thị Sai Giới", "01/02/2013", "gái?", None, SECONDARY, None],
        [personal_id(2013), None, "Vũ Thị Không Trường", "01/02/2013", "Nữ", None, "99NOPE", None],
    ]
    await round_trip(
        http,
        db,
        token,
        "students",
        xlsx_from_template("students", rows),
        {
            2: "Tạo mới",
            3: "Tạo mới",
            4: "Lỗi CELL_DATE_INVALID",
            5: "Lỗi CELL_VALUE_NOT_ALLOWED",
            6: "Lỗi SCHOOL_NOT_FOUND",
        },
    )
    async with db.sessions() as session:
        found = {
            s.personal_id: s
            for s in await session.scalars(
                select(models.Student).where(
                    models.Student.personal_id.in_([lan, binh, wrong_date, wrong_sex])
                )
            )
        }
        assert set(found) == {lan, binh}
        assert found[lan].birth_date.isoformat() == "2013-09-05"
        assert found[binh].sex is Sex.MALE
        enrolled = await session.scalar(
            select(func.count()).where(models.Enrolment.student_id == found[lan].id)
        )
        assert enrolled == 1


async def test_staff_round_trip_in_csv_with_bom_semicolons_and_plain_headers(  # type: ignore[no-untyped-def]
    http, db, token, schools
):
    teacher = personal_id(1985, Sex.MALE)
    headers = [
        "MA DINH DANH",
        "ho va ten",
        "Ngay Sinh",
        "GIOI TINH",
        "email",
        "so dien thoai",
        "ma truong",
        "vai tro",
    ]
    rows = [
        [teacher, "Phạm Văn Giáo", "12/03/1985", "Nam", "", "0912345678", SECONDARY,
         "Giáo viên; Giáo viên chủ nhiệm"],
        [personal_id(1986), "Đỗ Thị Bảo Vệ", "", "Nữ", "", "", SECONDARY, "Bảo vệ"],
        [personal_id(1987), "Hà Thị Chưa Vai", "", "Nữ", "", "", SECONDARY, ""],
    ]  # fmt: skip
    body = csv_file(headers, rows, delimiter=";", bom=True)
    await round_trip(
        http,
        db,
        token,
        "staff",
        body,
        {2: "Tạo mới", 3: "Lỗi CELL_VALUE_NOT_ALLOWED", 4: "Lỗi ROLE_REQUIRED"},
        name="can-bo.csv",
    )
    async with db.sessions() as session:
        member = await session.scalar(
            select(models.Staff).where(models.Staff.personal_id == teacher)
        )
        assert member is not None and member.phone == "0912345678"
        roles = set(
            await session.scalars(
                select(models.StaffAssignment.role).where(
                    models.StaffAssignment.staff_id == member.id
                )
            )
        )
        assert {role.value for role in roles} == {"TEACHER", "HOMEROOM"}


async def test_guardian_links_round_trip_in_csv_without_bom(http, db, token, schools):  # type: ignore[no-untyped-def]
    pupil = await pupil_in(db, schools[SECONDARY]["6A1"], name="Ngô Thị Con", born=2013)
    mother = personal_id(1988)
    headers = [
        "Mã định danh học sinh",
        "Họ và tên cha mẹ/người giám hộ",
        "Mã định danh cha mẹ/người giám hộ",
        "Số điện thoại",
        "Quan hệ",
    ]
    rows = [
        [pupil, "Ngô Thị Mẹ", mother, "0987654321", "Mẹ"],
        [pupil, "Ngô Văn Dì", "", "0987000000", "Dì"],
        [personal_id(2013), "Ai Đó", "", "0987111111", "Cha"],
    ]
    await round_trip(
        http,
        db,
        token,
        "guardians",
        csv_file(headers, rows, bom=False),
        {2: "Tạo mới", 3: "Lỗi CELL_VALUE_NOT_ALLOWED", 4: "Lỗi STUDENT_NOT_FOUND"},
        name="cha-me.csv",
    )
    async with db.sessions() as session:
        linked = await session.scalar(
            select(func.count())
            .select_from(models.GuardianLink)
            .join(models.Guardian, models.Guardian.id == models.GuardianLink.guardian_id)
            .where(models.Guardian.personal_id == mother)
        )
        assert linked == 1


async def test_secondary_assessments_round_trip(http, db, token, schools):  # type: ignore[no-untyped-def]
    pupil = await pupil_in(db, schools[SECONDARY]["6A1"], name="Đinh Thị Điểm", born=2013)
    rows = [
        [pupil, "TOAN", 1, None, "8; 7,5; 9; 10", 7.5, "8"],
        [pupil, "GDTC", 1, None, None, None, None, "Đ; Đ; CĐ; Đ", "Đạt", "Đạt"],
        [pupil, "TOAN", 2, None, "8; 7", None, None],
        [pupil, "NGU_VAN", "I", None, None, "bảy", None],
    ]
    await round_trip(
        http,
        db,
        token,
        "secondary",
        xlsx_from_template("secondary", rows),
        {
            2: "Tạo mới",
            3: "Tạo mới",
            4: "Lỗi REGULAR_COUNT_MISMATCH",
            5: "Lỗi CELL_NUMBER_INVALID",
        },
    )
    async with db.sessions() as session:
        stored = list(
            await session.scalars(
                select(models.SubjectAssessment)
                .join(models.Student, models.Student.id == models.SubjectAssessment.student_id)
                .where(models.Student.personal_id == pupil)
            )
        )
    assert len(stored) == 2
    scored = next(s for s in stored if s.regular_tenths is not None)
    assert scored.regular_tenths == [80, 75, 90, 100] and scored.midterm_tenths == 75


async def test_year_records_round_trip(http, db, token, schools):  # type: ignore[no-untyped-def]
    pupil = await pupil_in(db, schools[SECONDARY]["6A1"], name="Mai Thị Rèn", born=2013)
    rows = [
        [pupil, None, "Tốt", "Khá", None, 3, "Chăm ngoan, lễ phép.", None],
        [pupil, "2025-2026", "Giỏi", None, None, None, None, None],
    ]
    await round_trip(
        http,
        db,
        token,
        "year-records",
        xlsx_from_template("year-records", rows),
        {2: "Tạo mới", 3: "Lỗi CELL_VALUE_NOT_ALLOWED"},
    )


async def test_retests_round_trip(http, db, token, schools):  # type: ignore[no-untyped-def]
    pupil = await pupil_in(db, schools[SECONDARY]["6A1"], name="Lý Văn Thi Lại", born=2013)
    rows = [
        [pupil, "TOAN", None, 5.5, None],
        [pupil, "GDTC", None, 6, None],
    ]
    await round_trip(
        http,
        db,
        token,
        "retests",
        xlsx_from_template("retests", rows),
        {2: "Tạo mới", 3: "Lỗi ASSESSMENT_KIND_MISMATCH"},
    )
    async with db.sessions() as session:
        score = await session.scalar(
            select(models.SubjectRetest.score_tenths)
            .join(models.Student, models.Student.id == models.SubjectRetest.student_id)
            .where(models.Student.personal_id == pupil)
        )
    assert Decimal(score) == 55


async def test_primary_assessments_round_trip(http, db, token, schools):  # type: ignore[no-untyped-def]
    pupil = await pupil_in(db, schools[PRIMARY]["3A"], name="Tạ Thị Tiểu Học", born=2017)
    rows = [
        [pupil, "TOAN", "Cuối học kì I", None, "Hoàn thành tốt", 9, "Tính nhanh."],
        [pupil, "TIENG_VIET", "cuoi hoc ky 1", None, "H", None, None],
        [pupil, "TOAN", "Cuối kì 3", None, "Hoàn thành", None, None],
    ]
    await round_trip(
        http,
        db,
        token,
        "primary",
        xlsx_from_template("primary", rows),
        {2: "Tạo mới", 3: "Tạo mới", 4: "Lỗi CELL_VALUE_NOT_ALLOWED"},
    )


async def test_primary_traits_round_trip(http, db, token, schools):  # type: ignore[no-untyped-def]
    pupil = await pupil_in(db, schools[PRIMARY]["3A"], name="Tô Thị Phẩm Chất", born=2017)
    rows = [
        [pupil, "Chăm chỉ", "Cuối học kì I", "Tốt"],
        [pupil, "TU_CHU_TU_HOC", "Cuối năm", "Đạt"],
        [pupil, "Bay nhảy", "Cuối năm", "Tốt"],
    ]
    await round_trip(
        http,
        db,
        token,
        "traits",
        xlsx_from_template("traits", rows),
        {2: "Tạo mới", 3: "Tạo mới", 4: "Lỗi TRAIT_NOT_FOUND"},
    )


# --- refusals and authorisation ----------------------------------------------------------------


async def test_without_a_token_nothing_is_imported(http: httpx.AsyncClient, schools):  # type: ignore[no-untyped-def]
    body = xlsx_from_template("students", [])
    sent = await upload(http, None, "students", body, "a.xlsx")
    assert sent.status_code == 401
    assert sent.json()["code"] == "UNAUTHENTICATED"
    assert (await http.get("/imports/00000000-0000-0000-0000-000000000000")).status_code == 401


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"%PDF-1.7\n\xff\xfe binary", "SPREADSHEET_UNREADABLE"),
        (b"PK\x03\x04 not really a workbook", "SPREADSHEET_UNREADABLE"),
        ("Tên;Tuổi\nAn;12\n".encode(), "SPREADSHEET_HEADER_UNKNOWN"),
        ("\ufeffHọ và tên,Mã định danh,Ngày sinh,Giới tính,Mã trường\n".encode(),
         "SPREADSHEET_EMPTY"),
    ],
)  # fmt: skip
async def test_a_file_that_is_no_known_spreadsheet_is_refused_and_nothing_stored(  # type: ignore[no-untyped-def]
    http, db, token, body, code
):
    async with db.sessions() as session:
        before = await session.scalar(select(func.count()).select_from(models.SpreadsheetImport))
    sent = await upload(http, token, "students", body, "hoc-sinh.xlsx")
    assert sent.status_code == 422
    assert sent.json()["code"] == code
    assert sent.json()["message"]
    assert not any(leak in sent.text for leak in LEAKS)
    async with db.sessions() as session:
        after = await session.scalar(select(func.count()).select_from(models.SpreadsheetImport))
    assert after == before


async def test_a_school_app_cannot_import_rows_of_another_school(http, db, schools):  # type: ignore[no-untyped-def]
    school_token = await client_token(db, http, org=OrgLevel.SCHOOL, schools=[SECONDARY])
    mine, theirs = personal_id(2013), personal_id(2013)
    rows = [
        [mine, None, "Cao Thị Của Mình", "02/02/2013", "Nữ", None, SECONDARY, None],
        [theirs, None, "Cao Thị Trường Khác", "02/02/2013", "Nữ", None, OTHER, None],
    ]
    found = verdicts(
        await import_file(
            http, db, school_token, "students", xlsx_from_template("students", rows), "x.xlsx"
        )
    )
    assert found == {2: "Tạo mới", 3: "Lỗi SCHOOL_NOT_FOUND"}
    async with db.sessions() as session:
        assert (
            await session.scalar(select(func.count()).where(models.Student.personal_id == theirs))
            == 0
        )


async def test_an_app_without_the_write_scope_is_refused(http, db, schools):  # type: ignore[no-untyped-def]
    reader = await client_token(
        db, http, org=OrgLevel.DEPARTMENT, scopes=["students:read", "staff:read"]
    )
    sent = await upload(http, reader, "students", xlsx_from_template("students", []), "x.xlsx")
    assert sent.status_code == 403
    assert sent.json()["code"] == "FORBIDDEN"


async def test_an_import_is_only_its_senders(http, db, token, schools):  # type: ignore[no-untyped-def]
    rows = [[personal_id(2013), None, "Hồ Thị Riêng", "03/03/2013", "Nữ", None, SECONDARY, None]]
    sent = await upload(http, token, "students", xlsx_from_template("students", rows), "r.xlsx")
    job_id = sent.json()["jobId"]
    await run_import(db, job_id)
    other = await client_token(db, http, org=OrgLevel.DEPARTMENT)
    for address in (f"/imports/{job_id}", f"/imports/{job_id}/result"):
        seen = await http.get(address, headers={"Authorization": f"Bearer {other}"})
        assert seen.status_code == 404
        assert not any(leak in seen.text for leak in LEAKS)


# --- one job per file, resumed after a crash ---------------------------------------------------


async def test_the_same_file_sent_again_while_it_runs_is_the_same_job(http, db, token, schools):  # type: ignore[no-untyped-def]
    rows = [[personal_id(2013), None, "Lâm Thị Hai Lần", "04/04/2013", "Nữ", None, SECONDARY, None]]
    body = xlsx_from_template("students", rows)
    first = await upload(http, token, "students", body, "hai-lan.xlsx")
    again = await upload(http, token, "students", body, "hai-lan.xlsx")
    assert first.status_code == 202 and again.status_code == 200
    assert again.json() == {"jobId": first.json()["jobId"], "started": False}
    await run_import(db, first.json()["jobId"])
    after = await upload(http, token, "students", body, "hai-lan.xlsx")
    assert after.status_code == 202 and after.json()["jobId"] != first.json()["jobId"]
    await run_import(db, after.json()["jobId"])


async def test_an_interrupted_import_resumes_where_it_stopped(  # type: ignore[no-untyped-def]
    db, settings, token, schools
):
    from hub.auth.access import Caller
    from hub.spreadsheets.layouts import LAYOUTS

    ids = [personal_id(2012) for _ in range(5)]
    rows = [
        [pid, None, f"Phan Thị Tiếp {n}", "06/06/2012", "Nữ", None, SECONDARY, None]
        for n, pid in enumerate(ids)
    ]
    caller = Caller(
        client_id="test-resume",
        scopes=frozenset({"students:read", "students:write"}),
        org_level=OrgLevel.DEPARTMENT,
        school_ids=None,
    )
    submitted = await imports.submit(
        db,
        caller=caller,
        layout=LAYOUTS["students"],
        filename="tiep.xlsx",
        data=xlsx_from_template("students", rows),
        max_rows=100,
        rows_per_part=2,
    )
    assert [step.args for step in submitted.work] == [(submitted.job_id, n) for n in range(3)]
    await imports.write_part(db, job_id=submitted.job_id, part=0)
    # The worker dies here; its other messages are lost. The watchdog finds what is left.
    runtime = JobRuntime(settings=settings, db=db)
    left = await imports.stalled_work(runtime, stall_seconds=0)
    assert [step.args for step in left if step.args[0] == submitted.job_id] == [
        (submitted.job_id, 1),
        (submitted.job_id, 2),
    ]
    for step in [*left, submitted.work[0]]:  # part 0 delivered twice does nothing more
        if step.args[0] == submitted.job_id:
            assert step.actor == imports.ACTOR
            ended = await imports.write_part(db, job_id=step.args[0], part=step.args[1])
    assert [step.actor for step in ended] in ([], [imports.FINISH_ACTOR])
    again = await imports.stalled_work(runtime, stall_seconds=0)
    assert [s.actor for s in again if s.args[0] == submitted.job_id] == [imports.FINISH_ACTOR]
    await imports.finish(db, job_id=submitted.job_id)
    async with db.sessions() as session:
        progress = await imports.progress(session, caller, submitted.job_id)
        count = await session.scalar(
            select(func.count()).where(models.Student.personal_id.in_(ids))
        )
    assert count == 5
    assert progress.state == "COMPLETED"
    assert (progress.total, progress.done, progress.counts["created"]) == (5, 5, 5)
    assert progress.counts["rejected"] == 0 and progress.result_ready


# --- the page ----------------------------------------------------------------------------------


async def test_an_officer_imports_on_the_page_and_downloads_the_result(  # type: ignore[no-untyped-def]
    officer, db, schools
):
    page = await officer.web.get("/dashboard/imports")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    assert "/imports/templates/students.xlsx" in page.text
    # Works offline: nothing from another origin (no CDN), no script of its own.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text)
    pid = personal_id(2013)
    rows = [[pid, None, "Kiều Thị Trang", "07/07/2013", "Nữ", None, SECONDARY, "6A1"]]
    body = xlsx_from_template("students", rows)
    forged = await officer.web.post(
        "/dashboard/imports",
        data={"kind": "students", "csrf_token": "x"},
        files={"file": ("trang.xlsx", body)},
    )
    assert forged.status_code == 403
    sent = await officer.web.post(
        "/dashboard/imports",
        data={"kind": "students", "csrf_token": officer.csrf},
        files={"file": ("trang.xlsx", body)},
    )
    assert sent.status_code == 303, sent.text
    job_id = sent.headers["location"].split("job=")[1]
    running = await officer.web.get(sent.headers["location"])
    assert "0/1" in running.text
    await run_import(db, job_id)
    done = await officer.web.get(sent.headers["location"])
    assert f"/dashboard/imports/{job_id}/result" in done.text
    result = await officer.web.get(f"/dashboard/imports/{job_id}/result")
    assert result.status_code == 200
    assert results_of(result.content) == {2: "Tạo mới"}
    bad = await officer.web.post(
        "/dashboard/imports",
        data={"kind": "students", "csrf_token": officer.csrf},
        files={"file": ("anh.png", b"\x89PNG\r\n\x1a\n\x00\x00")},
    )
    assert bad.status_code == 400
    assert "SPREADSHEET_UNREADABLE" in bad.text
    assert not any(leak in bad.text for leak in LEAKS)


async def test_someone_with_no_import_role_is_turned_away(app, people: People):  # type: ignore[no-untyped-def]
    from tests.helpers import visiting

    async with visiting(app, people.teacher, people.names[people.teacher]) as teacher:
        page = await teacher.web.get("/dashboard/imports")
        assert page.status_code == 403
    anonymous = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    )
    async with anonymous:
        away = await anonymous.get("/dashboard/imports")
        assert away.status_code == 303 and away.headers["location"].startswith("/login")


async def test_a_principal_imports_for_their_own_school_only(app, db, people: People):  # type: ignore[no-untyped-def]
    from tests.helpers import visiting

    async with db.sessions() as session:
        own = await session.scalar(
            select(models.School.moet_code).where(models.School.id == people.school_id)
        )
    mine, theirs = personal_id(2013), personal_id(2013)
    rows = [
        [mine, None, "Quách Thị Của Trường", "08/08/2013", "Nữ", None, own, None],
        [theirs, None, "Quách Thị Trường Khác", "08/08/2013", "Nữ", None, OTHER, None],
    ]
    async with visiting(app, people.principal, people.names[people.principal]) as principal:
        sent = await principal.web.post(
            "/dashboard/imports",
            data={"kind": "students", "csrf_token": principal.csrf},
            files={"file": ("truong.xlsx", xlsx_from_template("students", rows))},
        )
        assert sent.status_code == 303, sent.text
        job_id = sent.headers["location"].split("job=")[1]
        await run_import(db, job_id)
        result = await principal.web.get(f"/dashboard/imports/{job_id}/result")
    assert verdicts(results_of(result.content)) == {2: "Tạo mới", 3: "Lỗi SCHOOL_NOT_FOUND"}


async def test_the_page_reads_in_english_too(officer):  # type: ignore[no-untyped-def]
    page = await officer.web.get("/dashboard/imports?lang=en")
    assert page.status_code == 200
    assert "Import from a spreadsheet" in page.text and "Send and import" in page.text
