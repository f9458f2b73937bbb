"""Reading one cell: text, a date, a number, a list, a word from a fixed set.

A cell comes as the file holds it (:data:`hub.spreadsheets.reading.Raw`): text from a
CSV; from XLSX also numbers and dates (an Excel date cell). What cannot be read is a
:class:`~hub.domain.problems.Problem` with a stable code naming the column and the
value; what is read is a plain value for the layout to put in a write's input.
"""

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from hub.domain.problems import Code, Problem, problem
from hub.domain.text import fold
from hub.spreadsheets.reading import Raw

#: Excel's day 0 (its serial numbers count days from here, the 1900 leap-year bug included).
EXCEL_EPOCH = date(1899, 12, 30)
#: The date forms accepted as text: day first, as Vietnam writes them; or ISO 8601.
_DMY = re.compile(r"^(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2})?)?$")
#: Separators of a list in one cell: semicolons, line breaks or spaces (a comma is the
#: decimal mark in Vietnamese: «8,5»).
_LIST = re.compile(r"[;\s]+")


def key(words: str) -> str:
    """How a header or a word is compared: folded (:func:`hub.domain.text.fold`), «kỳ» as
    «kì», without a trailing «*» or «:»."""
    folded = fold(words).rstrip("*: ").replace("ky", "ki")
    return " ".join(folded.split())


class CellError(Exception):
    """A cell that cannot be read, with the problem a row reports."""

    def __init__(self, found: Problem) -> None:
        super().__init__(found.message)
        self.problem = found


def text(value: Raw) -> str | None:
    """A cell as text, None when empty: numbers without a trailing ``.0``, dates as
    dd/mm/yyyy."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return f"{value:%d/%m/%Y}" if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    stripped = str(value).strip()
    return stripped or None


def digits(value: Raw, width: int) -> str | None:
    """A code made of digits (a personal ID, a phone number) that Excel may have turned
    into a number, dropping its leading zeros: given back at ``width`` digits."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        whole = text(value) or ""
        return whole.zfill(width) if whole.isdigit() and len(whole) < width else whole
    return text(value)


def a_date(value: Raw, column: str) -> date | None:
    """A date cell (an Excel date, its serial number, dd/mm/yyyy, or yyyy-mm-dd)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    written = text(value) or ""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if 1 <= value < 2_958_466:  # 1900-01-01 … 9999-12-31 as Excel serials
                return EXCEL_EPOCH + timedelta(days=int(value))
        elif found := _DMY.match(written):
            day, month, year = (int(part) for part in found.groups())
            return date(year, month, day)
        elif found := _ISO.match(written):
            year, month, day = (int(part) for part in found.groups())
            return date(year, month, day)
    except (ValueError, OverflowError):
        pass
    raise CellError(problem(Code.CELL_DATE_INVALID, column=column, value=written[:40]))


def a_decimal(value: Raw, column: str) -> Decimal | None:
    """A number with a decimal point or comma (8.5 or 8,5)."""
    written = text(value)
    if written is None:
        return None
    try:
        number = Decimal(written.replace(",", ".").replace(" ", ""))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise CellError(problem(Code.CELL_NUMBER_INVALID, column=column, value=written[:40]))
    return number


def an_integer(value: Raw, column: str) -> int | None:
    number = a_decimal(value, column)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise CellError(problem(Code.CELL_NUMBER_INVALID, column=column, value=text(value)))
    return int(number)


def items(value: Raw) -> list[str] | None:
    """The entries of a list cell («8; 7,5; 9»); None when empty."""
    written = text(value)
    if written is None:
        return None
    return [part for part in _LIST.split(written) if part]


def a_word(value: Raw, column: str, words: Mapping[str, str], shown: str) -> str | None:
    """The value a word of a fixed set stands for (``words``: folded word → value;
    ``shown``: the words as the template lists them)."""
    written = text(value)
    if written is None:
        return None
    found = words.get(key(written))
    if found is None:
        raise CellError(
            problem(
                Code.CELL_VALUE_NOT_ALLOWED,
                column=column,
                value=written[:40],
                allowed=shown,
            )
        )
    return found
