"""The ``hub`` command line (typer + rich)."""

import asyncio
import json
from datetime import timedelta, timezone
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import delete, func, select

from hub.config import Settings, get_settings

app = typer.Typer(help="The provincial education data hub (học bạ số).", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
clients_app = typer.Typer(
    help="API clients (vendor apps, admission services, staff tools).", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(clients_app, name="clients")
transcripts_app = typer.Typer(help="Transcripts (học bạ).", no_args_is_help=True)
app.add_typer(transcripts_app, name="transcripts")
console = Console()
SCHEMA_FILE = Path("schema.graphql")

DEMO_QUERIES = {
    "Students of a class, with guardians and the homeroom teacher's certificates": """\
{ students(first: 5, filter: {grade: 6}) { totalCount nodes {
    fullName personalId birthDate identityStatus
    currentClass { name homeroomTeacher { fullName hasValidCertificate
      certificates { provider status validTo } } }
    school { name district { name } }
    guardians { relation verified guardian { fullName phone } } } } }""",
    "Diacritic-insensitive search": """\
{ students(filter: {name: "nguyen van an"}) { totalCount nodes { fullName school { name } } } }""",
    "Signature coverage like the Hà Nội table (seed 003)": """\
{ certificateCoverage(groupBy: [LEVEL, OWNERSHIP]) {
    rows { level ownership staffTotal withValidCertificate ratio }
    total { staffTotal withValidCertificate ratio } } }""",
}


def _run(coroutine):  # type: ignore[no-untyped-def]
    return asyncio.run(coroutine)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the migrations (creates the database from empty)."""
    from hub.db.engine import Database
    from hub.db.migrate import upgrade

    settings = get_settings()

    async def go() -> None:
        db = Database(settings.database_url)
        await upgrade(db.engine, revision)
        await db.dispose()

    _run(go())
    console.print(f"[green]Schema at {revision}[/] on {_safe_url(settings.database_url)}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


async def _seed(settings: Settings, size: str, seed: int) -> None:
    from hub.db.engine import Database
    from hub.seed.load import seed as load_seed

    db = Database(settings.database_url)
    try:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress:
            tasks: dict[str, int] = {}

            def report(table: str, done: int) -> None:
                if table not in tasks:
                    tasks[table] = progress.add_task(table, total=None)
                progress.update(tasks[table], completed=done)

            result = await load_seed(db, size=size, seed=seed, progress=report)
    finally:
        await db.dispose()
    console.print(
        f"[green]Seeded[/] {result.total_rows:,} rows in {result.seconds:.1f} s "
        f"({result.rows_per_second:,.0f} rows/s)"
    )


@app.command()
def seed(
    size: Annotated[str, typer.Option(help="school | demo | district | province")] = "demo",
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same province")] = 2025,
) -> None:
    """Fill an empty database with a realistic demo province."""
    settings = get_settings()
    _run(_seed(settings, size, seed))


@clients_app.command("create")
def clients_create(
    name: Annotated[str, typer.Option(help="Who the client is, e.g. 'vnEdu – THCS Gia Thụy'")],
    kind: Annotated[str, typer.Option(help="VENDOR | ADMISSION | DEPARTMENT_TOOL")] = "VENDOR",
    scope: Annotated[list[str], typer.Option(help="OAuth2 scope; repeat for several")] = [],  # noqa: B006
    org: Annotated[str, typer.Option(help="DEPARTMENT | DISTRICT | SCHOOL")] = "SCHOOL",
    district: Annotated[list[str], typer.Option(help="District code; repeat")] = [],  # noqa: B006
    school: Annotated[list[str], typer.Option(help="School ministry code; repeat")] = [],  # noqa: B006
    as_json: Annotated[bool, typer.Option("--json", help="Print id and secret as JSON")] = False,
) -> None:
    """Register an API client; its secret is shown once."""
    from hub.auth.clients import ClientError, create_client
    from hub.db.engine import Database
    from hub.domain.enums import ClientKind, OrgLevel

    settings = get_settings()

    async def go():  # type: ignore[no-untyped-def]
        db = Database(settings.database_url)
        try:
            async with db.unit_of_work() as session:
                return await create_client(
                    session,
                    name=name,
                    kind=ClientKind(kind.upper()),
                    scopes=scope,
                    org_level=OrgLevel(org.upper()),
                    district_codes=district,
                    school_codes=school,
                )
        finally:
            await db.dispose()

    try:
        client = _run(go())
    except (ClientError, ValueError) as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(2) from error
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "client_id": client.client_id,
                    "client_secret": client.client_secret,
                    "scopes": client.scopes,
                    "org_level": client.org_level.value,
                }
            )
        )
        return
    console.print(
        Panel.fit(
            f"client_id:     {client.client_id}\nclient_secret: {client.client_secret}\n"
            f"scopes:        {' '.join(client.scopes)}\norganisation:  {client.org_level.value}",
            title=client.name,
        )
    )
    console.print("[yellow]The secret is not stored in clear: keep it now.[/]")


def _in_clients_session(change):  # type: ignore[no-untyped-def]
    """Run ``change(session)`` in one transaction; a ClientError exits 2 with its text."""
    from hub.auth.clients import ClientError
    from hub.db.engine import Database

    settings = get_settings()

    async def go():  # type: ignore[no-untyped-def]
        db = Database(settings.database_url)
        try:
            async with db.unit_of_work() as session:
                return await change(session)
        finally:
            await db.dispose()

    try:
        return _run(go())
    except ClientError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(2) from error


@clients_app.command("list")
def clients_list(
    include_deleted: Annotated[bool, typer.Option("--all", help="Deleted ones too")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False,
) -> None:
    """The registered clients (never their secrets)."""
    from hub.auth.clients import list_clients

    clients = _in_clients_session(lambda s: list_clients(s, include_deleted=include_deleted))
    if as_json:
        typer.echo(json.dumps([c.as_json() for c in clients], ensure_ascii=False))
        return
    table = Table(title="API clients")
    table.add_column("client_id", no_wrap=True)
    for column in ("name", "kind", "organisation", "scopes", "state", "created"):
        table.add_column(column)
    for c in clients:
        state = "deleted" if c.deleted else "disabled" if c.disabled else "[green]enabled[/]"
        reach = " ".join(c.districts + c.schools)
        table.add_row(
            c.client_id,
            c.name,
            c.kind,
            f"{c.org_level} {reach}".strip(),
            " ".join(c.scopes),
            state,
            f"{c.created_at:%Y-%m-%d}",
        )
    console.print(table)


@clients_app.command("disable")
def clients_disable(client_id: Annotated[str, typer.Argument(help="hub_…")]) -> None:
    """Disable a client: new tokens are refused and its tokens stop at once."""
    from hub.auth.clients import set_disabled

    _in_clients_session(lambda s: set_disabled(s, client_id, True))
    console.print(f"[green]{client_id} disabled[/]; its tokens are refused from now on.")


@clients_app.command("enable")
def clients_enable(client_id: Annotated[str, typer.Argument(help="hub_…")]) -> None:
    """Enable a disabled client (tokens from before it was disabled stay refused)."""
    from hub.auth.clients import set_disabled

    _in_clients_session(lambda s: set_disabled(s, client_id, False))
    console.print(f"[green]{client_id} enabled[/]; it must ask for new tokens.")


@clients_app.command("rotate-secret")
def clients_rotate_secret(
    client_id: Annotated[str, typer.Argument(help="hub_…")],
    as_json: Annotated[bool, typer.Option("--json", help="Print id and secret as JSON")] = False,
) -> None:
    """A new secret, shown once; the old secret and every token issued before stop at once."""
    from hub.auth.clients import rotate_secret

    client = _in_clients_session(lambda s: rotate_secret(s, client_id))
    if as_json:
        typer.echo(
            json.dumps({"client_id": client.client_id, "client_secret": client.client_secret})
        )
        return
    console.print(
        Panel.fit(
            f"client_id:     {client.client_id}\nclient_secret: {client.client_secret}",
            title=client.name,
        )
    )
    console.print("[yellow]The old secret and its tokens no longer work. Keep this one now.[/]")


@clients_app.command("delete")
def clients_delete(
    client_id: Annotated[str, typer.Argument(help="hub_…")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask")] = False,
) -> None:
    """Delete a client for good; its row stays so the access log still names it."""
    from hub.auth.clients import delete_client

    if not yes:
        typer.confirm(f"Delete {client_id} for good?", abort=True)
    _in_clients_session(lambda s: delete_client(s, client_id))
    console.print(f"[green]{client_id} deleted[/]; its tokens are refused from now on.")


@transcripts_app.command("generate")
def transcripts_generate(
    school: Annotated[str, typer.Option(help="School ministry code")],
    year: Annotated[str | None, typer.Option(help="School year, e.g. 2025-2026")] = None,
    class_name: Annotated[str | None, typer.Option("--class", help="Only this class")] = None,
) -> None:
    """Draft (or refresh the drafts of) a school's transcripts from its gradebook."""
    from datetime import date

    from hub.auth.access import Caller
    from hub.db.engine import Database
    from hub.db.models import School, SchoolClass
    from hub.domain.enums import OrgLevel
    from hub.transcripts.service import generate
    from hub.transcripts.service import school_year as find_school_year

    settings = get_settings()
    operator = Caller(
        client_id="cli",
        scopes=frozenset({"transcripts:write"}),
        org_level=OrgLevel.DEPARTMENT,
        school_ids=None,
    )

    async def go():  # type: ignore[no-untyped-def]
        db = Database(settings.database_url)
        try:
            async with db.unit_of_work() as session:
                found = await session.scalar(select(School).where(School.moet_code == school))
                if found is None:
                    raise typer.BadParameter(f"no school with ministry code {school}")
                school_year = await find_school_year(session, code=year)
                classes = select(SchoolClass.id).where(
                    SchoolClass.school_id == found.id, SchoolClass.school_year_id == school_year.id
                )
                if class_name:
                    classes = classes.where(SchoolClass.name == class_name)
                class_ids = list(await session.scalars(classes))
                with Progress(
                    TextColumn("[bold]{task.description}"),
                    BarColumn(),
                    TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(),
                    console=console,
                ) as progress:
                    task = progress.add_task(f"{found.name} {school_year.code}", total=None)
                    return await generate(
                        session,
                        caller=operator,
                        school_year=school_year,
                        class_ids=class_ids,
                        base_url=settings.issuer,
                        today=date.today(),
                        progress=lambda done, total: progress.update(
                            task, completed=done, total=total
                        ),
                    )
        finally:
            await db.dispose()

    report = _run(go())
    console.print(
        f"[green]{report.generated} generated, {report.regenerated} refreshed, "
        f"{report.unchanged} unchanged[/], {len(report.skipped)} skipped"
    )
    for skipped in report.skipped:
        console.print(f"  {skipped.student.full_name}: {skipped.problem.message}")


sign_app = typer.Typer(help="Bulk signing batches.", no_args_is_help=True)
app.add_typer(sign_app, name="sign")
sync_app = typer.Typer(
    help="National databases: sector DB, transcript store.", no_args_is_help=True
)
app.add_typer(sync_app, name="sync")


def _register_jobs() -> None:
    from hub.jobs.certificates_cli import certificates_app, migrate_provider_app
    from hub.jobs.sync_cli import sync_national_command

    sync_app.command("national")(sync_national_command)
    app.add_typer(certificates_app, name="certificates")
    app.add_typer(migrate_provider_app, name="migrate-provider")


_register_jobs()


@app.command()
def worker(
    processes: Annotated[int, typer.Option("--processes", "-p", help="worker processes")] = 2,
    threads: Annotated[int, typer.Option("--threads", "-t", help="threads per process")] = 4,
) -> None:
    """Run Dramatiq workers (signing is CPU-bound: scale with processes)."""
    import os
    import sys

    if not get_settings().redis_url:
        console.print("[red]HUB_REDIS_URL is not set: `hub demo` runs its jobs in-process.[/]")
        raise typer.Exit(2)
    command = [sys.executable, "-m", "dramatiq", "hub.jobs.entry:broker"]
    os.execv(sys.executable, [*command, "--processes", str(processes), "--threads", str(threads)])


@sign_app.command("watch")
def sign_watch(
    batch: Annotated[str, typer.Argument(help="the batch id (jobId)")],
    interval: Annotated[float, typer.Option(help="seconds between looks")] = 1.0,
) -> None:
    """Follow a signing batch with a progress bar until it ends."""
    import time

    from hub.db.engine import Database
    from hub.db.models import Job
    from hub.jobs import signing as batches

    async def look() -> tuple[Job, batches.Progress]:
        db = Database(get_settings().database_url)
        try:
            async with db.unit_of_work() as session:
                job = await session.scalar(select(Job).where(Job.job_id == batch))
                if job is None:
                    raise typer.BadParameter(f"no batch {batch}")
                return job, await batches.progress(session, job)
        finally:
            await db.dispose()

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("ký số", total=None, detail="")
        while True:
            job, progress = _run(look())
            counts = progress.counts
            done = counts["SIGNED"] + counts["RETURNED"] + counts["FAILED"] + counts["CANCELLED"]
            waiting = ", ".join(
                f"{r.provider.value} {r.transaction['transaction_id'][:8]}"
                for r in progress.waiting_for[:3]
            )
            detail = (
                f"{job.state} · ký {counts['SIGNED']} · trả lại {counts['RETURNED']} · "
                f"lỗi {counts['FAILED']}"
                + (f" · chờ xác nhận: {waiting}" if waiting else "")
                + (f" · {job.reason}" if job.reason else "")
            )
            bar.update(task, total=job.total, completed=done, detail=detail)
            if job.state in ("COMPLETED", "CANCELLED"):
                break
            time.sleep(interval)


#: ``hub verify`` exit codes (2 is click's own for a usage error).
EXIT_VALID, EXIT_INVALID, EXIT_INDETERMINATE = 0, 1, 3


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="XML or PDF")],
    trust: Annotated[
        list[Path] | None,
        typer.Option("--trust", help="PEM file of trusted roots (repeatable)"),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Do not ask OCSP/CRL (revocation unknown)")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable result")] = False,
) -> None:
    """Verify a signed transcript; exit 0 valid, 1 invalid, 3 indeterminate."""
    from hub.signing.setup import trust_store
    from hub.signing.verdict import Verdict
    from hub.signing.verdict import as_json as result_json
    from hub.signing.verify import verify_document

    store = trust_store(get_settings(), extra=trust or [], fetch_revocation=not offline)
    if not store.roots:
        console.print("[red]Không có chứng thư gốc tin cậy nào: dùng --trust FILE.pem[/]")
        raise typer.Exit(EXIT_INDETERMINATE)
    result = _run(verify_document(file.read_bytes(), trust=store))
    if as_json:
        typer.echo(json.dumps(result_json(result), ensure_ascii=False, indent=1))
    else:
        _print_verification(result)
    raise typer.Exit(
        {Verdict.VALID: EXIT_VALID, Verdict.INVALID: EXIT_INVALID}.get(
            result.verdict, EXIT_INDETERMINATE
        )
    )


#: Times shown to people are Vietnam's (the PDF stamp says GMT+7 too).
VIETNAM = timezone(timedelta(hours=7))


def _print_verification(result) -> None:  # type: ignore[no-untyped-def]
    colour = {"VALID": "green", "INVALID": "red", "INDETERMINATE": "yellow"}[result.verdict.value]
    console.print(f"[bold {colour}]{result.verdict.value}[/] ({result.kind.upper()})")
    table = Table(show_lines=True)
    for column in ("#", "vai trò", "người ký", "thời điểm ký (GMT+7)", "kết luận"):
        table.add_column(column)
    for s in result.signatures:
        when = s.timestamp_time or s.claimed_time
        table.add_row(
            str(s.index + 1),
            s.role.label if s.role else "?",
            f"{s.signer_name or '?'}\n{s.issuer or ''}",
            when.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M:%S") if when else "?",
            s.verdict.value,
        )
    console.print(table)
    for r in result.reasons:
        console.print(f"• [bold]{r.code.value}[/]: {r.message}\n  [dim]{r.message_en}[/]")


@app.command("schema")
def schema_command(
    write: Annotated[bool, typer.Option("--write", help="Write schema.graphql")] = False,
    check: Annotated[bool, typer.Option("--check", help="Fail if schema.graphql is stale")] = False,
) -> None:
    """Print, write or check the GraphQL SDL (schema.graphql)."""
    from hub.schema.api import schema

    sdl = str(schema) + "\n"
    if write:
        SCHEMA_FILE.write_text(sdl, encoding="utf-8")
        console.print(f"[green]Wrote {SCHEMA_FILE}[/]")
    elif check:
        current = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
        if current != sdl:
            console.print("[red]schema.graphql differs from the code: run `hub schema --write`[/]")
            raise typer.Exit(1)
        console.print("[green]schema.graphql matches the code[/]")
    else:
        typer.echo(sdl, nl=False)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
) -> None:
    """Serve the API (GraphQL at /graphql)."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "hub.web.main:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


async def _prepare_demo(settings: Settings) -> dict[str, str]:
    """Migrate, seed if empty, and register fresh demo clients; their tokens."""
    from hub.auth.clients import create_client
    from hub.auth.tokens import TokenIssuer, load_signing_key
    from hub.db.engine import Database
    from hub.db.migrate import upgrade
    from hub.db.models import ApiClient, School
    from hub.domain.enums import ClientKind, OrgLevel

    db = Database(settings.database_url)
    try:
        await upgrade(db.engine)
        async with db.sessions() as session:
            schools = await session.scalar(select(func.count()).select_from(School))
        if not schools:
            await _seed(settings, "demo", 2025)
        async with db.unit_of_work() as session:
            await session.execute(delete(ApiClient).where(ApiClient.name.like("Demo:%")))
            vendor_school, vendor_school_name = (
                await session.execute(
                    select(School.moet_code, School.name)
                    .where(School.level == "LOWER_SECONDARY")
                    .order_by(School.id)
                    .limit(1)
                )
            ).one()
            department = await create_client(
                session,
                name="Demo: công cụ của Sở",
                kind=ClientKind.DEPARTMENT_TOOL,
                scopes=[
                    "students:read",
                    "students:write",
                    "staff:read",
                    "staff:write",
                    "certificates:read",
                    "reports:read",
                    "changes:read",
                    "personal-ids:read",
                ],
                org_level=OrgLevel.DEPARTMENT,
            )
            vendor = await create_client(
                session,
                name=f"Demo: phần mềm của trường {vendor_school}",
                kind=ClientKind.VENDOR,
                scopes=[
                    "students:read",
                    "students:write",
                    "staff:read",
                    "staff:write",
                    "certificates:read",
                    "changes:read",
                    "personal-ids:read",
                    "contacts:read",
                    "assessments:read",
                    "assessments:write",
                    "transcripts:read",
                    "transcripts:write",
                    "transcripts:sign",
                ],
                org_level=OrgLevel.SCHOOL,
                school_codes=[vendor_school],
            )
    finally:
        await db.dispose()
    issuer = TokenIssuer(
        load_signing_key(settings), issuer=settings.issuer, lifetime_seconds=8 * 3600
    )
    return {
        "department_token": issuer.issue(department.client_id, frozenset(department.scopes))[0],
        "vendor_token": issuer.issue(vendor.client_id, frozenset(vendor.scopes))[0],
        "vendor_id": vendor.client_id,
        "vendor_secret": vendor.client_secret,
        "vendor_school": f"{vendor_school} – {vendor_school_name}",
        "vendor_school_code": vendor_school,
    }


@app.command()
def demo(
    port: Annotated[int | None, typer.Option()] = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Prepare and print only")] = False,
) -> None:
    """Migrate, seed a demo province, print tokens and example queries, and serve."""
    settings = get_settings()
    if port is not None:
        settings = settings.model_copy(update={"port": port})
    info = _run(_prepare_demo(settings))
    base = settings.issuer
    console.rule("[bold]hub — demo province (Sở GDĐT Hà Nội, dữ liệu mẫu)")
    console.print(
        f"GraphiQL:  [link]{base}/graphql[/]   health: {base}/health   metrics: {base}/metrics"
    )
    console.print("In GraphiQL, open [bold]Headers[/] and paste one of these (valid 8 hours):")
    console.print("[bold]Department-wide client (whole Sở):[/]")
    typer.echo(f'{{"Authorization": "Bearer {info["department_token"]}"}}')
    console.print(f"[bold]Vendor app of one school ({info['vendor_school']}):[/]")
    typer.echo(f'{{"Authorization": "Bearer {info["vendor_token"]}"}}')
    console.print("A vendor app gets its own token with client credentials:")
    console.print(
        f"  curl -s -u {info['vendor_id']}:{info['vendor_secret']} "
        f"-d grant_type=client_credentials {base}/oauth/token"
    )
    table = Table(title="Try these queries", show_lines=True)
    table.add_column("what")
    table.add_column("query")
    for title, query in DEMO_QUERIES.items():
        table.add_row(title, query)
    console.print(table)
    signing = _start_demo_signing(settings, info["vendor_school_code"])
    if not no_serve:
        import uvicorn

        from hub.web.app import create_app

        send_jobs = _start_demo_jobs(settings, signing)
        uvicorn.run(
            create_app(settings, signing=signing.signing, send_jobs=send_jobs),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            access_log=False,
        )


def _start_demo_jobs(settings: Settings, suite):  # type: ignore[no-untyped-def]
    """The in-process broker and worker of the demo: no Redis needed."""
    import dramatiq

    from hub.config import VAR_DIR
    from hub.db.engine import Database
    from hub.jobs import actors
    from hub.signing.setup import signing_services

    environment = suite.worker_environment(VAR_DIR / "demo-signing" / "worker")
    worker_settings = settings.model_copy(
        update={
            "redis_url": None,
            "signing_providers_file": Path(environment["HUB_SIGNING_PROVIDERS_FILE"]),
            "tsa_url": environment["HUB_TSA_URL"],
        }
    )
    broker = actors.configure(worker_settings)
    # The worker has its own event loop, so its own database engine and provider clients.
    services = signing_services(worker_settings)
    assert services is not None
    actors.set_runtime(
        actors.Runtime(worker_settings, Database(worker_settings.database_url), services)
    )
    from hub.jobs import migration, migration_actors

    migration_actors.set_enrolment(migration.simulator_enrolment(suite.back_offices))
    dramatiq.Worker(broker, worker_threads=2).start()
    console.print(
        "Jobs run in-process (no Redis): try [bold]startSigningBatch(role: PRINCIPAL, "
        "schoolId: …)[/] and follow it with [bold]hub sign watch JOB_ID[/]."
    )
    return actors.send


def _start_demo_signing(settings: Settings, school_code: str):  # type: ignore[no-untyped-def]
    """Simulated providers on loopback, the vendor school enrolled, five transcripts ready."""
    import shutil

    from hub.adapters.signing.demo import start_demo_signing
    from hub.config import VAR_DIR

    directory = VAR_DIR / "demo-signing"
    shutil.rmtree(directory, ignore_errors=True)  # fresh tokens; the PKI itself is kept
    with console.status("Starting the signing-provider simulators…"):
        suite = start_demo_signing(directory, pki_dir=settings.demo_pki_dir)
        ready = _run(_demo_transcripts(settings, suite, school_code))
    console.rule("[bold]Ký số (simulated providers, demo PKI)")
    for name, server in suite.servers.items():
        console.print(f"  {name:8} {server.url}")
    console.print(
        "The simulated phone approves 3 s after each request. Make it refuse instead:\n"
        f'  curl -X POST {suite.url("bcy")}/_sim/phone -d \'{{"answer": "REJECT"}}\'\n'
        f"  (answers: APPROVE, REJECT, IGNORE; faults: POST /_sim/faults "
        '{"server_error": 503} or {"certificate_revoked": true} …)'
    )
    if ready:
        ids = ", ".join(f'"{i}"' for i in ready["ids"])
        console.print(
            f"Five transcripts of class {ready['class']} are ready. With the vendor token, sign "
            "them as the homeroom teacher, then poll until SIGNED:"
        )
        typer.echo(
            f"mutation {{ requestTranscriptSignatures(transcriptIds: [{ids}], "
            f'role: HOMEROOM_TEACHER, signerPersonalId: "{ready["teacher"]}") '
            "{ requestId state expiresAt } }\n"
            'mutation { completeTranscriptSignatures(requestId: "…") '
            "{ state signed errorMessage } }"
        )
        console.print(
            f'Then PRINCIPAL (signerPersonalId "{ready["principal"]}"), then SCHOOL_SEAL; '
            "check with:"
        )
        typer.echo(
            f"{{ verifyTranscript(id: {ids.split(', ')[0]}) {{ verdict "
            "xml { signatures { role signerName verdict } reasons { code message } } "
            "pdf { verdict } } }"
        )
        console.print(
            "Or verify a downloaded file: [bold]hub verify hocba.pdf[/] (exit 0 valid, "
            "1 invalid, 3 indeterminate)."
        )
    return suite


async def _demo_transcripts(settings: Settings, suite, school_code: str) -> dict | None:  # type: ignore[no-untyped-def]
    """Enrol the school's signers at the simulators and make five of its transcripts ready."""
    from datetime import date

    from strawberry.relay import GlobalID

    from hub.auth.access import SCOPES, Caller
    from hub.db import models
    from hub.db.engine import Database
    from hub.domain.enums import OrgLevel, StaffRole
    from hub.transcripts import service as transcripts

    caller = Caller("demo", frozenset(SCOPES), OrgLevel.DEPARTMENT, None)
    db = Database(settings.database_url)
    try:
        async with db.unit_of_work() as session:
            school = await session.scalar(
                select(models.School).where(models.School.moet_code == school_code)
            )
            await suite.enrol_school(session, school.id)
            year = await transcripts.school_year(session, code=None)
            school_class = await session.scalar(
                select(models.SchoolClass)
                .where(
                    models.SchoolClass.school_id == school.id,
                    models.SchoolClass.school_year_id == year.id,
                    models.SchoolClass.homeroom_teacher_id.is_not(None),
                )
                .order_by(models.SchoolClass.name)
                .limit(1)
            )
            principal = await session.scalar(
                select(models.Staff.personal_id)
                .join(models.StaffAssignment)
                .where(
                    models.StaffAssignment.school_id == school.id,
                    models.StaffAssignment.role == StaffRole.PRINCIPAL,
                )
            )
            teacher = await session.get(models.Staff, school_class.homeroom_teacher_id)
            report = await transcripts.generate(
                session,
                caller=caller,
                school_year=year,
                class_ids=[school_class.id],
                base_url=settings.issuer,
                today=date.today(),
            )
            ready = []
            for transcript in report.transcripts:
                if transcript.state == "DRAFT" and len(ready) < 5:
                    await transcripts.mark_ready(
                        session, caller=caller, transcript_id=transcript.id
                    )
                    ready.append(str(GlobalID("Transcript", str(transcript.id))))
                elif transcript.state == "READY" and len(ready) < 5:
                    ready.append(str(GlobalID("Transcript", str(transcript.id))))
    finally:
        await db.dispose()
    if not ready:
        return None
    return {
        "ids": ready,
        "class": school_class.name,
        "teacher": teacher.personal_id,
        "principal": principal,
    }


if __name__ == "__main__":
    app()
