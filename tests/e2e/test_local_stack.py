"""The production topology on one machine (``deploy/local-stack``), end to end.

The stack runs as production runs: two ``hub serve`` processes behind the round-robin
front, two ``hub worker`` processes on Redis, the far sides in a ``hub simulators``
process, a PostgreSQL database of its own, configured by ``HUB_*`` variables only, in
production mode. Through the front, a class's transcripts are signed as production signs
them (the homeroom teacher and the principal through the school's app acting for them,
the seal by the app itself, each a bulk signing batch confirmed by the simulated phone);
mid-way through the teacher's batch one API process and one worker are killed
(SIGKILL). Nothing is lost: the batch completes through the surviving processes (the
watchdog sends the stalled work again), each transcript carries each signature exactly
once, the front keeps answering, a national sync publishes the sealed transcripts, and
they verify at ``/verify`` and with ``hub verify``. The stack is stopped and its database
dropped whatever happens.
"""

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from strawberry.relay import GlobalID

from hub.adapters.signing.simulator import ephemeral_ports_from, free_port, port_free
from hub.config import Mode, Settings
from hub.db import models
from hub.db.engine import Database
from hub.domain.enums import OrgLevel
from tests.helpers import APP_REDIRECT_URI, data, gql, register, token_for, token_through_authorize
from tests.signing_support import BATCH, START, redis_url

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "local-stack"
#: Transcripts of the demo class the test signs (the simulators ready five; the school's
#: app readies the rest through the API).
SIGNED = 10
ROLES = ("HOMEROOM_TEACHER", "PRINCIPAL", "SCHOOL_SEAL")
#: How long the simulated phone takes to approve: the time the test has to kill processes
#: while a batch waits on the provider.
PHONE_DELAY = 2.0

CLASS_OF = "query($id: ID!) { node(id: $id) { ... on Transcript { schoolClass { id } } } }"
DRAFTS = """query($c: ID!) { transcripts(first: 50, filter: {classId: $c, state: DRAFT}) {
  nodes { id } } }"""
READY = "mutation($id: ID!) { markTranscriptReady(id: $id) { id state } }"
CLASS_TRANSCRIPTS = """query($c: ID!) { transcripts(first: 50, filter: {classId: $c}) {
  nodes { id documentId state } } }"""
VERIFY = """query($id: ID!) { verifyTranscript(id: $id) { verdict
  xml { signatures { role verdict } } pdf { signatures { role verdict } } } }"""
START_SYNC = "mutation { startSync { runId state phases } }"
SYNC_RUN = """query($r: String!) { syncRun(runId: $r) { runId state reasonCode reason phase
  deadLetters students { total sent accepted rejected } transcripts { sent published rejected }
  } }"""


def postgres_url(database: str) -> str:
    """A database named ``database`` on the tests' PostgreSQL server (the stack runs on
    PostgreSQL only), which must answer: the test is never skipped."""
    configured = os.environ.get("HUB_TEST_DATABASE_URL", "")
    base = make_url(
        configured
        if configured.startswith("postgresql")
        else "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    url = base.set(database=database)
    try:
        psycopg.connect(**server_info(url.render_as_string(False)), dbname="postgres").close()
    except psycopg.OperationalError as error:
        raise AssertionError(
            f"PostgreSQL is not reachable at {base.host}:{base.port}: the local stack needs it "
            "(.ci/run starts it; set HUB_TEST_DATABASE_URL)"
        ) from error
    return url.render_as_string(hide_password=False)


def server_info(url: str) -> dict[str, Any]:
    parsed = make_url(url)
    info = {"host": parsed.host, "port": parsed.port, "user": parsed.username}
    return {k: v for k, v in info.items() if v is not None} | (
        {"password": parsed.password} if parsed.password else {}
    )


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive free ports, below the kernel's ephemeral range
    (as :func:`free_port` chooses): the port of an API process killed mid-way stays
    refused, as a dead pod's address does, not handed to the next socket that binds port
    0 or connects (another test process beside this one starts servers all the time)."""
    for _ in range(200):
        first = free_port("127.0.0.1")
        if first + count < ephemeral_ports_from() and all(
            port_free("127.0.0.1", first + n) for n in range(count)
        ):
            return first
    raise AssertionError("no consecutive free ports")


def stack_command(*arguments: str, directory: Path) -> list[str]:
    return [sys.executable, str(SCRIPT), *arguments, "--dir", str(directory)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The stack (API ×2, workers ×2 of two threads, simulators) of the test's own: its own
    database and queues, the watchdog quick to resend stalled work; stopped, its database
    and queues dropped, even when the test or the start fails."""
    directory = tmp_path_factory.mktemp("local-stack")
    database = f"hub_stack_{uuid.uuid4().hex[:10]}"
    database_url = postgres_url(database)
    broker = make_url(redis_url())
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")} | {
        "HUB_JOBS_NAMESPACE": f"hub-stack-{uuid.uuid4().hex[:8]}",
        "HUB_JOBS_STALL_SECONDS": "2",
        "HUB_JOBS_HEARTBEAT_MS": "2000",
        "HUB_JOBS_POLL_SECONDS": "0.3",
        "HUB_CERTIFICATE_REFRESH_HOURS": "0",
        "HUB_ARCHIVE_HOURS": "0",
    }
    start = [
        *stack_command("start", directory=directory),
        "--database-url",
        database_url,
        "--redis-url",
        f"redis://{broker.host}:{broker.port or 6379}",
        "--redis-db",
        "1",
        "--port",
        str(free_ports(3)),
        "--api",
        "2",
        "--workers",
        "2",
        "--threads",
        "2",
        "--phone-delay",
        str(PHONE_DELAY),
        "--max-batch",
        "4",  # two transcripts (XML + PDF) a provider transaction: several per batch
        "--timeout",
        "90",
    ]
    try:
        started = subprocess.run(
            start, env=environment, capture_output=True, text=True, timeout=300, check=False
        )
        assert started.returncode == 0, f"{started.stdout}\n{started.stderr}"
        yield json.loads((directory / "state.json").read_text())
    finally:
        subprocess.run(
            stack_command("stop", "--drop", directory=directory),
            env=environment,
            capture_output=True,
            timeout=120,
            check=False,
        )
        _leave_nothing(directory, database_url)


def _leave_nothing(directory: Path, database_url: str) -> None:
    """Whatever ``stop`` could not: kill what the stack started, drop its database."""
    try:
        state = json.loads((directory / "state.json").read_text())
    except (OSError, ValueError):
        state = {"processes": []}
    for process in state["processes"]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process["pid"], signal.SIGKILL)
    name = make_url(database_url).database
    with psycopg.connect(**server_info(database_url), dbname="postgres", autocommit=True) as pg:
        pg.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def kill(process: dict[str, Any]) -> None:
    """SIGKILL the process and its children (its own process group), and wait until it
    is gone: no longer running and, for a server, its listening socket closed. A
    process's first thread can be a zombie while its other threads still exit and hold
    its files, the listening socket among them: a connection made then is taken into
    the backlog and reset a moment later (on a busy machine, long enough for the front
    to pass a new connection to it)."""
    os.killpg(process["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (_running(process["pid"]) or _port_held(process)):
        time.sleep(0.05)
    assert not _running(process["pid"]), f"{process['name']} outlived SIGKILL"
    assert not _port_held(process), f"{process['name']}'s port is still held"


def _port_held(process: dict[str, Any]) -> bool:
    """Whether a server's listening socket is still open (its port cannot be bound)."""
    return "port" in process and not port_free("127.0.0.1", process["port"])


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def by_name(stack: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in stack["processes"] if p["name"] == name)


async def batch_of(hub: httpx.AsyncClient, token: str, job_id: str) -> dict[str, Any]:
    return data(await gql(hub, token, BATCH, {"j": job_id}))["signingBatch"]


async def until(
    hub: httpx.AsyncClient, token: str, job_id: str, done: Any, seconds: float = 60
) -> dict[str, Any]:
    """The batch once ``done(batch)``; fails after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        batch = await batch_of(hub, token, job_id)
        if done(batch):
            return batch
        await asyncio.sleep(0.2)
    raise AssertionError(f"the batch did not get there: {batch}")


def completed(batch: dict[str, Any]) -> bool:
    return batch["state"] in ("COMPLETED", "CANCELLED")


async def test_the_stack_signs_syncs_and_verifies_through_a_killed_api_and_worker(
    stack: dict[str, Any], tmp_path: Path
) -> None:
    demo, front = stack["demo"], stack["front"]
    assert {p["role"] for p in stack["processes"]} == {"simulators", "worker", "api", "front"}
    settings = Settings(
        _env_file=None,
        mode=Mode.PRODUCTION,
        database_url=stack["database_url"],
        public_url=front,
    )
    db = Database(stack["database_url"])
    try:
        async with httpx.AsyncClient(base_url=front, timeout=30) as hub:
            await _story(hub, db, settings, stack, demo, tmp_path)
    finally:
        await db.dispose()


async def _story(
    hub: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    stack: dict[str, Any],
    demo: dict[str, Any],
    tmp_path: Path,
) -> None:
    # The school's app: its own token, and one for each signer who approved it.
    vendor = await token_for(hub, demo["vendor_client_id"], demo["vendor_client_secret"])
    app_id, app_secret = await register(
        db, org=OrgLevel.SCHOOL, schools=[demo["school"]], redirect_uris=[APP_REDIRECT_URI]
    )
    ready = demo["ready"]

    async def acting_for(personal_id: str) -> str:
        return await token_through_authorize(
            hub,
            db,
            settings,
            client_id=app_id,
            secret=app_secret,
            personal_id=personal_id,
            scope="transcripts:read transcripts:sign",
        )

    tokens = {
        "HOMEROOM_TEACHER": await acting_for(ready["teacher_personal_id"]),
        "PRINCIPAL": await acting_for(ready["principal_personal_id"]),
        "SCHOOL_SEAL": await token_for(hub, app_id, app_secret),
    }

    # The class: the simulators readied five transcripts, the app readies more.
    class_id = data(await gql(hub, vendor, CLASS_OF, {"id": ready["ids"][0]}))["node"][
        "schoolClass"
    ]["id"]
    drafts = data(await gql(hub, vendor, DRAFTS, {"c": class_id}))["transcripts"]["nodes"]
    readied = len(ready["ids"])
    for draft in drafts:
        if readied == SIGNED:
            break
        answer = await gql(hub, vendor, READY, {"id": draft["id"]})
        readied += answer.get("errors") is None  # a pupil without a personal ID stays a draft
    assert readied == SIGNED

    # The homeroom teacher's batch; one API process and one worker killed mid-way.
    started = data(
        await gql(
            hub, tokens["HOMEROOM_TEACHER"], START, {"role": "HOMEROOM_TEACHER", "c": class_id}
        )
    )["startSigningBatch"]
    assert started["total"] == SIGNED, started
    job = started["jobId"]
    # Mid-way: the provider transactions sent, the phone not yet answered (for PHONE_DELAY
    # seconds), the workers holding the messages that will ask after them.
    mid_way = await until(hub, vendor, job, lambda b: b["waiting"] > 0 or completed(b))
    kill(by_name(stack, "worker-1"))
    kill(by_name(stack, "api-1"))
    assert mid_way["state"] == "RUNNING" and mid_way["signed"] < SIGNED, mid_way
    # The front passes over the dead process: every new connection is answered.
    for _ in range(6):
        async with httpx.AsyncClient(base_url=stack["front"], timeout=10) as fresh:
            assert (await fresh.get("/health")).status_code == 200
    teacher = await until(hub, vendor, job, completed, seconds=60)
    outcome = (teacher["state"], teacher["signed"], teacher["returned"], teacher["failed"])
    assert outcome == ("COMPLETED", SIGNED, 0, 0), teacher

    # The principal's batch and the seal's, on the surviving processes.
    for role in ROLES[1:]:
        batch = data(await gql(hub, tokens[role], START, {"role": role, "c": class_id}))[
            "startSigningBatch"
        ]
        assert batch["total"] == SIGNED, batch
        done = await until(hub, vendor, batch["jobId"], completed, seconds=60)
        assert (done["state"], done["signed"], done["failed"]) == ("COMPLETED", SIGNED, 0), done

    # Every transcript sealed, each signature applied exactly once.
    transcripts = data(await gql(hub, vendor, CLASS_TRANSCRIPTS, {"c": class_id}))["transcripts"]
    sealed = [t for t in transcripts["nodes"] if t["state"] == "SEALED"]
    assert len(sealed) == SIGNED, transcripts
    keys = [int(GlobalID.from_id(t["id"]).node_id) for t in sealed]
    async with db.sessions() as session:
        events = (
            await session.execute(
                select(models.TranscriptEvent.detail, func.count())
                .where(
                    models.TranscriptEvent.transcript_id.in_(keys),
                    models.TranscriptEvent.event == "SIGNED",
                )
                .group_by(models.TranscriptEvent.transcript_id, models.TranscriptEvent.detail)
            )
        ).all()
    assert len(events) == SIGNED * len(ROLES) and {count for _, count in events} == {1}, events
    assert {(detail or "").split(":")[0] for detail, _ in events} == set(ROLES)
    verified = data(await gql(hub, vendor, VERIFY, {"id": sealed[0]["id"]}))["verifyTranscript"]
    assert verified["verdict"] == "VALID", verified
    for kind in ("xml", "pdf"):
        assert [s["role"] for s in verified[kind]["signatures"]] == list(ROLES), verified

    # A national sync, by the department's tool, publishes them.
    department = demo["department_token"]
    run = data(await gql(hub, department, START_SYNC))["startSync"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        synced = data(await gql(hub, department, SYNC_RUN, {"r": run["runId"]}))["syncRun"]
        if synced["state"] not in ("RUNNING", "QUEUED", "PENDING"):
            break
        await asyncio.sleep(0.5)
    assert synced["state"] == "COMPLETED", synced
    assert synced["transcripts"] == {"sent": SIGNED, "published": SIGNED, "rejected": 0}, synced
    async with httpx.AsyncClient(base_url=stack["servers"]["store"]) as store:
        assert (await store.get("/_sim/received")).json()["documents"] == SIGNED

    # Anyone verifies one at /verify (its QR code's address), and with `hub verify`.
    document_id = sealed[0]["documentId"]
    checked = await hub.get(f"/verify/{document_id}", headers={"Accept": "application/json"})
    assert checked.status_code == 200, checked.text
    assert {checked.json()[kind]["verdict"] for kind in ("xml", "pdf")} == {"VALID"}, checked.text
    pdf = await hub.get(
        f"/transcripts/{document_id}.pdf", headers={"Authorization": f"Bearer {vendor}"}
    )
    assert pdf.status_code == 200, pdf.text
    (tmp_path / "hoc-ba.pdf").write_bytes(pdf.content)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    verify = await asyncio.to_thread(
        subprocess.run,
        [str(Path(sys.executable).parent / "hub"), "verify", str(tmp_path / "hoc-ba.pdf")],
        env=environment | stack["environment"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr

    # The surviving API process still answers through the front; the killed ones stay dead.
    assert not _running(by_name(stack, "api-1")["pid"])
    assert _running(by_name(stack, "api-2")["pid"]) and _running(by_name(stack, "worker-2")["pid"])
    for _ in range(4):
        async with httpx.AsyncClient(base_url=stack["front"], timeout=10) as fresh:
            assert (await fresh.get("/health")).status_code == 200
