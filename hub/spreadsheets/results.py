"""The uploaded file given back with a "Kết quả" column: what happened to each row.

XLSX comes back as the same workbook (openpyxl keeps the cells as they were) with the
column added after the last one (or written over, when the file is an earlier result
sent again); CSV as the same records with the same separator (and byte-order mark, if
it had one). A row's result reads «Tạo mới», «Cập nhật», «Không đổi», «Đã xóa», or
«Lỗi: <message> [CODE]», warnings after it; rows the import did not read (above the
header, empty) stay as they were.
"""

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from openpyxl import load_workbook
from openpyxl.styles import Font

from hub.resolvers.upserts import RowStatus
from hub.spreadsheets.cells import key
from hub.spreadsheets.layouts import RESULT_HEADER
from hub.spreadsheets.reading import BOM, Format, Raw, csv_rows, decode_csv, detect

STATUS_WORDS: dict[str, str] = {
    RowStatus.CREATED: "Tạo mới",
    RowStatus.UPDATED: "Cập nhật",
    RowStatus.UNCHANGED: "Không đổi",
    RowStatus.DELETED: "Đã xóa",
    RowStatus.REJECTED: "Lỗi",
}


@dataclass(frozen=True)
class Verdict:
    """What the import did with one row of the file."""

    row: int
    status: str
    #: (code, message) of each problem.
    errors: Sequence[Sequence[str]] = ()
    warnings: Sequence[Sequence[str]] = ()

    def as_json(self) -> list[object]:
        return [
            self.row,
            self.status,
            [list(e) for e in self.errors],
            [list(w) for w in self.warnings],
        ]

    @classmethod
    def of(cls, stored: Sequence[object]) -> "Verdict":
        row, status, errors, warnings = stored
        return cls(int(str(row)), str(status), errors, warnings)  # type: ignore[arg-type]

    def text(self) -> str:
        """The result cell: «Tạo mới», «Lỗi: … [CODE]; … [CODE]», warnings after."""
        said = STATUS_WORDS.get(self.status, self.status)
        if self.errors:
            said += ": " + "; ".join(f"{message} [{code}]" for code, message in self.errors)
        if self.warnings:
            said += " — Cảnh báo: " + "; ".join(
                f"{message} [{code}]" for code, message in self.warnings
            )
        return said


def result_file(upload: bytes, header_row: int, verdicts: Mapping[int, Verdict]) -> bytes:
    """``upload`` with each row's result (``verdicts`` by row number in the file; the
    header in row ``header_row``)."""
    if detect(upload) is Format.XLSX:
        return _xlsx(upload, header_row, verdicts)
    return _csv(upload, header_row, verdicts)


def _result_column(header: Sequence[Raw]) -> int:
    """Where the result goes: the header's own result column, or after its last cell."""
    last = -1
    for index, cell in enumerate(header):
        if isinstance(cell, str) and key(cell) == key(RESULT_HEADER):
            return index
        if cell is not None and str(cell).strip():
            last = index
    return last + 1


def _xlsx(upload: bytes, header_row: int, verdicts: Mapping[int, Verdict]) -> bytes:
    workbook = load_workbook(io.BytesIO(upload))
    sheet = workbook.worksheets[0]
    header = [cell.value for cell in sheet[header_row]]
    column = _result_column(header) + 1
    heading = sheet.cell(row=header_row, column=column, value=RESULT_HEADER)
    heading.font = Font(bold=True)
    for row, verdict in verdicts.items():
        sheet.cell(row=row, column=column, value=verdict.text())
    body = io.BytesIO()
    workbook.save(body)
    return body.getvalue()


def _csv(upload: bytes, header_row: int, verdicts: Mapping[int, Verdict]) -> bytes:
    text, delimiter = decode_csv(upload)
    records = [cells for _, cells in csv_rows(text, delimiter)]
    header = records[header_row - 1] if header_row <= len(records) else []
    column = _result_column(header)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for number, cells in enumerate(records, start=1):
        row = ["" if c is None else str(c) for c in cells]
        if number == header_row:
            said = RESULT_HEADER
        elif number in verdicts:
            said = verdicts[number].text()
        else:
            writer.writerow(row)
            continue
        writer.writerow([*(row + [""] * column)[:column], said, *row[column + 1 :]])
    return ((BOM if upload.startswith(BOM.encode()) else "") + out.getvalue()).encode()
