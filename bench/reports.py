"""Benchmark: p95 latency of the department's reports at province size (issue 14, part 2:
each < 500 ms over a 2.3-million-pupil province).

`hub serve` on the seeded province (``bench/seed_province.py``, then
``bench/province_transcripts.py`` so there are transcripts to count), a department
token, and for each report its GraphQL query, then its downloadable table (the
dashboard's CSV and XLSX, with an officer's session: every row in one file), one
request after another from
``--clients`` concurrent clients for ``--requests`` requests each. Prints p50, p95 and
max of each:

    .venv/bin/python bench/reports.py [--database-url URL] [--requests 40] [--clients 2]
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _common import hub_env, prepare, start
from dashboard import busiest, officer_session
from strawberry.relay import GlobalID

TARGET_MS = 500

LEARNING = """query($by: [ResultDimension!]!, $district: ID, $first: Int) {
  learningResults(groupBy: $by, districtId: $district, first: $first) {
    rows { level grade district { name } school { name } pupils
      learning { code count ratio } conduct { code count ratio } outcomes { code count ratio }
      promotionRate retestRate }
    total { pupils promotionRate retestRate } } }"""
PROGRESS = """query($by: ProgressGrouping!, $district: ID, $school: ID, $first: Int) {
  signingProgress(groupBy: $by, districtId: $district, schoolId: $school, first: $first) {
    rows { district { name } school { name } schoolClass { name }
      states { state count } total fullySigned ratio }
    total { total fullySigned ratio } } }"""
IDENTITY = """query($by: PlaceGrouping!, $district: ID, $first: Int) {
  pupilsWithoutVerifiedId(groupBy: $by, districtId: $district, first: $first) {
    rows { district { name } school { name } pupils unverified ratio reasons { reason count } }
    total { pupils unverified } } }"""
COVERAGE = """query($by: [CoverageDimension!]!) { certificateCoverage(groupBy: $by) {
    rows { level ownership district { name } staffTotal withValidCertificate
           withoutValidCertificate ratio }
    total { staffTotal withoutValidCertificate } } }"""


#: The rows of a report come a page at a time (the API's default 50, at most 500).
PAGE: dict[str, Any] = {"first": 100}
BIG: dict[str, Any] = {"first": 500}


def reports(district: str, school: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("learning results by district", LEARNING, {"by": ["DISTRICT"]}),
        ("learning results by level and grade", LEARNING, {"by": ["LEVEL", "GRADE"]}),
        ("learning results by school (province, 100 a page)", LEARNING, PAGE | {"by": ["SCHOOL"]}),
        ("learning results by school (province, 500 a page)", LEARNING, BIG | {"by": ["SCHOOL"]}),
        (
            "learning results by school and grade (district)",
            LEARNING,
            {"by": ["SCHOOL", "GRADE"], "district": district},
        ),
        ("signing progress by district", PROGRESS, {"by": "DISTRICT"}),
        ("signing progress by school (province, 100 a page)", PROGRESS, PAGE | {"by": "SCHOOL"}),
        ("signing progress by school (province, 500 a page)", PROGRESS, BIG | {"by": "SCHOOL"}),
        ("signing progress by class (school)", PROGRESS, {"by": "CLASS", "school": school}),
        ("pupils without verified ID by district", IDENTITY, {"by": "DISTRICT"}),
        (
            "pupils without verified ID by school (district)",
            IDENTITY,
            {"by": "SCHOOL", "district": district},
        ),
        ("pupils without verified ID by school (province)", IDENTITY, PAGE | {"by": "SCHOOL"}),
        ("staff without valid certificate by district", COVERAGE, {"by": ["DISTRICT"]}),
        ("staff without valid certificate by level", COVERAGE, {"by": ["LEVEL", "OWNERSHIP"]}),
    ]


def downloads(district: int, school: int) -> list[str]:
    return [
        "/dashboard/results?format=csv",
        f"/dashboard/results?district={district}&format=xlsx",
        "/dashboard/signing?format=csv",
        f"/dashboard/signing?district={district}&format=xlsx",
        "/dashboard/pupils?format=csv",
        f"/dashboard/pupils/district?district={district}&format=xlsx",
        "/dashboard?format=csv",
        f"/dashboard/coverage?district={district}&format=xlsx",
    ]


async def measure(
    client: httpx.AsyncClient, request: dict[str, Any], requests: int, clients: int
) -> list[float]:
    latencies: list[float] = []

    async def one_client() -> None:
        for _ in range(requests):
            began = time.perf_counter()
            response = await client.request(**request)
            latencies.append((time.perf_counter() - began) * 1000)
            response.raise_for_status()
            if request["method"] == "POST":
                assert not response.json().get("errors"), response.text[:500]

    await asyncio.gather(*(one_client() for _ in range(clients)))
    return latencies


async def run(base: str, token: str, cookie: str, args: argparse.Namespace) -> list[Any]:
    district_id, school_id = await busiest(args.database_url)
    district, school = (
        str(GlobalID("District", str(district_id))),
        str(GlobalID("School", str(school_id))),
    )
    rows: list[Any] = []
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        work: list[tuple[str, dict[str, Any]]] = [
            (
                name,
                {
                    "method": "POST",
                    "url": "/graphql",
                    "json": {"query": query, "variables": variables},
                    "headers": {"Authorization": f"Bearer {token}"},
                },
            )
            for name, query, variables in reports(district, school)
        ]
        work += [
            (path, {"method": "GET", "url": path, "headers": {"Cookie": cookie}})
            for path in downloads(district_id, school_id)
        ]
        for name, request in work:
            await measure(client, request, 3, 1)  # warm up
            latencies = await measure(client, request, args.requests, args.clients)
            cuts = statistics.quantiles(latencies, n=100)
            rows.append((name, cuts[49], cuts[94], max(latencies)))
            print(f"  {name:52} p95 {cuts[94]:7.1f} ms", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench"
    )
    parser.add_argument("--requests", type=int, default=40, help="per client and report")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--port", type=int, default=8613)
    args = parser.parse_args()
    key_file = Path(tempfile.mkdtemp(prefix="hub-bench-")) / "key.pem"
    token, _ = asyncio.run(prepare(args.database_url, "province", key_file))
    cookie = f"hub_session={asyncio.run(officer_session(args.database_url, key_file))}"
    env = hub_env(args.database_url, key_file) | {"HUB_DASHBOARD_REFRESH_SECONDS": "0"}
    hub = start(
        [str(Path(sys.executable).parent / "hub"), "serve", "--port", str(args.port)],
        env,
        args.port,
    )
    try:
        rows = asyncio.run(run(f"http://127.0.0.1:{args.port}", token, cookie, args))
    finally:
        hub.terminate()
        hub.wait()
    print(
        f"\nReports at province size, {args.clients} clients × {args.requests} requests each "
        "(figures counted at every request: HUB_DASHBOARD_REFRESH_SECONDS=0)"
    )
    print(f"{'report':52} {'p50':>7} {'p95':>7} {'max':>7}")
    for name, p50, p95, worst in rows:
        print(f"{name:52} {p50:7.1f} {p95:7.1f} {worst:7.1f}")
    slowest = max(rows, key=lambda row: row[2])
    verdict = "OK" if slowest[2] < TARGET_MS else "OVER"
    print(f"worst p95: {slowest[0]} {slowest[2]:.1f} ms (target < {TARGET_MS} ms): {verdict}")


if __name__ == "__main__":
    main()
