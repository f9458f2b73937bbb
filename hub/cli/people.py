"""``hub people``: the department roles an operator grants (cán bộ Sở).

Every other role comes from the records (assignments, classes, verified guardian
links); this one is granted by hand, and revoking it takes effect at the person's
next request in every API process.
"""

from typing import Annotated

import typer
from rich.table import Table

from hub.cli.common import console, database, run
from hub.config import get_settings

app = typer.Typer(help="Department roles granted to people (cán bộ Sở).", no_args_is_help=True)


@app.command("grant")
def people_grant(
    personal_id: Annotated[str, typer.Argument(help="The person's 12-digit personal ID")],
    name: Annotated[str, typer.Option(help="Full name, as on the ID card")],
    granted_by: Annotated[str, typer.Option(help="Who grants it (for the record)")] = "operator",
) -> None:
    """Grant the department role; the person signs in and acts for the department."""
    from hub.auth.people import OfficerError, grant_officer

    async def go() -> str:
        async with database(get_settings()) as db, db.unit_of_work() as session:
            return await grant_officer(
                session, personal_id=personal_id, full_name=name, granted_by=granted_by
            )

    try:
        stored = run(go())
    except OfficerError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(2) from error
    console.print(f"Granted the department role to {stored}.")


@app.command("revoke")
def people_revoke(
    personal_id: Annotated[str, typer.Argument(help="The person's 12-digit personal ID")],
) -> None:
    """Take the department role away, at once."""
    from hub.auth.people import revoke_officer

    async def go() -> bool:
        async with database(get_settings()) as db, db.unit_of_work() as session:
            return await revoke_officer(session, personal_id=personal_id)

    if not run(go()):
        console.print("[yellow]No such department role in force.[/]")
        raise typer.Exit(1)
    console.print("Revoked.")


@app.command("list")
def people_list() -> None:
    """Everyone who holds or held the department role."""
    from hub.auth.people import officers
    from hub.domain.personal_data import mask_personal_id

    async def go() -> list[tuple[str, str, str, str, str]]:
        async with database(get_settings()) as db, db.sessions() as session:
            return [
                (
                    mask_personal_id(o.personal_id),
                    o.full_name,
                    o.granted_by,
                    str(o.granted_at)[:19],
                    "" if o.revoked_at is None else str(o.revoked_at)[:19],
                )
                for o in await officers(session)
            ]

    table = Table("personal ID", "name", "granted by", "granted", "revoked")
    for row in run(go()):
        table.add_row(*row)
    console.print(table)
