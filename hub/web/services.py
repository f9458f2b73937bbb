"""The long-lived parts every request of the web app uses, and what a request says of itself."""

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.websockets import WebSocket

from hub.auth.access import Caller
from hub.auth.clients import CallerCache
from hub.auth.people import bind, load_person
from hub.auth.secrets import dummy_hash
from hub.auth.tokens import InvalidToken, TokenIssuer, load_signing_key
from hub.config import Settings
from hub.db.engine import Database
from hub.jobs.core import Enrolment
from hub.signing.service import SigningServices


def purpose_of(request: Request | WebSocket) -> str | None:
    """What the client says it reads for (``X-Hub-Purpose``): logged with every read.

    Header values are ASCII, so a Vietnamese purpose arrives percent-encoded UTF-8.
    """
    return unquote(request.headers.get("x-hub-purpose", "")) or None


class HubServices:
    """The long-lived parts every request uses."""

    def __init__(
        self,
        settings: Settings,
        db: Database | None = None,
        signing: SigningServices | None = None,
        send_jobs: Callable[[list[Any]], None] | None = None,
        enrolment: Enrolment | None = None,
    ) -> None:
        self.settings = settings
        self.db = db or Database(settings.database_url, echo=settings.sql_echo)
        self.signing = signing
        self.send_jobs = send_jobs
        self.enrolment = enrolment
        self.tokens = TokenIssuer(
            load_signing_key(settings),
            issuer=settings.issuer,
            lifetime_seconds=settings.token_lifetime_seconds,
        )
        self.callers = CallerCache(poll_seconds=settings.clients_poll_seconds)
        self.throttle: Any = None  # hub.auth.throttle.TokenThrottle, set by the token route
        dummy_hash()  # made now, so the first unknown client id costs no more than others

    async def caller_for(self, request: Request | WebSocket) -> Caller | None:
        """The client behind a request's bearer token; None without a valid one."""
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        try:
            claims = self.tokens.verify(header[7:].strip())
        except InvalidToken:
            return None
        caller = await self.callers.get(
            self.db, claims.client_id, claims.scopes, claims.credentials_version
        )
        if caller is None or claims.person is None:
            return caller
        # Roles are read on every request: a teacher moved to another school stops
        # acting for the old one at once.
        async with self.db.sessions() as session:
            person = await load_person(session, claims.person)
        return bind(caller, person)
