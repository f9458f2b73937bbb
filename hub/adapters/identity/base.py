"""The one interface every identity provider adapter implements (issue 11).

A sign-in is two steps around the person's browser: :meth:`IdentityProvider.start`
gives the provider's address the browser is sent to, with what the hub must keep
until the callback (:class:`Pending`, stored by the web layer and used once);
:meth:`IdentityProvider.finish` turns the callback's raw query string into the
person's :class:`Identity`, or raises :class:`IdentityError` with a stable code.
The hub then matches the identity to its records by the personal ID
(:func:`hub.auth.people.load_person`); no role ever comes from the provider.
"""

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from hub.domain.problems import Code


@dataclass(frozen=True)
class Pending:
    """What the hub keeps between sending the browser away and the callback."""

    state: str
    redirect_uri: str
    nonce: str | None = None  # OpenID Connect only (VNeID returns none)
    code_verifier: str | None = None  # PKCE (RFC 7636); VNeID does not support it


@dataclass(frozen=True)
class Start:
    """Where to send the browser, and what to keep for the callback."""

    url: str
    pending: Pending


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in."""

    provider: str
    subject: str  # the provider's own id for the account
    personal_id: str  # the 12-digit personal ID (số định danh cá nhân)
    full_name: str
    birth_date: date | None = None
    account_level: int | None = None  # VNeID account level (1 or 2); None if not told
    logout_hint: str | None = None  # the ID token, for RP-initiated logout


class IdentityError(Exception):
    """A sign-in the provider or its answer did not allow; ``code`` is stable.

    ``detail`` is for the log only, never for the person or a client.
    """

    def __init__(self, code: Code, detail: str = "") -> None:
        super().__init__(f"{code.value}: {detail}")
        self.code = code
        self.detail = detail


class IdentityProvider(Protocol):
    """One configured identity provider."""

    #: The short name in ``/login?provider=`` and in the session (``vneid``, ``oidc``).
    name: str
    #: What the sign-in page shows on the button (Vietnamese).
    label: str

    async def start(self, redirect_uri: str) -> Start:
        """A new sign-in: fresh state (and nonce and PKCE verifier where used)."""
        ...

    async def finish(self, raw_query: str, pending: Pending) -> Identity:
        """The identity from the callback's raw query string (``+`` kept as is).

        Raises :class:`IdentityError`: LOGIN_CANCELLED (the person said no),
        LOGIN_EXPIRED (state does not match), IDENTITY_PROVIDER_UNAVAILABLE (down,
        slow, 5xx), IDENTITY_ANSWER_INVALID (garbage, a bad signature, wrong issuer
        or audience, expired or future-dated token, nonce missing or different, a
        code used twice, no personal ID).
        """
        ...

    async def logout_url(self, logout_hint: str | None, return_to: str) -> str | None:
        """Where to send the browser to end the session at the provider too, if it can."""
        ...

    async def aclose(self) -> None: ...
