"""``hub demo``: a demo province, tokens, example queries, simulated signing, served.

The orchestration lives in :mod:`hub.demo`; this module prints what it made.
"""

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from hub.cli.common import console, run
from hub.cli.seed import seed_database
from hub.config import Settings, get_settings

if TYPE_CHECKING:
    from hub.demo.transcripts import ReadyTranscripts

#: The demo province's size and seed.
DEMO_SIZE, DEMO_SEED = "demo", 2025


def demo(
    port: Annotated[int | None, typer.Option()] = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Prepare and print only")] = False,
) -> None:
    """Migrate, seed a demo province, print tokens and example queries, and serve."""
    from hub.demo.province import prepare_province
    from hub.demo.queries import EXAMPLE_QUERIES

    settings = get_settings()
    if port is not None:
        settings = settings.model_copy(update={"port": port})
    access = run(
        prepare_province(
            settings, seed=lambda db: seed_database(db, size=DEMO_SIZE, seed=DEMO_SEED)
        )
    )
    base = settings.issuer
    console.rule("[bold]hub — demo province (Sở GDĐT Hà Nội, dữ liệu mẫu)")
    console.print(
        f"GraphiQL:  [link]{base}/graphql[/]   health: {base}/health   metrics: {base}/metrics"
    )
    console.print("In GraphiQL, open [bold]Headers[/] and paste one of these (valid 8 hours):")
    console.print("[bold]Department-wide client (whole Sở):[/]")
    typer.echo(f'{{"Authorization": "Bearer {access.department_token}"}}')
    school = f"{access.vendor_school_code} – {access.vendor_school_name}"
    console.print(f"[bold]Vendor app of one school ({school}):[/]")
    typer.echo(f'{{"Authorization": "Bearer {access.vendor_token}"}}')
    console.print("A vendor app gets its own token with client credentials:")
    console.print(
        f"  curl -s -u {access.vendor_id}:{access.vendor_secret} "
        f"-d grant_type=client_credentials {base}/oauth/token"
    )
    table = Table(title="Try these queries", show_lines=True)
    table.add_column("what")
    table.add_column("query")
    for title, query in EXAMPLE_QUERIES.items():
        table.add_row(title, query)
    console.print(table)
    suite = _start_signing(settings, access.vendor_school_code)
    settings = _start_identity(settings, access.vendor_school_code)
    settings = _start_national(settings, suite)
    if not no_serve:
        import uvicorn

        from hub.adapters.mail.simulator import MailCatcher
        from hub.demo.jobs import simulator_enrolment, start_in_process_jobs

        mails = MailCatcher().start()
        settings = settings.model_copy(update=mails.settings)
        console.print(
            f"Mails (outage notices to the people who sign with a provider that is down) "
            f"are caught on {mails.host}:{mails.port} and shown at [link]{base}/demo/mails[/]. "
            f"Stop a provider to see one: curl -X POST {suite.url('bcy')}/_sim/faults "
            """-d '{"server_error": 503}' (and {} to bring it back)"""
        )
        from hub.heap import settle_heap
        from hub.web.app import create_app

        send_jobs = start_in_process_jobs(settings, suite)
        console.print(
            "Jobs run in-process (no Redis): try [bold]startSigningBatch(role: PRINCIPAL, "
            "schoolId: …)[/] and follow it with [bold]hub sign watch JOB_ID[/]."
        )
        app = create_app(
            settings,
            signing=suite.signing,
            send_jobs=send_jobs,
            enrolment=simulator_enrolment(suite),
            mails=mails,
        )
        settle_heap()
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            access_log=False,
        )


def _start_signing(settings: Settings, school_code: str) -> Any:
    """Simulated providers on loopback, the vendor school enrolled, five transcripts ready."""
    import shutil

    from hub.config import VAR_DIR
    from hub.demo.seal import SEAL_SWITCHED_OFF, seal_tokens_available
    from hub.demo.signing import start_demo_signing
    from hub.demo.transcripts import enrol_and_ready

    seal = seal_tokens_available()
    directory = VAR_DIR / "demo-signing"
    shutil.rmtree(directory, ignore_errors=True)  # fresh tokens; the PKI itself is kept
    with console.status("Starting the signing-provider simulators…"):
        suite = start_demo_signing(directory, pki_dir=settings.demo_pki_dir)
        suite.accept_hub_callback(settings.issuer)
        ready = run(enrol_and_ready(settings, suite, school_code, seal=seal))
    console.rule("[bold]Ký số (simulated providers, demo PKI)")
    for name, server in suite.servers.items():
        console.print(f"  {name:8} {server.url}")
    if not seal:
        console.print(f"[yellow]{SEAL_SWITCHED_OFF}[/]")
    console.print(
        "The simulated phone approves 3 s after each request. Make it refuse instead:\n"
        f'  curl -X POST {suite.url("bcy")}/_sim/phone -d \'{{"answer": "REJECT"}}\'\n'
        f"  (answers: APPROVE, REJECT, IGNORE; faults: POST /_sim/faults "
        '{"server_error": 503} or {"certificate_revoked": true} …)'
    )
    if ready:
        _print_signing_steps(ready, seal=seal)
    else:
        console.print(
            "[yellow]No transcript could be readied: the demo school's gradebook is empty. "
            "A database seeded before the demo wrote gradebooks has none: remove it "
            "(`make clean`) and run `make demo` again.[/]"
        )
    return suite


def _start_identity(settings: Settings, school_code: str) -> Settings:
    """The identity simulators with the demo people; the settings that use them."""
    from hub.demo.identity import demo_people, start_identity

    people = run(demo_people(settings, school_code))
    with console.status("Starting the sign-in simulators (VNeID, SSO của tỉnh)…"):
        identity = start_identity(settings, people)
    base = settings.issuer
    console.rule("[bold]Đăng nhập (simulated VNeID and provincial SSO)")
    console.print(
        f"Open [link]{base}/login[/], choose VNeID or the provincial SSO, then pick one of "
        f"these people on the simulator's page and open their page ([link]{base}/me[/] "
        "shows what the hub's records let them do). Anyone checks a transcript at "
        f"[link]{base}/verify[/] (or its QR code's /verify/… address):"
    )
    table = Table(show_header=True)
    table.add_column("vai trò")
    table.add_column("họ và tên")
    table.add_column("mã định danh")
    table.add_column("trang của họ")
    pages = {
        "Giáo": "/sign",
        "Hiệu": "/sign",
        "Cha": "/family",
        "Học": "/family",
        "Tuyển": "/admission",
    }
    for person in people:
        page = pages.get(person.role.split()[0], "/dashboard")
        table.add_row(person.role, person.full_name, person.personal_id, page)
    console.print(table)
    console.print(
        "The pupil's VNeID account is level 1: staff need level 2 "
        "(HUB_STAFF_MIN_ACCOUNT_LEVEL). An app acting for a signed-in teacher uses "
        f"{base}/oauth/authorize (authorization code with PKCE; register it with "
        "[bold]hub clients create --redirect-uri …[/])."
    )
    return settings.model_copy(update=identity.settings)


def _start_national(settings: Settings, suite: Any) -> Settings:
    """The national systems simulated, the department's key on its token; the settings that
    use them, and how to try a sync."""
    import shlex

    from hub.config import VAR_DIR
    from hub.db.engine import Database
    from hub.demo.national import UNSIGNED, start_national

    async def start() -> Any:
        db = Database(settings.database_url)
        try:
            return await start_national(
                db,
                suite,
                directory=VAR_DIR / "demo-signing" / "national",
                department_user="SO-GDDT",
            )
        finally:
            await db.dispose()

    with console.status("Starting the national systems' simulators…"):
        national = run(start())
    console.rule("[bold]Đồng bộ quốc gia (simulated sector database, transcript store, C06)")
    for name, server in national.servers.items():
        console.print(f"  {name:10} {server.url}")
    if national.signed:
        console.print(
            "Every batch is signed with the department's organisation key (a PKCS#11 token, "
            "HUB_NATIONAL_SIGNER_*); the simulators verify it against the demo roots and "
            "refuse a batch whose signature is missing or wrong (NATIONAL_SIGNATURE_REFUSED)."
        )
    else:
        console.print(f"[yellow]{UNSIGNED}[/]")
    console.print("With the department-wide token, start a run and follow it (or at /dashboard):")
    typer.echo(
        "mutation { startSync { runId state phases } }\n"
        'query { syncRun(runId: "…") { state phase reasonCode reason '
        "students { sent accepted } transcripts { sent published } } }"
    )
    environment = {"HUB_DATABASE_URL": settings.database_url, **national.environment()}
    console.print("Or from another terminal, in this directory:")
    typer.echo(
        " ".join(f"{k}={shlex.quote(v)}" for k, v in environment.items()) + " hub sync national"
    )
    console.print(
        "See a run stuck waiting on a far side, and cancel it: make the sector database slow "
        f"with curl -X POST {national.servers['sector'].url}/_sim/faults "
        """-d '{"slow_seconds": 600}', start a run, then """
        'mutation { cancelSync(runId: "…") { state reason } } (and {} to mend the far side).'
    )
    return settings.model_copy(update=national.settings)


def _print_signing_steps(ready: "ReadyTranscripts", *, seal: bool) -> None:
    ids = ", ".join(f'"{i}"' for i in ready.ids)
    console.print(
        f"{len(ready.ids)} transcripts of class {ready.class_name} are ready, with the year's "
        "results. With the vendor token, sign them as the homeroom teacher, then poll until "
        "SIGNED:"
    )
    typer.echo(
        f"mutation {{ requestTranscriptSignatures(transcriptIds: [{ids}], "
        f'role: HOMEROOM_TEACHER, signerPersonalId: "{ready.teacher_personal_id}") '
        "{ requestId state expiresAt } }\n"
        'mutation { completeTranscriptSignatures(requestId: "…") '
        "{ state signed errorMessage } }"
    )
    then = "then SCHOOL_SEAL; " if seal else "(the seal is switched off on this machine); "
    console.print(
        f'Then PRINCIPAL (signerPersonalId "{ready.principal_personal_id}"), {then}check with:'
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
