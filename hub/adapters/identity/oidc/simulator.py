"""A standard OpenID provider, simulated on loopback for the tests and the demo.

It speaks OpenID Connect as a province's SSO would: discovery at
``/.well-known/openid-configuration``, ``/authorize`` (authorization code flow; PKCE S256
and a nonce required; an ``iss`` in every answer, RFC 9207), ``/token``
(``client_secret_basic`` or ``client_secret_post``; each code used once; the PKCE
verifier checked), ``/userinfo``, ``/jwks`` and ``/logout`` (RP-initiated logout). ID
tokens are RS256 with a ``kid``. The profile claims, the personal ID among them (under
a configurable claim name), come from ``/userinfo`` unless ``claims_in_id_token``.

Who signs in: ``/authorize`` shows a page (Vietnamese, no external assets) listing the
users to choose from, and a button to refuse; or, for tests and scripts,
``POST /_sim/next-login {"personalId"}`` makes the next ``/authorize`` come straight
back signed in as that user. Users are added by :meth:`OpenIDSimulator.add_user` or
``POST /_sim/users`` (``{"personalId", "fullName", "birthDate"}`` or a list of them).

Control routes under ``/_sim``, never subject to the faults:

- ``POST /_sim/rotate-keys``: a new signing key; the old one leaves the JWKS;
- ``POST /_sim/faults`` (replacing all faults; ``GET`` reads them):
  ``{"server_error": 503}``, ``{"garbage": true}``, ``{"slow_seconds": 2}`` on every
  protocol route; ``{"deny": true}``: the person refuses (``access_denied``);
  ID tokens tampered with: ``wrong_audience``, ``wrong_issuer``, ``expired``,
  ``future_iat``, ``drop_nonce``, ``bad_signature`` (signed by a key not in the JWKS,
  under the current ``kid``), ``retired_key`` (signed by the last key rotated out),
  ``unsigned`` (``alg: none``);
  ``userinfo_wrong_sub``: userinfo answers about another subject;
- ``GET /_sim/received``: how often each route was called.

Down: stop the :class:`~hub.adapters.signing.simulator.SimulatorServer` serving it.
:func:`simulate` starts it and returns a :class:`Simulation`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import html
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any
from urllib.parse import unquote, urlencode

import orjson
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from hub.adapters.identity.oidc.adapter import OIDCProvider
from hub.adapters.identity.oidc.protocol import (
    CLIENT_SECRET_BASIC,
    CLIENT_SECRET_POST,
    WELL_KNOWN_PATH,
)
from hub.adapters.identity.simulation import IdentitySimulation
from hub.adapters.signing.simulator import SimulatorServer, free_port

JSON = "application/json"
#: How long an authorization code may wait for the token request.
CODE_SECONDS = 60
TOKEN_SECONDS = 300

Handler = Callable[[Request], Awaitable[Response]]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    headers = {"Cache-Control": "no-store", **(headers or {})}
    return Response(orjson.dumps(body), status_code=status, media_type=JSON, headers=headers)


def oauth_error(status: int, error: str, description: str = "", **headers: str) -> Response:
    return json_response({"error": error, "error_description": description}, status, headers)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def signing_key() -> RSAKey:
    return RSAKey.generate_key(
        2048, parameters={"kid": secrets.token_hex(8), "use": "sig", "alg": "RS256"}
    )


def unsigned_jwt(claims: dict[str, Any]) -> str:
    """An ``alg: none`` JWT (RFC 7519 §6), which no one may accept as an ID token."""
    parts = (orjson.dumps({"alg": "none", "typ": "JWT"}), orjson.dumps(claims))
    return ".".join(base64.urlsafe_b64encode(p).rstrip(b"=").decode() for p in parts) + "."


def with_query(url: str, parameters: dict[str, str]) -> str:
    if not parameters:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode(parameters)}"


@dataclass(frozen=True)
class SimUser:
    """An account at the provider."""

    subject: str  # the provider's own id, not the personal ID
    personal_id: str
    full_name: str
    birth_date: str  # ISO


@dataclass
class OIDCFaults:
    server_error: int | None = None
    garbage: bool = False
    slow_seconds: float = 0.0
    deny: bool = False
    wrong_audience: bool = False
    wrong_issuer: bool = False
    expired: bool = False
    future_iat: bool = False
    drop_nonce: bool = False
    bad_signature: bool = False
    retired_key: bool = False
    unsigned: bool = False
    userinfo_wrong_sub: bool = False


@dataclass(frozen=True)
class Grant:
    """What an authorization code stands for until the token request."""

    user: SimUser
    redirect_uri: str
    nonce: str
    code_challenge: str
    scope: str
    expires: float


@dataclass
class OpenIDSimulator:
    """The provider's state: its users, keys, codes and tokens, and the faults."""

    issuer: str
    client_id: str
    client_secret: str
    personal_id_claim: str = "personal_id"
    #: Where the provider may send the browser back to; empty: anywhere.
    redirect_uris: Sequence[str] = ()
    claims_in_id_token: bool = False
    #: What discovery offers; the token endpoint takes both either way.
    token_auth_methods: Sequence[str] = (CLIENT_SECRET_BASIC, CLIENT_SECRET_POST)
    faults: OIDCFaults = field(default_factory=OIDCFaults)
    users: dict[str, SimUser] = field(default_factory=dict)
    #: Every ``/authorize`` request's parameters, every token request's (no secrets).
    authorizations: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    logouts: list[dict[str, str]] = field(default_factory=list)
    hits: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.key = signing_key()
        self.retired: list[RSAKey] = []
        self._impostor = signing_key()
        self._next_login: str | None = None
        self._waiting: dict[str, dict[str, str]] = {}
        self._codes: dict[str, Grant] = {}
        self._access_tokens: dict[str, tuple[SimUser, float]] = {}

    # --- steering it ------------------------------------------------------------------------

    def add_user(self, personal_id: str, full_name: str, birth_date: date | str) -> SimUser:
        known = self.users.get(personal_id)
        subject = known.subject if known else str(uuid.uuid4())
        user = SimUser(subject, personal_id, full_name, str(birth_date))
        self.users[personal_id] = user
        return user

    def next_login(self, personal_id: str) -> None:
        if personal_id not in self.users:
            raise KeyError(f"no user {personal_id} at the simulated provider")
        self._next_login = personal_id

    def rotate_keys(self) -> str:
        """A new signing key; the old one leaves the JWKS. The new key's ``kid``."""
        self.retired.append(self.key)
        self.key = signing_key()
        return str(self.key.kid)

    def url(self, path: str) -> str:
        return self.issuer.rstrip("/") + path

    # --- the protocol -----------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.url("/authorize"),
            "token_endpoint": self.url("/token"),
            "userinfo_endpoint": self.url("/userinfo"),
            "jwks_uri": self.url("/jwks"),
            "end_session_endpoint": self.url("/logout"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile"],
            "claims_supported": ["sub", "name", "birthdate", self.personal_id_claim],
            "token_endpoint_auth_methods_supported": list(self.token_auth_methods),
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
        }

    def profile(self, user: SimUser) -> dict[str, str]:
        return {
            "name": user.full_name,
            "birthdate": user.birth_date,
            self.personal_id_claim: user.personal_id,
        }

    def id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": grant.user.subject,
            "aud": self.client_id,
            "exp": now + TOKEN_SECONDS,
            "iat": now,
            "auth_time": now,
            "nonce": grant.nonce,
        }
        if self.claims_in_id_token:
            claims |= self.profile(grant.user)
        faults = self.faults
        if faults.wrong_audience:
            claims["aud"] = "another-client"
        if faults.wrong_issuer:
            claims["iss"] = self.url("/another-realm")
        if faults.expired:
            claims["exp"], claims["iat"] = now - 600, now - 900
        if faults.future_iat:
            claims["iat"] = now + 600
        if faults.drop_nonce:
            del claims["nonce"]
        if faults.unsigned:
            return unsigned_jwt(claims)
        key = self.retired[-1] if faults.retired_key and self.retired else self.key
        header = {"alg": "RS256", "kid": key.kid}
        if faults.bad_signature:  # the published key's kid, another key's signature
            key = self._impostor
        return jwt.encode(header, claims, key, algorithms=["RS256"])

    def back(self, request: dict[str, str], **answer: str) -> Response:
        """Send the browser back to the client with ``answer``."""
        answer = {**answer, "iss": self.issuer}
        if "state" in request:
            answer["state"] = request["state"]
        return RedirectResponse(with_query(request["redirect_uri"], answer), status_code=302)

    def sign_in(self, request: dict[str, str], user: SimUser) -> Response:
        code = secrets.token_urlsafe(24)
        self._codes[code] = Grant(
            user=user,
            redirect_uri=request["redirect_uri"],
            nonce=request["nonce"],
            code_challenge=request["code_challenge"],
            scope=request["scope"],
            expires=time.monotonic() + CODE_SECONDS,
        )
        return self.back(request, code=code)

    async def authorize(self, request: Request) -> Response:
        query = dict(request.query_params)
        self.authorizations.append(query)
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id:
            return error_page("Ứng dụng yêu cầu đăng nhập chưa được đăng ký.", 400)
        if not redirect_uri.startswith(("http://", "https://")) or (
            self.redirect_uris and redirect_uri not in self.redirect_uris
        ):
            return error_page("Địa chỉ quay về của ứng dụng không được đăng ký.", 400)
        if query.get("response_type") != "code":
            return self.back(query, error="unsupported_response_type")
        if "openid" not in query.get("scope", "").split():
            return self.back(query, error="invalid_scope", error_description="openid required")
        if not query.get("nonce"):
            return self.back(query, error="invalid_request", error_description="nonce required")
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return self.back(query, error="invalid_request", error_description="PKCE S256 required")
        if self.faults.deny:
            return self.back(query, error="access_denied")
        if self._next_login is not None:
            user, self._next_login = self.users[self._next_login], None
            return self.sign_in(query, user)
        waiting = secrets.token_urlsafe(16)
        self._waiting[waiting] = query
        return chooser_page(waiting, list(self.users.values()))

    async def choose(self, request: Request) -> Response:
        form = await request.form()
        query = self._waiting.pop(str(form.get("request", "")), None)
        if query is None:
            return error_page("Lượt đăng nhập này đã hết hạn; vui lòng thử lại từ ứng dụng.", 400)
        user = self.users.get(str(form.get("personal_id", "")))
        if form.get("deny") or user is None:
            return self.back(query, error="access_denied")
        return self.sign_in(query, user)

    async def token(self, request: Request) -> Response:
        form = {key: str(value) for key, value in (await request.form()).items()}
        method, client = client_credentials(request.headers.get("authorization"), form)
        if method is None:
            return oauth_error(401, "invalid_client", "client authentication required")
        if client != (self.client_id, self.client_secret):
            return oauth_error(401, "invalid_client", "", **{"WWW-Authenticate": "Basic"})
        self.token_requests.append(
            {"auth": method, **{k: v for k, v in form.items() if k != "client_secret"}}
        )
        if form.get("grant_type") != "authorization_code":
            return oauth_error(400, "unsupported_grant_type")
        grant = self._codes.pop(form.get("code", ""), None)  # a code is used once
        if grant is None or grant.expires < time.monotonic():
            return oauth_error(400, "invalid_grant", "unknown, used or expired code")
        if form.get("redirect_uri") != grant.redirect_uri:
            return oauth_error(400, "invalid_grant", "redirect_uri differs")
        verifier = form.get("code_verifier", "")
        if not verifier or s256(verifier) != grant.code_challenge:
            return oauth_error(400, "invalid_grant", "PKCE verification failed")
        access_token = secrets.token_urlsafe(32)
        self._access_tokens[access_token] = (grant.user, time.monotonic() + TOKEN_SECONDS)
        return json_response(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": TOKEN_SECONDS,
                "scope": grant.scope,
                "id_token": self.id_token(grant),
            }
        )

    async def userinfo(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        found = self._access_tokens.get(token) if scheme.lower() == "bearer" else None
        if found is None or found[1] < time.monotonic():
            challenge = 'Bearer error="invalid_token"'
            return oauth_error(401, "invalid_token", **{"WWW-Authenticate": challenge})
        user = found[0]
        subject = "another-subject" if self.faults.userinfo_wrong_sub else user.subject
        return json_response({"sub": subject, **self.profile(user)})

    async def jwks(self, request: Request) -> Response:
        return json_response({"keys": [self.key.as_dict(private=False)]})

    async def logout(self, request: Request) -> Response:
        query = dict(request.query_params)
        self.logouts.append(query)
        back_to = query.get("post_logout_redirect_uri")
        if back_to and back_to.startswith(("http://", "https://")):
            state = {"state": query["state"]} if "state" in query else {}
            return RedirectResponse(with_query(back_to, state), status_code=302)
        return page("Đã đăng xuất", "<p>Bạn đã đăng xuất khỏi hệ thống đăng nhập.</p>")

    # --- the app ----------------------------------------------------------------------------

    def guarded(self, handler: Handler) -> Handler:
        """``handler`` under the faults, counted."""

        async def endpoint(request: Request) -> Response:
            self.hits[request.url.path] += 1
            if self.faults.slow_seconds:
                await asyncio.sleep(self.faults.slow_seconds)
            if self.faults.server_error:
                return Response("Service Unavailable", status_code=self.faults.server_error)
            if self.faults.garbage:
                return Response(b"<html><body>\x00\xff Lo\xe1\xbb\x97i", media_type=JSON)
            try:
                return await handler(request)
            except ClientDisconnect:  # the client stopped waiting (slow_seconds)
                return Response(status_code=499)

        return endpoint

    def app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            return json_response(self.discovery())

        guarded = self.guarded
        return Starlette(
            routes=[
                Route(WELL_KNOWN_PATH, guarded(discovery)),
                Route("/authorize", guarded(self.authorize)),
                Route("/authorize/choose", guarded(self.choose), methods=["POST"]),
                Route("/token", guarded(self.token), methods=["POST"]),
                Route("/userinfo", guarded(self.userinfo), methods=["GET", "POST"]),
                Route("/jwks", guarded(self.jwks)),
                Route("/logout", guarded(self.logout)),
                Mount("/_sim", routes=self.sim_routes()),
            ]
        )

    def sim_routes(self) -> list[Route]:
        async def users(request: Request) -> Response:
            body = orjson.loads(await request.body())
            for row in body if isinstance(body, list) else [body]:
                self.add_user(row["personalId"], row["fullName"], row["birthDate"])
            return json_response({"users": len(self.users)})

        async def next_login(request: Request) -> Response:
            personal_id = orjson.loads(await request.body())["personalId"]
            if personal_id not in self.users:
                return json_response({"error": f"no user {personal_id}"}, 404)
            self.next_login(personal_id)
            return json_response({"nextLogin": personal_id})

        async def rotate_keys(request: Request) -> Response:
            return json_response({"kid": self.rotate_keys()})

        async def faults(request: Request) -> Response:
            if request.method == "POST":
                self.faults = OIDCFaults(**orjson.loads(await request.body()))
            return json_response(asdict(self.faults))

        async def received(request: Request) -> Response:
            return json_response(dict(self.hits))

        return [
            Route("/users", users, methods=["POST"]),
            Route("/next-login", next_login, methods=["POST"]),
            Route("/rotate-keys", rotate_keys, methods=["POST"]),
            Route("/faults", faults, methods=["GET", "POST"]),
            Route("/received", received),
        ]


def client_credentials(
    authorization: str | None, form: dict[str, str]
) -> tuple[str | None, tuple[str, str]]:
    """How the client authenticated (None: not at all, or both ways) and its id and secret."""
    if authorization and "client_secret" in form:
        return None, ("", "")
    if authorization:
        scheme, _, encoded = authorization.partition(" ")
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None, ("", "")
        client_id, colon, secret = decoded.partition(":")
        if scheme.lower() != "basic" or not colon:
            return None, ("", "")
        return CLIENT_SECRET_BASIC, (unquote(client_id), unquote(secret))
    if "client_secret" in form:
        return CLIENT_SECRET_POST, (form.get("client_id", ""), form["client_secret"])
    return None, ("", "")


# --- pages a person sees ----------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, sans-serif; background: #f4f6f8; margin: 0; color: #1b2733; }
main { max-width: 32rem; margin: 3rem auto; background: #fff; padding: 2rem;
       border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.12); }
h1 { font-size: 1.4rem; margin-top: 0; }
ul { list-style: none; padding: 0; }
button { width: 100%; text-align: left; padding: .8rem 1rem; margin: .3rem 0; font: inherit;
         border: 1px solid #c5ced8; border-radius: 6px; background: #fff; cursor: pointer; }
button:hover { background: #eef4fb; }
button.deny { text-align: center; color: #a12622; border-color: #e3b4b2; }
small { display: block; color: #5b6875; }
.note { font-size: .9rem; color: #5b6875; }
"""


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>",
        status_code=status,
    )


def error_page(message: str, status: int) -> HTMLResponse:
    return page("Không thể đăng nhập", f"<p>{html.escape(message)}</p>", status)


def chooser_page(waiting: str, users: list[SimUser]) -> HTMLResponse:
    choices = "".join(
        f'<li><button name="personal_id" value="{html.escape(user.personal_id)}">'
        f"{html.escape(user.full_name)}"
        f"<small>Mã định danh …{html.escape(user.personal_id[-4:])}"
        f" · ngày sinh {html.escape(user.birth_date)}</small></button></li>"
        for user in users
    )
    if not users:
        choices = "<li>Chưa có người dùng nào (thêm bằng <code>POST /_sim/users</code>).</li>"
    return page(
        "Đăng nhập",
        '<p class="note">Hệ thống đăng nhập <strong>mô phỏng</strong>, chỉ dùng để thử nghiệm: '
        "chọn người đăng nhập.</p>"
        '<form method="post" action="/authorize/choose">'
        f'<input type="hidden" name="request" value="{html.escape(waiting)}">'
        f"<ul>{choices}</ul>"
        '<button class="deny" name="deny" value="1">Từ chối đăng nhập</button></form>',
    )


# --- started on loopback ----------------------------------------------------------------------


@dataclass(kw_only=True)
class Simulation(IdentitySimulation):
    """The simulated provider running on loopback, and how the hub reaches it."""

    simulator: OpenIDSimulator

    @property
    def issuer(self) -> str:
        return self.simulator.issuer

    @property
    def env(self) -> dict[str, str]:
        """The ``HUB_OIDC_*`` environment that points the hub at it."""
        return {
            "HUB_OIDC_ISSUER": self.simulator.issuer,
            "HUB_OIDC_CLIENT_ID": self.simulator.client_id,
            "HUB_OIDC_CLIENT_SECRET": self.simulator.client_secret,
            "HUB_OIDC_PERSONAL_ID_CLAIM": self.simulator.personal_id_claim,
        }

    def connect(self, **options: Any) -> OIDCProvider:
        """A new adapter pointing at it; keyword arguments override its options."""
        defaults: dict[str, Any] = {
            "issuer": self.simulator.issuer,
            "client_id": self.simulator.client_id,
            "client_secret": self.simulator.client_secret,
            "personal_id_claim": self.simulator.personal_id_claim,
        }
        return OIDCProvider(**(defaults | options))

    def add_user(self, personal_id: str, full_name: str, birth_date: date | str) -> SimUser:
        return self.simulator.add_user(personal_id, full_name, birth_date)

    def next_login(self, personal_id: str) -> None:
        """The next ``/authorize`` comes straight back signed in as this user."""
        self.simulator.next_login(personal_id)

    def set_faults(self, **faults: Any) -> None:
        """Replace the faults (:class:`OIDCFaults`); none given: none."""
        self.simulator.faults = OIDCFaults(**faults)

    def rotate_keys(self) -> str:
        return self.simulator.rotate_keys()


def simulate(
    *,
    client_id: str = "hub",
    client_secret: str | None = None,
    personal_id_claim: str = "personal_id",
    redirect_uris: Sequence[str] = (),
    claims_in_id_token: bool = False,
    token_auth_methods: Sequence[str] = (CLIENT_SECRET_BASIC, CLIENT_SECRET_POST),
    port: int = 0,
) -> Simulation:
    """Start a simulated OpenID provider on 127.0.0.1 (a free port unless ``port``)."""
    port = port or free_port("127.0.0.1")
    simulator = OpenIDSimulator(
        issuer=f"http://127.0.0.1:{port}",
        client_id=client_id,
        client_secret=client_secret or secrets.token_urlsafe(24),
        personal_id_claim=personal_id_claim,
        redirect_uris=redirect_uris,
        claims_in_id_token=claims_in_id_token,
        token_auth_methods=token_auth_methods,
    )
    server = SimulatorServer(simulator.app(), port=port).start()
    return Simulation(simulator=simulator, server=server)
