"""Sign-in attempts and the sessions of people signed in with a browser (issue 11).

A sign-in keeps what the callback needs (state, nonce, PKCE verifier) in a
``login_attempts`` row found by the hash of its state and of the browser that started
it, usable once and for ``login_attempt_seconds``: a replayed or forged callback finds
nothing. The browser is known by a random key in its own short-lived cookie
(``hub_login``, set by ``GET /login``), so a callback address carried to another
browser — someone else's sign-in pushed onto a victim, RFC 6749 §10.12 — finds nothing
either. A session is a random token in an HttpOnly, SameSite=Lax cookie (Secure and
``__Host-`` when the hub is served over TLS); the database keeps only its hash, with an
idle and an absolute timeout. Every state-changing request made with a session carries the
session's anti-forgery token (``X-CSRF-Token`` header or ``csrf_token`` form field),
compared in constant time.
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from hub.adapters.identity.base import Identity, Pending
from hub.config import Settings
from hub.db.engine import Database
from hub.db.models import LoginAttempt, WebSession

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
#: How often a session's ``last_seen_at`` is written (not on every request).
TOUCH_SECONDS = 60
#: What a browser key (the sign-in cookie's value) looks like: ``token_urlsafe(32)``.
BROWSER_KEY = re.compile(r"[A-Za-z0-9_-]{43}")


def digest(secret: str) -> str:
    """What the database keeps of a state, session token or code: its SHA-256."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def attempt_key(state: str, browser: str) -> str:
    """What finds a sign-in attempt: the hash of its state and of the browser's key."""
    return digest(f"{state}\n{browser}")


def browser_key(cookie: str | None) -> str:
    """The browser's key from its sign-in cookie, or a new one when it has none."""
    if cookie and BROWSER_KEY.fullmatch(cookie):
        return cookie
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class StartedLogin:
    """A sign-in attempt taken back at the callback."""

    provider: str
    pending: Pending
    return_to: str


@dataclass(frozen=True)
class SessionView:
    """A live session, as a request sees it."""

    id: int
    personal_id: str
    full_name: str
    provider: str
    account_level: int | None
    csrf_token: str
    logout_hint: str | None


def safe_return_to(value: str | None) -> str:
    """A local path to go back to after sign-in; anything else is ``/`` (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


class SessionStore:
    """Sign-in attempts and sessions in the hub's database."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.attempt_lifetime = timedelta(seconds=settings.login_attempt_seconds)
        self.idle = timedelta(minutes=settings.session_idle_minutes)
        self.absolute = timedelta(hours=settings.session_absolute_hours)
        self.secure = settings.issuer.startswith("https://")
        self.cookie_name = "__Host-hub_session" if self.secure else "hub_session"
        self.login_cookie_name = "__Host-hub_login" if self.secure else "hub_login"

    def cookie(self, token: str) -> dict[str, object]:
        """The keyword arguments of ``Response.set_cookie`` for a session token."""
        return {
            "key": self.cookie_name,
            "value": token,
            "max_age": int(self.absolute.total_seconds()),
            "path": "/",
            "httponly": True,
            "samesite": "lax",
            "secure": self.secure,
        }

    def login_cookie(self, browser: str) -> dict[str, object]:
        """The keyword arguments of ``Response.set_cookie`` for a browser's key: it lives
        as long as a sign-in attempt, and goes back to the hub with the provider's
        redirect to the callback (a top-level GET: SameSite=Lax sends it)."""
        return {
            "key": self.login_cookie_name,
            "value": browser,
            "max_age": int(self.attempt_lifetime.total_seconds()),
            "path": "/",
            "httponly": True,
            "samesite": "lax",
            "secure": self.secure,
        }

    async def begin_login(
        self, provider: str, pending: Pending, return_to: str, *, browser: str
    ) -> None:
        """Keep a sign-in attempt for the callback that ``browser`` (its key) will make."""
        async with self.db.unit_of_work() as session:
            session.add(
                LoginAttempt(
                    state_hash=attempt_key(pending.state, browser),
                    provider=provider,
                    nonce=pending.nonce,
                    code_verifier=pending.code_verifier,
                    return_to=safe_return_to(return_to),
                    created_at=_now(),
                )
            )

    async def take_login(
        self, state: str, redirect_uri: str, *, browser: str | None
    ) -> StartedLogin | None:
        """The attempt ``state`` belongs to, marked used; None if unknown, used or stale,
        or started by another browser than ``browser`` (the key in its cookie; None: it
        has no such cookie).

        The update that marks it used is the one that claims it, so two callbacks
        racing with the same state cannot both succeed.
        """
        if not browser:
            return None
        async with self.db.unit_of_work() as session:
            attempt = await session.scalar(
                select(LoginAttempt).where(LoginAttempt.state_hash == attempt_key(state, browser))
            )
            if attempt is None or attempt.used_at is not None:
                return None
            claimed = await session.execute(
                update(LoginAttempt)
                .where(LoginAttempt.id == attempt.id, LoginAttempt.used_at.is_(None))
                .values(used_at=_now())
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            if _now() - _aware(attempt.created_at) > self.attempt_lifetime:
                return None
            return StartedLogin(
                provider=attempt.provider,
                pending=Pending(
                    state=state,
                    redirect_uri=redirect_uri,
                    nonce=attempt.nonce,
                    code_verifier=attempt.code_verifier,
                ),
                return_to=attempt.return_to,
            )

    async def create(self, identity: Identity, full_name: str) -> str:
        """A new session for the person; returns the cookie's token (kept only hashed)."""
        token = secrets.token_urlsafe(32)
        now = _now()
        async with self.db.unit_of_work() as session:
            session.add(
                WebSession(
                    token_hash=digest(token),
                    personal_id=identity.personal_id,
                    full_name=full_name,
                    provider=identity.provider,
                    account_level=identity.account_level,
                    csrf_token=secrets.token_urlsafe(32),
                    logout_hint=identity.logout_hint,
                    created_at=now,
                    last_seen_at=now,
                )
            )
        return token

    async def current(self, token: str | None) -> SessionView | None:
        """The live session of a cookie's token; None when absent, ended or timed out."""
        if not token:
            return None
        now = _now()
        async with self.db.unit_of_work() as session:
            row = await session.scalar(
                select(WebSession).where(WebSession.token_hash == digest(token))
            )
            if row is None or row.ended_at is not None:
                return None
            if (
                now - _aware(row.created_at) > self.absolute
                or now - _aware(row.last_seen_at) > self.idle
            ):
                row.ended_at = now
                return None
            if now - _aware(row.last_seen_at) > timedelta(seconds=TOUCH_SECONDS):
                row.last_seen_at = now
            return SessionView(
                id=row.id,
                personal_id=row.personal_id,
                full_name=row.full_name,
                provider=row.provider,
                account_level=row.account_level,
                csrf_token=row.csrf_token,
                logout_hint=row.logout_hint,
            )

    async def end(self, session_id: int) -> None:
        async with self.db.unit_of_work() as session:
            await session.execute(
                update(WebSession)
                .where(WebSession.id == session_id, WebSession.ended_at.is_(None))
                .values(ended_at=_now())
            )
