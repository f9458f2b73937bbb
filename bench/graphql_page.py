"""Benchmark: a page of 100 students with nested class, school and certificates.

`hub serve` on PostgreSQL against a bare strawberry app serving the same 100
items from memory (bench/bare_strawberry.py) and against PostGraphile 5 (one Node 22
process, its generated schema over the same database, no auth, no audit; installed
from the npm registry into bench/.postgraphile/ on first use): same machine, same load
generator (wrk, or an httpx fallback), one run, one process each, alternating over
``--rounds``. Prints requests/s of all three and the ratios.

With ``--baseline REV`` the hub of another commit (checked out into a temporary git
worktree) serves the same page from the same database, alternating with this
checkout over ``--rounds`` rounds, so what a change costs (query limits, masking,
audit) is measured in one run on one machine:

    python bench/graphql_page.py [--database-url URL] [--size demo] [--duration 10]
    python bench/graphql_page.py --baseline HEAD~5 --rounds 3 --skip-bare
    python bench/graphql_page.py --rounds 3 --skip-postgraphile
    python bench/graphql_page.py --rounds 3 --ordinary   # also the hub's ordinary path

With ``--person`` the same hub serves the same page to two tokens of one
school-scoped client of that school, alternating over the rounds: one of the client
on its own, one bound to the school's principal (issue 11). Both reach the same rows;
the ratio is what person-bound authorisation costs:

    python bench/graphql_page.py --person --rounds 3 --skip-bare
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import ROOT, hub_env, person_tokens, prepare, start, start_hub
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from strawberry.relay import GlobalID

HUB_QUERY = """query Page($school: ID!) { students(first: 100, filter: {schoolId: $school}) {
  nodes { id fullName personalId birthDate
    school { name moetCode }
    currentClass { name grade homeroomTeacher { fullName
      certificates { serialNumber validTo status } } } } } }"""
#: The same page through PostGraphile's generated schema: the current class is the
#: enrolment of the current school year; certificates newest first, as the hub's.
POSTGRAPHILE_QUERY = """query Page($school: Int!, $year: Int!) {
  allStudents(first: 100, condition: {schoolId: $school}, orderBy: ROW_ID_ASC) {
  nodes { rowId fullName personalId birthDate
    schoolBySchoolId { name moetCode }
    enrolmentsByStudentId(condition: {schoolYearId: $year}) { nodes { classByClassId {
      name grade staffByHomeroomTeacherId { fullName
        signingCertificatesByStaffId(orderBy: VALID_TO_DESC) {
          nodes { serialNumber validTo status } } } } } } } } }"""
POSTGRAPHILE_DIR = Path(__file__).resolve().parent / ".postgraphile"
BARE_QUERY = """query Page { students(first: 100) {
  nodes { id fullName personalId birthDate
    school { name moetCode }
    currentClass { name grade homeroomTeacher { fullName
      certificates { serialNumber validTo status } } } } } }"""


def load(url: str, body: dict, headers: dict[str, str], duration: int, connections: int) -> float:
    """Requests per second sustained for ``duration`` seconds."""
    if shutil.which("wrk"):
        script = Path(tempfile.mkstemp(suffix=".lua")[1])
        header_lines = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in headers.items())
        script.write_text(
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f"{header_lines}wrk.body = {json.dumps(json.dumps(body))}\n"
        )
        output = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "-s", str(script), url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        if "Non-2xx" in output:
            raise RuntimeError(output)
        return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    return asyncio.run(_httpx_load(url, body, headers, duration, connections))


async def _httpx_load(
    url: str, body: dict, headers: dict, duration: int, connections: int
) -> float:
    done = 0
    stop = time.monotonic() + duration

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal done
        while time.monotonic() < stop:
            (await client.post(url, json=body, headers=headers)).raise_for_status()
            done += 1

    async with httpx.AsyncClient(timeout=30) as client:
        started = time.monotonic()
        await asyncio.gather(*(worker(client) for _ in range(connections)))
        return done / (time.monotonic() - started)


def measure_hub(
    cwd: Path, env: dict[str, str], port: int, body: dict, auth: dict, args: argparse.Namespace
) -> tuple[float, list]:
    """Start the hub of the checkout at ``cwd``, check the page, load it; (req/s, nodes)."""
    hub = start_hub(env, port, cwd)
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        page = httpx.post(url, json=body, headers=auth).json()
        nodes = page["data"]["students"]["nodes"]
        assert len(nodes) == 100, page
        load(url, body, auth, 2, args.connections)  # warm up
        return load(url, body, auth, args.duration, args.connections), nodes
    finally:
        hub.terminate()
        hub.wait()


def ensure_postgraphile() -> Path:
    """The Node 22 binary of bench/.postgraphile/, installing node@22 and postgraphile 5
    from the npm registry on first use (the folder is gitignored)."""
    node = POSTGRAPHILE_DIR / "node_modules" / ".bin" / "node"
    if not node.exists():
        POSTGRAPHILE_DIR.mkdir(exist_ok=True)
        (POSTGRAPHILE_DIR / "package.json").write_text(
            '{"name": "hub-bench-postgraphile", "private": true, "version": "0.0.0"}\n'
        )
        npm = ["npm", "--prefix", str(POSTGRAPHILE_DIR), "--no-audit", "--no-fund"]
        subprocess.run([*npm, "install", "node@22", "postgraphile@^5"], check=True)
        # npm ≥ 11 runs install scripts only when approved: node@22's fetches its binary.
        subprocess.run([*npm, "install-scripts", "approve", "node"], check=False)
        subprocess.run([*npm, "rebuild", "node"], check=True)
    shutil.copy(Path(__file__).with_name("postgraphile_server.mjs"), POSTGRAPHILE_DIR)
    return node


def measure_postgraphile(
    database_url: str, school: str, nodes: list, args: argparse.Namespace
) -> float:
    """Start PostGraphile 5 on the same database, check it serves the hub's page, load it."""
    node = ensure_postgraphile()
    parsed = make_url(database_url).set(drivername="postgresql")
    school_id = int(GlobalID.from_id(school).node_id)
    year = asyncio.run(_current_year(database_url))
    env = os.environ | {
        "NODE_ENV": "production",
        "DATABASE_URL": parsed.render_as_string(hide_password=False),
        "PORT": "8605",
    }
    server = start([str(node), "postgraphile_server.mjs"], env, 8605, POSTGRAPHILE_DIR)
    url = "http://127.0.0.1:8605/graphql"
    body = {"query": POSTGRAPHILE_QUERY, "variables": {"school": school_id, "year": year}}
    try:
        page = httpx.post(url, json=body, timeout=30).json()
        served = page["data"]["allStudents"]["nodes"]
        assert [(n["rowId"], n["fullName"], n["personalId"]) for n in served] == [
            (int(GlobalID.from_id(n["id"]).node_id), n["fullName"], n["personalId"]) for n in nodes
        ], "PostGraphile must serve the same students"
        load(url, body, {}, 2, args.connections)
        return load(url, body, {}, args.duration, args.connections)
    finally:
        server.terminate()
        server.wait()


async def _current_year(database_url: str) -> int:
    engine = create_async_engine(database_url)
    async with engine.connect() as connection:
        year = await connection.scalar(text("SELECT id FROM school_years WHERE is_current"))
    await engine.dispose()
    return int(year)


def measure_bare(work: Path, env: dict[str, str], nodes: list, args: argparse.Namespace) -> float:
    """Start the bare strawberry app on the hub's page, check it, load it."""
    data_file = work / "page.json"
    data_file.write_text(json.dumps(nodes))
    uvicorn = [sys.executable, "-m", "uvicorn", "--log-level", "warning", "--no-access-log"]
    bare_env = env | {"BARE_DATA": str(data_file), "PYTHONPATH": str(ROOT / "bench")}
    bare = start(
        [*uvicorn, "--factory", "bare_strawberry:create_app", "--port", "8602"], bare_env, 8602
    )
    try:
        bare_body = {"query": BARE_QUERY}
        check = httpx.post("http://127.0.0.1:8602/", json=bare_body).json()
        assert check["data"]["students"]["nodes"] == nodes, "bare app must serve the same page"
        load("http://127.0.0.1:8602/", bare_body, {}, 2, args.connections)
        return load("http://127.0.0.1:8602/", bare_body, {}, args.duration, args.connections)
    finally:
        bare.terminate()
        bare.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_graphql"
    )
    parser.add_argument("--size", default="demo")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--baseline", help="a git revision whose hub to compare against")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds")
    parser.add_argument("--skip-bare", action="store_true", help="no bare strawberry app")
    parser.add_argument("--skip-postgraphile", action="store_true", help="no PostGraphile 5")
    parser.add_argument(
        "--ordinary",
        action="store_true",
        help="also the hub with its compiled path off (HUB_GRAPHQL_FASTPATH=off)",
    )
    parser.add_argument(
        "--person", action="store_true", help="compare a person-bound token with the client's"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    key_file = work / "key.pem"
    token, school = asyncio.run(prepare(args.database_url, args.size, key_file))
    env = hub_env(args.database_url, key_file)
    auth = {"Authorization": f"Bearer {token}"}
    body = {"query": HUB_QUERY, "variables": {"school": school}}
    baseline = work / "baseline"
    if args.baseline:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(baseline), args.baseline],
            check=True,
            capture_output=True,
        )
    person_auth: dict[str, str] = {}
    if args.person:
        own, bound = asyncio.run(person_tokens(args.database_url, key_file, school))
        auth = {"Authorization": f"Bearer {own}"}
        person_auth = {"Authorization": f"Bearer {bound}"}
    hub_rates: list[float] = []
    baseline_rates: list[float] = []
    person_rates: list[float] = []
    ordinary_rates: list[float] = []
    bare_rates: list[float] = []
    postgraphile_rates: list[float] = []
    nodes: list = []
    try:
        for round_number in range(args.rounds):
            others_first = round_number % 2 == 1  # no order bias
            if others_first and nodes:
                _others(work, env, school, nodes, args, bare_rates, postgraphile_rates)
            person_first = args.person and others_first
            if person_first:
                rps, person_nodes = measure_hub(ROOT, env, 8604, body, person_auth, args)
                person_rates.append(rps)
            rps, nodes = measure_hub(ROOT, env, 8601, body, auth, args)
            hub_rates.append(rps)
            if args.person and not person_first:
                rps, person_nodes = measure_hub(ROOT, env, 8604, body, person_auth, args)
                person_rates.append(rps)
            if args.person:
                assert person_nodes == nodes, "the principal must read the same page"
            if args.ordinary:
                ordinary_env = env | {"HUB_GRAPHQL_FASTPATH": "off"}
                rps, ordinary_nodes = measure_hub(ROOT, ordinary_env, 8606, body, auth, args)
                assert ordinary_nodes == nodes, "both paths must serve the same page"
                ordinary_rates.append(rps)
            if args.baseline:
                baseline_env = env | {"PYTHONPATH": str(baseline)}
                rps, _ = measure_hub(baseline, baseline_env, 8603, body, auth, args)
                baseline_rates.append(rps)
            if not others_first:
                _others(work, env, school, nodes, args, bare_rates, postgraphile_rates)
    finally:
        if args.baseline:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)],
                check=False,
            )
    hub_rps = statistics.median(hub_rates)
    print(f"page of 100 students, {args.connections} connections, {args.duration} s each")
    print(f"  hub (PostgreSQL, authorised, audited): {hub_rps:8.1f} req/s  {_rounds(hub_rates)}")
    if args.baseline:
        base_rps = statistics.median(baseline_rates)
        print(f"  hub at {args.baseline:<31} {base_rps:8.1f} req/s  {_rounds(baseline_rates)}")
        print(f"  ratio this / {args.baseline:<25} {hub_rps / base_rps:8.3f}")
    if args.ordinary:
        ordinary_rps = statistics.median(ordinary_rates)
        rounds = _rounds(ordinary_rates)
        print(f"  hub, compiled path off:                {ordinary_rps:8.1f} req/s  {rounds}")
        print(f"  ratio compiled / ordinary path:        {hub_rps / ordinary_rps:8.2f}")
    if args.person:
        person_rps = statistics.median(person_rates)
        rounds = _rounds(person_rates)
        print("  (above: a client of that school alone; below: bound to its principal)")
        print(f"  hub, token bound to the principal:     {person_rps:8.1f} req/s  {rounds}")
        print(f"  ratio person-bound / client:           {person_rps / hub_rps:8.3f}")
    if bare_rates:
        bare_rps = statistics.median(bare_rates)
        print(
            f"  bare strawberry from memory:           {bare_rps:8.1f} req/s  {_rounds(bare_rates)}"
        )
    if postgraphile_rates:
        pg_rps = statistics.median(postgraphile_rates)
        rounds = _rounds(postgraphile_rates)
        print(f"  PostGraphile 5 (no auth, no audit):    {pg_rps:8.1f} req/s  {rounds}")
    if bare_rates:
        print(f"  ratio hub / bare:                      {hub_rps / bare_rps:8.2f}")
    if postgraphile_rates:
        print(f"  ratio hub / PostGraphile:              {hub_rps / pg_rps:8.2f}")


def _others(
    work: Path,
    env: dict[str, str],
    school: str,
    nodes: list,
    args: argparse.Namespace,
    bare_rates: list[float],
    postgraphile_rates: list[float],
) -> None:
    """One round of the baselines that are not a hub: bare strawberry and PostGraphile."""
    if not args.skip_bare:
        bare_rates.append(measure_bare(work, env, nodes, args))
    if not args.skip_postgraphile:
        postgraphile_rates.append(measure_postgraphile(args.database_url, school, nodes, args))


def _rounds(rates: list[float]) -> str:
    return "(rounds: " + ", ".join(f"{r:.1f}" for r in rates) + ")"


if __name__ == "__main__":
    main()
