"""A page's tables as files: CSV for any tool, XLSX for Excel.

A CSV starts with a UTF-8 byte-order mark: without it Excel reads the file in the
machine's legacy code page and Vietnamese names come out garbled. Ratios are written
as fractions (0.7530, like the API's ``ratio``); in XLSX they are numbers shown as
percentages. Exports are never cached: they may name people.

Downloads of lists and reports (issue 14, :mod:`hub.web.lists`) share the rest:
:func:`export_context` (who is asking, as a resolver context), the JSON problem a
refused download answers, and files written while they are sent (:func:`csv_stream`,
:func:`xlsx_stream`), a chunk of rows at a time.
"""

import csv
import io
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from hub.domain.problems import Code, HubError, Problem
from hub.resolvers.context import Context
from hub.web.services import HubServices, purpose_of

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
    return Response(body, media_type=media, headers=_attachment_headers(filename))


def _attachment_headers(filename: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    }


# Lists and reports as files for API clients and officers (issue 14): who is asking, as a
# resolver context, and files written chunk by chunk so that a list of 200,000 rows is
# never held whole.

#: What the access log says an officer's download read for, unless the browser says.
EXPORT_PURPOSE = "Tải danh sách, báo cáo (cán bộ Sở, phòng GDĐT)"
#: The access log's purpose column holds this many characters.
PURPOSE_LIMIT = 200
#: How much of a finished XLSX file is sent at a time.
_PIECE = 64 * 1024
#: Rows of cells, a chunk at a time (each chunk's reads already logged).
Chunks = AsyncGenerator[list[list[Cell]], None]


def bearer(request: Request) -> bool:
    """Whether the request carries a bearer token (an API client, not a browser)."""
    return request.headers.get("authorization", "").lower().startswith("bearer ")


async def export_context(hub: HubServices, request: Request) -> Context | None:
    """Who is asking for a file, as the resolver :class:`Context` a GraphQL request of
    theirs would get (reach, scopes, masking, access log, purpose); None when nobody is.

    An API client with a bearer token asks as itself (acting for its person when the
    token is person-bound); a browser session asks only when its person is an officer
    of the Sở or of a district office — anyone else's session is FORBIDDEN (HubError),
    as the dashboard turns them away. The caller must :func:`release_context` the
    context once the file is written: that writes the rest of the access log.
    """
    caller = await hub.caller_for(request)
    if caller is None:
        return None
    purpose = purpose_of(request)
    if not bearer(request):
        if caller.person is None or not caller.person.department_officer:
            raise HubError(Code.FORBIDDEN, scope="reports:read")
        purpose = purpose or EXPORT_PURPOSE
    return hub.context(caller, None if purpose is None else purpose[:PURPOSE_LIMIT])


async def release_context(ctx: Context) -> None:
    """Write the reads not logged yet and close the context's connection."""
    try:
        await ctx.audit.flush(ctx.reader, caller=ctx.caller, purpose=ctx.purpose)
    finally:
        await ctx.reader.close()


def refusal_status(code: Code) -> int:
    """The HTTP status of a download refused with ``code``."""
    if code is Code.UNAUTHENTICATED:
        return 401
    if code in (Code.FORBIDDEN, Code.CONSENT_REQUIRED):
        return 403
    return 404 if code.value.endswith("NOT_FOUND") else 400


def problem_response(found: Problem, status: int | None = None) -> JSONResponse:
    """A refused download as the app's JSON problem: the stable code and the message in
    Vietnamese and English (never an exception's text)."""
    return JSONResponse(
        {"code": found.code.value, "message": found.message, "messageEn": found.message_en},
        status_code=refusal_status(found.code) if status is None else status,
        headers={"Cache-Control": "no-store"},
    )


async def csv_stream(headers: Sequence[str], chunks: Chunks) -> AsyncIterator[bytes]:
    """A CSV file, byte-order mark first (as :func:`csv_response`), a chunk at a time."""
    async with aclosing(chunks):
        yield ("\ufeff" + _csv_text([list(headers)])).encode()
        async for rows in chunks:
            yield _csv_text([[inert(cell) for cell in row] for row in rows]).encode()


#: What a spreadsheet reads as the start of a formula in a cell of text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(cell: Cell) -> Cell:
    """A CSV cell a spreadsheet will not run: text a vendor wrote (a name, a comment)
    that starts like a formula gets a leading apostrophe, which Excel and LibreOffice
    read as "text follows" (OWASP's advice on CSV injection). Numbers stay numbers."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def _csv_text(rows: Sequence[Sequence[Cell]]) -> str:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue()


async def xlsx_stream(sheet: str, headers: Sequence[str], chunks: Chunks) -> AsyncIterator[bytes]:
    """One sheet of ``chunks`` as an XLSX file, headers in bold, text always text (a
    name starting with "=" is no formula).

    openpyxl's write-only mode keeps each appended row in a temporary file, not in
    memory; a workbook is a zip written whole at the end, so the file goes out once
    every row is in. The writing runs in a worker thread, off the event loop.
    """
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet[:SHEET_NAME_LIMIT])
    bold = Font(bold=True)

    def header() -> Sequence[object]:
        cells = [WriteOnlyCell(worksheet, value=name) for name in headers]
        for cell in cells:
            cell.font = bold
        return cells

    def text(value: str) -> object:
        cell = WriteOnlyCell(worksheet, value=value)
        cell.data_type = "s"  # text as it is: openpyxl takes "=…" for a formula
        return cell

    def append(rows: list[list[Cell]]) -> None:
        for row in rows:
            worksheet.append(
                [text(c) if isinstance(c, str) and c.startswith("=") else c for c in row]
            )

    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as body:
        async with aclosing(chunks):
            worksheet.append(header())
            async for rows in chunks:
                await run_in_threadpool(append, rows)
        await run_in_threadpool(workbook.save, body)
        body.seek(0)
        while piece := await run_in_threadpool(body.read, _PIECE):
            yield piece


def streamed_attachment(body: AsyncIterator[bytes], media: str, filename: str) -> Response:
    """A file written while it is sent, never cached."""
    return StreamingResponse(body, media_type=media, headers=_attachment_headers(filename))
