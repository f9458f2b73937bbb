"""What the benchmarks share: a prepared database, a token, a server process; for the
signing benchmarks, one pinned core, a rate measured the same way, and the sample
school's signers (the tests' own, from ``tests.signing_support``)."""

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from strawberry.relay import GlobalID

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hub.adapters.signing.pki import DemoPKI, Issued  # noqa: E402
from hub.adapters.signing.simulator import sign_digest  # noqa: E402
from hub.auth.clients import create_client  # noqa: E402
from hub.auth.tokens import TokenIssuer, load_signing_key  # noqa: E402
from hub.config import Settings  # noqa: E402
from hub.db.engine import Database  # noqa: E402
from hub.db.migrate import upgrade  # noqa: E402
from hub.db.models import School, Student  # noqa: E402
from hub.domain.enums import ClientKind, OrgLevel  # noqa: E402
from hub.domain.signers import SignerRole  # noqa: E402
from tests import signing_support  # noqa: E402

ISSUER = "http://bench.hub"

#: wrk's script for a page load: the session cookie and a browser's Accept, then the
#: percentiles and counts the benchmarks read.
WRK_SCRIPT = """wrk.headers["Cookie"] = "{cookie}"
wrk.headers["Accept"] = "text/html"
done = function(summary, latency, requests)
  io.write(string.format("p50 %d\\np95 %d\\np99 %d\\nrequests %d\\nerrors %d\\n",
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.timeout))
end
"""


def wrk(url: str, cookie: str, duration: int, connections: int) -> dict[str, float]:
    """p50, p95 and p99 in ms and the rate of ``url`` loaded by wrk for ``duration``
    seconds over ``connections`` connections (one thread); any error stops the run."""
    import tempfile

    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(WRK_SCRIPT.format(cookie=cookie))
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    values = dict(line.split() for line in output.splitlines() if len(line.split()) == 2)
    if int(values.get("errors", "1")):
        raise RuntimeError(f"{url}: errors under load\n{output}")
    return {key: int(values[key]) / 1000 for key in ("p50", "p95", "p99")} | {
        "rate": int(values["requests"]) / duration
    }


def hub_env(database_url: str, key_file: Path) -> dict[str, str]:
    return os.environ | {
        "HUB_DATABASE_URL": database_url,
        "HUB_TOKEN_KEY_FILE": str(key_file),
        "HUB_PUBLIC_URL": ISSUER,
        "HUB_MODE": "demo",
        "PYTHONPATH": str(ROOT),
    }


async def prepare(url: str, size: str, key_file: Path) -> tuple[str, str]:
    """Database ready and seeded; a department token and the busiest school's global id."""
    parsed = make_url(url)
    admin = create_async_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        exists = await connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
        )
        if not exists:
            await connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    await admin.dispose()
    db = Database(url)
    await upgrade(db.engine)
    async with db.sessions() as session:
        seeded = await session.scalar(select(func.count()).select_from(School))
    if not seeded:
        from hub.seed.load import seed

        report = await seed(db, size=size, seed=2025)
        print(f"seeded {report.total_rows:,} rows ({report.rows_per_second:,.0f} rows/s)")
    async with db.unit_of_work() as session:
        client = await create_client(
            session,
            name="bench",
            kind=ClientKind.DEPARTMENT_TOOL,
            org_level=OrgLevel.DEPARTMENT,
            scopes=[
                "students:read",
                "staff:read",
                "certificates:read",
                "personal-ids:read",
                "reports:read",
            ],
        )
        school_id = await session.scalar(
            select(Student.school_id).group_by(Student.school_id).order_by(func.count().desc())
        )
    await db.dispose()
    settings = Settings(database_url=url, token_key_file=key_file, public_url=ISSUER)
    issuer = TokenIssuer(load_signing_key(settings), issuer=ISSUER, lifetime_seconds=3600)
    return issuer.issue(client.client_id, frozenset(client.scopes))[0], str(
        GlobalID("School", str(school_id))
    )


async def person_tokens(url: str, key_file: Path, school_gid: str) -> tuple[str, str]:
    """Two tokens of one school-scoped client of the page's school (issue 11): one of the
    client on its own, one bound to the school's principal. They reach the same rows, so
    they cost the same but for the person-bound authorisation (the person's roles, the
    grant's revocation, the narrowed reach)."""
    from hub.db import roles

    db = Database(url)
    school_id = int(GlobalID.from_id(school_gid).node_id)
    scopes = ["students:read", "staff:read", "certificates:read", "personal-ids:read"]
    async with db.unit_of_work() as session:
        principal = await roles.principal(session, school_id=school_id)
        school = await session.get(School, school_id)
        assert principal is not None and school is not None
        client = await create_client(
            session,
            name="bench-school",
            kind=ClientKind.VENDOR,
            org_level=OrgLevel.SCHOOL,
            scopes=scopes,
            school_codes=[school.moet_code],
        )
    await db.dispose()
    settings = Settings(database_url=url, token_key_file=key_file, public_url=ISSUER)
    issuer = TokenIssuer(load_signing_key(settings), issuer=ISSUER, lifetime_seconds=3600)
    own = issuer.issue(client.client_id, frozenset(scopes))[0]
    bound = issuer.issue(client.client_id, frozenset(scopes), person=principal.personal_id)[0]
    return own, bound


def start(
    command: list[str], env: dict[str, str], port: int, cwd: Path = ROOT
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, env=env, cwd=cwd)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
            return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server on port {port} did not start")


def start_hub(env: dict[str, str], port: int, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    """``hub.web.main:app`` under uvicorn on ``port`` (quiet, no access log), once it
    answers."""
    uvicorn = [sys.executable, "-m", "uvicorn", "--log-level", "warning", "--no-access-log"]
    return start([*uvicorn, "hub.web.main:app", "--port", str(port)], env, port, cwd)


# --- signing and verification -----------------------------------------------------------


def pin_to_one_core() -> str:
    """Pin this process to the first CPU it may use; return that CPU for the report."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"CPU {cpu}"


async def rate(work: Callable[[int], Awaitable[float | None]], seconds: float) -> float:
    """Calls per second of ``work(i)``, the median of ten windows (the machine may be
    shared); a call may return the seconds to leave out of the clock."""
    for i in range(3):
        await work(i)
    done, rates = 0, []
    for _ in range(10):
        calls, excluded = 0, 0.0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds / 10:
            excluded += await work(done) or 0.0
            calls, done = calls + 1, done + 1
        rates.append(calls / (time.perf_counter() - start - excluded))
    return statistics.median(rates)


def offline_signers() -> tuple[DemoPKI, list[Issued]]:
    """A demo PKI whose CRL/OCSP nobody serves (its TSA is in-process) and the sample
    school's homeroom teacher, principal and seal."""
    pki = DemoPKI.create("http://127.0.0.1:9")
    return pki, signing_support.school_signers(pki)


def hub_signing(
    documents: Sequence[bytes], who: Issued, *, exclude_provider: bool
) -> Callable[[int], Awaitable[float]]:
    """``work(i)`` for :func:`rate`: the hub's two steps (B-B) on the documents in turn,
    around the provider's RSA signing, into the homeroom teacher's place. With
    ``exclude_provider`` the signing is left out of the clock (it happens at the provider)."""

    async def work(i: int) -> float:
        document = documents[i % len(documents)]
        prepared = await signing_support.prepare(document, SignerRole.HOMEROOM_TEACHER, who)
        started = time.perf_counter()
        signature = sign_digest(who.key, prepared.digest)
        provider = time.perf_counter() - started
        await signing_support.finish(prepared, signature)
        return provider if exclude_provider else 0.0

    return work
