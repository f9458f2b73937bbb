"""Benchmark: a page of 100 students with nested class, school and certificates.

`hub serve` on PostgreSQL against a bare strawberry app serving the same 100
items from memory (bench/bare_strawberry.py): same machine, same load generator
(wrk, or an httpx fallback), one run, one uvicorn process each, measured one
after the other. Prints requests/s of both and the ratio.

    python bench/graphql_page.py [--database-url URL] [--size demo] [--duration 10]
"""

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import ROOT, hub_env, prepare, start

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_graphql"
    )
    parser.add_argument("--size", default="demo")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    key_file = work / "key.pem"
    token, school = asyncio.run(prepare(args.database_url, args.size, key_file))
    env = hub_env(args.database_url, key_file)
    uvicorn = [sys.executable, "-m", "uvicorn", "--log-level", "warning", "--no-access-log"]
    hub = start([*uvicorn, "hub.web.main:app", "--port", "8601"], env, 8601)
    try:
        auth = {"Authorization": f"Bearer {token}"}
        body = {"query": HUB_QUERY, "variables": {"school": school}}
        page = httpx.post("http://127.0.0.1:8601/graphql", json=body, headers=auth).json()
        nodes = page["data"]["students"]["nodes"]
        assert len(nodes) == 100, page
        load("http://127.0.0.1:8601/graphql", body, auth, 2, args.connections)  # warm up
        hub_rps = load("http://127.0.0.1:8601/graphql", body, auth, args.duration, args.connections)
    finally:
        hub.terminate()
        hub.wait()
    data_file = work / "page.json"
    data_file.write_text(json.dumps(nodes))
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
    print(f"page of 100 students, {args.connections} connections, {args.duration} s each")
    print(f"  hub (PostgreSQL, authorised, audited): {hub_rps:8.1f} req/s")
    print(f"  bare strawberry from memory:           {bare_rps:8.1f} req/s")
    print(f"  ratio hub / bare:                      {hub_rps / bare_rps:8.2f}")


if __name__ == "__main__":
    main()
