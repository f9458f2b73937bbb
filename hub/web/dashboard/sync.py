"""The dashboard's national sync pages (issue 12, part 4): runs, refused items, retries.

``GET /dashboard/sync`` lists the latest runs of the national sync (:mod:`hub.jobs.sync`):
when each started, its state, what it sent and what was refused, how long it took, with
a form to start a run. ``GET /dashboard/sync/run?run=…`` shows one run phase by phase
and its dead letters — the items a national system refused, or that the hub could not
send (``&open=1``: only those no later run delivered). ``GET /dashboard/sync/letter?letter=…``
shows one of them: which record and school, the code and message, every attempt.

``POST /dashboard/sync/retry`` sends again one letter's item, or every open one of a run;
``POST /dashboard/sync/start`` starts a run and ``POST /dashboard/sync/cancel`` stops one.
They go through the service functions the API and ``hub sync national`` use
(:func:`~hub.jobs.sync.retry_dead_letters`, :func:`~hub.jobs.sync.start_sync`,
:func:`~hub.jobs.sync.cancel_sync`), and the workers do the sending.

A national sync is the department's business (:func:`hub.jobs.sync.require_department`):
a district office's officer is refused these pages as the API refuses a district's apps.
Letters are presented as the API presents them (:meth:`hub.schema.sync.SyncDeadLetter.of`)
and the pupils behind them as ``Student`` nodes, so personal IDs are masked and every
read is in the access log, for the pages and their exports alike.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hub.auth.access import restrict
from hub.db import models
from hub.domain.certificates import as_utc
from hub.domain.problems import Code, HubError
from hub.jobs import sync
from hub.jobs.core import OPEN
from hub.resolvers.context import Context
from hub.resolvers.loaders import Loaders, fetch
from hub.schema.nodes import Student
from hub.schema.sync import SyncDeadLetter, SyncRun
from hub.web.dashboard.desk import (
    Desk,
    exporting,
    id_param,
    in_vietnam,
    school_names,
    table_of,
    words,
)
from hub.web.dashboard.pupils import day
from hub.web.exports import Table

#: The runs the list shows, newest first (the service's limit).
RUNS_SHOWN = 100
#: Letters a run's page shows at once; ``?after=`` pages on, and the exports hold them all.
LETTERS_SHOWN = 200
#: What the page says after an action sent the browser back (``?done=…``).
NOTICES = frozenset({"started", "retried", "cancelled"})
#: A run's id as :func:`hub.jobs.core.create` makes it.
RUN_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def run_param(source: Any) -> str:
    """The run named by ``source`` (the query or a form); INVALID_ARGUMENT unless well formed."""
    value = str(source.get("run", ""))
    if not RUN_ID.fullmatch(value):
        raise HubError(Code.INVALID_ARGUMENT, detail="run")
    return value


def notice_of(request: Request) -> str | None:
    """The action the page reports done (``?done=…``), if it is one of :data:`NOTICES`."""
    done = request.query_params.get("done")
    return done if done in NOTICES else None


def seconds_between(start: datetime, end: datetime) -> int:
    return max(0, int((as_utc(end) - as_utc(start)).total_seconds()))


def duration_text(t: Callable[..., str], seconds: int) -> str:
    """``1 giờ 5 phút``, ``3 phút 20 giây``, ``12 giây``."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return t("dashboard.sync.duration.hours", h=hours, m=minutes)
    if minutes:
        return t("dashboard.sync.duration.minutes", m=minutes, s=secs)
    return t("dashboard.sync.duration.seconds", s=secs)


@dataclass(frozen=True)
class RunView:
    """A run as the pages show it: the API's ``SyncRun`` and what the tables add."""

    run: SyncRun
    open_letters: int
    seconds: int
    retry_of: str | None

    @property
    def sent(self) -> int:
        """Items sent to the national systems: student records and transcripts."""
        return self.run.students.sent + self.run.transcripts.sent

    @property
    def refused(self) -> int:
        return self.run.students.rejected + self.run.transcripts.rejected

    @property
    def is_open(self) -> bool:
        return self.run.state in OPEN


@dataclass(frozen=True)
class PhaseRow:
    """One phase of a run: how many items it had, handled, got through or not."""

    phase: str
    total: int | None
    handled: int
    succeeded: int
    failed: int


def phase_rows(run: SyncRun) -> list[PhaseRow]:
    identity, students, transcripts = run.identity, run.students, run.transcripts
    rows = {
        sync.Phase.IDENTITY: PhaseRow(
            sync.Phase.IDENTITY.value,
            identity.total,
            identity.checked,
            identity.verified,
            identity.mismatched + identity.unknown,
        ),
        sync.Phase.STUDENTS: PhaseRow(
            sync.Phase.STUDENTS.value,
            students.total,
            students.sent,
            students.accepted,
            students.rejected,
        ),
        sync.Phase.TRANSCRIPTS: PhaseRow(
            sync.Phase.TRANSCRIPTS.value,
            transcripts.total,
            transcripts.sent,
            transcripts.published,
            transcripts.rejected,
        ),
    }
    return [rows[phase] for phase in run.phases]


@dataclass(frozen=True)
class Record:
    """The hub's row behind a letter, as the reader may see it."""

    pupil: Student | None
    class_name: str | None
    school: str | None
    school_year: str | None  # a transcript's
    version: int | None  # a transcript's


@dataclass(frozen=True)
class LetterView:
    letter: SyncDeadLetter
    run_id: str
    record: Record
    attempts: int


async def records_of(ctx: Context, letters: Sequence[models.SyncDeadLetter]) -> dict[int, Record]:
    """The pupil, class and school behind each letter (a transcript's pupil for a
    transcript's), read as the API reads them: masked and logged."""
    transcript = models.Transcript
    sent_transcripts = [x.entity_id for x in letters if x.entity == "transcript"]
    transcripts = {}
    if sent_transcripts:
        statement = (
            select(transcript.id, transcript.student_id, transcript.version, models.SchoolYear.code)
            .join(models.SchoolYear, models.SchoolYear.id == transcript.school_year_id)
            .where(transcript.id.in_(sent_transcripts))
        )
        rows = await ctx.reader.rows(restrict(statement, transcript, ctx.caller))
        transcripts = {row.id: row for row in rows}
    pupil_of = {
        x.id: (
            x.entity_id
            if x.entity == "student"
            else getattr(transcripts.get(x.entity_id), "student_id", None)
        )
        for x in letters
    }
    pupils: dict[int, Student] = {}
    classes: dict[int, str] = {}
    wanted = {pupil for pupil in pupil_of.values() if pupil is not None}
    if wanted:
        rows = await fetch(
            ctx, models.Student, select(models.Student).where(models.Student.id.in_(wanted))
        )
        pupils = {row.id: Student.from_row(row, ctx) for row in rows}
        found = await Loaders(ctx).current_class_of_student.load_many(list(pupils))
        classes = {key: row.name for key, row in zip(pupils, found, strict=True) if row}
    schools = await school_names(ctx, {x.school_id for x in letters if x.school_id is not None})
    records = {}
    for letter in letters:
        pupil = pupil_of[letter.id]
        sent = transcripts.get(letter.entity_id) if letter.entity == "transcript" else None
        records[letter.id] = Record(
            pupil=None if pupil is None else pupils.get(pupil),
            class_name=None if pupil is None else classes.get(pupil),
            school=None if letter.school_id is None else schools.get(letter.school_id),
            school_year=None if sent is None else sent.code,
            version=None if sent is None else sent.version,
        )
    return records


def sync_routes(desk: Desk) -> list[Route]:
    """The national sync pages, for :func:`hub.web.dashboard.dashboard_routes`."""

    def state_name(t: Callable[..., str], state: str) -> str:
        return t(f"dashboard.sync.state.{state}")

    async def views_of(ctx: Context, jobs: Sequence[models.Job]) -> list[RunView]:
        async with ctx.db.sessions() as session:
            tallies = await sync.dead_letter_tallies(session, [job.id for job in jobs])
        return [
            RunView(
                run=SyncRun.of(job, tallies.get(job.id, (0, 0))[0]),
                open_letters=tallies.get(job.id, (0, 0))[1],
                seconds=seconds_between(job.created_at, job.finished_at or ctx.now),
                retry_of=(job.params.get("retry_of") or {}).get("run_id"),
            )
            for job in jobs
        ]

    async def letter_views(
        ctx: Context, letters: Sequence[models.SyncDeadLetter], run_ids: dict[int, str]
    ) -> list[LetterView]:
        async with ctx.db.sessions() as session:
            tries = await sync.attempts(session, letters)
        records = await records_of(ctx, letters)
        return [
            LetterView(
                SyncDeadLetter.of(letter, ctx),
                run_ids[letter.job_id],
                records[letter.id],
                tries[letter.id],
            )
            for letter in letters
        ]

    def status_text(t: Callable[..., str], letter: SyncDeadLetter) -> str:
        if letter.resolved_at is None:
            return t("dashboard.sync.letter_open")
        return t("dashboard.sync.letter_resolved", at=in_vietnam(letter.resolved_at))

    def record_text(t: Callable[..., str], view: LetterView) -> str:
        name = view.record.pupil.full_name if view.record.pupil else t("dashboard.sync.unknown")
        if view.letter.target == "TRANSCRIPT_STORE":
            return t(
                "dashboard.sync.transcript_of",
                name=name,
                year=view.record.school_year or "",
                version=view.record.version or view.letter.item_version,
            )
        return name

    def sheet(request: Request, name: str, columns: list[str], rows: list[list[Any]]) -> Table:
        """A table of the sync's pages for the exports: ``name`` and ``columns`` are
        keys under ``dashboard.sync.sheet`` and ``dashboard.sync.column``."""
        keys = [f"dashboard.sync.column.{column}" for column in columns]
        return table_of(request, f"dashboard.sync.sheet.{name}", keys, rows)

    def runs_table(request: Request, runs: list[RunView]) -> Table:
        t = words(request)
        return sheet(
            request,
            "runs",
            ["run_id", "started", "state", "sent", "refused", "open_letters", "duration_seconds"],
            [
                [
                    view.run.run_id,
                    in_vietnam(view.run.created_at),
                    state_name(t, view.run.state),
                    view.sent,
                    view.refused,
                    view.open_letters,
                    view.seconds,
                ]
                for view in runs
            ],
        )

    def phases_table(request: Request, rows: list[PhaseRow]) -> Table:
        t = words(request)
        return sheet(
            request,
            "phases",
            ["phase", "total", "handled", "succeeded", "failed"],
            [
                [t(f"dashboard.sync.phase.{r.phase}"), r.total, r.handled, r.succeeded, r.failed]
                for r in rows
            ],
        )

    def letters_table(request: Request, views: list[LetterView]) -> Table:
        t = words(request)
        return sheet(
            request,
            "letters",
            [
                "letter",
                "record",
                "key",
                "school",
                "target",
                "code",
                "message",
                "attempts",
                "status",
            ],
            [
                [
                    view.letter.id,
                    record_text(t, view),
                    view.letter.natural_key,
                    view.record.school,
                    t(f"dashboard.sync.target.{view.letter.target}"),
                    view.letter.code,
                    view.letter.message,
                    view.attempts,
                    status_text(t, view.letter),
                ]
                for view in views
            ],
        )

    async def show(request: Request, template: str, **context: Any) -> Response:
        t = words(request)
        return await desk.show(
            request,
            template,
            in_vietnam=in_vietnam,
            duration=lambda seconds: duration_text(t, seconds),
            state_name=lambda state: state_name(t, state),
            status_text=lambda letter: status_text(t, letter),
            record_text=lambda view: record_text(t, view),
            phase_name=lambda phase: t(f"dashboard.sync.phase.{phase}"),
            target_name=lambda target: t(f"dashboard.sync.target.{target}"),
            day=day,
            can_send=desk.hub.send_jobs is not None,
            **context,
        )

    async def runs(request: Request, ctx: Context) -> Response:
        """The latest runs, newest first, and the form that starts one."""
        async with ctx.db.sessions() as session:
            jobs = await sync.recent_runs(session, caller=ctx.caller, first=RUNS_SHOWN)
        views = await views_of(ctx, jobs)
        tables = {"runs": runs_table(request, views)}
        return desk.export(request, tables, "dong-bo-quoc-gia") or await show(
            request,
            "dashboard_sync.html",
            runs=views,
            running=next((view for view in views if view.is_open), None),
            phases=[phase.value for phase in sync.Phase],
            notice=notice_of(request),
        )

    async def run(request: Request, ctx: Context) -> Response:
        """One run, phase by phase, and its refused items."""
        run_id = run_param(request.query_params)
        open_only = request.query_params.get("open") == "1"
        whole = exporting(request)
        after = id_param(request, "after") or 0
        async with ctx.db.sessions() as session:
            job = await sync.load_run(session, caller=ctx.caller, job_id=run_id)
            letters: list[models.SyncDeadLetter] = []
            while True:
                page = await sync.letters_of(
                    session,
                    job,
                    first=1000 if whole else LETTERS_SHOWN + 1,
                    after_id=letters[-1].id if letters else after,
                    open_only=open_only,
                )
                letters += page
                if not whole or len(page) < 1000:
                    break
        more = not whole and len(letters) > LETTERS_SHOWN
        letters = letters if whole else letters[:LETTERS_SHOWN]
        (view,) = await views_of(ctx, [job])
        shown = await letter_views(ctx, letters, {job.id: job.job_id})
        phases = phase_rows(view.run)
        tables = {
            "phases": phases_table(request, phases),
            "letters": letters_table(request, shown),
        }
        query = {"run": run_id, **({"open": "1"} if open_only else {})}
        return desk.export(request, tables, f"dong-bo-{run_id[:8]}") or await show(
            request,
            "dashboard_sync_run.html",
            view=view,
            phases=phases,
            letters=shown,
            open_only=open_only,
            more=f"/dashboard/sync/run?{urlencode({**query, 'after': letters[-1].id})}"
            if more
            else None,
            base=f"/dashboard/sync/run?{urlencode(query)}&",
            notice=notice_of(request),
        )

    async def letter(request: Request, ctx: Context) -> Response:
        """One refused item: the record, the refusal, every attempt."""
        letter_id = id_param(request, "letter")
        if letter_id is None:
            raise HubError(Code.INVALID_ARGUMENT, detail="letter")
        async with ctx.db.sessions() as session:
            found, job = await sync.dead_letter(session, caller=ctx.caller, letter_id=letter_id)
            history = await sync.refusals_of_item(session, found)
        run_ids = {refusal.job_id: job_id for refusal, job_id in history}
        views = await letter_views(ctx, [refusal for refusal, _ in history], run_ids)
        (view,) = [v for v in views if v.letter.id == found.id]
        t = words(request)
        table = sheet(
            request,
            "attempts",
            ["run_id", "refused_at", "code", "message", "status"],
            [
                [
                    v.run_id,
                    in_vietnam(v.letter.created_at),
                    v.letter.code,
                    v.letter.message,
                    status_text(t, v.letter),
                ]
                for v in views
            ],
        )
        return desk.export(
            request, {"attempts": table}, f"ban-ghi-bi-tu-choi-{found.id}"
        ) or await show(
            request,
            "dashboard_sync_letter.html",
            view=view,
            run=job,
            history=views,
            notice=notice_of(request),
        )

    def sender() -> Callable[[list[Any]], None]:
        send = desk.hub.send_jobs
        if send is None:
            raise HubError(Code.INVALID_ARGUMENT, detail="máy chủ này không chạy công việc nền")
        return send

    async def start(request: Request, ctx: Context) -> Response:
        """Start a run of the phases ticked (``phase``, repeated)."""
        form = await request.form()
        chosen = [str(value) for value in form.getlist("phase")]
        if any(value not in sync.Phase.__members__ for value in chosen):
            raise HubError(Code.INVALID_ARGUMENT, detail="phase")
        send = sender()
        async with ctx.db.unit_of_work() as session:
            job, work = await sync.start_sync(
                session, caller=ctx.caller, phases=[sync.Phase(value) for value in chosen]
            )
            run_id = job.job_id
        send(work)
        return RedirectResponse(f"/dashboard/sync/run?run={run_id}&done=started", 303)

    async def retry(request: Request, ctx: Context) -> Response:
        """Send again one letter's item (``letter``) or every open one of the run."""
        form = await request.form()
        run_id = run_param(form)
        letter_id = id_param(request, "letter", form)
        if "letter" in form and letter_id is None:
            raise HubError(Code.INVALID_ARGUMENT, detail="letter")
        send = sender()
        async with ctx.db.unit_of_work() as session:
            job, work = await sync.retry_dead_letters(
                session,
                caller=ctx.caller,
                job_id=run_id,
                letter_ids=None if letter_id is None else [letter_id],
            )
            retry_id = job.job_id
        send(work)
        return RedirectResponse(f"/dashboard/sync/run?run={retry_id}&done=retried", 303)

    async def cancel(request: Request, ctx: Context) -> Response:
        """Stop a run; what the national systems acknowledged stays recorded."""
        run_id = run_param(await request.form())
        async with ctx.db.unit_of_work() as session:
            await sync.cancel_sync(session, caller=ctx.caller, job_id=run_id)
        return RedirectResponse(f"/dashboard/sync/run?run={run_id}&done=cancelled", 303)

    return [
        Route("/dashboard/sync", desk.page(runs)),
        Route("/dashboard/sync/run", desk.page(run)),
        Route("/dashboard/sync/letter", desk.page(letter)),
        Route("/dashboard/sync/start", desk.action(start, whole_department=True), methods=["POST"]),
        Route("/dashboard/sync/retry", desk.action(retry, whole_department=True), methods=["POST"]),
        Route(
            "/dashboard/sync/cancel", desk.action(cancel, whole_department=True), methods=["POST"]
        ),
    ]
