"""The one interface every identity provider adapter implements (issue 11).

A sign-in is two steps around the person's browser: :meth:`IdentityProvider.start`
gives the provider's address the browser is sent to, with what the hub must keep
until the callback (:class:`Pending`, stored by the web layer and used once);
:meth:`IdentityProvider.finish` turns the callback's raw query string into the
person's :class:`Identity`, or raises :class:`IdentityError` with a stable code.
The hub then matches the identity to its records by the personal ID
(:func:`hub.auth.people.load_person`); no role ever comes from the provider.

The rules every adapter follows are written here once: how a callback's query is
read (:func:`query_parameters`), whether it answers the pending sign-in
(:func:`callback_parameters`) and what it says (:func:`authorization_code`), and how
a call to the provider fails (:func:`call`).
"""

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol
from urllib.parse import unquote

import httpx

from hub.domain.problems import Code

#: The callback's error when the person declined (RFC 6749 §4.1.2.1).
ACCESS_DENIED = "access_denied"
#: Callback errors that say the provider is in trouble rather than the answer wrong.
PROVIDER_TROUBLE = frozenset({"server_error", "temporarily_unavailable"})


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


# --- the callback ------------------------------------------------------------------------------


def query_parameters(raw_query: str) -> dict[str, list[str]]:
    """Every parameter of a raw query string, percent-decoded only: ``+`` stays ``+``.

    VNeID's codes are standard base64, ``+`` included and not percent-encoded; a form
    decoder would turn it into a space. Each name maps to all its values in order, so
    a caller can refuse a repeated one.
    """
    parameters: dict[str, list[str]] = {}
    for part in raw_query.lstrip("?").split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        parameters.setdefault(unquote(name), []).append(unquote(value))
    return parameters


def callback_parameters(raw_query: str, pending: Pending) -> dict[str, str]:
    """The callback's parameters, once it is known to answer the sign-in ``pending``.

    The state is checked first, in constant time: a callback without it, with two, or
    with another sign-in's says nothing the hub may act on, not even that the person
    declined (LOGIN_EXPIRED). Any other parameter given twice makes the answer
    IDENTITY_ANSWER_INVALID. What the callback says is :func:`authorization_code`'s to read.
    """
    parameters = query_parameters(raw_query)
    states = parameters.get("state", [])
    if len(states) != 1 or not hmac.compare_digest(states[0].encode(), pending.state.encode()):
        raise IdentityError(Code.LOGIN_EXPIRED, "state missing or not this sign-in's")
    repeated = sorted(name for name, values in parameters.items() if len(values) > 1)
    if repeated:
        raise IdentityError(
            Code.IDENTITY_ANSWER_INVALID, f"callback repeats {', '.join(repeated)[:64]}"
        )
    return {name: values[0] for name, values in parameters.items()}


def authorization_code(parameters: Mapping[str, str]) -> str:
    """The authorization code of a callback's :func:`callback_parameters` (RFC 6749 §4.1.2).

    The person declining (``access_denied``) is LOGIN_CANCELLED; the provider saying
    it is in trouble (:data:`PROVIDER_TROUBLE`) is IDENTITY_PROVIDER_UNAVAILABLE; any
    other error, or no code, is IDENTITY_ANSWER_INVALID.
    """
    error = parameters.get("error")
    if error == ACCESS_DENIED:
        raise IdentityError(Code.LOGIN_CANCELLED, ACCESS_DENIED)
    if error in PROVIDER_TROUBLE:
        raise IdentityError(Code.IDENTITY_PROVIDER_UNAVAILABLE, f"callback error {error}")
    if error is not None:
        raise IdentityError(Code.IDENTITY_ANSWER_INVALID, f"callback error {error[:64]!r}")
    code = parameters.get("code")
    if not code:
        raise IdentityError(Code.IDENTITY_ANSWER_INVALID, "callback without a code")
    return code


# --- the back channel --------------------------------------------------------------------------


async def call(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request to the provider, whose answer the caller reads.

    Unreachable, too slow, HTTP 5xx or 429 (too many requests) is
    IDENTITY_PROVIDER_UNAVAILABLE (try again later); any other failure of the request
    is IDENTITY_ANSWER_INVALID.
    """
    try:
        response = await http.request(method, url, **kwargs)
    except httpx.TimeoutException as error:
        raise IdentityError(
            Code.IDENTITY_PROVIDER_UNAVAILABLE, f"{url}: no answer in time"
        ) from error
    except httpx.TransportError as error:
        raise IdentityError(Code.IDENTITY_PROVIDER_UNAVAILABLE, f"{url}: {error!r}") from error
    except httpx.HTTPError as error:
        raise IdentityError(Code.IDENTITY_ANSWER_INVALID, f"{url}: {error!r}") from error
    if response.status_code >= 500 or response.status_code == 429:
        raise IdentityError(
            Code.IDENTITY_PROVIDER_UNAVAILABLE, f"{url}: HTTP {response.status_code}"
        )
    return response
