"""The hub's client for a standard OpenID provider (the province's SSO, Keycloak brokering
VNeID…): OpenID Connect Core 1.0, authorization code flow, with PKCE S256 (RFC 7636) and
a nonce.

The endpoints come from the provider's discovery document (:mod:`.protocol`), fetched
once a day. The ID token is checked with joserfc against the provider's JWKS: the
signature (asymmetric algorithms only, :data:`~.protocol.SIGNING_ALGORITHMS`), ``iss``,
``aud`` (and ``azp``), ``exp``, ``iat`` (not in the future, :data:`LEEWAY_SECONDS`) and
the ``nonce`` of this sign-in. A key ID the cached JWKS does not hold makes the adapter
fetch the JWKS once more — the provider may have rotated its keys — and refuse if it
is still unknown. The personal ID is read from the ID token or, when the ID token does
not carry it, from the userinfo endpoint, whose ``sub`` must be the ID token's.

Whether the callback answers this sign-in and what it says, and how a call to the
provider fails, are the rules every identity adapter follows
(:mod:`hub.adapters.identity.base`); between the two readings of the callback sits
OpenID's own check of its ``iss`` (RFC 9207).

authlib gives the random values and the PKCE challenge; the calls are plain httpx,
because authlib's own httpx client now builds on ``httpx2`` (IDENTITY.md).
"""

from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import structlog
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, Key, RSAKey
from joserfc.jwt import JWTClaimsRegistry

from hub.adapters.identity.base import (
    Identity,
    IdentityError,
    Pending,
    Start,
    authorization_code,
    call,
    callback_parameters,
)
from hub.adapters.identity.oidc.protocol import (
    CLIENT_SECRET_BASIC,
    SIGNING_ALGORITHMS,
    WELL_KNOWN_PATH,
    Discovery,
    DiscoveryError,
)
from hub.config import Settings
from hub.domain.personal_id import is_well_formed
from hub.domain.problems import Code

log = structlog.get_logger(__name__)

#: How far the provider's clock may be ahead of the hub's (``iat``) or behind it (``exp``).
LEEWAY_SECONDS = 60
#: How long the discovery document is used before it is fetched again.
DISCOVERY_SECONDS = 24 * 3600
#: What the sign-in page shows on the button when nothing else is configured.
DEFAULT_LABEL = "Đăng nhập bằng tài khoản SSO của tỉnh"

ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

#: Which key type verifies which algorithm (ES256: on P-256 only, RFC 7518 §3.4).
KEY_TYPES: dict[str, type[RSAKey | ECKey]] = {"RS256": RSAKey, "PS256": RSAKey, "ES256": ECKey}


@dataclass(frozen=True, slots=True)
class Tokens:
    """What the token endpoint gave for the code."""

    id_token: str
    access_token: str


class OIDCProvider:
    """Sign-in at a standard OpenID provider, as a confidential client of it."""

    name = "oidc"

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        client_secret: str,
        personal_id_claim: str = "personal_id",
        scope: str = "openid profile",
        timeout: float = 10.0,
        label: str = DEFAULT_LABEL,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if "openid" not in scope.split():
            raise ValueError(f"the scope {scope!r} lacks 'openid': no ID token would come")
        self.issuer = issuer
        self.client_id = client_id
        self.client_secret = client_secret
        self.personal_id_claim = personal_id_claim
        self.scope = scope
        self.timeout = timeout
        self.label = label
        self._http = httpx.AsyncClient(
            timeout=timeout, transport=transport, headers={"Accept": "application/json"}
        )
        self._discovery: Discovery | None = None
        self._discovered_at = 0.0
        self._keys: list[Key] | None = None

    async def start(self, redirect_uri: str) -> Start:
        discovery = await self._discover()
        pending = Pending(
            state=generate_token(32),
            redirect_uri=redirect_uri,
            nonce=generate_token(32),
            code_verifier=generate_token(64),  # RFC 7636 §4.1: 43 to 128 characters
        )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "scope": self.scope,
                "state": pending.state,
                "nonce": pending.nonce,
                "code_challenge": create_s256_code_challenge(pending.code_verifier),
                "code_challenge_method": "S256",
            }
        )
        endpoint = discovery.authorization_endpoint
        return Start(url=f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", pending=pending)

    async def finish(self, raw_query: str, pending: Pending) -> Identity:
        answer = callback_parameters(raw_query, pending)
        if pending.nonce is None or pending.code_verifier is None:
            raise IdentityError(Code.LOGIN_EXPIRED, "the sign-in was not started with a nonce")
        discovery = await self._discover()
        issuer = answer.get("iss")
        # RFC 9207: an answer naming another issuer is a mix-up between providers.
        if (issuer is not None or discovery.returns_iss) and issuer != self.issuer:
            raise invalid(f"the answer's iss is {issuer!r}")
        code = authorization_code(answer)

        tokens = await self._redeem(discovery, code, pending)
        claims = await self._verify_id_token(discovery, tokens.id_token, nonce=pending.nonce)
        if self.personal_id_claim not in claims:
            userinfo = await self._userinfo(discovery, tokens.access_token, claims["sub"])
            claims = userinfo | claims
        personal_id = claims.get(self.personal_id_claim)
        if not isinstance(personal_id, str) or not is_well_formed(personal_id):
            raise invalid(f"claim {self.personal_id_claim!r} is not a 12-digit personal ID")
        return Identity(
            provider=self.name,
            subject=claims["sub"],
            personal_id=personal_id,
            full_name=full_name(claims),
            birth_date=birth_date(claims),
            logout_hint=tokens.id_token,
        )

    async def logout_url(self, logout_hint: str | None, return_to: str) -> str | None:
        """RP-Initiated Logout 1.0 at the provider's ``end_session_endpoint``, if it has one.

        None too when the provider cannot be reached: the hub's own session ends anyway.
        """
        try:
            discovery = await self._discover()
        except IdentityError as error:
            log.warning("oidc.logout_without_provider", code=error.code, detail=error.detail)
            return None
        endpoint = discovery.end_session_endpoint
        if endpoint is None:
            return None
        hint = {"id_token_hint": logout_hint} if logout_hint else {}
        query = urlencode(
            {**hint, "client_id": self.client_id, "post_logout_redirect_uri": return_to}
        )
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- the provider's endpoints ---------------------------------------------------------

    async def _discover(self) -> Discovery:
        if self._discovery is None or time.monotonic() - self._discovered_at > DISCOVERY_SECONDS:
            response = await call(self._http, "GET", self.issuer.rstrip("/") + WELL_KNOWN_PATH)
            if response.status_code != 200:
                raise invalid(f"discovery: HTTP {response.status_code}")
            try:
                self._discovery = Discovery.read(json_object(response), issuer=self.issuer)
            except DiscoveryError as error:
                raise invalid(f"discovery: {error}") from error
            self._discovered_at = time.monotonic()
        return self._discovery

    async def _redeem(self, discovery: Discovery, code: str, pending: Pending) -> Tokens:
        """The tokens for ``code``, proving this sign-in started it (``code_verifier``)."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "code_verifier": pending.code_verifier,
        }
        headers = {}
        try:
            method = discovery.client_authentication()
        except DiscoveryError as error:
            raise invalid(str(error)) from error
        if method == CLIENT_SECRET_BASIC:
            headers["Authorization"] = basic_authorization(self.client_id, self.client_secret)
        else:
            form |= {"client_id": self.client_id, "client_secret": self.client_secret}
        response = await call(
            self._http, "POST", discovery.token_endpoint, data=form, headers=headers
        )
        if response.status_code != 200:
            # invalid_grant: a code used twice, expired, or not issued for this verifier.
            raise invalid(f"token endpoint: HTTP {response.status_code} {response.text[:200]!r}")
        body = json_object(response)
        id_token, access_token = body.get("id_token"), body.get("access_token")
        if not isinstance(id_token, str) or not isinstance(access_token, str):
            raise invalid("token endpoint: no id_token or access_token")
        if str(body.get("token_type", "")).lower() != "bearer":
            raise invalid(f"token endpoint: token_type {body.get('token_type')!r}")
        return Tokens(id_token=id_token, access_token=access_token)

    async def _verify_id_token(
        self, discovery: Discovery, id_token: str, *, nonce: str
    ) -> dict[str, Any]:
        """The ID token's claims once its signature and claims are checked (Core §3.1.3.7)."""
        try:
            header = jws.extract_compact(id_token.encode()).headers()
        except (JoseError, ValueError) as error:
            raise invalid(f"the ID token is not a compact JWS: {error!r}") from error
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in SIGNING_ALGORITHMS:
            raise invalid(f"the ID token is signed with {algorithm!r}")
        key = await self._signing_key(discovery, kid, algorithm)
        rules = JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": self.issuer},
            sub={"essential": True},
            aud={"essential": True, "value": self.client_id},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            claims = jwt.decode(id_token, key, algorithms=[algorithm]).claims
            rules.validate(claims)
        except JoseError as error:
            raise invalid(f"ID token: {error.error} {error.description or ''}".rstrip()) from error
        audience = claims["aud"]
        several = isinstance(audience, list) and len(audience) > 1
        if (several or "azp" in claims) and claims.get("azp") != self.client_id:
            raise invalid(f"ID token: azp {claims.get('azp')!r} with aud {audience!r}")
        return claims

    async def _signing_key(self, discovery: Discovery, kid: Any, algorithm: str) -> Key:
        fetched = False
        if self._keys is None:
            self._keys, fetched = await self._jwks(discovery), True
        key = pick_key(self._keys, kid, algorithm)
        if key is None and not fetched:
            log.info("oidc.jwks_refetch", issuer=self.issuer, kid=kid)
            self._keys = await self._jwks(discovery)
            key = pick_key(self._keys, kid, algorithm)
        if key is None:
            raise invalid(f"no {algorithm} key {kid!r} in the provider's JWKS")
        return key

    async def _jwks(self, discovery: Discovery) -> list[Key]:
        response = await call(self._http, "GET", discovery.jwks_uri)
        if response.status_code != 200:
            raise invalid(f"JWKS: HTTP {response.status_code}")
        keys = json_object(response).get("keys")
        if not isinstance(keys, list):
            raise invalid("JWKS: no list of keys")
        return [key for key in map(signature_key, keys) if key is not None]

    async def _userinfo(
        self, discovery: Discovery, access_token: str, subject: str
    ) -> dict[str, Any]:
        if discovery.userinfo_endpoint is None:
            raise invalid(f"no {self.personal_id_claim!r} in the ID token and no userinfo")
        response = await call(
            self._http,
            "GET",
            discovery.userinfo_endpoint,
            headers={"Authorization": f"Bearer {access_token}"},
        )
        if response.status_code != 200:
            raise invalid(f"userinfo: HTTP {response.status_code}")
        claims = json_object(response)
        # Core §5.3.2: the answer may be about someone else (token substitution).
        if claims.get("sub") != subject:
            raise invalid(f"userinfo is about {claims.get('sub')!r}, the ID token {subject!r}")
        return claims


def from_settings(settings: Settings) -> OIDCProvider | None:
    """The provider at ``HUB_OIDC_ISSUER`` (None while it is unset), as the client
    ``HUB_OIDC_CLIENT_ID`` / ``HUB_OIDC_CLIENT_SECRET``.

    A half-written configuration stops the start rather than failing at the first
    sign-in.
    """
    if not settings.oidc_issuer:
        return None
    client_id, client_secret = settings.oidc_client_id, settings.oidc_client_secret
    if not (client_id and client_secret):
        named = {"HUB_OIDC_CLIENT_ID": client_id, "HUB_OIDC_CLIENT_SECRET": client_secret}
        missing = ", ".join(name for name, value in named.items() if not value)
        raise RuntimeError(f"OpenID sign-in is half configured: set {missing}")
    if "openid" not in settings.oidc_scope.split():
        raise RuntimeError(f"HUB_OIDC_SCOPE must include openid (it is {settings.oidc_scope!r})")
    return OIDCProvider(
        issuer=settings.oidc_issuer,
        client_id=client_id,
        client_secret=client_secret,
        personal_id_claim=settings.oidc_personal_id_claim,
        scope=settings.oidc_scope,
        timeout=settings.identity_timeout_seconds,
    )


# --- reading the provider's answers ---------------------------------------------------------


def invalid(detail: str) -> IdentityError:
    return IdentityError(Code.IDENTITY_ANSWER_INVALID, detail)


def json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as error:
        raise invalid(f"{response.url}: not JSON: {response.text[:200]!r}") from error
    if not isinstance(body, dict):
        raise invalid(f"{response.url}: not a JSON object")
    return body


def basic_authorization(client_id: str, client_secret: str) -> str:
    """client_secret_basic: each part form-encoded first (RFC 6749 §2.3.1)."""
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def signature_key(data: Any) -> Key | None:
    """A JWKS entry as a signature-checking key; None for what cannot check an ID token
    (encryption keys, symmetric keys, key types the hub does not use, malformed keys)."""
    if not isinstance(data, dict) or data.get("use", "sig") != "sig":
        return None
    if data.get("kty") not in ("RSA", "EC"):
        return None
    try:
        return JWKRegistry.import_key(data)
    except (JoseError, ValueError, TypeError):
        return None


def pick_key(keys: list[Key], kid: Any, algorithm: str) -> Key | None:
    """The key for ``kid`` that can check ``algorithm``; without a ``kid``, the only one."""
    usable = [
        key
        for key in keys
        if isinstance(key, KEY_TYPES[algorithm])
        and key.get("alg", algorithm) == algorithm
        and (algorithm != "ES256" or key.get("crv") == "P-256")
    ]
    if kid is None:
        return usable[0] if len(usable) == 1 else None
    return next((key for key in usable if key.kid == kid), None)


def full_name(claims: dict[str, Any]) -> str:
    """``name``, or the family, middle and given names in the Vietnamese order."""
    name = claims.get("name")
    if isinstance(name, str) and name.strip():
        return " ".join(name.split())
    parts = (claims.get(part) for part in ("family_name", "middle_name", "given_name"))
    return " ".join(part.strip() for part in parts if isinstance(part, str) and part.strip())


def birth_date(claims: dict[str, Any]) -> date | None:
    """``birthdate`` as a date; None when absent or partial (Core §5.1 allows ``0000-MM-DD``
    and a year alone)."""
    value = claims.get("birthdate")
    if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
