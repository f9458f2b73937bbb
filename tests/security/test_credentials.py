"""Guarding client credentials (issue "Guard the data", part A).

Findings reproduced here: ``/oauth/token`` took any number of wrong secrets and
the right one at once after; an unknown client id answered faster than a known
one; a disabled client's tokens kept working for the CallerCache TTL (~30 s);
``hub clients`` could only ``create``.
"""

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

import hub.auth.clients as clients_module
import hub.cli
import hub.cli.clients
from hub.auth.clients import authenticate
from hub.auth.throttle import Limits, TokenThrottle
from hub.db.engine import StatementCounter, current_statements
from hub.db.models import AccessLog, ApiClient
from hub.domain.enums import OrgLevel
from hub.domain.problems import Code
from hub.web.app import create_app
from tests.helpers import register

ME = "{ me { clientId } }"


def _client(app, address: str) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://hub.test")


async def _token(http: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )


async def _me(http: httpx.AsyncClient, token: str) -> dict:
    response = await http.post(
        "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def _refused(result: dict) -> bool:
    codes = [e.get("extensions", {}).get("code") for e in result.get("errors") or []]
    return "UNAUTHENTICATED" in codes


# --- 1. throttling ---------------------------------------------------------------


async def test_token_endpoint_throttles_a_client_id_even_for_the_right_secret(
    settings, db, app, world
):
    client_id, secret = await register(db, org=OrgLevel.DEPARTMENT, scopes=["reports:read"])
    # Two "API processes" on one database: the counts are shared between them.
    other = create_app(settings, db)
    limit = settings.token_failures_per_client
    async with _client(app, "10.1.0.1") as first, _client(other, "10.1.0.2") as second:
        for attempt in range(limit):
            http = first if attempt % 2 else second
            refused = await _token(http, client_id, f"wrong-{attempt}")
            assert refused.status_code == 401, (attempt, refused.text)
        throttled = await _token(first, client_id, "wrong-again")
        assert throttled.status_code == 429
        retry_after = int(throttled.headers["retry-after"])
        assert 0 < retry_after <= settings.token_failure_window_seconds
        body = throttled.json()
        assert body["error"] == "slow_down"
        assert body["code"] == Code.TOO_MANY_REQUESTS.value
        assert f"{retry_after} giây" in body["message"]
        assert throttled.headers["cache-control"] == "no-store"
        # While throttled even the right secret is refused, in either process.
        for http in (first, second):
            right = await _token(http, client_id, secret)
            assert right.status_code == 429, right.text


async def test_a_success_resets_the_client_ids_count(db, app, settings, world):
    client_id, secret = await register(db, org=OrgLevel.DEPARTMENT, scopes=["reports:read"])
    limit = settings.token_failures_per_client
    async with _client(app, "10.2.0.1") as http:
        for _ in range(limit - 1):
            assert (await _token(http, client_id, "wrong")).status_code == 401
        assert (await _token(http, client_id, secret)).status_code == 200
        for _ in range(limit - 1):
            assert (await _token(http, client_id, "wrong")).status_code == 401
        assert (await _token(http, client_id, secret)).status_code == 200


async def test_token_endpoint_throttles_a_source_address(settings, db, world):
    client_id, secret = await register(db, org=OrgLevel.DEPARTMENT, scopes=["reports:read"])
    strict = settings.model_copy(update={"token_failures_per_address": 5})
    app = create_app(strict, db)
    async with _client(app, "10.3.0.1") as guesser, _client(app, "10.3.0.2") as honest:
        for n in range(5):  # a different (unknown) client id each time
            assert (await _token(guesser, f"hub_guess{n}", "x")).status_code == 401
        assert (await _token(guesser, client_id, secret)).status_code == 429
        assert (await _token(honest, client_id, secret)).status_code == 200


async def test_the_throttle_window_ends(db, world):
    now = [1_000_000.0]
    throttle = TokenThrottle(
        db, Limits(per_client=2, per_address=100, window_seconds=60), lambda: now[0]
    )
    await throttle.reset(client_id="hub_window", address="10.4.0.1")
    assert await throttle.attempt("hub_window", "10.4.0.1") is None
    assert await throttle.attempt("hub_window", "10.4.0.1") is None
    assert await throttle.attempt("hub_window", "10.4.0.1") == 60
    now[0] += 45
    assert await throttle.attempt("hub_window", "10.4.0.1") == 15
    now[0] += 16
    assert await throttle.attempt("hub_window", "10.4.0.1") is None


# --- 2. equal work for unknown and known client ids ------------------------------


async def test_an_unknown_client_id_costs_the_same_work_as_a_known_one(db, app, world, monkeypatch):
    client_id, _ = await register(db, org=OrgLevel.DEPARTMENT, scopes=["reports:read"])
    disabled_id, disabled_secret = await register(
        db, org=OrgLevel.DEPARTMENT, scopes=["reports:read"]
    )
    async with db.unit_of_work() as session:
        await clients_module.set_disabled(session, disabled_id, True)
    verified: list[tuple[str, ...]] = []
    real_verify = clients_module.verify_secret

    def counting_verify(secret: str, stored: str) -> bool:
        verified.append(tuple(stored.split("$")[:4]))  # scheme and scrypt cost n, r, p
        return real_verify(secret, stored)

    monkeypatch.setattr(clients_module, "verify_secret", counting_verify)

    async def work(cid: str, secret: str) -> tuple[list[tuple[str, ...]], int]:
        verified.clear()
        counter = StatementCounter()
        token = current_statements.set(counter)
        try:
            async with db.unit_of_work() as session:
                assert await authenticate(session, cid, secret) is None
        finally:
            current_statements.reset(token)
        return list(verified), counter.count

    known = await work(client_id, "wrong secret")
    unknown = await work("hub_0000000000000000", "wrong secret")
    disabled = await work(disabled_id, disabled_secret)
    assert len(known[0]) == 1 and known[0][0][0] == "scrypt"
    assert known == unknown == disabled
    # And through the endpoint: one verification each way.
    async with _client(app, "10.5.0.1") as http:
        verified.clear()
        assert (await _token(http, client_id, "wrong")).status_code == 401
        assert (await _token(http, "hub_ffffffffffffffff", "wrong")).status_code == 401
        assert len(verified) == 2 and verified[0] == verified[1]


# --- 3. hub clients list | disable | enable | rotate-secret | delete ---------------


@pytest.fixture
def cli(settings, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(hub.cli.clients, "get_settings", lambda: settings)
    runner = CliRunner()

    async def invoke(*args: str, code: int = 0):  # type: ignore[no-untyped-def]
        # The CLI runs its own event loop: give it a thread, as a separate process would.
        result = await asyncio.to_thread(runner.invoke, hub.cli.app, ["clients", *args])
        assert result.exit_code == code, result.output
        return result

    return invoke


async def test_clients_list_disable_enable_rotate_and_delete(cli, db, app, world):
    client_id, secret = await register(db, org=OrgLevel.SCHOOL, schools=[world.schools["A"].code])
    async with _client(app, "10.6.0.1") as http:
        listed = json.loads((await cli("list", "--json")).stdout)
        mine = next(c for c in listed if c["client_id"] == client_id)
        assert mine["schools"] == [world.schools["A"].code] and not mine["disabled"]
        assert "secret" not in json.dumps(mine)
        table = (await cli("list")).stdout
        assert client_id in table

        token = (await _token(http, client_id, secret)).json()["access_token"]
        assert not _refused(await _me(http, token))
        await cli("disable", client_id)
        assert (await _token(http, client_id, secret)).status_code == 401
        assert await _refused_within(http, token, 2.0) < 2.0
        await cli("enable", client_id)
        assert await _refused_within(http, token, 2.0) < 2.0, (
            "a token from before the disable stays dead"
        )
        token = (await _token(http, client_id, secret)).json()["access_token"]
        assert not _refused(await _me(http, token))

        rotated = json.loads((await cli("rotate-secret", client_id, "--json")).stdout)
        assert rotated["client_id"] == client_id and rotated["client_secret"] != secret
        assert await _refused_within(http, token, 2.0) < 2.0, (
            "tokens issued before a rotation are refused"
        )
        assert (await _token(http, client_id, secret)).status_code == 401
        token = (await _token(http, client_id, rotated["client_secret"])).json()["access_token"]
        assert not _refused(await _me(http, token))

        async with db.unit_of_work() as session:
            session.add(
                AccessLog(client_id=client_id, action="read", entity="student", entity_id=1)
            )
        await cli("delete", client_id, "--yes")
        assert await _refused_within(http, token, 2.0) < 2.0
        assert (await _token(http, client_id, rotated["client_secret"])).status_code == 401
        listed = json.loads((await cli("list", "--json")).stdout)
        assert client_id not in [c["client_id"] for c in listed]
        listed = json.loads((await cli("list", "--all", "--json")).stdout)
        assert next(c for c in listed if c["client_id"] == client_id)["deleted"]
        async with db.sessions() as session:  # the audit trail still names the client
            logged = await session.scalar(
                select(func.count()).select_from(AccessLog).where(AccessLog.client_id == client_id)
            )
            kept = await session.scalar(
                select(ApiClient.name).where(ApiClient.client_id == client_id)
            )
        assert logged == 1 and kept == "test client"
        await cli("enable", client_id, code=2)
        assert "no client" in (await cli("disable", "hub_nobody", code=2)).stdout


# --- 4. every API process refuses at once ----------------------------------------


@contextlib.asynccontextmanager
async def _process(settings) -> AsyncIterator[tuple[httpx.AsyncClient, object]]:  # type: ignore[no-untyped-def]
    """An API 'process': its own app, engine, caches and (on PostgreSQL) listener."""
    app = create_app(settings)
    async with app.router.lifespan_context(app), _client(app, "10.7.0.1") as http:
        yield http, app.state.hub


async def _refused_within(http: httpx.AsyncClient, token: str, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if _refused(await _me(http, token)):
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"the token still worked after {seconds} s")


async def test_disable_and_rotate_stop_tokens_in_every_process_at_once(settings, db, cli, world):
    postgres = db.dialect == "postgresql"
    # On PostgreSQL the processes never poll: only the NOTIFY can tell them in time.
    each = settings.model_copy(update={"clients_poll_seconds": 3600.0 if postgres else 1.0})
    disabled_id, disabled_secret = await register(
        db, org=OrgLevel.DEPARTMENT, scopes=["reports:read"]
    )
    rotated_id, rotated_secret = await register(
        db, org=OrgLevel.DEPARTMENT, scopes=["reports:read"]
    )
    async with _process(each) as (one, hub_one), _process(each) as (two, hub_two):
        if postgres:
            for _ in range(100):
                if hub_one.callers.listening and hub_two.callers.listening:  # type: ignore[attr-defined]
                    break
                await asyncio.sleep(0.05)
            assert hub_one.callers.listening and hub_two.callers.listening  # type: ignore[attr-defined]
        disabled_token = (await _token(one, disabled_id, disabled_secret)).json()["access_token"]
        rotated_token = (await _token(one, rotated_id, rotated_secret)).json()["access_token"]
        for http in (one, two):  # both processes have the callers cached
            assert not _refused(await _me(http, disabled_token))
            assert not _refused(await _me(http, rotated_token))

        await cli("disable", disabled_id)
        assert await _refused_within(two, disabled_token, 2.0) < 2.0
        assert await _refused_within(one, disabled_token, 2.0) < 2.0
        assert not _refused(await _me(two, rotated_token))

        await cli("rotate-secret", rotated_id, "--json")
        assert await _refused_within(two, rotated_token, 2.0) < 2.0
        assert await _refused_within(one, rotated_token, 2.0) < 2.0
