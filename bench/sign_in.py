"""Benchmark: what one sign-in costs the hub, in CPU milliseconds per login (issue 11).

The hub runs as its own uvicorn process on PostgreSQL with the demo province; the
VNeID-style and OpenID Connect simulators run in this process, on loopback. Each
login is the whole round trip a browser makes — ``GET /login``, the provider's
authorize step, ``GET /auth/callback`` (state check, code exchange, userinfo or ID
token validation, the person's roles, the session) and one ``GET /me`` — and the
hub process's CPU time (user + system, from /proc) is read before and after:

    python bench/sign_in.py [--logins 200] [--database-url URL]
"""

import argparse
import asyncio
import os
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx
from _common import hub_env, prepare, start_hub
from sqlalchemy import select

from hub.adapters.identity.oidc.simulator import simulate as simulate_oidc
from hub.adapters.identity.vneid import load_rp_key
from hub.adapters.identity.vneid.simulator import simulate as simulate_vneid
from hub.adapters.signing.simulator import free_port
from hub.config import Settings
from hub.db import models, roles
from hub.db.engine import Database

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def a_principal(url: str) -> tuple[str, str]:
    """The personal ID and name of a school's principal in the demo province."""
    db = Database(url)
    async with db.sessions() as session:
        school_id = await session.scalar(select(models.School.id).order_by(models.School.id))
        assert school_id is not None
        principal = await roles.principal(session, school_id=school_id)
    await db.dispose()
    assert principal is not None
    return principal.personal_id, principal.full_name


def login(hub: str, provider: str, sso: object, personal_id: str) -> None:
    with httpx.Client(base_url=hub, timeout=30) as browser:
        started = browser.get(f"/login?provider={provider}")
        assert started.status_code == 302, started.text
        sso.next_login(personal_id)  # type: ignore[attr-defined]
        back = httpx.get(started.headers["location"])
        assert back.status_code in (302, 303), back.text
        signed_in = browser.get(back.headers["location"])
        assert signed_in.status_code == 303, signed_in.text
        assert browser.get("/me").json()["fullName"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench_signin"
    )
    parser.add_argument("--logins", type=int, default=200)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    key_file = work / "key.pem"
    asyncio.run(prepare(args.database_url, "demo", key_file))
    personal_id, name = asyncio.run(a_principal(args.database_url))
    port = free_port("127.0.0.1")
    hub = f"http://127.0.0.1:{port}"
    callback = [f"{hub}/auth/callback"]
    rp_key_file = work / "vneid.pem"
    rp_key = load_rp_key(Settings(vneid_key_file=rp_key_file))
    vneid = simulate_vneid(rp_key.public_key(), redirect_uris=callback)
    oidc = simulate_oidc(redirect_uris=callback)
    vneid.add_citizen(personal_id, name, date(1980, 1, 1), account_level=2)
    oidc.add_user(personal_id, name, date(1980, 1, 1))
    env = hub_env(args.database_url, key_file) | {
        "HUB_PUBLIC_URL": hub,
        "HUB_VNEID_KEY_FILE": str(rp_key_file),
        **vneid.env,
        **oidc.env,
    }
    process = start_hub(env, port)
    try:
        print(f"{args.logins} sign-ins each, the hub's CPU per login (its own process):")
        for provider, sso in (("vneid", vneid), ("oidc", oidc)):
            for _ in range(5):  # warm up: discovery, JWKS, connections, caches
                login(hub, provider, sso, personal_id)
            before, started = cpu_seconds(process.pid), time.perf_counter()
            for _ in range(args.logins):
                login(hub, provider, sso, personal_id)
            cpu = cpu_seconds(process.pid) - before
            wall = time.perf_counter() - started
            print(
                f"  {provider:6} {1000 * cpu / args.logins:6.1f} ms CPU per login "
                f"({1000 * wall / args.logins:6.1f} ms wall per round trip, one browser)"
            )
    finally:
        process.terminate()
        process.wait()
        vneid.stop()
        oidc.stop()


if __name__ == "__main__":
    main()
