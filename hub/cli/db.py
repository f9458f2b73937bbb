"""``hub db``: the database schema."""

import typer

from hub.cli.common import console, database, run, safe_url
from hub.config import get_settings

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the migrations (creates the database from empty)."""
    from hub.db.migrate import upgrade

    settings = get_settings()

    async def go() -> None:
        async with database(settings) as db:
            await upgrade(db.engine, revision)

    run(go())
    console.print(f"[green]Schema at {revision}[/] on {safe_url(settings.database_url)}")


@app.command("tallies")
def db_tallies(
    compact: bool = typer.Option(False, "--compact", help="Fold each tally's deltas first"),
) -> None:
    """Check the report tallies against a recount of their rows (slow on a province);
    exit 1 if any count differs. ``--compact`` folds their deltas first."""
    from hub.db import tallies

    settings = get_settings()

    async def go() -> int:
        wrong = 0
        async with database(settings) as db:
            for tally in tallies.TALLIES:
                async with db.unit_of_work() as session:
                    rows = await tallies.compact(session, tally) if compact else None
                    differences = await tallies.differences(session, tally)
                kept = f", {rows:,} rows after compaction" if rows is not None else ""
                if differences:
                    wrong += 1
                    console.print(f"[red]{tally.table}: {len(differences)} counts differ{kept}[/]")
                    for key in differences[:20]:
                        console.print(f"  {key[:-2]}: kept {key[-2]}, counted {key[-1]}")
                else:
                    console.print(f"[green]{tally.table}: every count agrees{kept}[/]")
        return wrong

    if run(go()):
        raise typer.Exit(1)
