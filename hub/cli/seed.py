"""``hub seed``: fill an empty database with a deterministic demo province."""

from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import TaskID

from hub.cli.common import console, database, run
from hub.cli.progress import progress_bar
from hub.config import get_settings

if TYPE_CHECKING:
    from hub.db.engine import Database
    from hub.seed.load import SeedReport


def seed(
    size: Annotated[str, typer.Option(help="school | demo | district | province")] = "demo",
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same province")] = 2025,
) -> None:
    """Fill an empty database with a realistic demo province."""
    settings = get_settings()

    async def go() -> None:
        async with database(settings) as db:
            await seed_database(db, size=size, seed=seed)

    run(go())


async def seed_database(db: "Database", *, size: str, seed: int) -> "SeedReport":
    """Seed ``db`` with one progress bar per table; print and return the report."""
    from hub.seed.load import seed as load_seed

    with progress_bar(totals=False) as bar:
        tasks: dict[str, TaskID] = {}

        def report(table: str, done: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(table, total=None)
            bar.update(tasks[table], completed=done)

        result = await load_seed(db, size=size, seed=seed, progress=report)
    console.print(
        f"[green]Seeded[/] {result.total_rows:,} rows in {result.seconds:.1f} s "
        f"({result.rows_per_second:,.0f} rows/s)"
    )
    return result
