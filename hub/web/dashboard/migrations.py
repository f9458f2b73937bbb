"""The dashboard's provider-migration pages (issue 12, part 4): moving staff to another
signing provider, e.g. a district's teachers from a paid provider to the Government CA.

``GET /dashboard/migrations`` lists the latest migrations and holds the form that plans
one: from which provider to which, for a district office's schools or one school (by its
ministry code). ``GET /dashboard/migrations/plan?from=…&to=…&district=…`` (or
``&school=<code>``) is the dry run (:func:`hub.jobs.migration.plan_provider_migration`):
each person, the certificate they sign with now, whether the new provider knows them and
what would happen; nothing is written. Its form, ``POST /dashboard/migrations/start``,
plans again and starts (:func:`~hub.jobs.migration.plan_and_start`), then shows
``GET /dashboard/migrations/{job_id}``: the progress, the people and the history, with
the controls the migration's state allows (:func:`~hub.jobs.migration.controls`),
``POST /dashboard/migrations/{job_id}/pause|resume|rollback|confirm``. Every step is the
migration service's, which the GraphQL mutations and ``hub migrate-provider`` call too.

While a migration is open, ``migration.js`` asks ``GET …/{job_id}/progress`` (JSON)
every 2 s, moves the bar and the counts, and reloads the page when the state changes,
so its buttons always match; without script the page reloads itself every few seconds.
Rolling back and confirming each ask for a ticked box first: neither can be undone.

Every table exports to CSV and XLSX. Running a migration is the Sở's work: every action
is ``whole_department``; a district office's officer reads and plans, no more.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from hub.auth.access import restrict_to
from hub.auth.people import WEB_CLIENT_ID
from hub.db import models
from hub.domain.enums import SigningProvider
from hub.domain.personal_data import mask_personal_id
from hub.domain.problems import Code, HubError
from hub.jobs import migration
from hub.jobs.core import PAUSED_BY_USER, PROVIDER_DOWN, JobState
from hub.resolvers.context import Context
from hub.web import i18n
from hub.web.dashboard.desk import (
    Desk,
    exporting,
    id_param,
    in_vietnam,
    number,
    school_names,
    table_of,
    words,
)

BASE = "/dashboard/migrations"
#: The most rows a page shows of a table (the exports hold every row).
PAGE_ROWS = 500
#: The longest school code the form takes (the ministry's codes are shorter).
CODE_LIMIT = 20
#: How often a migration's page reloads itself while it is open, without script (seconds).
RELOAD_SECONDS = 5
#: The box an officer ticks before rolling back or confirming, and its value.
UNDERSTOOD = "understood"
#: The controls that ask for the ticked box: neither can be undone.
FOR_GOOD = (migration.Control.ROLLBACK, migration.Control.CONFIRM)
#: The controls besides resume (which answers the work it sends again).
CONTROLS = {
    migration.Control.PAUSE: migration.pause,
    migration.Control.ROLLBACK: migration.rollback,
    migration.Control.CONFIRM: migration.confirm,
}
#: What the page says after an action (``?done=…``), by the action.
DONE = {
    "start": "started",
    migration.Control.PAUSE: "paused",
    migration.Control.RESUME: "resumed",
    migration.Control.ROLLBACK: "rolled_back",
    migration.Control.CONFIRM: "confirmed",
}
#: ``?done=`` when the box that had to be ticked was not.
NOT_TICKED = "not_ticked"
#: The plan's people in the order an officer deals with them: who needs something first.
ACTION_ORDER = (
    migration.Action.NEEDS_ENROLMENT,
    migration.Action.ENROL,
    migration.Action.SWITCH,
    migration.Action.SKIP,
)
#: Where the catalogue words a reason code (any other reads as the provider or the
#: service worded it, in Vietnamese).
REASON = "dashboard.migrations.reason."


@dataclass(frozen=True)
class Asked:
    """The migration a form asks for: two providers, and a district's or a school's staff."""

    from_provider: SigningProvider
    to_provider: SigningProvider
    district: Any  # a districts row, or None
    school: Any  # a schools row, or None

    @property
    def place(self) -> str:
        return str(self.school.name if self.school is not None else self.district.name)

    @property
    def fields(self) -> dict[str, str]:
        """The form's fields (and the plan's query) that ask for it again."""
        found = {"from": self.from_provider.value, "to": self.to_provider.value}
        if self.school is not None:
            found["school"] = self.school.moet_code
        else:
            found["district"] = str(self.district.id)
        return found

    @property
    def scope(self) -> dict[str, int | None]:
        """The scope as the migration service takes it."""
        return {
            "school_id": self.school.id if self.school is not None else None,
            "district_id": self.district.id if self.district is not None else None,
        }


@dataclass(frozen=True)
class Listed:
    """A migration in the list."""

    job: models.Job
    from_provider: SigningProvider
    to_provider: SigningProvider
    place: str
    progress: migration.Progress
    started_at: str


@dataclass(frozen=True)
class PlanRow:
    """A person of the dry run, as the page and its exports show them."""

    teacher: migration.PlannedTeacher
    school: str
    valid_to: str
    action: str
    reason: str


@dataclass(frozen=True)
class PersonRow:
    """A person of a migration, as the page and its exports show them."""

    person: migration.Mover
    planned: str
    state: str
    reason: str


@dataclass(frozen=True)
class StepRow:
    """A step of the migration's own history (started, paused, resumed…)."""

    at: str
    step: str
    actor: str
    code: str


def providers_of(job: models.Job) -> tuple[SigningProvider, SigningProvider]:
    """The migration's (old, new) providers."""
    return SigningProvider(job.params["from"]), SigningProvider(job.params["to"])


def reason_text(
    t: Callable[..., str],
    code: str | None,
    stored: str | None,
    providers: tuple[SigningProvider, SigningProvider],
) -> str:
    """Why a person is skipped or did not move, in the page's language where the
    catalogue words the reason; else as it was recorded."""
    if code and f"{REASON}{code}" in i18n.catalogue(i18n.DEFAULT):
        return t(f"{REASON}{code}", source=providers[0].label, target=providers[1].label)
    return stored or ""


def actor_text(t: Callable[..., str], actor: str) -> str:
    """Who took a step: the hub's workers, an officer on the hub's pages, or else the app
    (or the console, ``cli``) by its id; the person it acted for by their masked personal
    ID (:func:`hub.jobs.migration.actor_of`)."""
    client, _, person = actor.partition("/")
    known = {migration.WORKER: "worker", WEB_CLIENT_ID: "officer"}
    shown = t(f"dashboard.migrations.actor.{known[client]}") if client in known else client
    return f"{shown} ({mask_personal_id(person)})" if person else shown


def export_links(request: Request, keys: Sequence[str]) -> dict[str, Any]:
    """What the shared ``exports`` macro needs: this address with its query (``done``
    left out) and each table's sheet name."""
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "done"])
    t = words(request)
    return {
        "export_base": f"{request.url.path}?" + (f"{query}&" if query else ""),
        "export_sheets": {key: t(f"dashboard.migrations.sheet.{key}") for key in keys},
    }


def migration_routes(desk: Desk) -> list[Route]:
    """The provider-migration pages, for :func:`hub.web.dashboard.dashboard_routes`."""

    async def asked(request: Request, ctx: Context, source: Any) -> Asked:
        """The migration the query or the form asks for; INVALID_ARGUMENT (or
        SCHOOL_NOT_FOUND) when it does not name one."""
        chosen = []
        for name in ("from", "to"):
            value = str(source.get(name, ""))
            if value not in {p.value for p in migration.MIGRATABLE}:
                raise HubError(Code.INVALID_ARGUMENT, detail=name)
            chosen.append(SigningProvider(value))
        code = str(source.get("school", "")).strip()
        district_id = id_param(request, "district", source)
        if bool(code) == (district_id is not None) or len(code) > CODE_LIMIT:
            raise HubError(
                Code.INVALID_ARGUMENT,
                detail="chọn một phòng GDĐT hoặc nhập mã một trường",
                details_en={"detail": "choose a district office or enter a school's code"},
            )
        if district_id is not None:
            found = (await desk.districts_of(ctx, {district_id})).get(district_id)
            if found is None:
                raise HubError(Code.INVALID_ARGUMENT, detail="district")
            return Asked(chosen[0], chosen[1], district=found, school=None)
        statement = select(models.School).where(models.School.moet_code == code)
        schools = await ctx.reader.rows(
            restrict_to(statement, models.School, ctx.caller.school_ids)
        )
        if not schools:
            raise HubError(Code.SCHOOL_NOT_FOUND, value=code)
        return Asked(chosen[0], chosen[1], district=None, school=schools[0])

    async def districts_to_choose(ctx: Context) -> list[Any]:
        """The districts the form offers: those whose schools the officer reaches."""
        statement = select(models.District).order_by(models.District.name)
        return list(
            await ctx.reader.rows(restrict_to(statement, models.District, ctx.caller.school_ids))
        )

    async def places_of(ctx: Context, jobs: Sequence[models.Job]) -> dict[int, str]:
        """Each migration's scope by name: its school's or its district office's."""
        schools = await school_names(
            ctx, {job.params["school_id"] for job in jobs if job.params.get("school_id")}
        )
        districts = await desk.districts_of(
            ctx, {job.params["district_id"] for job in jobs if job.params.get("district_id")}
        )
        names = {key: str(row.name) for key, row in districts.items()}
        return {
            job.id: schools.get(job.params.get("school_id") or 0)
            or names.get(job.params.get("district_id") or 0, "")
            for job in jobs
        }

    # --- the list, and the form that plans one ---------------------------------------------

    async def index(request: Request, ctx: Context) -> Response:
        """The latest migrations, and the form that plans a new one."""
        t = words(request)
        async with ctx.db.unit_of_work() as session:
            jobs = await migration.recent(session, caller=ctx.caller)
            progress = await migration.progress_of(session, jobs)
        places = await places_of(ctx, jobs)
        listed = [
            Listed(
                job,
                *providers_of(job),
                places[job.id],
                progress[job.id],
                in_vietnam(job.created_at),
            )
            for job in jobs
        ]
        table = table_of(
            request,
            "dashboard.migrations.sheet.migrations",
            [
                "dashboard.migrations.column.started_at",
                "dashboard.migrations.column.from",
                "dashboard.migrations.column.to",
                "dashboard.migrations.column.scope",
                "dashboard.migrations.column.state",
                "dashboard.migrations.column.people",
                "dashboard.migrations.column.finished",
                "dashboard.migrations.column.switched",
                "dashboard.migrations.column.failed",
                "dashboard.migrations.column.job_id",
            ],
            [
                [
                    row.started_at,
                    row.from_provider.label,
                    row.to_provider.label,
                    row.place,
                    t(f"dashboard.migrations.state.{row.job.state}"),
                    row.job.total,
                    row.progress.finished,
                    row.progress.of(migration.ItemState.SWITCHED),
                    row.progress.of(migration.ItemState.FAILED),
                    row.job.job_id,
                ]
                for row in listed
            ],
        )
        exported = desk.export(request, {"migrations": table}, "chuyen-nha-cung-cap")
        return exported or await desk.show(
            request,
            "dashboard_migrations.html",
            migrations=listed,
            providers=migration.MIGRATABLE,
            default_target=SigningProvider.BCY,
            districts=await districts_to_choose(ctx),
            **export_links(request, ["migrations"]),
        )

    # --- the dry run ------------------------------------------------------------------------

    async def plan(request: Request, ctx: Context) -> Response:
        """Who would move, who would not and why: the service's dry run, nothing written."""
        wanted = await asked(request, ctx, request.query_params)
        async with ctx.db.unit_of_work() as session:
            found = await migration.plan_provider_migration(
                session,
                caller=ctx.caller,
                signing=ctx.require_signing(),
                from_provider=wanted.from_provider,
                to_provider=wanted.to_provider,
                can_enrol=ctx.enrolment is not None,
                **wanted.scope,
            )
        schools = await school_names(ctx, {teacher.school_id for teacher in found.teachers})
        t = words(request)
        providers = (wanted.from_provider, wanted.to_provider)
        rows = [
            PlanRow(
                teacher,
                schools.get(teacher.school_id, ""),
                in_vietnam(teacher.current.valid_to, "%d/%m/%Y") if teacher.current else "",
                t(f"dashboard.migrations.action.{teacher.action.value}"),
                reason_text(t, teacher.reason_code, teacher.reason, providers),
            )
            for teacher in found.teachers
        ]
        rows.sort(
            key=lambda r: (ACTION_ORDER.index(r.teacher.action), r.school, r.teacher.full_name)
        )
        for row in rows if exporting(request) else rows[:PAGE_ROWS]:
            ctx.audit.read("staff", row.teacher.staff_id, "certificate")
        yes, no = t("dashboard.migrations.yes"), t("dashboard.migrations.no")
        table = table_of(
            request,
            "dashboard.migrations.sheet.plan",
            [
                "dashboard.migrations.column.full_name",
                "dashboard.migrations.column.school",
                "dashboard.migrations.column.current_provider",
                "dashboard.migrations.column.serial_number",
                "dashboard.migrations.column.valid_to",
                "dashboard.migrations.column.target_account",
                "dashboard.migrations.column.action",
                "dashboard.migrations.column.reason_code",
                "dashboard.migrations.column.reason",
            ],
            [
                [
                    row.teacher.full_name,
                    row.school,
                    row.teacher.current.provider.label if row.teacher.current else "",
                    row.teacher.current.serial_number if row.teacher.current else "",
                    row.valid_to,
                    yes if row.teacher.target_account else no,
                    row.action,
                    row.teacher.reason_code or "",
                    row.reason,
                ]
                for row in rows
            ],
        )
        filename = f"ke-hoach-chuyen-{wanted.from_provider.value}-{wanted.to_provider.value}"
        return desk.export(request, {"plan": table}, filename.lower()) or await desk.show(
            request,
            "dashboard_migration_plan.html",
            asked=wanted,
            counts={action.value: found.count(action) for action in ACTION_ORDER},
            moving=len(found.teachers) - found.count(migration.Action.SKIP),
            may_start=ctx.caller.department_wide,
            rows=rows[:PAGE_ROWS],
            total=len(rows),
            page_rows=PAGE_ROWS,
            **export_links(request, ["plan"]),
        )

    async def start(request: Request, ctx: Context) -> Response:
        """Plan again and start; then the migration's page."""
        wanted = await asked(request, ctx, await request.form())
        job_id, work = await migration.plan_and_start(
            ctx.db,
            caller=ctx.caller,
            signing=ctx.require_signing(),
            from_provider=wanted.from_provider,
            to_provider=wanted.to_provider,
            can_enrol=ctx.enrolment is not None,
            **wanted.scope,
        )
        ctx.send_work(work)
        return RedirectResponse(f"{BASE}/{job_id}?done={DONE['start']}", 303)

    # --- one migration ----------------------------------------------------------------------

    async def loaded(request: Request, ctx: Context) -> tuple[models.Job, migration.Progress]:
        async with ctx.db.unit_of_work() as session:
            job = await migration.load(
                session, caller=ctx.caller, job_id=request.path_params["job_id"]
            )
            return job, await migration.progress(session, job)

    def standing(request: Request, job: models.Job, found: migration.Progress) -> dict[str, Any]:
        """Where the migration stands, in words: what the page shows and the script polls."""
        t, language = words(request), i18n.language_of(request)
        counts = {group: found.of(*states) for group, states in migration.GROUPS.items()}
        if job.state != JobState.PAUSED.value or not job.reason_code:
            reason = ""
        elif job.reason_code == PAUSED_BY_USER:
            reason = t("dashboard.migrations.paused_by_user")
        elif job.reason_code in PROVIDER_DOWN:
            reason = t("dashboard.migrations.paused_outage", target=providers_of(job)[1].label)
        else:
            reason = job.reason or ""
        return {
            "state": job.state,
            "stateText": t(f"dashboard.migrations.state.{job.state}"),
            "open": job.state in (JobState.RUNNING.value, JobState.PAUSED.value),
            "reasonText": reason,
            "total": job.total,
            "finished": found.finished,
            "progressText": t(
                "dashboard.migrations.progress_text",
                finished=number(language, found.finished),
                total=number(language, job.total),
            ),
            "counts": counts,
            "countsText": {group: number(language, count) for group, count in counts.items()},
        }

    async def one(request: Request, ctx: Context) -> Response:
        """A migration: its progress, its controls, its people and its history."""
        job, found = await loaded(request, ctx)
        group = request.query_params.get("show", "")
        if group and group not in migration.GROUPS:
            raise HubError(Code.INVALID_ARGUMENT, detail="show")
        states = migration.GROUPS.get(group, ())
        async with ctx.db.unit_of_work() as session:
            people = await migration.movers(
                session,
                job,
                states=[state.value for state in states],
                first=None if exporting(request) else PAGE_ROWS,
            )
            history = await migration.steps(session, job, whole_job=True)
        for person in people:
            ctx.audit.read("staff", person.item.staff_id, "certificate")
        t = words(request)
        providers = providers_of(job)
        rows = [
            PersonRow(
                person,
                t(f"dashboard.migrations.action.{person.item.planned}"),
                t(f"dashboard.migrations.item.{person.item.state}"),
                reason_text(t, person.item.reason_code, person.item.reason, providers),
            )
            for person in people
        ]
        steps = [
            StepRow(
                in_vietnam(step.at),
                t(f"dashboard.migrations.step.{step.step}"),
                actor_text(t, step.actor),
                step.code or "",
            )
            for step in history
        ]
        tables = {
            "people": table_of(
                request,
                "dashboard.migrations.sheet.people",
                [
                    "dashboard.migrations.column.full_name",
                    "dashboard.migrations.column.school",
                    "dashboard.migrations.column.action",
                    "dashboard.migrations.column.item_state",
                    "dashboard.migrations.column.reason_code",
                    "dashboard.migrations.column.reason",
                ],
                [
                    [
                        row.person.full_name,
                        row.person.school_name,
                        row.planned,
                        row.state,
                        row.person.item.reason_code or "",
                        row.reason,
                    ]
                    for row in rows
                ],
            ),
            "history": table_of(
                request,
                "dashboard.migrations.sheet.history",
                [
                    "dashboard.migrations.column.at",
                    "dashboard.migrations.column.step",
                    "dashboard.migrations.column.actor",
                    "dashboard.migrations.column.reason_code",
                ],
                [[s.at, s.step, s.actor, s.code] for s in steps],
            ),
        }
        exported = desk.export(request, tables, f"dot-chuyen-{job.job_id[:8]}")
        if exported is not None:
            return exported
        done = request.query_params.get("done", "")
        address = f"{BASE}/{job.job_id}"
        return await desk.show(
            request,
            "dashboard_migration.html",
            job=job,
            providers=providers,
            place=(await places_of(ctx, [job]))[job.id],
            started_at=in_vietnam(job.created_at),
            finished_at=in_vietnam(job.finished_at),
            migration_status=standing(request, job, found),
            groups=list(migration.GROUPS),
            controls=migration.controls(job.state) if ctx.caller.department_wide else (),
            for_good=FOR_GOOD,
            understood=UNDERSTOOD,
            done=done if done in (*DONE.values(), NOT_TICKED) else "",
            group=group,
            rows=rows,
            total=found.of(*states) if states else job.total,
            page_rows=PAGE_ROWS,
            steps=steps,
            address=address,
            page_url=f"{address}?{urlencode({'show': group})}" if group else address,
            reload_seconds=RELOAD_SECONDS,
            **export_links(request, list(tables)),
        )

    async def progress(request: Request, ctx: Context) -> Response:
        """Where the migration stands, for ``migration.js``."""
        job, found = await loaded(request, ctx)
        return JSONResponse(standing(request, job, found), headers={"Cache-Control": "no-store"})

    def control(name: migration.Control) -> Callable[[Request, Context], Awaitable[Response]]:
        """The action behind one of the migration's buttons."""

        async def act(request: Request, ctx: Context) -> Response:
            job_id = request.path_params["job_id"]
            async with ctx.db.unit_of_work() as session:
                if name in FOR_GOOD and (await request.form()).get(UNDERSTOOD) != "yes":
                    job = await migration.load(session, caller=ctx.caller, job_id=job_id)
                    return RedirectResponse(f"{BASE}/{job.job_id}?done={NOT_TICKED}", 303)
                if name is migration.Control.RESUME:
                    work = await migration.resume(session, caller=ctx.caller, job_id=job_id)
                else:
                    await CONTROLS[name](session, caller=ctx.caller, job_id=job_id)
                    work = []
            if work:
                ctx.send_work(work)
            return RedirectResponse(f"{BASE}/{job_id}?done={DONE[name]}", 303)

        return act

    return [
        Route(BASE, desk.page(index)),
        Route(f"{BASE}/plan", desk.page(plan)),
        Route(f"{BASE}/start", desk.action(start, whole_department=True), methods=["POST"]),
        Route(f"{BASE}/{{job_id}}", desk.page(one)),
        Route(f"{BASE}/{{job_id}}/progress", desk.page(progress)),
        *(
            Route(
                f"{BASE}/{{job_id}}/{name.value}",
                desk.action(control(name), whole_department=True),
                methods=["POST"],
            )
            for name in migration.Control
        ),
    ]
