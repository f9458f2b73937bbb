"""The hub's client of a VNeID-style SSO (:mod:`.protocol`), an :class:`IdentityProvider`.

Whether a callback belongs to the sign-in the hub started and what it says, and
how a call to the provider fails, are the rules every identity adapter follows
(:mod:`hub.adapters.identity.base`). What is VNeID's own:

- the code may come encrypted, with an ``encrypt_key`` handed back to the token
  endpoint as it came;
- any answer the hub cannot use — not JSON, not opening with the hub's key, a field
  missing, a 4xx such as a code used twice — is IDENTITY_ANSWER_INVALID (sign in again);
- who signed in: the 12-digit personal ID, name, birth date and account level of
  the userinfo answer, nothing else (roles come from the hub's own records).

The relying party's RSA key (:func:`load_rp_key`) is what VNeID encrypts its
answers and codes to; the hub registers its public half with C06.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlencode

import httpx
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import BaseModel, ValidationError

from hub.adapters.identity.base import (
    Identity,
    IdentityError,
    Pending,
    Start,
    authorization_code,
    call,
    callback_parameters,
)
from hub.adapters.identity.vneid import protocol
from hub.adapters.identity.vneid.protocol import AesMode, EnvelopeError, TokenAnswer, UserInfo
from hub.config import Mode, Settings
from hub.domain.problems import Code

#: The hub's name for this provider: ``/login?provider=vneid`` and ``Identity.provider``.
NAME = "vneid"

Answer = TypeVar("Answer", bound=BaseModel)


def load_rp_key(settings: Settings) -> rsa.RSAPrivateKey:
    """The hub's RSA key VNeID encrypts to (``HUB_VNEID_KEY_FILE``); in demo mode it is
    created on first use, in production a missing or non-RSA key stops the start."""
    path: Path = settings.vneid_key_file
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise RuntimeError(f"the VNeID relying-party key at {path} is not an RSA key")
        return key
    if settings.mode is Mode.PRODUCTION:
        raise RuntimeError(f"VNeID relying-party key not found at {path} (HUB_VNEID_KEY_FILE)")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return key


def _with_query(url: str, params: dict[str, str]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


class VNeIDProvider:
    """Sign-in with a VNeID-style SSO: authorization code, encrypted answers, userinfo."""

    name: str = NAME
    label: str = "Đăng nhập bằng VNeID"

    def __init__(
        self,
        *,
        authorize_url: str,
        token_url: str,
        userinfo_url: str,
        client_id: str,
        client_secret: str,
        rp_key: rsa.RSAPrivateKey,
        aes_mode: AesMode = AesMode.ECB,
        scope: str = "openid",
        logout_url: str | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.authorize_url = authorize_url
        self.token_url = token_url
        self.userinfo_url = userinfo_url
        self.client_id = client_id
        self._client_secret = client_secret
        self._rp_key = rp_key
        self.aes_mode = aes_mode
        self.scope = scope
        self._logout_endpoint = logout_url
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout), transport=transport)

    async def start(self, redirect_uri: str) -> Start:
        """The authorization URL with a fresh ``state`` (VNeID knows no PKCE or nonce)."""
        state = secrets.token_urlsafe(32)
        url = _with_query(
            self.authorize_url,
            {
                "response_type": protocol.RESPONSE_TYPE,
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "scope": self.scope,
                "state": state,
            },
        )
        return Start(url=url, pending=Pending(state=state, redirect_uri=redirect_uri))

    async def finish(self, raw_query: str, pending: Pending) -> Identity:
        """Who signed in, from the callback's raw query string (see the module)."""
        parameters = callback_parameters(raw_query, pending)
        code = authorization_code(parameters)
        encrypt_key = parameters.get(protocol.ENCRYPT_KEY) or None
        access_token = await self._token(code, encrypt_key, pending.redirect_uri)
        info = await self._userinfo(access_token)
        return Identity(
            provider=self.name,
            subject=info.personal_id,
            personal_id=info.personal_id,
            full_name=info.full_name,
            birth_date=info.birth_date,
            account_level=info.account_level,
        )

    async def logout_url(self, logout_hint: str | None, return_to: str) -> str | None:
        """The provider's logout address sending the browser back to ``return_to``, if
        one is configured (VNeID has no ID token, so ``logout_hint`` is not used)."""
        if not self._logout_endpoint:
            return None
        return _with_query(self._logout_endpoint, {protocol.LOGOUT_REDIRECT: return_to})

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- the back channel ------------------------------------------------------------------

    async def _token(self, code: str, encrypt_key: str | None, redirect_uri: str) -> str:
        """An access token for ``code``: a form-encoded request, ``client_secret_post``."""
        form = {
            "grant_type": protocol.GRANT_TYPE,
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "redirect_uri": redirect_uri,
            "code": code,
        }
        if encrypt_key is not None:
            form[protocol.ENCRYPT_KEY] = encrypt_key
        response = await call(self._http, "POST", self.token_url, data=form)
        return self._open(response, TokenAnswer, "token").access_token

    async def _userinfo(self, access_token: str) -> UserInfo:
        response = await call(
            self._http,
            "GET",
            self.userinfo_url,
            headers={"Authorization": f"Bearer {access_token}"},
        )
        return self._open(response, UserInfo, "userinfo")

    def _open(self, response: httpx.Response, kind: type[Answer], what: str) -> Answer:
        """The decrypted answer as ``kind``; a refusal or anything unusable is
        IDENTITY_ANSWER_INVALID (the detail names the OAuth error, never the content)."""
        if response.status_code != 200:
            raise IdentityError(
                Code.IDENTITY_ANSWER_INVALID,
                f"{what}: HTTP {response.status_code} {_oauth_error(response)}".rstrip(),
            )
        try:
            return kind.model_validate(
                protocol.open_envelope(response.content, self._rp_key, self.aes_mode)
            )
        except EnvelopeError as error:
            raise IdentityError(Code.IDENTITY_ANSWER_INVALID, f"{what}: {error}") from error
        except ValidationError as error:
            fields = sorted({".".join(map(str, e["loc"])) for e in error.errors()})
            raise IdentityError(
                Code.IDENTITY_ANSWER_INVALID, f"{what}: unusable {', '.join(fields)}"
            ) from error


def _oauth_error(response: httpx.Response) -> str:
    """The OAuth ``error`` code of a refusal, if it has one (for the log)."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return error[:64] if isinstance(error, str) else ""


def from_settings(settings: Settings) -> VNeIDProvider | None:
    """The configured VNeID-style provider, or None when ``HUB_VNEID_AUTHORIZE_URL`` is unset.

    A half-written configuration stops the start rather than failing at the first
    sign-in.
    """
    if not settings.vneid_authorize_url:
        return None
    token_url, userinfo_url = settings.vneid_token_url, settings.vneid_userinfo_url
    client_id, client_secret = settings.vneid_client_id, settings.vneid_client_secret
    if not (token_url and userinfo_url and client_id and client_secret):
        named = {
            "HUB_VNEID_TOKEN_URL": token_url,
            "HUB_VNEID_USERINFO_URL": userinfo_url,
            "HUB_VNEID_CLIENT_ID": client_id,
            "HUB_VNEID_CLIENT_SECRET": client_secret,
        }
        missing = ", ".join(name for name, value in named.items() if not value)
        raise RuntimeError(f"VNeID sign-in is half configured: set {missing}")
    try:
        aes_mode = AesMode(settings.vneid_aes_mode.upper())
    except ValueError as error:
        raise RuntimeError("HUB_VNEID_AES_MODE must be ECB or CBC") from error
    return VNeIDProvider(
        authorize_url=settings.vneid_authorize_url,
        token_url=token_url,
        userinfo_url=userinfo_url,
        client_id=client_id,
        client_secret=client_secret,
        rp_key=load_rp_key(settings),
        aes_mode=aes_mode,
        scope=settings.vneid_scope,
        logout_url=settings.vneid_logout_url,
        timeout=settings.identity_timeout_seconds,
    )
