"""Benchmark: p95 latency of every page of the hub at the demo size (issue 12: < 100 ms).

Runs what a newcomer runs — ``hub demo`` (SQLite, in-process jobs, the signing and
identity simulators) in a fresh directory — signs the five ready transcripts as the
homeroom teacher, the principal and the school seal through the API (the simulated
phone approves each request after 3 s), opens a browser session for each demo person
directly in the session store, then loads each page with wrk (one page at a time,
``--connections`` at once) and prints p50, p95, p99 and the rate of each:

    python bench/pages.py [--duration 5] [--connections 4] [--only dashboard]

Every page must answer 200 with its own HTML before it is measured; the run stops on
the first page that does not, so a missing page is never measured as a fast error.
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from _common import ROOT, wrk
from sqlalchemy import select

from hub.adapters.identity.base import Identity
from hub.auth.sessions import SessionStore
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.demo.identity import demo_people

TARGET_MS = 100.0


@dataclass(frozen=True)
class Page:
    """One page to measure: who opens it (a demo person's role, or None) and a text its
    HTML must hold (so a redirect or an error page is never measured)."""

    path: str
    who: str | None
    marker: str


def start_demo(directory: Path, port: int) -> tuple[subprocess.Popen[bytes], Path, dict[str, str]]:
    env = os.environ | {
        "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'hub.db'}",
        "HUB_TOKEN_KEY_FILE": str(directory / "key.pem"),
        "HUB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PYTHONPATH": str(ROOT),
    }
    log = directory / "demo.log"
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "hub"), "demo", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"hub demo stopped:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process, log, env
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError("hub demo did not start")


def graphql(base: str, token: str, query: str) -> dict:  # type: ignore[type-arg]
    answer = httpx.post(
        f"{base}/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    ).json()
    if answer.get("errors"):
        raise RuntimeError(json.dumps(answer["errors"], ensure_ascii=False))
    return answer["data"]  # type: ignore[no-any-return]


def sign_ready(base: str, printed: str) -> None:
    """Sign the demo's ready transcripts in turn, with the vendor token it printed."""
    tokens = re.findall(r'"Bearer ([^"]+)"', printed)
    vendor = tokens[1]
    ids = re.search(r"transcriptIds: \[([^\]]+)\]", printed)
    teacher = re.search(r'role: HOMEROOM_TEACHER, signerPersonalId: "(\d{12})"', printed)
    principal = re.search(r'PRINCIPAL \(signerPersonalId "(\d{12})"\)', printed)
    assert ids and teacher and principal, "the demo printed no ready transcripts"
    for role, person in (
        ("HOMEROOM_TEACHER", teacher.group(1)),
        ("PRINCIPAL", principal.group(1)),
        ("SCHOOL_SEAL", None),
    ):
        signer = f', signerPersonalId: "{person}"' if person else ""
        requested = graphql(
            base,
            vendor,
            f"mutation {{ requestTranscriptSignatures(transcriptIds: [{ids.group(1)}], "
            f"role: {role}{signer}) {{ requestId state }} }}",
        )["requestTranscriptSignatures"]
        for _ in range(120):
            done = graphql(
                base,
                vendor,
                f'mutation {{ completeTranscriptSignatures(requestId: "{requested["requestId"]}")'
                " { state signed errorMessage } }",
            )["completeTranscriptSignatures"]
            if done["state"] == "SIGNED":
                break
            if done["state"] not in ("PENDING", "IN_PROGRESS", "REQUESTED"):
                raise RuntimeError(f"{role}: {done}")
            time.sleep(1)
        else:
            raise RuntimeError(f"{role}: not signed in time")
        print(f"  signed as {role}")


async def sessions(url: str, env: dict[str, str], school_code: str) -> dict[str, str]:
    """A session cookie for each demo person, by the first word of their role."""
    settings = Settings(
        database_url=url,
        token_key_file=Path(env["HUB_TOKEN_KEY_FILE"]),
        public_url=env["HUB_PUBLIC_URL"],
    )
    people = await demo_people(settings, school_code)
    db = Database(url)
    store = SessionStore(db, settings)
    cookies: dict[str, str] = {}
    try:
        for person in people:
            key = person.role.split()[0]
            if key in cookies:
                continue
            token = await store.create(
                Identity("vneid", "bench", person.personal_id, person.full_name, account_level=2),
                person.full_name,
            )
            cookies[key] = f"{store.cookie_name}={token}"
    finally:
        await db.dispose()
    return cookies


async def ids_for_pages(url: str) -> dict[str, str]:
    db = Database(url)
    try:
        async with db.sessions() as session:
            sealed = await session.scalar(
                select(models.Transcript)
                .where(models.Transcript.state.in_(("SEALED", "PUBLISHED")))
                .order_by(models.Transcript.id)
            )
            assert sealed is not None, "no sealed transcript"
            school = await session.get(models.School, sealed.school_id)
            assert school is not None
            return {
                "document": sealed.document_id,
                "transcript": str(sealed.id),
                "school": str(school.id),
                "district": str(school.district_id),
            }
    finally:
        await db.dispose()


def pages(ids: dict[str, str]) -> list[Page]:
    officer, teacher, principal, parent, admission = "Cán", "Giáo", "Hiệu", "Cha", "Tuyển"
    return [
        Page("/login", None, "vneid"),
        Page("/verify", None, 'type="file"'),
        Page(f"/verify/{ids['document']}", None, "verdict"),
        Page("/graphql", None, "graphiql"),
        Page("/sign", teacher, "<main"),
        Page("/sign", principal, "<main"),
        Page(f"/sign/preview/{ids['transcript']}", principal, "<main"),
        Page("/family", parent, "<main"),
        Page("/admission", admission, "<main"),
        Page("/status/banner", teacher, '"lines"'),
        Page("/dashboard", officer, 'id="levels"'),
        Page(f"/dashboard/coverage?district={ids['district']}", officer, 'id="levels"'),
        Page(f"/dashboard/staff?school={ids['school']}", officer, "<main"),
        Page("/dashboard/signing", officer, "<main"),
        Page("/dashboard/providers", officer, "<main"),
        Page("/dashboard/migrations", officer, "<main"),
        Page("/dashboard/batches", officer, "<main"),
        Page("/dashboard/sync", officer, "<main"),
        Page("/dashboard/pupils", officer, "<main"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--port", type=int, default=8631)
    parser.add_argument("--only", default="", help="measure only paths holding this text")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    directory = Path(tempfile.mkdtemp(prefix="hub-bench-pages-"))
    base = f"http://127.0.0.1:{args.port}"
    print(f"hub demo in {directory} …")
    process, log, env = start_demo(directory, args.port)
    results: list[tuple[Page, dict[str, float]]] = []
    try:
        printed = log.read_text()
        sign_ready(base, printed)
        school_code = re.search(r"Vendor app of one school \((\S+) –", printed)
        assert school_code, "the demo printed no vendor school"
        cookies = asyncio.run(sessions(env["HUB_DATABASE_URL"], env, school_code.group(1)))
        ids = asyncio.run(ids_for_pages(env["HUB_DATABASE_URL"]))
        for page in pages(ids):
            if args.only not in page.path:
                continue
            cookie = cookies[page.who] if page.who else ""
            url = base + page.path
            first = httpx.get(url, headers={"Cookie": cookie, "Accept": "text/html"})
            if first.status_code != 200 or page.marker not in first.text:
                raise RuntimeError(f"{page.path} ({page.who}): {first.status_code}")
            wrk(url, cookie, 1, args.connections)  # warm up
            results.append((page, wrk(url, cookie, args.duration, args.connections)))
            figures = results[-1][1]
            print(f"  {page.path:60} p95 {figures['p95']:6.1f} ms")
    finally:
        process.terminate()
        process.wait()
    print(f"\nPages at the demo size, {args.connections} connections, {args.duration} s each")
    print(f"{'page':60} {'who':6} {'p50':>7} {'p95':>7} {'p99':>7} {'req/s':>7}")
    for page, figures in results:
        print(
            f"{page.path:60} {page.who or '-':6} {figures['p50']:7.1f} {figures['p95']:7.1f} "
            f"{figures['p99']:7.1f} {figures['rate']:7.1f}"
        )
    worst = max(results, key=lambda item: item[1]["p95"])
    print(
        f"worst p95: {worst[0].path} {worst[1]['p95']:.1f} ms "
        f"({'within' if worst[1]['p95'] < TARGET_MS else 'OVER'} the {TARGET_MS:.0f} ms target)"
    )


if __name__ == "__main__":
    main()
