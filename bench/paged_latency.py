"""Benchmark: latency of the paged queries on a seeded (province-sized) database.

Runs `hub serve` against the database and sends each query shape sequentially
(one request at a time, so this is latency, not throughput) with varied
arguments; prints p50/p95/max per shape. Seed first, e.g.:

    python bench/seed_province.py --size province        # into hub_bench
    python bench/paged_latency.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench
"""

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from _common import hub_env, prepare, start_hub
from sqlalchemy import select
from strawberry.relay import GlobalID

from hub.db.engine import Database
from hub.db.models import School, SchoolClass, SchoolYear, Student

PAGE_FIELDS = """nodes { id fullName personalId birthDate
    school { name moetCode }
    currentClass { name grade homeroomTeacher { fullName
      certificates { serialNumber validTo status } } }
    guardians { relation guardian { fullName } } }
  pageInfo { hasNextPage endCursor }"""

SHAPES = {
    "students of a school, page of 100 (with totalCount)": (
        "query($s: ID!) { students(first: 100, filter: {schoolId: $s}) { totalCount "
        + PAGE_FIELDS
        + " } }"
    ),
    "students of a class": (
        "query($c: ID!) { students(first: 100, filter: {classId: $c}) { " + PAGE_FIELDS + " } }"
    ),
    "department-wide page after a deep cursor": (
        "query($after: String) { students(first: 100, after: $after) { " + PAGE_FIELDS + " } }"
    ),
    "name search department-wide, first 50": (
        "query($name: String!) { students(first: 50, filter: {name: $name}) { "
        "nodes { fullName school { name } } } }"
    ),
    "staff of a school without valid certificate": (
        "query($s: ID!) { staffWithoutValidCertificate(schoolId: $s, first: 100) { totalCount "
        "nodes { fullName certificates { status validTo } } } }"
    ),
    "certificates expiring within 30 days, first 100": (
        "query($before: DateTime!) { certificates(first: 100, filter: {expiringBefore: $before}) "
        "{ nodes { serialNumber validTo staff { fullName } } } }"
    ),
}
NAMES = [
    "nguyen van an",
    "tran thi",
    "le minh",
    "pham ngoc anh",
    "hoang duc",
    "vu thu ha",
    "nguyen thi h",
]


async def samples(url: str) -> dict[str, list[int]]:
    db = Database(url)
    async with db.sessions() as session:
        schools = list(await session.scalars(select(School.id).order_by(School.id)))
        classes = list(
            await session.scalars(
                select(SchoolClass.id)
                .join(SchoolYear)
                .where(SchoolYear.is_current)
                .order_by(SchoolClass.id)
            )
        )
        max_student = await session.scalar(select(Student.id).order_by(Student.id.desc()))
    await db.dispose()
    return {"schools": schools, "classes": classes, "max_student": [max_student or 1]}


def variables(shape: str, pool: dict[str, list[int]], rng: random.Random) -> dict[str, object]:
    from strawberry.relay.utils import to_base64

    if "class" in shape:
        return {"c": str(GlobalID("SchoolClass", str(rng.choice(pool["classes"]))))}
    if "deep cursor" in shape:
        return {"after": to_base64("after", rng.randrange(pool["max_student"][0]))}
    if "name search" in shape:
        return {"name": rng.choice(NAMES)}
    if "expiring" in shape:
        return {
            "before": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 30 * 86400))
        }
    return {"s": str(GlobalID("School", str(rng.choice(pool["schools"]))))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench"
    )
    parser.add_argument("--size", default="demo", help="seed size if the database is empty")
    parser.add_argument("--requests", type=int, default=200, help="per query shape")
    args = parser.parse_args()
    key_file = Path(tempfile.mkdtemp(prefix="hub-bench-")) / "key.pem"
    token, _ = asyncio.run(prepare(args.database_url, args.size, key_file))
    pool = asyncio.run(samples(args.database_url))
    server = start_hub(hub_env(args.database_url, key_file), 8603)
    rng = random.Random(7)
    headers = {"Authorization": f"Bearer {token}"}
    print(f"{'query':52} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    try:
        with httpx.Client(base_url="http://127.0.0.1:8603", headers=headers, timeout=30) as client:
            for shape, query in SHAPES.items():
                timings = []
                for n in range(args.requests + 10):
                    body = {"query": query, "variables": variables(shape, pool, rng)}
                    started = time.perf_counter()
                    answer = client.post("/graphql", json=body).json()
                    elapsed = (time.perf_counter() - started) * 1000
                    if answer.get("errors"):
                        raise RuntimeError(answer["errors"])
                    if n >= 10:  # the first few warm connections and caches
                        timings.append(elapsed)
                timings.sort()
                p95 = timings[int(len(timings) * 0.95) - 1]
                print(f"{shape:52} {statistics.median(timings):8.1f} {p95:8.1f} {timings[-1]:8.1f}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
