"""The long-lived parts every request of the web app uses, and what a request says of itself."""

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.websockets import WebSocket

from hub.adapters.identity.base import IdentityProvider
from hub.adapters.identity.providers import configured
from hub.adapters.mail.smtp import SmtpMailer
from hub.auth.access import Caller
from hub.auth.clients import CallerCache
from hub.auth.people import bind, session_caller
from hub.auth.secrets import dummy_hash
from hub.auth.sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    SAFE_METHODS,
    SessionStore,
    SessionView,
    csrf_matches,
)
from hub.auth.tokens import InvalidToken, TokenIssuer, load_signing_key
from hub.config import Settings
from hub.db.engine import Database
from hub.jobs.core import Enrolment
from hub.resolvers.context import Context, Reader
from hub.resolvers.loaders import Loaders
from hub.signing.outages import Outages
from hub.signing.service import SigningServices


def purpose_of(request: Request | WebSocket) -> str | None:
    """What the client says it reads for (``X-Hub-Purpose``): logged with every read.

    Header values are ASCII, so a Vietnamese purpose arrives percent-encoded UTF-8.
    """
    return unquote(request.headers.get("x-hub-purpose", "")) or None


#: The bodies a page's form sends.
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def csrf_token_of(request: Request) -> str | None:
    """The anti-forgery token a state-changing request made with a session carries: the
    ``X-CSRF-Token`` header (scripts, apps), or else the ``csrf_token`` field of its
    form (pages that work without JavaScript)."""
    given = request.headers.get(CSRF_HEADER)
    if given is not None:
        return given
    if not request.headers.get("content-type", "").startswith(FORM_TYPES):
        return None
    field = (await request.form()).get(CSRF_FIELD)
    return field if isinstance(field, str) else None


#: Where :meth:`HubServices.session_of` keeps a request's session in its state.
SESSION_KEY = "hub_session"


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
        self.sessions = SessionStore(self.db, settings)
        #: The identity providers people sign in with, by name (``/login?provider=``).
        self.identity_providers: dict[str, IdentityProvider] = configured(settings)
        #: The signing providers' health check, their recorded statuses and the outage
        #: mails (issue 12, part 3).
        self.outages = Outages(
            db=self.db,
            providers=signing.providers if signing else None,
            mailer=SmtpMailer.from_settings(settings),
        )
        dummy_hash()  # made now, so the first unknown client id costs no more than others

    def context(self, caller: Caller | None, purpose: str | None) -> Context:
        """A resolver context reading as ``caller`` (None: nobody signed in), its reads
        logged for ``purpose``, with this server's signing providers, job sender and
        enrolment: what a GraphQL request's resolvers get, and every page or download
        that reads through them."""
        ctx = Context(
            db=self.db,
            settings=self.settings,
            reader=Reader(self.db.engine),
            caller_or_none=caller,
            purpose=purpose,
            signing=self.signing,
            send_jobs=self.send_jobs,
            enrolment=self.enrolment,
        )
        ctx.loaders = Loaders(ctx)
        return ctx

    async def session_of(self, request: Request) -> SessionView | None:
        """The request's live browser session, read from the database once per request:
        the outage banner's middleware, the caller and the page itself share it (kept in
        the request's ``state``)."""
        state = request.scope.setdefault("state", {})
        if SESSION_KEY not in state:
            state[SESSION_KEY] = await self.sessions.current(
                request.cookies.get(self.sessions.cookie_name)
            )
        found: SessionView | None = state[SESSION_KEY]
        return found

    async def caller_for(self, request: Request | WebSocket) -> Caller | None:
        """Who is behind a request: the client of its bearer token (acting for a person
        when the token is person-bound), or else the person of its session cookie;
        None without either.

        A state-changing request made with a session must carry the session's
        anti-forgery token, or it has no caller.
        """
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            if not isinstance(request, Request):
                return None
            return await self._session_caller(request)
        try:
            claims = self.tokens.verify(header[7:].strip())
        except InvalidToken:
            return None
        caller = await self.callers.get(
            self.db, claims.client_id, claims.scopes, claims.credentials_version
        )
        if caller is None or claims.person is None:
            return caller
        # Roles and revocations are cached until the records change (migration 0015):
        # a teacher moved to another school stops acting for the old one at once.
        if claims.family is not None and await self.callers.revoked(self.db, claims.family):
            return None
        return bind(caller, await self.callers.person(self.db, claims.person))

    async def _session_caller(self, request: Request) -> Caller | None:
        current = await self.session_of(request)
        if current is None:
            return None
        if request.method not in SAFE_METHODS and not csrf_matches(
            current.csrf_token, request.headers.get(CSRF_HEADER)
        ):
            return None
        person = await self.callers.person(self.db, current.personal_id, current.full_name)
        return session_caller(person) if person.known else None

    async def aclose(self) -> None:
        for provider in self.identity_providers.values():
            await provider.aclose()
