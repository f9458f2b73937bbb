"""Spreadsheet imports (issue 14): a school's or an office's file written through the
vendor writes, part by part, and given back with a result per row.

An upload (:func:`submit`) is read at once — a file that is not a spreadsheet, or
whose header names no layout's columns, is refused with a stable code and nothing is
stored — then kept as an IMPORT :class:`~hub.db.models.Job` with its
:class:`~hub.db.models.SpreadsheetImport` (the file, later the result) and its parts
(:class:`~hub.db.models.SpreadsheetImportPart`, up to the writes' ``MAX_ROWS`` rows
each, as read). Each part is one message (:func:`write_part`): its rows become the
write's inputs (a cell that cannot be read is that row's error), go through the
layout's upsert as the caller who uploaded (their scopes and schools, recorded on the
job), and the verdicts are stored with the part in the same transaction, so a part is
written once: a second delivery finds it written, and a crash midway leaves it to be
written again (the upserts are idempotent). The counts are in ``Job.checkpoint``.
When every part is written, :func:`finish` makes the result file and ends the job.
The watchdog sends again what a stalled import lacks (:func:`stalled_work`).

The same bytes of the same kind sent again by the same caller while their job runs
find that job (``running_key``, unique while it runs) instead of a second one.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.access import Caller
from hub.db import models
from hub.db.engine import Database
from hub.domain.enums import OrgLevel
from hub.domain.problems import Code, HubError, Problem, problem
from hub.jobs import core
from hub.jobs.core import JobState, Next
from hub.resolvers.upserts import MAX_ROWS, RowOutcome, RowStatus
from hub.spreadsheets import reading
from hub.spreadsheets.layouts import LAYOUTS, Extracted, Layout
from hub.spreadsheets.results import Verdict, result_file

KIND = "IMPORT"
ACTOR = "import_part"
FINISH_ACTOR = "import_finish"
COUNTS = ("created", "updated", "unchanged", "deleted", "rejected", "warned")
#: The "(dòng N)" of a DUPLICATE_IN_BATCH message: N is the row's place in the write.
_FIRST = re.compile(r"\(dòng (\d+)\)")

log = structlog.get_logger(__name__)


class _Written(Exception):
    """Another delivery wrote the part first (or the job ended): nothing to record."""


@dataclass(frozen=True)
class Submitted:
    """An upload's job: its id, the messages that start it, and whether it is new (False:
    the same file's job was already running)."""

    job_id: str
    work: list[Next]
    started: bool


# --- who the job writes as ----------------------------------------------------------------------


def snapshot(caller: Caller) -> dict[str, Any]:
    """What the job keeps of the caller who uploaded: the writes check it per row."""
    return {
        "client_id": caller.client_id,
        "scopes": sorted(caller.scopes),
        "org_level": caller.org_level.value,
        "school_ids": None if caller.school_ids is None else sorted(caller.school_ids),
        "personal_id": caller.personal_id,
    }


def caller_of(job: models.Job) -> Caller:
    """The caller a job writes as: the uploader's scopes and schools at upload."""
    kept = job.params["caller"]
    schools = kept["school_ids"]
    return Caller(
        client_id=kept["client_id"],
        scopes=frozenset(kept["scopes"]),
        org_level=OrgLevel(kept["org_level"]),
        school_ids=None if schools is None else frozenset(schools),
    )


def _owner(caller: Caller) -> str:
    return f"{caller.client_id}/{caller.personal_id or '-'}"


def _is_owner(job: models.Job, caller: Caller) -> bool:
    kept = job.params.get("caller") or {}
    return bool(
        kept.get("client_id") == caller.client_id and kept.get("personal_id") == caller.personal_id
    )


# --- an upload ----------------------------------------------------------------------------------


async def submit(
    db: Database,
    *,
    caller: Caller,
    layout: Layout,
    filename: str,
    data: bytes,
    max_rows: int,
    rows_per_part: int = MAX_ROWS,
) -> Submitted:
    """Read ``data`` and start its import as ``caller``; HubError (nothing stored) for a
    file that cannot be read as ``layout``, or a caller without the layout's scope."""
    caller.require(layout.scope)
    # Reading a workbook of thousands of rows takes a while: not on the event loop.
    sheet, extracted = await asyncio.to_thread(_read, layout, data, max_rows)
    digest = hashlib.sha256(data).hexdigest()
    running_key = f"{layout.kind}:{digest}:{_owner(caller)}"[:200]
    size = max(1, min(rows_per_part, layout.rows_per_write, MAX_ROWS))
    parts = [extracted.rows[at : at + size] for at in range(0, len(extracted.rows), size)]
    if (running := await _running(db, running_key)) is not None:
        return Submitted(running, [], False)
    try:
        async with db.unit_of_work() as session:
            job = await core.create(
                session,
                kind=KIND,
                client_id=caller.client_id,
                params={
                    "layout": layout.kind,
                    "filename": filename,
                    "format": sheet.format.value,
                    "header_row": extracted.header_row,
                    "parts": len(parts),
                    "caller": snapshot(caller),
                },
                checkpoint=_empty_checkpoint(),
                total=len(extracted.rows),
            )
            upload = models.SpreadsheetImport(
                job_id=job.id,
                layout=layout.kind,
                file_format=sheet.format.value,
                filename=filename[:255],
                sha256=digest,
                running_key=running_key,
                upload=data,
            )
            session.add(upload)
            await session.flush()
            session.add_all(
                models.SpreadsheetImportPart(
                    import_id=upload.id,
                    part=number,
                    cells=[[row, cells] for row, cells in rows],
                    written=False,
                )
                for number, rows in enumerate(parts)
            )
            job_id = job.job_id
    except IntegrityError:
        # The same file sent twice at once: the other request's job is the one.
        running = await _running(db, running_key)
        if running is None:
            raise
        return Submitted(running, [], False)
    return Submitted(job_id, [Next(ACTOR, (job_id, n)) for n in range(len(parts))], True)


def _read(layout: Layout, data: bytes, max_rows: int) -> tuple[reading.Sheet, Extracted]:
    sheet = reading.read(data, max_rows=max_rows)
    return sheet, layout.extract(sheet, max_rows=max_rows)


async def _running(db: Database, running_key: str) -> str | None:
    async with db.sessions() as session:
        found = await session.scalar(
            select(models.Job.job_id)
            .join(models.SpreadsheetImport, models.SpreadsheetImport.job_id == models.Job.id)
            .where(models.SpreadsheetImport.running_key == running_key)
        )
    return found


# --- the steps ----------------------------------------------------------------------------------


async def write_part(db: Database, *, job_id: str, part: int) -> list[Next]:
    """Write one part's rows through the layout's upsert and keep each row's verdict."""
    async with db.sessions() as session:
        job = await core.find(session, job_id)
        if job is None or job.kind != KIND or job.state != JobState.RUNNING.value:
            return []
        stored = await session.scalar(
            select(models.SpreadsheetImportPart)
            .join(
                models.SpreadsheetImport,
                models.SpreadsheetImport.id == models.SpreadsheetImportPart.import_id,
            )
            .where(
                models.SpreadsheetImport.job_id == job.id,
                models.SpreadsheetImportPart.part == part,
            )
        )
        if stored is None or stored.written:
            return []
        layout = LAYOUTS[job.params["layout"]]
        caller = caller_of(job)
        part_id, rows = stored.id, stored.cells
    parsed = [(int(row), *layout.parse(cells)) for row, cells in rows]
    try:
        try:
            return await _write(db, job_id, part_id, layout, caller, parsed, careful=False)
        except IntegrityError:
            # A concurrent writer took a key first: once more, a savepoint per row.
            return await _write(db, job_id, part_id, layout, caller, parsed, careful=True)
    except _Written:
        return []


async def _write(
    db: Database,
    job_id: str,
    part_id: int,
    layout: Layout,
    caller: Caller,
    parsed: Sequence[tuple[int, Any, list[Problem]]],
    *,
    careful: bool,
) -> list[Next]:
    inputs = [row_input for _, row_input, _ in parsed if row_input is not None]
    async with db.unit_of_work() as session:
        outcomes: list[RowOutcome] = []
        refusal: Problem | None = None
        if inputs:
            try:
                async with session.begin_nested():
                    outcomes = await layout.upsert(session, caller, inputs, careful=careful)
            except HubError as error:  # the whole write refused (a scope the caller lacks)
                refusal = error.problem
        verdicts = _verdicts(parsed, outcomes, refusal)
        job = await core.lock(session, job_id)
        stored = await session.get(
            models.SpreadsheetImportPart, part_id, populate_existing=True, with_for_update=True
        )
        if job is None or job.state != JobState.RUNNING.value or stored is None or stored.written:
            raise _Written
        stored.verdicts = [verdict.as_json() for verdict in verdicts]
        stored.written = True
        checkpoint = {**_empty_checkpoint(), **(job.checkpoint or {})}
        for verdict in verdicts:
            checkpoint[verdict.status.lower()] = checkpoint.get(verdict.status.lower(), 0) + 1
            if verdict.warnings:
                checkpoint["warned"] += 1
        checkpoint["rows_done"] += len(verdicts)
        checkpoint["done"] = sorted({*checkpoint["done"], stored.part})
        job.checkpoint = checkpoint
        every_part = len(checkpoint["done"]) >= job.params["parts"]
    return [Next(FINISH_ACTOR, (job_id,))] if every_part else []


def _verdicts(
    parsed: Sequence[tuple[int, Any, list[Problem]]],
    outcomes: Sequence[RowOutcome],
    refusal: Problem | None,
) -> list[Verdict]:
    """Each row's verdict: its cells' problems, or what the write said of it."""
    written = [row for row, row_input, _ in parsed if row_input is not None]
    by_row = dict(zip(written, outcomes, strict=False))
    found: list[Verdict] = []
    for row, _, problems in parsed:
        outcome = by_row.get(row)
        if problems or outcome is None:
            errors = problems or ([refusal] if refusal else [problem(Code.WRITE_CONFLICT)])
            found.append(Verdict(row, RowStatus.REJECTED.value, _pairs(errors, written)))
            continue
        found.append(
            Verdict(
                row,
                outcome.status.value,
                _pairs(outcome.errors, written),
                _pairs(outcome.warnings, written),
            )
        )
    return found


def _pairs(problems: Sequence[Problem], written: Sequence[int]) -> list[list[str]]:
    """(code, message) of each problem; a repeated row names the file's row, not its
    place in the write."""
    pairs = []
    for found in problems:
        message = found.message
        if found.code is Code.DUPLICATE_IN_BATCH and (place := _FIRST.search(message)):
            index = int(place.group(1))
            if 0 <= index < len(written):
                message = problem(found.code, found.field, first=written[index]).message
        pairs.append([found.code.value, message])
    return pairs


async def finish(db: Database, *, job_id: str) -> list[Next]:
    """Every part written: the file with its result column, and the job's end."""
    async with db.sessions() as session:
        job = await core.find(session, job_id)
        if job is None or job.kind != KIND or job.state != JobState.RUNNING.value:
            return []
        upload = await _upload_of(session, job)
        parts = list(
            await session.scalars(
                select(models.SpreadsheetImportPart).where(
                    models.SpreadsheetImportPart.import_id == upload.id
                )
            )
        )
        if any(not part.written for part in parts):
            return []
        verdicts = {
            verdict.row: verdict
            for part in parts
            for verdict in map(Verdict.of, part.verdicts or [])
        }
        data, header_row = upload.upload, int(job.params["header_row"])
    try:
        body: bytes | None = await asyncio.to_thread(result_file, data, header_row, verdicts)
    except Exception:  # a workbook openpyxl read but cannot write back
        log.exception("import.result_failed", job_id=job_id)
        body = None
    async with db.unit_of_work() as session:
        job = await core.lock(session, job_id)
        if job is None or job.state != JobState.RUNNING.value:
            return []
        upload = await _upload_of(session, job)
        upload.running_key = None
        if body is None:
            failed = problem(Code.SPREADSHEET_UNREADABLE)
            core.end(job, JobState.FAILED, failed.code.value, failed.message)
        else:
            upload.result = body
            core.end(job, JobState.COMPLETED)
    return []


async def stalled_work(runtime: core.JobRuntime, *, stall_seconds: float) -> list[Next]:
    """The parts a stalled import has not written, sent again; its end, when all are."""

    async def missing(session: AsyncSession, job: models.Job) -> list[Next]:
        parts = list(
            await session.scalars(
                select(models.SpreadsheetImportPart.part)
                .join(
                    models.SpreadsheetImport,
                    models.SpreadsheetImport.id == models.SpreadsheetImportPart.import_id,
                )
                .where(
                    models.SpreadsheetImport.job_id == job.id,
                    models.SpreadsheetImportPart.written.is_(False),
                )
                .order_by(models.SpreadsheetImportPart.part)
            )
        )
        if not parts:
            return [Next(FINISH_ACTOR, (job.job_id,))]
        return [Next(ACTOR, (job.job_id, part)) for part in parts]

    return await core.resend_stalled(
        runtime.db, kind=KIND, stall_seconds=stall_seconds, running=missing
    )


# --- what callers read --------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """How far an import is, as the API and the page show it."""

    job_id: str
    layout: str
    filename: str
    state: str
    total: int
    done: int
    counts: dict[str, int]
    result_ready: bool
    reason_code: str | None
    reason: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "jobId": self.job_id,
            "kind": self.layout,
            "filename": self.filename,
            "state": self.state,
            "total": self.total,
            "done": self.done,
            **self.counts,
            "resultReady": self.result_ready,
            "reasonCode": self.reason_code,
            "reason": self.reason,
        }


async def _upload_of(session: AsyncSession, job: models.Job) -> models.SpreadsheetImport:
    found = await session.scalar(
        select(models.SpreadsheetImport).where(models.SpreadsheetImport.job_id == job.id)
    )
    if found is None:
        raise core.not_found("lần nhập", job.job_id)
    return found


async def owned(session: AsyncSession, caller: Caller, job_id: str) -> models.Job:
    """The import ``job_id`` if ``caller`` started it; not found otherwise (the same
    answer whether it does not exist or is someone else's)."""
    job = await core.find(session, job_id[:36])
    if job is None or job.kind != KIND or not _is_owner(job, caller):
        raise core.not_found("lần nhập", job_id[:36])
    return job


def progress_of(job: models.Job, *, result_ready: bool) -> Progress:
    checkpoint = {**_empty_checkpoint(), **(job.checkpoint or {})}
    return Progress(
        job_id=job.job_id,
        layout=job.params["layout"],
        filename=job.params.get("filename", ""),
        state=job.state,
        total=job.total,
        done=int(checkpoint["rows_done"]),
        counts={name: int(checkpoint[name]) for name in COUNTS},
        result_ready=result_ready,
        reason_code=job.reason_code,
        reason=job.reason,
    )


async def progress(session: AsyncSession, caller: Caller, job_id: str) -> Progress:
    job = await owned(session, caller, job_id)
    ready = await session.scalar(
        select(models.SpreadsheetImport.result.is_not(None)).where(
            models.SpreadsheetImport.job_id == job.id
        )
    )
    return progress_of(job, result_ready=bool(ready))


async def result(session: AsyncSession, caller: Caller, job_id: str) -> tuple[str, str, bytes]:
    """The result file of the caller's import: (its name, its format, its bytes);
    not found until it is made."""
    job = await owned(session, caller, job_id)
    upload = await _upload_of(session, job)
    if upload.result is None:
        raise core.not_found("kết quả nhập", job_id[:36])
    stem = upload.filename.rsplit(".", 1)[0] or "nhap"
    fmt = upload.file_format
    return f"{stem}-ket-qua.{fmt}", fmt, upload.result


async def recent(session: AsyncSession, caller: Caller, limit: int = 20) -> list[Progress]:
    """The caller's latest imports, newest first."""
    jobs = await session.execute(
        select(models.Job, models.SpreadsheetImport.result.is_not(None))
        .join(models.SpreadsheetImport, models.SpreadsheetImport.job_id == models.Job.id)
        .where(models.Job.kind == KIND, models.Job.client_id == caller.client_id)
        .order_by(models.Job.id.desc())
        .limit(limit * 5)
    )
    found = [
        progress_of(job, result_ready=bool(ready))
        for job, ready in jobs.all()
        if _is_owner(job, caller)
    ]
    return found[:limit]


def _empty_checkpoint() -> dict[str, Any]:
    return {"done": [], "rows_done": 0, **dict.fromkeys(COUNTS, 0)}
