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
