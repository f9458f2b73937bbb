"""An uploaded spreadsheet, XLSX or CSV, read into its header row and data rows.

XLSX is read with openpyxl in read-only mode (cached cell values: a formula's last
result), its first sheet only. CSV is UTF-8, with or without a byte-order mark,
separated by commas or semicolons (what Excel writes in a Vietnamese locale),
whichever the header line uses more. The header is the first row among the first few
that names the most of a layout's columns (schools often put a title above it).
Cells come as the file holds them: text, numbers, dates; the layout reads them.
"""

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

import structlog
from openpyxl import load_workbook

from hub.domain.problems import Code, HubError

log = structlog.get_logger(__name__)

#: A cell as the file holds it: text (CSV), or whatever openpyxl reads (numbers, dates …).
Raw = object

#: How a ZIP file (and so an XLSX workbook) begins.
ZIP_MAGIC = b"PK\x03\x04"
BOM = "\ufeff"
#: Rows above the header a file may have (a title, a school's name, an empty line).
HEADER_SEARCH_ROWS = 10


class Format(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"


@dataclass(frozen=True)
class Sheet:
    """A file's first sheet: its rows as (row number in the file, counted from 1, cells)."""

    format: Format
    rows: list[tuple[int, list[Raw]]]
    #: The CSV's separator (what the result file is written with).
    delimiter: str = ","


def detect(data: bytes) -> Format:
    return Format.XLSX if data.startswith(ZIP_MAGIC) else Format.CSV


def read(data: bytes, *, max_rows: int) -> Sheet:
    """``data`` as a sheet of at most ``max_rows`` rows besides the few above the header;
    SPREADSHEET_UNREADABLE for what is not an XLSX workbook or UTF-8 text,
    SPREADSHEET_TOO_MANY_ROWS past the limit (the file is not read further)."""
    limit = max_rows + HEADER_SEARCH_ROWS
    if detect(data) is Format.XLSX:
        return Sheet(Format.XLSX, _limited(_xlsx_rows(data), limit, max_rows))
    text, delimiter = decode_csv(data)
    return Sheet(Format.CSV, _limited(csv_rows(text, delimiter), limit, max_rows), delimiter)


def _limited(
    rows: Iterator[tuple[int, list[Raw]]], limit: int, max_rows: int
) -> list[tuple[int, list[Raw]]]:
    kept: list[tuple[int, list[Raw]]] = []
    for number, cells in rows:
        if all(_blank(cell) for cell in cells):
            continue
        if len(kept) >= limit:
            raise HubError(Code.SPREADSHEET_TOO_MANY_ROWS, limit=max_rows)
        kept.append((number, cells))
    return kept


def _blank(cell: Raw) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[Raw]]]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, Exception) as error:  # openpyxl's errors, a damaged ZIP …
        # What the library says is for the log only: the person reads a stable code.
        log.info("spreadsheet.unreadable", error=type(error).__name__)
        raise HubError(Code.SPREADSHEET_UNREADABLE) from None
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(values)
    except HubError:
        raise
    except Exception as error:
        log.info("spreadsheet.unreadable", error=type(error).__name__)
        raise HubError(Code.SPREADSHEET_UNREADABLE) from None
    finally:
        workbook.close()


def decode_csv(data: bytes) -> tuple[str, str]:
    """A CSV file's text (without its byte-order mark) and its separator."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise HubError(Code.SPREADSHEET_UNREADABLE) from None
    text = text.removeprefix(BOM)
    if "\x00" in text:
        raise HubError(Code.SPREADSHEET_UNREADABLE)
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    return text, delimiter


def csv_rows(text: str, delimiter: str) -> Iterator[tuple[int, list[Raw]]]:
    """The records of a CSV text, numbered from 1 (a record, not a line: a quoted cell
    may hold line breaks); the result file numbers them the same way."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, record in enumerate(reader, start=1):
            yield number, list[Raw](record)
    except csv.Error:
        raise HubError(Code.SPREADSHEET_UNREADABLE) from None
