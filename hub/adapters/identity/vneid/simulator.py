"""A VNeID-style SSO on loopback, speaking :mod:`.protocol`, for the demo and the tests.

It plays C06's side of the flow for one registered relying party (the hub: its
client ID, secret, redirect URIs and the public key answers are encrypted to):

- ``GET /authorize`` shows a small Vietnamese page listing the citizens to sign in
  as (``POST /authorize/choose``), or — after ``POST /_sim/next-login
  {"personalId": …}`` — sends the browser straight back for that citizen, so a
  test or the demo can follow the redirect without a page;
- the callback's code is random standard base64 with at least one ``+``, written
  into the query unencoded as VNeID does; with ``encrypt_codes`` it is
  AES-encrypted and an ``encrypt_key`` comes beside it, which the token endpoint
  needs back;
- ``POST /token`` takes form bodies only (JSON is a 400), checks the client, its
  secret and redirect URI, lets each code be used once (``invalid_grant``
  afterwards) and answers an encrypted ``{"data", "key"}``; ``GET /userinfo``
  answers the citizen's claims the same way (birth date as ``dd/mm/yyyy``).

Control routes under ``/_sim`` (never subject to faults): ``POST /_sim/citizens``,
``/_sim/next-login``, ``/_sim/faults`` (``{"server_error": 503}``, ``{"garbage":
true}``, ``{"slow_seconds": 2}`` on the token and userinfo endpoints; ``{"deny":
true}``: the next sign-ins come back with ``error=access_denied``),
``/_sim/options`` (``{"encrypt_codes": true, "aes_mode": "CBC"}``) and
``/_sim/reset``. Stopping the server is the provider down.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from html import escape
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from hub.adapters.identity.base import ACCESS_DENIED
from hub.adapters.identity.simulation import IdentitySimulation
from hub.adapters.identity.vneid import protocol
from hub.adapters.identity.vneid.protocol import AesMode, EnvelopeError
from hub.adapters.signing.simulator import SimulatorServer


@dataclass
class Citizen:
    """A VNeID account holder."""

    personal_id: str  # not checked: the simulator may be told to send a malformed one
    full_name: str
    birth_date: date
    account_level: int = 2
    account_type: str = "CONG_DAN"  # [inference] the value VNeID sends is not published


@dataclass(frozen=True)
class RelyingParty:
    """The one system registered with the simulated SSO (the hub)."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    public_key: rsa.RSAPublicKey


@dataclass
class SsoFaults:
    """What goes wrong; the first three hit the back channel (token and userinfo) only."""

    server_error: int | None = None  # HTTP status every back-channel call answers with
    garbage: bool = False  # back-channel calls answer 200 with an HTML page
    slow_seconds: float = 0.0  # back-channel calls wait this long first
    deny: bool = False  # sign-ins come back with error=access_denied


@dataclass
class SsoOptions:
    encrypt_codes: bool = False
    aes_mode: AesMode = AesMode.ECB


@dataclass
class _Grant:
    personal_id: str
    redirect_uri: str
    encrypted: bool
    expires: float


def _birth_date(value: object) -> date:
    parsed = protocol.parse_birth_date(value)
    if isinstance(parsed, date):
        return parsed
    if isinstance(parsed, str):
        return date.fromisoformat(parsed)
    raise ValueError("birthDate required")


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _oauth_error(status: int, error: str, description: str) -> Response:
    return _json({"error": error, "error_description": description}, status)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang='vi'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title></head><body style='font-family:sans-serif;"
        f"max-width:36rem;margin:2rem auto'><h1>{escape(title)}</h1>{body}</body></html>",
        status_code=status,
    )


def _callback_url(redirect_uri: str, params: Sequence[tuple[str, str, bool]]) -> str:
    """``redirect_uri`` with ``params``; those marked raw go unencoded, as VNeID writes
    its base64 codes (``+`` and all)."""
    query = "&".join(
        f"{name}={value if raw else quote(value, safe='')}" for name, value, raw in params
    )
    return f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{query}"


class VNeIDSimulator:
    """The simulated SSO's state: citizens, codes, tokens, faults and options."""

    def __init__(
        self,
        relying_party: RelyingParty,
        *,
        aes_mode: AesMode = AesMode.ECB,
        encrypt_codes: bool = False,
        code_lifetime: float = 120.0,
        token_lifetime: float = 300.0,
    ) -> None:
        self.relying_party = relying_party
        self.code_lifetime = code_lifetime
        self.token_lifetime = token_lifetime
        self.citizens: dict[str, Citizen] = {}
        self.faults = SsoFaults()
        self.options = self._configured = SsoOptions(encrypt_codes, aes_mode)
        self._next_login: str | None = None
        self._grants: dict[str, _Grant] = {}  # the code as issued (decrypted) → its grant
        self._code_keys: dict[str, bytes] = {}  # an encrypt_key handed out → its AES key
        self._tokens: dict[str, tuple[str, float]] = {}  # access token → (citizen, expiry)

    # --- steering -----------------------------------------------------------------------------

    def add_citizen(
        self,
        personal_id: str,
        full_name: str,
        birth_date: date,
        account_level: int = 2,
        account_type: str = "CONG_DAN",
    ) -> Citizen:
        """Give a citizen a VNeID account (replacing one with the same personal ID)."""
        citizen = Citizen(personal_id, full_name, birth_date, account_level, account_type)
        self.citizens[personal_id] = citizen
        return citizen

    def next_login(self, personal_id: str) -> None:
        """Make the next ``GET /authorize`` come straight back signed in as ``personal_id``."""
        if personal_id not in self.citizens:
            raise KeyError(personal_id)
        self._next_login = personal_id

    def set_faults(self, **faults: Any) -> SsoFaults:
        """Replace the faults (none given: all well)."""
        self.faults = SsoFaults(**faults)
        return self.faults

    def set_options(
        self, *, encrypt_codes: bool | None = None, aes_mode: AesMode | str | None = None
    ) -> SsoOptions:
        """Change whether codes are encrypted and the AES mode of everything encrypted."""
        if encrypt_codes is not None:
            self.options = replace(self.options, encrypt_codes=encrypt_codes)
        if aes_mode is not None:
            self.options = replace(self.options, aes_mode=AesMode(str(aes_mode).upper()))
        return self.options

    def reset(self) -> None:
        """All well again: no faults, the options it was built with, nothing pending
        (citizens are kept)."""
        self.faults = SsoFaults()
        self.options = self._configured
        self._next_login = None

    # --- the front channel (the browser) ---------------------------------------------------

    def _authorization(self, params: dict[str, str]) -> str | None:
        """Why an authorization request is refused without a redirect, or None."""
        if params.get("client_id") != self.relying_party.client_id:
            return "Ứng dụng chưa đăng ký với hệ thống định danh."
        if params.get("redirect_uri") not in self.relying_party.redirect_uris:
            return "Địa chỉ chuyển hướng chưa đăng ký."
        if params.get("response_type") != protocol.RESPONSE_TYPE or not params.get("state"):
            return "Yêu cầu đăng nhập không hợp lệ."
        return None

    def _issue_code(self, personal_id: str, redirect_uri: str) -> list[tuple[str, str, bool]]:
        """A new single-use code for ``personal_id`` as the callback carries it: random
        base64 with a ``+`` in it, encrypted with its ``encrypt_key`` when told."""
        mode = self.options.aes_mode
        while True:
            code = protocol.b64encode(os.urandom(24))
            aes_key = os.urandom(protocol.AES_KEY_BYTES)
            public = (
                protocol.encrypt_code(code, aes_key, mode) if self.options.encrypt_codes else code
            )
            if "+" in public:
                break
        encrypted = self.options.encrypt_codes
        expires = time.monotonic() + self.code_lifetime
        self._grants[code] = _Grant(personal_id, redirect_uri, encrypted, expires)
        params = [("code", public, True)]
        if encrypted:
            encrypt_key = protocol.wrap_key(aes_key, self.relying_party.public_key)
            self._code_keys[encrypt_key] = aes_key
            params.append((protocol.ENCRYPT_KEY, encrypt_key, True))
        return params

    def _answer(self, redirect_uri: str, state: str, personal_id: str | None) -> Response:
        """Send the browser back: signed in as ``personal_id``, or declined (None)."""
        if personal_id is None or self.faults.deny:
            params = [("error", ACCESS_DENIED, False), ("state", state, False)]
        else:
            params = [*self._issue_code(personal_id, redirect_uri), ("state", state, False)]
        return RedirectResponse(_callback_url(redirect_uri, params), status_code=302)

    async def authorize(self, request: Request) -> Response:
        """``GET /authorize``: straight back for the next-login citizen, or the chooser."""
        params = dict(request.query_params)
        refusal = self._authorization(params)
        if refusal is not None:
            return _page("Không thể đăng nhập", f"<p>{escape(refusal)}</p>", 400)
        redirect_uri, state = params["redirect_uri"], params["state"]
        if self._next_login is not None or self.faults.deny:
            personal_id, self._next_login = self._next_login, None
            return self._answer(redirect_uri, state, personal_id)
        hidden = "".join(
            f"<input type='hidden' name='{name}' value='{escape(params[name])}'>"
            for name in ("client_id", "redirect_uri", "state", "response_type")
        )
        choices = (
            "".join(
                f"<p><button name='personalId' value='{escape(c.personal_id)}'>"
                f"{escape(c.full_name)} — {escape(c.personal_id)} (mức {c.account_level})"
                "</button></p>"
                for c in self.citizens.values()
            )
            or "<p>Chưa có công dân nào.</p>"
        )
        return _page(
            "Đăng nhập bằng tài khoản định danh điện tử (mô phỏng)",
            "<p>Chọn công dân đăng nhập:</p>"
            f"<form method='post' action='/authorize/choose'>{hidden}{choices}"
            "<p><button name='deny' value='1'>Từ chối</button></p></form>",
        )

    async def choose(self, request: Request) -> Response:
        """``POST /authorize/choose``: the citizen picked on the page, or ``deny``."""
        form = {name: str(value) for name, value in (await request.form()).items()}
        refusal = self._authorization(form)
        if refusal is not None:
            return _page("Không thể đăng nhập", f"<p>{escape(refusal)}</p>", 400)
        personal_id = None if form.get("deny") else form.get("personalId")
        if personal_id is not None and personal_id not in self.citizens:
            return _page("Không thể đăng nhập", "<p>Không tìm thấy công dân.</p>", 400)
        response = self._answer(form["redirect_uri"], form["state"], personal_id)
        response.status_code = 303  # after a POST, the browser GETs the callback
        return response

    async def logout(self, request: Request) -> Response:
        """``GET /logout``: back to the relying party when it names one of its own addresses."""
        target = request.query_params.get(protocol.LOGOUT_REDIRECT, "")
        origins = {urlsplit(uri)[:2] for uri in self.relying_party.redirect_uris}
        if target and urlsplit(target)[:2] in origins:
            return RedirectResponse(target, status_code=302)
        return _page("Đã đăng xuất", "<p>Bạn đã đăng xuất khỏi hệ thống định danh.</p>")

    # --- the back channel (the relying party) ----------------------------------------------

    async def _fault(self) -> Response | None:
        """The injected fault's answer to a back-channel call, if any."""
        if self.faults.slow_seconds:
            await asyncio.sleep(self.faults.slow_seconds)
        if self.faults.server_error:
            return _oauth_error(self.faults.server_error, "server_error", "simulated failure")
        if self.faults.garbage:
            return HTMLResponse("<html><body>Hệ thống đang bảo trì</body></html>")
        return None

    def _sealed(self, value: Any) -> Response:
        envelope = protocol.seal(value, self.relying_party.public_key, self.options.aes_mode)
        return _json(envelope.model_dump())

    async def token(self, request: Request) -> Response:
        """``POST /token``: a form-encoded code exchange, ``client_secret_post``."""
        fault = await self._fault()
        if fault is not None:
            return fault
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media_type != protocol.FORM:
            return _oauth_error(400, "invalid_request", "form-encoded body required")
        form = {name: str(value) for name, value in (await request.form()).items()}
        if form.get("grant_type") != protocol.GRANT_TYPE:
            return _oauth_error(400, "unsupported_grant_type", "authorization_code only")
        rp = self.relying_party
        if form.get("client_id") != rp.client_id or not hmac.compare_digest(
            form.get("client_secret", "").encode(), rp.client_secret.encode()
        ):
            return _oauth_error(401, "invalid_client", "unknown client or wrong secret")
        code = form.get("code", "")
        encrypt_key = form.get(protocol.ENCRYPT_KEY)
        if encrypt_key:
            aes_key = self._code_keys.pop(encrypt_key, None)
            if aes_key is None:
                return _oauth_error(400, "invalid_grant", "unknown encrypt_key")
            try:
                code = protocol.decrypt_code(code, aes_key, self.options.aes_mode)
            except EnvelopeError:
                return _oauth_error(400, "invalid_grant", "the code does not decrypt")
        grant = self._grants.pop(code, None)
        if (
            grant is None
            or grant.encrypted != bool(encrypt_key)
            or grant.expires < time.monotonic()
            or grant.redirect_uri != form.get("redirect_uri")
        ):
            return _oauth_error(400, "invalid_grant", "unknown, used or expired code")
        access_token = secrets.token_urlsafe(24)
        self._tokens[access_token] = (grant.personal_id, time.monotonic() + self.token_lifetime)
        return self._sealed(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": int(self.token_lifetime),
            }
        )

    async def userinfo(self, request: Request) -> Response:
        """``GET /userinfo``: the citizen's claims for a bearer token, encrypted."""
        fault = await self._fault()
        if fault is not None:
            return fault
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        entry = self._tokens.get(token) if scheme.lower() == "bearer" else None
        citizen = self.citizens.get(entry[0]) if entry and entry[1] > time.monotonic() else None
        if citizen is None:
            return _oauth_error(401, "invalid_token", "unknown or expired access token")
        return self._sealed(
            {
                "citizenPid": citizen.personal_id,
                "fullName": citizen.full_name,
                "birthDate": protocol.format_birth_date(citizen.birth_date),
                "accountType": citizen.account_type,
                "accountLevel": citizen.account_level,
            }
        )

    # --- /_sim -------------------------------------------------------------------------------

    def _control_routes(self) -> list[Route]:
        async def citizens(request: Request) -> Response:
            if request.method == "POST":
                body = orjson.loads(await request.body())
                try:
                    self.add_citizen(
                        str(body["personalId"]),
                        str(body["fullName"]),
                        _birth_date(body.get("birthDate")),
                        int(body.get("accountLevel", 2)),
                        str(body.get("accountType", "CONG_DAN")),
                    )
                except (KeyError, TypeError, ValueError):
                    return _json({"error": "personalId, fullName, birthDate required"}, 400)
            return _json(
                [
                    {**asdict(c), "birth_date": c.birth_date.isoformat()}
                    for c in self.citizens.values()
                ]
            )

        async def next_login(request: Request) -> Response:
            body = orjson.loads(await request.body())
            try:
                self.next_login(str(body["personalId"]))
            except (KeyError, TypeError):
                return _json({"error": "unknown citizen"}, 404)
            return _json({"next": body["personalId"]})

        async def faults(request: Request) -> Response:
            if request.method == "POST":
                try:
                    self.set_faults(**orjson.loads(await request.body()))
                except TypeError:
                    return _json({"error": "unknown fault"}, 400)
            return _json(asdict(self.faults))

        async def options(request: Request) -> Response:
            if request.method == "POST":
                body = orjson.loads(await request.body())
                try:
                    self.set_options(
                        encrypt_codes=body.get("encrypt_codes"), aes_mode=body.get("aes_mode")
                    )
                except ValueError:
                    return _json({"error": "aes_mode is ECB or CBC"}, 400)
            return _json(asdict(self.options))

        async def reset(request: Request) -> Response:
            self.reset()
            return _json({"reset": True})

        return [
            Route("/citizens", citizens, methods=["GET", "POST"]),
            Route("/next-login", next_login, methods=["POST"]),
            Route("/faults", faults, methods=["GET", "POST"]),
            Route("/options", options, methods=["GET", "POST"]),
            Route("/reset", reset, methods=["POST"]),
        ]

    def app(self) -> Starlette:
        """The simulated SSO as an ASGI app."""
        return Starlette(
            routes=[
                Route("/authorize", self.authorize, methods=["GET"]),
                Route("/authorize/choose", self.choose, methods=["POST"]),
                Route("/token", self.token, methods=["POST"]),
                Route("/userinfo", self.userinfo, methods=["GET"]),
                Route("/logout", self.logout, methods=["GET"]),
                Mount("/_sim", routes=self._control_routes()),
            ]
        )


# --- started on loopback for the demo and the tests -------------------------------------------


@dataclass(kw_only=True)
class VNeIDSimulation(IdentitySimulation):
    """The simulated SSO running on loopback, and how the hub reaches it."""

    simulator: VNeIDSimulator

    @property
    def env(self) -> dict[str, str]:
        """The ``HUB_VNEID_*`` environment that points the hub at it (the key file aside)."""
        rp = self.simulator.relying_party
        return {
            "HUB_VNEID_AUTHORIZE_URL": f"{self.base_url}/authorize",
            "HUB_VNEID_TOKEN_URL": f"{self.base_url}/token",
            "HUB_VNEID_USERINFO_URL": f"{self.base_url}/userinfo",
            "HUB_VNEID_LOGOUT_URL": f"{self.base_url}/logout",
            "HUB_VNEID_CLIENT_ID": rp.client_id,
            "HUB_VNEID_CLIENT_SECRET": rp.client_secret,
            "HUB_VNEID_AES_MODE": self.simulator.options.aes_mode.value,
        }

    def add_citizen(
        self,
        personal_id: str,
        full_name: str,
        birth_date: date,
        account_level: int = 2,
        account_type: str = "CONG_DAN",
    ) -> Citizen:
        return self.simulator.add_citizen(
            personal_id, full_name, birth_date, account_level, account_type
        )

    def next_login(self, personal_id: str) -> None:
        self.simulator.next_login(personal_id)

    def set_faults(self, **faults: Any) -> SsoFaults:
        return self.simulator.set_faults(**faults)

    def set_options(
        self, *, encrypt_codes: bool | None = None, aes_mode: AesMode | str | None = None
    ) -> SsoOptions:
        return self.simulator.set_options(encrypt_codes=encrypt_codes, aes_mode=aes_mode)

    def reset(self) -> None:
        self.simulator.reset()


def simulate(
    rp_public_key: rsa.RSAPublicKey,
    *,
    redirect_uris: Iterable[str],
    client_id: str = "hub-demo",
    client_secret: str | None = None,
    aes_mode: AesMode | str = AesMode.ECB,
    encrypt_codes: bool = False,
    citizens: Iterable[Citizen] = (),
    port: int = 0,
) -> VNeIDSimulation:
    """Start the simulated SSO on 127.0.0.1 (a free port unless told) for a relying
    party registered with ``redirect_uris`` and encrypting to ``rp_public_key``."""
    relying_party = RelyingParty(
        client_id=client_id,
        client_secret=client_secret or secrets.token_urlsafe(24),
        redirect_uris=tuple(redirect_uris),
        public_key=rp_public_key,
    )
    simulator = VNeIDSimulator(
        relying_party, aes_mode=AesMode(str(aes_mode).upper()), encrypt_codes=encrypt_codes
    )
    for citizen in citizens:
        simulator.citizens[citizen.personal_id] = citizen
    server = SimulatorServer(simulator.app(), port=port).start()
    return VNeIDSimulation(simulator=simulator, server=server)
