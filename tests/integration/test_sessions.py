"""Sessions and sign-in attempts in the database (issue 11): used once, bound to the
browser that started them, and ended by the idle and the absolute timeouts."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from hub.adapters.identity.base import Identity, Pending
from hub.auth.sessions import SessionStore, attempt_key, digest
from hub.config import Settings
from hub.db.engine import Database
from hub.db.models import LoginAttempt, WebSession

CALLBACK = "http://hub.test/auth/callback"


def _identity() -> Identity:
    return Identity("vneid", "s", "001185100000", "Lê Thị Chủ Nhiệm", account_level=2)


async def _age(db: Database, token: str, *, created: timedelta, seen: timedelta) -> None:
    now = datetime.now(UTC)
    async with db.unit_of_work() as session:
        await session.execute(
            update(WebSession)
            .where(WebSession.token_hash == digest(token))
            .values(created_at=now - created, last_seen_at=now - seen)
        )


async def test_a_session_ends_after_the_idle_timeout(db: Database, settings: Settings) -> None:
    store = SessionStore(db, settings.model_copy(update={"session_idle_minutes": 30}))
    token = await store.create(_identity(), "Lê Thị Chủ Nhiệm")
    assert (await store.current(token)) is not None
    await _age(db, token, created=timedelta(minutes=40), seen=timedelta(minutes=29))
    assert (await store.current(token)) is not None  # used 29 minutes ago: still alive
    await _age(db, token, created=timedelta(minutes=40), seen=timedelta(minutes=31))
    assert (await store.current(token)) is None
    await _age(db, token, created=timedelta(minutes=40), seen=timedelta(minutes=1))
    assert (await store.current(token)) is None  # ended stays ended


async def test_a_session_ends_after_the_absolute_timeout_however_busy(
    db: Database, settings: Settings
) -> None:
    store = SessionStore(db, settings.model_copy(update={"session_absolute_hours": 12}))
    token = await store.create(_identity(), "Lê Thị Chủ Nhiệm")
    await _age(db, token, created=timedelta(hours=11, minutes=59), seen=timedelta(seconds=5))
    assert (await store.current(token)) is not None
    await _age(db, token, created=timedelta(hours=12, minutes=1), seen=timedelta(seconds=5))
    assert (await store.current(token)) is None


async def test_an_unknown_or_ended_token_has_no_session(db: Database, settings: Settings) -> None:
    store = SessionStore(db, settings)
    assert await store.current(None) is None
    assert await store.current("not-a-session") is None
    token = await store.create(_identity(), "Lê Thị Chủ Nhiệm")
    found = await store.current(token)
    assert found is not None
    await store.end(found.id)
    assert await store.current(token) is None


async def test_a_sign_in_attempt_is_taken_once_by_its_own_browser_while_fresh(
    db: Database, settings: Settings
) -> None:
    store = SessionStore(db, settings.model_copy(update={"login_attempt_seconds": 600}))
    pending = Pending(state="state-1", redirect_uri=CALLBACK, nonce="n", code_verifier="v" * 43)
    await store.begin_login("oidc", pending, "/me", browser="browser-a")
    assert await store.take_login("state-1", CALLBACK, browser="browser-b") is None
    taken = await store.take_login("state-1", CALLBACK, browser="browser-a")
    assert taken is not None and taken.pending.nonce == "n" and taken.return_to == "/me"
    assert await store.take_login("state-1", CALLBACK, browser="browser-a") is None  # replay

    stale = Pending(state="state-2", redirect_uri=CALLBACK)
    await store.begin_login("vneid", stale, "https://elsewhere.example/", browser="browser-a")
    async with db.unit_of_work() as session:
        await session.execute(
            update(LoginAttempt)
            .where(LoginAttempt.state_hash == attempt_key("state-2", "browser-a"))
            .values(created_at=datetime.now(UTC) - timedelta(minutes=11))
        )
    assert await store.take_login("state-2", CALLBACK, browser="browser-a") is None
