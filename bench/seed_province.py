"""Benchmark the seed: a Hà Nội-sized province into a fresh PostgreSQL database.

    .venv/bin/python bench/seed_province.py                  # 2,913 schools, ~13 M rows
    .venv/bin/python bench/seed_province.py --size district  # Long Biên, ~0.3 M rows

The database named in ``--url`` is dropped and created again through the
``postgres`` maintenance database, migrated, then seeded; the figure that
matters is total rows per second over the whole seed (generation, COPY, index
rebuild, sequence reset and ANALYZE), which should stay above 50,000 on a
two-core machine.
"""

import argparse
import asyncio
import time

import psycopg
from sqlalchemy.engine import make_url

from hub.db.engine import Database
from hub.db.migrate import upgrade
from hub.seed.generate import Size, plan
from hub.seed.load import SeedReport, seed

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench"
TARGET_ROWS_PER_SECOND = 50_000


def recreate_database(url: str) -> None:
    """Drop and create the database of ``url`` from the ``postgres`` maintenance database."""
    parsed = make_url(url)
    name = parsed.database
    if not name or name in {"postgres", "template0", "template1"}:
        raise SystemExit(f"refusing to recreate database {name!r}")
    maintenance = parsed.set(drivername="postgresql", database="postgres")
    with psycopg.connect(maintenance.render_as_string(hide_password=False), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')


def print_report(report: SeedReport, migrate_seconds: float) -> None:
    print(f"\n{'table':<22}{'rows':>12}{'seconds':>10}{'rows/s':>12}")
    for table, rows in report.rows.items():
        seconds = report.table_seconds.get(table, 0.0)
        rate = f"{report.table_rows_per_second(table):,.0f}" if seconds >= 0.01 else "-"
        print(f"{table:<22}{rows:>12,}{seconds:>10.2f}{rate:>12}")
    print(f"{'index rebuild, setval, ANALYZE':<34}{report.finish_seconds:>10.2f}")
    for step, seconds in sorted(report.finish_steps, key=lambda s: -s[1])[:8]:
        print(f"    {seconds:6.2f}  {step[:90]}")
    print(f"{'migrations (not counted)':<34}{migrate_seconds:>10.2f}")
    print(
        f"\nTOTAL {report.total_rows:,} rows in {report.seconds:.1f} s = "
        f"{report.rows_per_second:,.0f} rows/s "
        f"(size={report.size}, seed={report.seed}, indexes rebuilt: {report.rebuilt_indexes})"
    )
    verdict = "OK" if report.rows_per_second >= TARGET_ROWS_PER_SECOND else "BELOW TARGET"
    print(f"target ≥ {TARGET_ROWS_PER_SECOND:,} rows/s: {verdict}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="database to (re)create and seed")
    parser.add_argument("--size", choices=[s.value for s in Size], default=Size.PROVINCE.value)
    parser.add_argument("--seed", type=int, default=2025)
    rebuild = parser.add_mutually_exclusive_group()
    rebuild.add_argument("--rebuild-indexes", dest="rebuild", action="store_true", default=None)
    rebuild.add_argument("--keep-indexes", dest="rebuild", action="store_false")
    args = parser.parse_args()

    estimate = plan(args.size, seed=args.seed).estimated_rows()
    print(f"seeding {args.size}: ~{sum(estimate.values()):,} rows into {args.url}")
    recreate_database(args.url)
    db = Database(args.url)
    try:
        began = time.perf_counter()
        await upgrade(db.engine)
        migrate_seconds = time.perf_counter() - began

        last_shown = [0.0]

        def progress(table: str, done: int) -> None:
            now = time.perf_counter()
            if now - last_shown[0] >= 5:
                last_shown[0] = now
                print(f"  {now - began:6.1f} s  {table:<22}{done:>12,}", flush=True)

        report = await seed(
            db, size=args.size, seed=args.seed, progress=progress, rebuild_indexes=args.rebuild
        )
        print_report(report, migrate_seconds)
    finally:
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
