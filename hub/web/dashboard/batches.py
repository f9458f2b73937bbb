"""The dashboard's bulk-signing batches (issue 12, part 4): what each school's batches
did, and why what did not sign did not.

``GET /dashboard/batches`` lists the batches (:mod:`hub.jobs.signing`) of the schools
the officer reaches, newest first, :data:`PAGE_SIZE` a page (``?page=``), ``?state=``
keeping one state: the school, the role signing, the providers asked, the batch's
state and why it is paused (a stable code and its Vietnamese message), and how many
transcripts were signed, returned, failed, of how many. ``GET /dashboard/batches/{job}``
shows one batch and its transcripts that did not sign, with the reason each was
given. A paused batch can be resumed from there (``POST …/resume``, the same
:func:`hub.jobs.signing.resume` the API's ``resumeSigningBatch`` runs).

Both pages export to CSV and XLSX. A reason may quote a provider's answer naming a
signer's account (``CMT_<personal ID>``): twelve-digit runs in it are masked as every
personal ID is (:mod:`hub.domain.personal_data`).
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, func, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hub.auth.access import restrict_to, visible
from hub.db import models
from hub.domain.enums import SigningProvider
from hub.domain.personal_data import Kind, present
from hub.domain.signers import SignerRole
from hub.jobs import core
from hub.jobs import signing as batches
from hub.jobs.core import JobState
from hub.jobs.signing import ItemState
from hub.resolvers.context import Context
from hub.web import i18n
from hub.web.dashboard.desk import Desk, exporting, words
from hub.web.dashboard.providers import local_time
from hub.web.exports import Table

PATH = "/dashboard/batches"
#: The states a batch goes through (:mod:`hub.jobs.signing`), in the filter's order.
STATES = (JobState.RUNNING, JobState.PAUSED, JobState.COMPLETED, JobState.CANCELLED)
#: The items that did not sign: back to ready, failed, or cancelled with the batch.
NOT_SIGNED = (ItemState.RETURNED, ItemState.FAILED, ItemState.CANCELLED)
#: Rows a page shows; an export holds every row, up to :data:`EXPORT_LIMIT`.
PAGE_SIZE = 50
EXPORT_LIMIT = 10_000
#: A batch's unsigned transcripts its page lists; the export has them all.
ITEMS_SHOWN = 200


@dataclass(frozen=True)
class BatchLine:
    """One batch as the list shows it."""

    job: Any
    school_name: str
    providers: list[SigningProvider]
    counts: dict[ItemState, int]

    @property
    def still_open(self) -> int:
        """Transcripts queued or waiting on a signer's phone."""
        return self.counts[ItemState.QUEUED] + self.counts[ItemState.WAITING]


def page_number(request: Request) -> int:
    text = request.query_params.get("page", "1")
    if not text.isdigit() or not 0 < int(text) < 1_000_000:
        raise core.not_found("trang", text[:12])
    return int(text)


def batch_routes(desk: Desk) -> list[Route]:
    """The batches' pages and the resume button, for :func:`hub.web.dashboard.dashboard_routes`."""

    def reached(ctx: Context) -> Select[*tuple[Any, ...]]:
        """The signing batches of the schools the caller reaches, with their school."""
        statement = (
            select(models.Job, models.School.name.label("school_name"))
            .join(models.School, models.School.id == models.Job.school_id)
            .where(models.Job.kind == batches.KIND)
        )
        return restrict_to(statement, models.School, ctx.caller.school_ids)

    async def lines_of(ctx: Context, statement: Select[*tuple[Any, ...]]) -> list[BatchLine]:
        """The batches ``statement`` selects, with their item counts and providers: two
        queries for all of them, whatever their number."""
        rows = await ctx.reader.rows(statement)
        if not rows:
            return []
        ids = [row.id for row in rows]
        item = models.SigningBatchItem
        counts: dict[int, dict[ItemState, int]] = {
            row.id: dict.fromkeys(ItemState, 0) for row in rows
        }
        for job_id, state, count in await ctx.reader.rows(
            select(item.job_id, item.state, func.count())
            .where(item.job_id.in_(ids))
            .group_by(item.job_id, item.state)
        ):
            counts[job_id][ItemState(state)] = count
        providers: dict[int, set[SigningProvider]] = {row.id: set() for row in rows}
        for job_id, provider in await ctx.reader.rows(
            select(item.job_id, models.SigningRequest.provider)
            .join(models.SigningRequest, models.SigningRequest.request_id == item.request_id)
            .where(item.job_id.in_(ids))
            .distinct()
        ):
            providers[job_id].add(SigningProvider(provider))
        return [
            BatchLine(
                row,
                row.school_name,
                [p for p in SigningProvider if p in providers[row.id]],
                counts[row.id],
            )
            for row in rows
        ]

    def texts(request: Request) -> tuple[Callable[..., str], Callable[[datetime | None], str]]:
        t, language = words(request), i18n.language_of(request)

        def when(moment: datetime | None) -> str:
            return "" if moment is None else local_time(language, moment)

        return t, when

    def role_name(t: Callable[..., str], job: Any) -> str:
        role = job.params.get("role")
        return t(f"dashboard.batches.role.{role}") if role in SignerRole.__members__ else ""

    def reason_of(ctx: Context, text: str | None) -> str:
        return present(ctx.caller.scopes, Kind.CERTIFICATE_SUBJECT, text) or ""

    def batch_table(request: Request, ctx: Context, lines: list[BatchLine]) -> Table:
        t, when = texts(request)
        column = "dashboard.batches.column."
        return Table(
            t("dashboard.batches.sheet.batches"),
            [
                t(column + name)
                for name in (
                    "created",
                    "school",
                    "role",
                    "providers",
                    "state",
                    "signed",
                    "returned",
                    "failed",
                    "open",
                    "total",
                    "reason_code",
                    "reason",
                    "updated",
                )
            ],
            [
                [
                    when(line.job.created_at),
                    line.school_name,
                    role_name(t, line.job),
                    ", ".join(p.label for p in line.providers),
                    t(f"dashboard.batches.state.{line.job.state}"),
                    line.counts[ItemState.SIGNED],
                    line.counts[ItemState.RETURNED],
                    line.counts[ItemState.FAILED],
                    line.still_open,
                    line.job.total,
                    line.job.reason_code or "",
                    reason_of(ctx, line.job.reason),
                    when(line.job.updated_at),
                ]
                for line in lines
            ],
        )

    async def listing(request: Request, ctx: Context) -> Response:
        """The batches of the officer's schools, newest first, one state or all."""
        ctx.caller.require("reports:read")
        state = request.query_params.get("state") or None
        if state is not None and state not in {s.value for s in STATES}:
            raise core.not_found("trạng thái", state[:24])
        page = page_number(request)
        statement = reached(ctx)
        if state is not None:
            statement = statement.where(models.Job.state == state)
        count = await ctx.reader.scalar(select(func.count()).select_from(statement.subquery()))
        pages = max(1, -(-count // PAGE_SIZE))
        page = min(page, pages)
        newest = statement.order_by(models.Job.created_at.desc(), models.Job.id.desc())
        lines = await lines_of(
            ctx,
            newest.limit(EXPORT_LIMIT)
            if exporting(request)
            else newest.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE),
        )
        table = batch_table(request, ctx, lines)
        filters = {"state": state} if state else {}

        def page_link(number: int) -> str:
            return f"{PATH}?{urlencode(filters | {'page': str(number)})}"

        t = words(request)
        return desk.export(request, {"batches": table}, "lo-ky") or await desk.show(
            request,
            "dashboard_batches.html",
            rows=list(zip(lines, table.rows, strict=True)),
            states=[(s.value, t(f"dashboard.batches.state.{s.value}")) for s in STATES],
            state=state,
            count=count,
            page=page,
            pages=pages,
            previous=page_link(page - 1) if page > 1 else None,
            next=page_link(page + 1) if page < pages else None,
            exports_base=f"{PATH}?{urlencode(filters)}{'&' if filters else ''}",
        )

    def job_id_of(request: Request) -> str:
        """The batch's id in the address, as the API writes it."""
        given = str(request.path_params["job_id"])
        try:
            return str(uuid.UUID(given))
        except ValueError:
            raise core.not_found("đợt ký", given[:36]) from None

    async def batch_of(ctx: Context, wanted: str) -> BatchLine:
        """The batch, if it is one of a school the caller reaches; otherwise the same
        answer as for a batch that does not exist."""
        found = await lines_of(ctx, reached(ctx).where(models.Job.job_id == wanted))
        if not found:
            raise core.not_found("đợt ký", wanted)
        return found[0]

    async def batch(request: Request, ctx: Context) -> Response:
        """One batch, and its transcripts that did not sign with the reason of each."""
        ctx.caller.require("reports:read")
        ctx.caller.require("students:read")
        line = await batch_of(ctx, job_id_of(request))
        t, when = texts(request)
        item, transcript = models.SigningBatchItem, models.Transcript
        statement = (
            select(
                item.state,
                item.reason_code,
                item.reason,
                item.attempts,
                item.updated_at,
                models.SchoolClass.name.label("class_name"),
                models.Student.id.label("student_id"),
                models.Student.full_name,
            )
            .join(transcript, transcript.id == item.transcript_id)
            .join(models.SchoolClass, models.SchoolClass.id == transcript.class_id)
            .join(models.Student, models.Student.id == transcript.student_id)
            .where(
                item.job_id == line.job.id,
                item.state.in_([s.value for s in NOT_SIGNED]),
            )
            .order_by(models.SchoolClass.name, models.Student.full_name, item.id)
            .limit(EXPORT_LIMIT if exporting(request) else ITEMS_SHOWN)
        )
        condition = visible(transcript, ctx.caller)
        if condition is not None:
            statement = statement.where(condition)
        items = await ctx.reader.rows(statement)
        for row in items:
            ctx.audit.read("student", row.student_id, "signing-batch")
        column = "dashboard.batches.column."
        tables = {
            "batches": batch_table(request, ctx, [line]),
            "unsigned": Table(
                t("dashboard.batches.sheet.unsigned"),
                [
                    t(column + name)
                    for name in (
                        "class",
                        "pupil",
                        "item_state",
                        "reason_code",
                        "reason",
                        "attempts",
                        "updated",
                    )
                ],
                [
                    [
                        row.class_name,
                        row.full_name,
                        t(f"dashboard.batches.item_state.{row.state}"),
                        row.reason_code or "",
                        reason_of(ctx, row.reason),
                        row.attempts,
                        when(row.updated_at),
                    ]
                    for row in items
                ],
            ),
        }
        job = line.job
        return desk.export(request, tables, f"lo-ky-{job.job_id}") or await desk.show(
            request,
            "dashboard_batch.html",
            line=line,
            job=job,
            summary=tables["batches"].rows[0],
            items=tables["unsigned"].rows,
            items_total=sum(line.counts[s] for s in NOT_SIGNED),
            item_counts=[
                (t(f"dashboard.batches.item_state.{s.value}"), line.counts[s]) for s in ItemState
            ],
            paused=job.state == JobState.PAUSED.value,
            resumed=request.query_params.get("resumed") == "1",
            address=f"{PATH}/{job.job_id}",
        )

    async def resume(request: Request, ctx: Context) -> Response:
        """Resume a paused batch, then show it again: :func:`hub.jobs.signing.resume`
        decides who may (a school the caller reaches) and what is sent again."""
        job_id = job_id_of(request)
        async with ctx.db.unit_of_work() as session:
            work = await batches.resume(session, caller=ctx.caller, job_id=job_id)
        ctx.send_work(work)
        return RedirectResponse(f"{PATH}/{job_id}?resumed=1", 303)

    return [
        Route(PATH, desk.page(listing)),
        Route(PATH + "/{job_id}", desk.page(batch)),
        Route(PATH + "/{job_id}/resume", desk.action(resume), methods=["POST"]),
    ]
