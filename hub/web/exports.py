"""A page's tables as files: CSV for any tool, XLSX for Excel.

A CSV starts with a UTF-8 byte-order mark: without it Excel reads the file in the
machine's legacy code page and Vietnamese names come out garbled. Ratios are written
as fractions (0.7530, like the API's ``ratio``); in XLSX they are numbers shown as
percentages. Exports are never cached: they may name people.
"""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Font
from starlette.responses import Response

Cell = str | int | float | None

XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Excel's limit on a sheet's name.
SHEET_NAME_LIMIT = 31


@dataclass(frozen=True)
class Table:
    """One table of a page: its name (the XLSX sheet's), headers and rows of cells."""

    name: str
    headers: list[str]
    rows: list[list[Cell]]
    #: The columns holding ratios (0–1), shown as percentages in XLSX.
    ratio_columns: frozenset[int] = frozenset()


def _ratio_text(value: Cell) -> Cell:
    return f"{value:.4f}" if isinstance(value, float) else value


def csv_response(table: Table, filename: str) -> Response:
    """``table`` as a CSV file Excel opens with its Vietnamese intact."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow(
            [_ratio_text(c) if i in table.ratio_columns else c for i, c in enumerate(row)]
        )
    return _attachment(("\ufeff" + text.getvalue()).encode(), "text/csv; charset=utf-8", filename)


def xlsx_response(tables: Sequence[Table], filename: str) -> Response:
    """``tables`` as one workbook, a sheet each, headers in bold."""
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    for table in tables:
        sheet = workbook.create_sheet(table.name[:SHEET_NAME_LIMIT])
        sheet.append(table.headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append(row)
        for column in table.ratio_columns:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=column + 1, max_col=column + 1):
                cell.number_format = "0.0%"
    body = io.BytesIO()
    workbook.save(body)
    return _attachment(body.getvalue(), XLSX_MEDIA, filename)


def _attachment(body: bytes, media: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
