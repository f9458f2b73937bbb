"""JWT access tokens for the OAuth2 client-credentials grant (RFC 9068 profile)."""

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from hub.config import Mode, Settings

ALGORITHM = "RS256"
TOKEN_TYPE = "at+jwt"
AUDIENCE = "hub-graphql"


class InvalidToken(Exception):
    """The bearer token is missing, malformed, expired or not ours."""


def load_signing_key(settings: Settings) -> RSAKey:
    """The issuer's RSA key; in demo mode it is created on first use."""
    path: Path = settings.token_key_file
    if path.exists():
        return RSAKey.import_key(path.read_bytes())
    if settings.mode is Mode.PRODUCTION:
        raise RuntimeError(f"token signing key not found at {path} (HUB_TOKEN_KEY_FILE)")
    key = RSAKey.generate_key(2048)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(key.as_pem(private=True))
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class TokenClaims:
    client_id: str
    scopes: frozenset[str]
    expires_at: int
    #: The client's ``credentials_version`` when the token was issued (claim ``cver``).
    credentials_version: int
    #: The personal ID of the person the client acts for (claim ``pid``); None for a
    #: program acting on its own (client credentials).
    person: str | None = None
    #: The approval a person-bound token came from (claim ``fam``): revoking it stops
    #: the token at once (:func:`hub.auth.grants.family_revoked`).
    family: str | None = None


class TokenIssuer:
    """Issues and checks the hub's access tokens."""

    #: How many verified tokens to remember (a client reuses its token for its lifetime).
    REMEMBERED = 10_000

    def __init__(self, key: RSAKey, *, issuer: str, lifetime_seconds: int) -> None:
        self.key = key
        self.issuer = issuer
        self.lifetime_seconds = lifetime_seconds
        self.kid = key.thumbprint()
        self._verified: OrderedDict[str, TokenClaims] = OrderedDict()

    def issue(
        self,
        client_id: str,
        scopes: frozenset[str],
        credentials_version: int = 1,
        *,
        person: str | None = None,
        family: str | None = None,
        lifetime_seconds: int | None = None,
    ) -> tuple[str, int]:
        """A signed token for ``client_id`` and its lifetime in seconds.

        ``credentials_version`` is the client's at issue: a token is refused once the
        client is disabled, deleted or its secret rotated (each raises the version).
        ``person`` binds the token to the person the client acts for (``sub`` is then
        the person, RFC 9068 §2.2); its roles are read again on every request.
        """
        now = int(time.time())
        lifetime = lifetime_seconds or self.lifetime_seconds
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": client_id,
            "aud": AUDIENCE,
            "client_id": client_id,
            "iat": now,
            "exp": now + lifetime,
            "jti": secrets.token_urlsafe(16),
            "scope": " ".join(sorted(scopes)),
            "cver": credentials_version,
        }
        if person is not None:
            claims["sub"] = person
            claims["pid"] = person
        if family is not None:
            claims["fam"] = family
        header = {"alg": ALGORITHM, "typ": TOKEN_TYPE, "kid": self.kid}
        return jwt.encode(header, claims, self.key), lifetime

    def verify(self, token: str) -> TokenClaims:
        """The claims of a valid token of ours; raises :class:`InvalidToken` otherwise.

        A token already verified is recognised by its exact text until it
        expires, sparing an RSA verification on every request.
        """
        known = self._verified.get(token)
        if known is not None and known.expires_at > time.time():
            return known
        claims = self._verify(token)
        self._verified[token] = claims
        if len(self._verified) > self.REMEMBERED:
            self._verified.popitem(last=False)
        return claims

    def _verify(self, token: str) -> TokenClaims:
        try:
            decoded = jwt.decode(token, self.key, algorithms=[ALGORITHM])
            if decoded.header.get("typ", "").lower() != TOKEN_TYPE:
                raise InvalidToken("not an access token")
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": AUDIENCE},
                exp={"essential": True},
                client_id={"essential": True},
                cver={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as error:
            raise InvalidToken(str(error)) from error
        claims: dict[str, Any] = decoded.claims
        return TokenClaims(
            client_id=claims["client_id"],
            scopes=frozenset(str(claims.get("scope", "")).split()),
            expires_at=int(claims["exp"]),
            credentials_version=int(claims["cver"]),
            person=str(claims["pid"]) if claims.get("pid") else None,
            family=str(claims["fam"]) if claims.get("fam") else None,
        )

    def jwks(self) -> dict[str, Any]:
        public = self.key.as_dict(private=False)
        return {"keys": [public | {"kid": self.kid, "use": "sig", "alg": ALGORITHM}]}
