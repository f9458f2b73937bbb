"""``hub people``: the roles an operator grants: the department's (cán bộ Sở) and an
admission service's officer (cán bộ tuyển sinh, ``--admission``).

Every other role comes from the records (assignments, classes, verified guardian
links); these are granted by hand, and revoking one takes effect at the person's
next request in every API process.
"""

from typing import Annotated

import typer
from rich.table import Table

from hub.cli.common import console, database, run
from hub.config import get_settings

app = typer.Typer(
    help="Roles granted to people: the department's (cán bộ Sở) and admission officers.",
    no_args_is_help=True,
)


@app.command("grant")
def people_grant(
    personal_id: Annotated[str, typer.Argument(help="The person's 12-digit personal ID")],
    name: Annotated[str, typer.Option(help="Full name, as on the ID card")],
    granted_by: Annotated[str, typer.Option(help="Who grants it (for the record)")] = "operator",
    district: Annotated[
        str | None,
        typer.Option(help="A district's code: the role of that district office's officer"),
    ] = None,
    admission: Annotated[
        str | None,
        typer.Option(
            help="An admission service's client id: the role of its officer, who looks up "
            "transcripts shared with it under consent at /admission"
        ),
    ] = None,
) -> None:
    """Grant the department role; the person signs in and acts for the department (or,
    with --district, for that district office's schools only). With --admission, make
    them an officer of that admission service instead."""
    from hub.auth.people import OfficerError, grant_admission_officer, grant_officer

    if district is not None and admission is not None:
        console.print("[red]--district and --admission grant different roles: give one.[/]")
        raise typer.Exit(2)

    async def go() -> str:
        async with database(get_settings()) as db, db.unit_of_work() as session:
            if admission is not None:
                return await grant_admission_officer(
                    session,
                    personal_id=personal_id,
                    full_name=name,
                    client_id=admission,
                    granted_by=granted_by,
                )
            return await grant_officer(
                session,
                personal_id=personal_id,
                full_name=name,
                granted_by=granted_by,
                district_code=district,
            )

    try:
        stored = run(go())
    except OfficerError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(2) from error
    if admission is not None:
        console.print(f"{stored} is now an officer of the admission service {admission}.")
        return
    console.print(f"Granted the department role to {stored}.")


@app.command("revoke")
def people_revoke(
    personal_id: Annotated[str, typer.Argument(help="The person's 12-digit personal ID")],
    admission: Annotated[
        bool, typer.Option("--admission", help="Take the admission officer's role away instead")
    ] = False,
) -> None:
    """Take the department role (or, with --admission, the admission officer's) away, at
    once."""
    from hub.auth.people import revoke_admission_officer, revoke_officer

    async def go() -> bool:
        async with database(get_settings()) as db, db.unit_of_work() as session:
            revoke = revoke_admission_officer if admission else revoke_officer
            return await revoke(session, personal_id=personal_id)

    if not run(go()):
        role = "admission officer's" if admission else "department"
        console.print(f"[yellow]No such {role} role in force.[/]")
        raise typer.Exit(1)
    console.print("Revoked.")


@app.command("list")
def people_list() -> None:
    """Everyone who holds or held the department role, then the admission officers."""
    from hub.auth.people import admission_officers, officers
    from hub.domain.personal_data import mask_personal_id

    Row = tuple[str, str, str, str, str, str]

    async def go() -> tuple[list[Row], list[Row]]:
        async with database(get_settings()) as db, db.sessions() as session:
            department = [
                (
                    mask_personal_id(o.personal_id),
                    o.full_name,
                    "" if o.district_id is None else str(o.district_id),
                    o.granted_by,
                    str(o.granted_at)[:19],
                    "" if o.revoked_at is None else str(o.revoked_at)[:19],
                )
                for o in await officers(session)
            ]
            admission = [
                (
                    mask_personal_id(o.personal_id),
                    o.full_name,
                    o.client_id,
                    o.granted_by,
                    str(o.granted_at)[:19],
                    "" if o.revoked_at is None else str(o.revoked_at)[:19],
                )
                for o in await admission_officers(session)
            ]
            return department, admission

    department, admission = run(go())
    table = Table("personal ID", "name", "district id", "granted by", "granted", "revoked")
    for row in department:
        table.add_row(*row)
    console.print(table)
    officers_table = Table(
        "personal ID",
        "name",
        "admission service",
        "granted by",
        "granted",
        "revoked",
        title="Admission officers (cán bộ tuyển sinh)",
    )
    for row in admission:
        officers_table.add_row(*row)
    console.print(officers_table)
