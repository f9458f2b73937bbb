"""Benchmark: reading the change feed at province size — the streamed feed (``GET
/changes``, NDJSON) and, for comparison, the GraphQL ``changes`` query page after page.

A department client (every scope a sync reads with: records, certificates, transcripts,
personal IDs) reads ``--changes`` changes from each starting point (the feed's start,
its middle, and — in the GraphQL run — the same) as a follower catching up would: one
request after the other, each line parsed (orjson) and counted on the client. With
``--masked`` the client lacks ``personal-ids:read`` and ``contacts:read`` (the values
are masked in SQL). Every node read is written to the access log as it is sent: the
rows the run added to ``access_log`` are printed with the rate. Printed per run:
changes, seconds, changes/s, MB/s, and the machine's CPU use.

Seed first (a Hà Nội-sized province, 13 M rows, ~6.8 M changes):

    .venv/bin/python bench/seed_province.py
    .venv/bin/python bench/change_feed.py                      # stream + GraphQL
    .venv/bin/python bench/change_feed.py --changes 1000000 --masked
"""

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
from _common import ISSUER, hub_env, start_hub
from sqlalchemy import func, select

from hub.auth.clients import create_client
from hub.auth.tokens import TokenIssuer, load_signing_key
from hub.config import Settings
from hub.db.engine import Database
from hub.db.models import AccessLog, ChangeCounter
from hub.domain.enums import ClientKind, OrgLevel
from hub.fastpath.feed import FEED_QUERY

PORT = 8607
SCOPES = [
    "changes:read",
    "students:read",
    "staff:read",
    "certificates:read",
    "transcripts:read",
]
UNMASKED = ["personal-ids:read", "contacts:read"]


async def _token(url: str, key_file: Path, masked: bool) -> tuple[str, int]:
    """A department client's token and the feed's last version."""
    db = Database(url)
    async with db.unit_of_work() as session:
        client = await create_client(
            session,
            name="bench change feed",
            kind=ClientKind.DEPARTMENT_TOOL,
            org_level=OrgLevel.DEPARTMENT,
            scopes=SCOPES if masked else SCOPES + UNMASKED,
        )
        head = await session.scalar(select(ChangeCounter.value))
    await db.dispose()
    settings = Settings(database_url=url, token_key_file=key_file, public_url=ISSUER)
    issuer = TokenIssuer(load_signing_key(settings), issuer=ISSUER, lifetime_seconds=3600)
    return issuer.issue(client.client_id, frozenset(client.scopes))[0], head or 0


async def _logged(url: str) -> int:
    db = Database(url)
    async with db.sessions() as session:
        found = await session.scalar(select(func.max(AccessLog.id)))
    await db.dispose()
    return found or 0


def _cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    fields = [float(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _stream(client: httpx.Client, since: int, changes: int) -> tuple[int, int, float]:
    """Read ``changes`` changes from ``since`` in streams of at most the server's limit:
    (changes read, bytes, seconds)."""
    read = size = 0
    started = time.perf_counter()
    while read < changes:
        params = {"since": since, "limit": min(changes - read, 1_000_000)}
        with client.stream("GET", "/changes", params=params) as response:
            response.raise_for_status()
            last = None
            for line in response.iter_lines():
                size += len(line) + 1
                item = orjson.loads(line)
                if "nextSince" in item:
                    last = item
                else:
                    read += 1
        if last is None:
            raise RuntimeError("the stream was cut short")
        since = last["nextSince"]
        if not last["hasMore"]:
            break
    return read, size, time.perf_counter() - started


def _graphql(client: httpx.Client, since: int, changes: int) -> tuple[int, int, float]:
    read = size = 0
    started = time.perf_counter()
    while read < changes:
        body = {"query": FEED_QUERY, "variables": {"since": since, "first": 500}}
        response = client.post("/graphql", json=body)
        response.raise_for_status()
        size += len(response.content)
        answer = orjson.loads(response.content)
        if answer.get("errors"):
            raise RuntimeError(answer["errors"])
        page = answer["data"]["changes"]
        read += len(page["changes"])
        since = page["nextSince"]
        if not page["hasMore"]:
            break
    return read, size, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench"
    )
    parser.add_argument("--changes", type=int, default=500_000, help="per starting point")
    parser.add_argument("--graphql-changes", type=int, default=50_000, help="per point")
    parser.add_argument("--masked", action="store_true", help="without personal-ids:read")
    args = parser.parse_args()
    key_file = Path(tempfile.mkdtemp(prefix="hub-bench-")) / "key.pem"
    url = args.database_url
    token, head = asyncio.run(_token(url, key_file, args.masked))
    if head < 2 * args.changes:
        sys.exit(f"the feed holds {head:,} changes: seed the province first")
    env = hub_env(url, key_file)
    env.pop("HUB_GRAPHQL_FASTPATH", None)
    server = start_hub(env, PORT)
    headers = {"Authorization": f"Bearer {token}"}
    points = {"from the start": 0, "from the middle": head // 2}
    print(f"feed: {head:,} changes; client {'masked' if args.masked else 'unmasked'}")
    print(
        f"{'read':34} {'changes':>10} {'s':>7} {'changes/s':>10} {'MB/s':>6} {'cpu':>5}"
        f" {'log rows':>9}"
    )
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{PORT}", headers=headers, timeout=120
        ) as client:
            _stream(client, 0, 20_000)  # warm: connections, statements prepared
            _graphql(client, 0, 1_000)
            runs = [
                ("stream", _stream, args.changes),
                ("GraphQL, 500 a page", _graphql, args.graphql_changes),
            ]
            for name, read, count in runs:
                for point, since in points.items():
                    logged = asyncio.run(_logged(url))
                    busy, total = _cpu()
                    changes, size, seconds = read(client, since, count)
                    busy2, total2 = _cpu()
                    rows = asyncio.run(_logged(url)) - logged
                    share = (busy2 - busy) / (total2 - total)
                    label = f"{name}, {point}"
                    print(
                        f"{label:34} {changes:>10,} {seconds:7.2f} {changes / seconds:>10,.0f} "
                        f"{size / seconds / 1e6:6.1f} {share:5.0%} {rows:>9,}"
                    )
    finally:
        server.terminate()
        server.wait()
    print(f"(machine: {os.cpu_count()} CPUs; server: one uvicorn process, the client in this one)")


if __name__ == "__main__":
    main()
