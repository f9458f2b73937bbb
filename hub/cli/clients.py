"""``hub clients``: register and manage API clients (vendor apps, admission, staff tools)."""

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.panel import Panel
from rich.table import Table

from hub.cli.common import console, database, run
from hub.config import get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

app = typer.Typer(
    help="API clients (vendor apps, admission services, staff tools).", no_args_is_help=True
)


@app.command("create")
def clients_create(
    name: Annotated[str, typer.Option(help="Who the client is, e.g. 'vnEdu – THCS Gia Thụy'")],
    kind: Annotated[str, typer.Option(help="VENDOR | ADMISSION | DEPARTMENT_TOOL")] = "VENDOR",
    scope: Annotated[list[str], typer.Option(help="OAuth2 scope; repeat for several")] = [],  # noqa: B006
    org: Annotated[str, typer.Option(help="DEPARTMENT | DISTRICT | SCHOOL")] = "SCHOOL",
    district: Annotated[list[str], typer.Option(help="District code; repeat")] = [],  # noqa: B006
    school: Annotated[list[str], typer.Option(help="School ministry code; repeat")] = [],  # noqa: B006
    redirect_uri: Annotated[
        list[str],
        typer.Option(help="Redirect URI of an app that acts for people (PKCE); repeat"),
    ] = [],  # noqa: B006
    as_json: Annotated[bool, typer.Option("--json", help="Print id and secret as JSON")] = False,
) -> None:
    """Register an API client; its secret is shown once."""
    from hub.auth.clients import create_client
    from hub.domain.enums import ClientKind, OrgLevel

    try:  # an unknown kind or organisation level is a ValueError, raised in the session
        client = _in_session(
            lambda session: create_client(
                session,
                name=name,
                kind=ClientKind(kind.upper()),
                scopes=scope,
                org_level=OrgLevel(org.upper()),
                district_codes=district,
                school_codes=school,
                redirect_uris=redirect_uri,
            )
        )
    except ValueError as error:
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


def _in_session(change: Callable[["AsyncSession"], Awaitable[Any]]) -> Any:
    """Run ``change(session)`` in one transaction; a ClientError exits 2 with its text."""
    from hub.auth.clients import ClientError

    settings = get_settings()

    async def go() -> Any:
        async with database(settings) as db, db.unit_of_work() as session:
            return await change(session)

    try:
        return run(go())
    except ClientError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(2) from error


@app.command("list")
def clients_list(
    include_deleted: Annotated[bool, typer.Option("--all", help="Deleted ones too")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False,
) -> None:
    """The registered clients (never their secrets)."""
    from hub.auth.clients import list_clients

    clients = _in_session(lambda s: list_clients(s, include_deleted=include_deleted))
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


@app.command("disable")
def clients_disable(client_id: Annotated[str, typer.Argument(help="hub_…")]) -> None:
    """Disable a client: new tokens are refused and its tokens stop at once."""
    from hub.auth.clients import set_disabled

    _in_session(lambda s: set_disabled(s, client_id, True))
    console.print(f"[green]{client_id} disabled[/]; its tokens are refused from now on.")


@app.command("enable")
def clients_enable(client_id: Annotated[str, typer.Argument(help="hub_…")]) -> None:
    """Enable a disabled client (tokens from before it was disabled stay refused)."""
    from hub.auth.clients import set_disabled

    _in_session(lambda s: set_disabled(s, client_id, False))
    console.print(f"[green]{client_id} enabled[/]; it must ask for new tokens.")


@app.command("rotate-secret")
def clients_rotate_secret(
    client_id: Annotated[str, typer.Argument(help="hub_…")],
    as_json: Annotated[bool, typer.Option("--json", help="Print id and secret as JSON")] = False,
) -> None:
    """A new secret, shown once; the old secret and every token issued before stop at once."""
    from hub.auth.clients import rotate_secret

    client = _in_session(lambda s: rotate_secret(s, client_id))
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


@app.command("delete")
def clients_delete(
    client_id: Annotated[str, typer.Argument(help="hub_…")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask")] = False,
) -> None:
    """Delete a client for good; its row stays so the access log still names it."""
    from hub.auth.clients import delete_client

    if not yes:
        typer.confirm(f"Delete {client_id} for good?", abort=True)
    _in_session(lambda s: delete_client(s, client_id))
    console.print(f"[green]{client_id} deleted[/]; its tokens are refused from now on.")
