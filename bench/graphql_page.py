"""Benchmark: a page of 100 students with nested class, school and certificates.

`hub serve` on PostgreSQL against a bare strawberry app serving the same 100
items from memory (bench/bare_strawberry.py): same machine, same load generator
(wrk, or an httpx fallback), one run, one uvicorn process each, measured one
after the other. Prints requests/s of both and the ratio.

With ``--baseline REV`` the hub of another commit (checked out into a temporary git
worktree) serves the same page from the same database, alternating with this
checkout over ``--rounds`` rounds, so what a change costs (query limits, masking,
audit) is measured in one run on one machine:

    python bench/graphql_page.py [--database-url URL] [--size demo] [--duration 10]
    python bench/graphql_page.py --baseline HEAD~5 --rounds 3 --skip-bare

With ``--person`` the same hub serves the same page to two tokens of one
school-scoped client of that school, alternating over the rounds: one of the client
on its own, one bound to the school's principal (issue 11). Both reach the same rows;
the ratio is what person-bound authorisation costs:

    python bench/graphql_page.py --person --rounds 3 --skip-bare
"""

import argparse
import asyncio
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import ROOT, hub_env, person_tokens, prepare, start

HUB_QUERY = """query Page($school: ID!) { students(first: 100, filter: {schoolId: $school}) {
  nodes { id fullName personalId birthDate
    school { name moetCode }
    currentClass { name grade homeroomTeacher { fullName
      certificates { serialNumber validTo status } } } } } }"""
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
    uvicorn = [sys.executable, "-m", "uvicorn", "--log-level", "warning", "--no-access-log"]
    hub = start([*uvicorn, "hub.web.main:app", "--port", str(port)], env, port, cwd)
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
    try:
        for round_number in range(args.rounds):
            person_first = args.person and round_number % 2 == 1  # no order bias
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
            if args.baseline:
                baseline_env = env | {"PYTHONPATH": str(baseline)}
                rps, _ = measure_hub(baseline, baseline_env, 8603, body, auth, args)
                baseline_rates.append(rps)
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
    if args.person:
        person_rps = statistics.median(person_rates)
        rounds = _rounds(person_rates)
        print("  (above: a client of that school alone; below: bound to its principal)")
        print(f"  hub, token bound to the principal:     {person_rps:8.1f} req/s  {rounds}")
        print(f"  ratio person-bound / client:           {person_rps / hub_rps:8.3f}")
    if args.skip_bare:
        return
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
        bare_rps = load("http://127.0.0.1:8602/", bare_body, {}, args.duration, args.connections)
    finally:
        bare.terminate()
        bare.wait()
    print(f"  bare strawberry from memory:           {bare_rps:8.1f} req/s")
    print(f"  ratio hub / bare:                      {hub_rps / bare_rps:8.2f}")


def _rounds(rates: list[float]) -> str:
    return "(rounds: " + ", ".join(f"{r:.1f}" for r in rates) + ")"


if __name__ == "__main__":
    main()
