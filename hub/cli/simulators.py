"""``hub simulators``: the far sides ``hub demo`` simulates, as a process of their own.

What ``hub demo`` starts inside itself — every signing provider with the demo PKI (CRL,
OCSP, TSA), the national sector database, transcript store and population database, the
identity providers (VNeID, the provincial SSO) and a mail catcher — started alone, so a
hub run as production runs it (``hub serve`` and ``hub worker`` processes, configured by
``HUB_*`` variables only) can sign, sync and sign people in against them: the local
production stack (``deploy/local-stack``). It enrols one school's signers and readies
five transcripts as the demo does (:mod:`hub.demo`), writes the ``HUB_*`` settings that
point a hub at the simulators to ``--state-file`` (JSON), and serves until stopped.
The simulators keep their state in memory: restart the hub's processes, not them.
"""

import json
import os
import shutil
import signal
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.cli.common import console, run
from hub.config import VAR_DIR, Settings, get_settings


def simulators(
    directory: Annotated[
        Path, typer.Option(help="Where the simulators keep tokens and the providers file")
    ] = VAR_DIR / "simulators",
    state_file: Annotated[
        Path | None,
        typer.Option(help="Write the HUB_* settings for the hub and the servers here (JSON)"),
    ] = None,
    school: Annotated[
        str | None,
        typer.Option(help="The school whose signers to enrol (default: the demo's, as hub demo)"),
    ] = None,
    phone_delay: Annotated[
        float, typer.Option(help="Seconds the simulated phone takes to approve")
    ] = 3.0,
    max_batch: Annotated[
        int | None, typer.Option(help="Digests one provider transaction may carry")
    ] = None,
) -> None:
    """Start the signing, national, population, identity and mail simulators; serve."""
    from hub.adapters.mail.simulator import MailCatcher
    from hub.demo.identity import demo_people, start_identity
    from hub.demo.seal import SEAL_SWITCHED_OFF, seal_tokens_available
    from hub.demo.signing import start_demo_signing
    from hub.demo.transcripts import enrol_and_ready

    settings = get_settings()
    code = school or run(_demo_school(settings))
    for part in ("providers", "national", "hub"):  # fresh tokens; the PKI itself is kept
        shutil.rmtree(directory / part, ignore_errors=True)
    seal = seal_tokens_available()
    with console.status("Starting the simulators…"):
        suite = start_demo_signing(
            directory / "providers", confirm_delay=phone_delay, pki_dir=settings.demo_pki_dir
        )
        if max_batch is not None:
            for back_office in suite.back_offices.values():
                back_office.max_batch = max_batch
        suite.accept_hub_callback(settings.issuer)
        ready = run(enrol_and_ready(settings, suite, code, seal=seal))
        identity = start_identity(settings, run(demo_people(settings, code)))
        national = run(_start_national(settings, suite, directory / "national"))
        mails = MailCatcher().start()
    environment = {
        **suite.worker_environment(directory / "hub"),
        **identity.vneid.env,
        **identity.oidc.env,
        **national.environment(),
        **_environment(mails.settings),
    }
    servers = {name: server.url for name, server in suite.servers.items()}
    servers |= {name: server.url for name, server in national.servers.items()}
    servers |= {"vneid": identity.vneid.base_url, "sso": identity.oidc.base_url}
    servers["smtp"] = f"smtp://{mails.host}:{mails.port}"
    for name, url in servers.items():
        console.print(f"  {name:10} {url}")
    if not seal:
        console.print(f"[yellow]{SEAL_SWITCHED_OFF}[/]")
    if ready is not None:
        console.print(
            f"{len(ready.ids)} transcripts of class {ready.class_name} ({code}) are ready to sign."
        )
    if state_file is not None:
        state = {
            "pid": os.getpid(),
            "school": code,
            "environment": environment,
            "servers": servers,
            "ready": asdict(ready) if ready is not None else None,
            "people": [asdict(person) for person in identity.people],
            "seal": seal,
            "signed_batches": national.signed,
        }
        _write_private(state_file, json.dumps(state, indent=2, default=str))
    stopped = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stopped.set())
    console.print("Simulators running; stop with SIGTERM or Ctrl-C.")
    stopped.wait()
    mails.stop()
    identity.stop()
    national.stop()
    run(suite.aclose())


async def _demo_school(settings: Settings) -> str:
    """The school ``hub demo`` gives its vendor client: the first lower-secondary one."""
    from sqlalchemy import select

    from hub.cli.common import database
    from hub.db.models import School
    from hub.domain.enums import SchoolLevel

    async with database(settings) as db, db.sessions() as session:
        code = await session.scalar(
            select(School.moet_code)
            .where(School.level == SchoolLevel.LOWER_SECONDARY)
            .order_by(School.id)
            .limit(1)
        )
    if code is None:
        console.print("[red]No lower-secondary school: seed the database first (hub seed).[/]")
        raise typer.Exit(2)
    return code


async def _start_national(settings: Settings, suite: Any, directory: Path) -> Any:
    from hub.cli.common import database
    from hub.demo.national import start_national

    async with database(settings) as db:
        return await start_national(db, suite, directory=directory, department_user="SO-GDDT")


def _environment(values: dict[str, Any]) -> dict[str, str]:
    """Settings (by field name) as ``HUB_*`` variables."""
    return {
        f"HUB_{name.upper()}": str(value).lower() if isinstance(value, bool) else str(value)
        for name, value in values.items()
    }


def _write_private(path: Path, text: str) -> None:
    """``text`` to ``path`` (readable by its owner only), whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.chmod(0o600)
    partial.replace(path)
