"""Benchmark: p95 latency of the department's dashboard pages (issue 12: < 300 ms over a
Hà Nội-sized province).

`hub serve` on PostgreSQL, a department officer's browser session made directly in
the session store, one load generator (wrk with a Lua script that reports the 95th
percentile, or an httpx fallback), one page after the other. Prints p50, p95, p99 and
the request rate of each:

    python bench/dashboard.py [--database-url URL] [--size demo] [--duration 10]

At the province size, seed first (``bench/seed_province.py``, then
``bench/province_transcripts.py`` so signing progress counts something) and point
``--database-url`` at that database. Figures the pages count ahead
(``HUB_DASHBOARD_REFRESH_SECONDS``) are counted once before the measurement.
"""

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import hub_env, prepare, start, wrk
from sqlalchemy import func, select

from hub.adapters.identity.base import Identity
from hub.auth.people import grant_officer
from hub.auth.sessions import SessionStore
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database

OFFICER = ("079070000001", "Cán Bộ Đo Tải")
#: Every dashboard page, the drill-downs at the district and the school with most pupils.
PAGES = (
    "/dashboard",
    "/dashboard/coverage?district={district}",
    "/dashboard/staff?school={school}",
    "/dashboard/signing",
    "/dashboard/signing?district={district}",
    "/dashboard/signing?school={school}",
    "/dashboard/providers",
    "/dashboard/migrations",
    "/dashboard/batches",
    "/dashboard/sync",
    "/dashboard/pupils",
    "/dashboard/pupils/district?district={district}",
    "/dashboard/pupils/school?school={school}",
)


async def officer_session(url: str, key_file: Path) -> str:
    """A session cookie's value for a department officer (granted as ``hub people grant``
    grants it: again, if need be)."""
    settings = Settings(database_url=url, token_key_file=key_file, public_url="http://bench.hub")
    db = Database(url)
    personal_id, name = OFFICER
    async with db.unit_of_work() as session:
        name = await grant_officer(
            session, personal_id=personal_id, full_name=name, granted_by="bench"
        )
    token = await SessionStore(db, settings).create(
        Identity("vneid", "bench", personal_id, name, account_level=2), name
    )
    await db.dispose()
    return token


async def busiest(url: str) -> tuple[int, int]:
    """The school with most pupils, and its district."""
    db = Database(url)
    try:
        async with db.sessions() as session:
            school_id = await session.scalar(
                select(models.Student.school_id)
                .where(models.Student.school_id.is_not(None))
                .group_by(models.Student.school_id)
                .order_by(func.count().desc())
                .limit(1)
            )
            school = await session.get(models.School, school_id)
            assert school is not None
            return school.district_id, school.id
    finally:
        await db.dispose()


async def with_httpx(url: str, cookie: str, duration: int, connections: int) -> dict[str, float]:
    latencies: list[float] = []
    stop = time.monotonic() + duration

    async def worker(client: httpx.AsyncClient) -> None:
        while time.monotonic() < stop:
            began = time.perf_counter()
            response = await client.get(url)
            response.raise_for_status()
            latencies.append((time.perf_counter() - began) * 1000)

    async with httpx.AsyncClient(headers={"Cookie": cookie}) as client:
        await asyncio.gather(*(worker(client) for _ in range(connections)))
    cuts = statistics.quantiles(latencies, n=100)
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "rate": len(latencies) / duration}


def measure(url: str, cookie: str, duration: int, connections: int) -> dict[str, float]:
    if shutil.which("wrk"):
        return wrk(url, cookie, duration, connections)
    return asyncio.run(with_httpx(url, cookie, duration, connections))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_graphql"
    )
    parser.add_argument("--size", default="demo")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--port", type=int, default=8611)
    parser.add_argument("--only", default="", help="measure only paths holding this text")
    args = parser.parse_args()
    key_file = Path(tempfile.mkdtemp(prefix="hub-bench-")) / "key.pem"
    asyncio.run(prepare(args.database_url, args.size, key_file))
    token = asyncio.run(officer_session(args.database_url, key_file))
    cookie = f"hub_session={token}"
    env = hub_env(args.database_url, key_file)
    hub = start(
        [str(Path(sys.executable).parent / "hub"), "serve", "--port", str(args.port)],
        env,
        args.port,
    )
    district, school = asyncio.run(busiest(args.database_url))
    results = []
    try:
        for path in PAGES:
            if args.only not in path:
                continue
            url = f"http://127.0.0.1:{args.port}" + path.format(district=district, school=school)
            began = time.perf_counter()
            page = httpx.get(url, headers={"Cookie": cookie}, timeout=120)
            first = (time.perf_counter() - began) * 1000
            assert page.status_code == 200 and "dashboard-menu" in page.text, (
                path,
                page.status_code,
            )
            measure(url, cookie, 2, args.connections)  # warm up
            results.append((path, first, measure(url, cookie, args.duration, args.connections)))
            print(f"  {path:50} p95 {results[-1][2]['p95']:7.1f} ms")
    finally:
        hub.terminate()
        hub.wait()
    print(f"\nDashboard ({args.size}), {args.connections} connections, {args.duration} s each")
    print(f"{'page':50} {'first':>8} {'p50':>7} {'p95':>7} {'p99':>7} {'req/s':>7}")
    for path, first, figures in results:
        print(
            f"{path:50} {first:8.1f} {figures['p50']:7.1f} {figures['p95']:7.1f} "
            f"{figures['p99']:7.1f} {figures['rate']:7.1f}"
        )
    worst = max(results, key=lambda item: item[2]["p95"])
    print(f"worst p95: {worst[0]} {worst[2]['p95']:.1f} ms (target < 300 ms)")


if __name__ == "__main__":
    main()
