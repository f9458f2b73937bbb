"""Reading spreadsheets (hub.spreadsheets): formats, headers, cells, the result file."""

import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from hub.domain.enums import Sex, StaffRole
from hub.domain.problems import Code, HubError
from hub.spreadsheets import reading
from hub.spreadsheets.layouts import LAYOUTS
from hub.spreadsheets.results import Verdict, result_file

STUDENTS = LAYOUTS["students"]


def workbook_of(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    body = io.BytesIO()
    book.save(body)
    return body.getvalue()


def extracted(data: bytes, layout=STUDENTS):  # type: ignore[no-untyped-def]
    return layout.extract(reading.read(data, max_rows=100), max_rows=100)


def test_csv_with_bom_and_semicolons_and_headers_in_any_case_or_without_diacritics():
    data = (
        "\ufeffDANH SÁCH HỌC SINH;;\n"
        "\n"
        "HO VA TEN;ma dinh danh*;Ngày Sinh;GIỚI TÍNH;Mã trường;Kết quả\n"
        "Nguyễn An;001213004567;05/09/2013;Nam;01X;Tạo mới\n"
    ).encode()
    sheet = reading.read(data, max_rows=10)
    assert sheet.delimiter == ";"
    found = STUDENTS.extract(sheet, max_rows=10)
    assert found.header_row == 3
    ((row, cells),) = found.rows
    student, problems = STUDENTS.parse(cells)
    assert row == 4 and not problems
    assert student.full_name == "Nguyễn An" and student.birth_date == date(2013, 9, 5)
    assert student.sex is Sex.MALE and student.school_code == "01X"


def test_xlsx_date_cells_serial_dates_and_personal_ids_excel_made_numbers():
    data = workbook_of(
        [
            ["Mã định danh", "Họ và tên", "Ngày sinh", "Giới tính", "Mã trường"],
            [1213004567, "Lê Bình", datetime(2013, 1, 2), "nữ", 1000101],
            ["001213004568", "Lê Chi", 41276, "F", "01000101"],
        ]
    )
    rows = extracted(data).rows
    first, _ = STUDENTS.parse(rows[0][1])
    second, _ = STUDENTS.parse(rows[1][1])
    assert first.personal_id == "001213004567"  # the leading zeros Excel dropped
    assert first.birth_date == date(2013, 1, 2) and first.sex is Sex.FEMALE
    assert first.school_code == "1000101"
    assert second.birth_date == date(2013, 1, 2)  # Excel's serial number of that day


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("31/02/2013", Code.CELL_DATE_INVALID),
        ("2013", Code.CELL_DATE_INVALID),
        ("", Code.CELL_REQUIRED),
    ],
)
def test_a_date_that_cannot_be_read_is_the_rows_error(written: str, code: Code):
    data = f"Họ và tên,Mã định danh,Ngày sinh,Giới tính,Mã trường\nAn,,{written},Nam,X\n"
    ((_, cells),) = extracted(data.encode()).rows
    student, problems = STUDENTS.parse(cells)
    assert student is None and [p.code for p in problems] == [code]
    assert "Ngày sinh" in problems[0].message


def test_words_lists_and_decimals():
    staff = LAYOUTS["staff"]
    data = (
        "Mã định danh,Họ và tên,Mã trường,Vai trò\n"
        '001085001234,Trần Minh,01X,"GVCN; giao vien"\n'
        "001085001235,Trần Nam,01X,Thủ quỹ\n"
    ).encode()
    (_, good), (_, bad) = extracted(data, staff).rows
    member, _ = staff.parse(good)
    assert member.assignments[0].roles == [StaffRole.HOMEROOM, StaffRole.TEACHER]
    _, problems = staff.parse(bad)
    assert problems[0].code is Code.CELL_VALUE_NOT_ALLOWED
    assert "Giáo viên chủ nhiệm" in problems[0].message
    scores = LAYOUTS["secondary"]
    data = 'Mã định danh học sinh,Mã môn,Học kì,ĐĐGtx,ĐĐGgk\n001213004567,TOAN,II,"8;7,5 9","8,5"\n'
    ((_, cells),) = extracted(data.encode(), scores).rows
    row, problems = scores.parse(cells)
    assert not problems and row.semester == 2
    assert row.regular == [Decimal(8), Decimal("7.5"), Decimal(9)] and row.midterm == Decimal("8.5")


@pytest.mark.parametrize(
    "data",
    [b"\x89PNG\r\n\x1a\n\x00\x00", b"PK\x03\x04broken", "Tên\nAn\n".encode("utf-16")],
)
def test_what_is_not_a_spreadsheet_is_refused(data: bytes):
    with pytest.raises(HubError) as refused:
        STUDENTS.extract(reading.read(data, max_rows=10), max_rows=10)
    assert refused.value.problem.code is Code.SPREADSHEET_UNREADABLE


def test_no_known_header_or_too_many_rows_is_refused():
    with pytest.raises(HubError) as refused:
        extracted("Tên,Tuổi\nAn,12\n".encode())
    assert refused.value.problem.code is Code.SPREADSHEET_HEADER_UNKNOWN
    assert "Họ và tên" in refused.value.problem.message
    rows = "".join(f"An {n},,01/01/2013,Nam,X\n" for n in range(30))
    data = f"Họ và tên,Mã định danh,Ngày sinh,Giới tính,Mã trường\n{rows}".encode()
    with pytest.raises(HubError) as refused:
        STUDENTS.extract(reading.read(data, max_rows=20), max_rows=20)
    assert refused.value.problem.code is Code.SPREADSHEET_TOO_MANY_ROWS


def test_the_result_file_keeps_the_cells_and_writes_over_an_earlier_result():
    data = "Họ và tên;Ghi chú;Kết quả\nAn;giữ nguyên;Lỗi: cũ\nBình;x;\n".encode()
    verdicts = {
        2: Verdict(2, "UPDATED"),
        3: Verdict(3, "REJECTED", [["SCHOOL_NOT_FOUND", "Không tìm thấy trường."]]),
    }
    text = result_file(data, 1, verdicts).decode()
    assert text.splitlines() == [
        "Họ và tên;Ghi chú;Kết quả",
        "An;giữ nguyên;Cập nhật",
        "Bình;x;Lỗi: Không tìm thấy trường. [SCHOOL_NOT_FOUND]",
    ]
    book = workbook_of([["Tiêu đề"], ["Họ và tên", "Mã trường"], ["An", 1]])
    sheet = load_workbook(io.BytesIO(result_file(book, 2, {3: Verdict(3, "CREATED")}))).active
    assert sheet is not None
    assert [c.value for c in sheet[2]] == ["Họ và tên", "Mã trường", "Kết quả"]
    assert [c.value for c in sheet[3]] == ["An", 1, "Tạo mới"]
    assert sheet["C2"].font.bold
