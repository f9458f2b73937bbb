"""The published template of each layout: XLSX (the header row in bold, a "Hướng dẫn"
sheet explaining each column and its allowed values) and CSV (the header row only).

Both come from the layout's columns (:mod:`hub.spreadsheets.layouts`), so a template
and the import never disagree about a column.
"""

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from hub.spreadsheets.layouts import Kind, Layout
from hub.spreadsheets.reading import BOM

GUIDE_SHEET = "Hướng dẫn"
GUIDE_HEADERS = ["Cột", "Bắt buộc", "Nội dung", "Giá trị cho phép", "Ví dụ"]
#: Rows of the data sheet formatted as text where a column holds digits or dates, so
#: Excel keeps a personal ID's leading zeros and a date as written.
TEXT_ROWS = 2000
_AS_TEXT = (Kind.PERSONAL_ID, Kind.PHONE, Kind.TEXT, Kind.CODE)


def _required_word(required: bool, needed: bool) -> str:
    if required:
        return "Có"
    return "Cột phải có; ô có thể trống" if needed else "Không"


def xlsx_template(layout: Layout) -> bytes:
    """The layout's template as an XLSX workbook."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = layout.title[:31]
    sheet.append(layout.headers)
    for index, column in enumerate(layout.columns, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True)
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(14, len(column.header) + 4)
        if column.kind in _AS_TEXT:
            for row in range(2, TEXT_ROWS + 2):
                sheet.cell(row=row, column=index).number_format = "@"
    sheet.freeze_panes = "A2"
    guide = workbook.create_sheet(GUIDE_SHEET)
    guide.append([layout.title])
    guide["A1"].font = Font(bold=True, size=13)
    guide.append([layout.intro])
    guide.append(
        [
            "Dòng đầu tiên của trang tính là dòng tiêu đề; mỗi dòng bên dưới là một bản ghi. "
            "Tên cột không phân biệt chữ hoa/thường, có dấu hay không dấu. Có thể lưu thành "
            "CSV (UTF-8, phân cách bằng dấu phẩy hoặc chấm phẩy). Tệp kết quả trả về thêm cột "
            "«Kết quả» cho từng dòng; nhập lại cùng tệp không thay đổi gì thêm."
        ]
    )
    guide.append([])
    guide.append(GUIDE_HEADERS)
    for cell in guide[guide.max_row]:
        cell.font = Font(bold=True)
    for column in layout.columns:
        allowed = column.allowed
        if column.kind is Kind.DATE:
            allowed = "dd/mm/yyyy hoặc ô kiểu ngày"
        elif column.kind in (Kind.DECIMAL, Kind.DECIMALS):
            allowed = allowed or "số, dấu thập phân là dấu phẩy hoặc chấm"
        elif column.kind is Kind.INTEGER:
            allowed = "số nguyên" if not column.choices else "1, 2"
        elif column.kind is Kind.PERSONAL_ID:
            allowed = "12 chữ số"
        guide.append(
            [
                column.header,
                _required_word(column.required, column.needed),
                column.help,
                allowed,
                column.example,
            ]
        )
    for letter, width in zip("ABCDE", (34, 22, 70, 40, 28), strict=True):
        guide.column_dimensions[letter].width = width
    for row in guide.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    body = io.BytesIO()
    workbook.save(body)
    return body.getvalue()


def csv_template(layout: Layout) -> bytes:
    """The layout's template as CSV: its header row, UTF-8 with a byte-order mark (so
    Excel reads the Vietnamese as written)."""
    text = io.StringIO()
    csv.writer(text).writerow(layout.headers)
    return (BOM + text.getvalue()).encode()
