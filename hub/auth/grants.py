"""Apps acting for a person: authorization codes and refresh tokens (issue 11).

The hub is the authorization server of vendor apps (RFC 6749 §4.1 with PKCE S256,
RFC 7636, as OAuth 2.1 and RFC 9700 ask): a person signed in at the hub approves an
app's scopes, the app trades the one-time code (with its secret and the PKCE
verifier) for a short-lived access token bound to the person and a refresh token.
Refresh tokens rotate on every use; presenting a used one again revokes every token
of that approval (its ``family``), access tokens included (they carry ``fam``).
Codes and refresh tokens are kept only as hashes.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.sessions import digest
from hub.db.models import ApiClient, AuthorizationCode, RefreshToken

#: How long an app has to trade a code (RFC 6749 §4.1.2 recommends at most 10 minutes).
CODE_SECONDS = 60


class GrantError(Exception):
    """An OAuth error (RFC 6749 §5.2): ``error`` is the standard code."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier (RFC 7636 §4.2)."""
    hashed = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(hashed).rstrip(b"=").decode("ascii")


def valid_verifier(verifier: str) -> bool:
    """43–128 unreserved characters (RFC 7636 §4.1)."""
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    return 43 <= len(verifier) <= 128 and set(verifier) <= allowed


def redirect_uris_of(client: ApiClient) -> list[str]:
    return (client.redirect_uris or "").split()


async def app_client(session: AsyncSession, client_id: str) -> ApiClient | None:
    """The enabled client that may act for people (it registered redirect URIs)."""
    client = await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    if client is None or client.disabled or client.deleted_at is not None:
        return None
    return client if redirect_uris_of(client) else None


async def issue_code(
    session: AsyncSession,
    *,
    client_id: str,
    personal_id: str,
    scopes: frozenset[str],
    redirect_uri: str,
    code_challenge: str,
) -> str:
    """A one-time code for the approval; only its hash is kept."""
    code = secrets.token_urlsafe(32)
    session.add(
        AuthorizationCode(
            code_hash=digest(code),
            client_id=client_id,
            personal_id=personal_id,
            scopes=" ".join(sorted(scopes)),
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            expires_at=_now() + timedelta(seconds=CODE_SECONDS),
        )
    )
    await session.flush()
    return code


@dataclass(frozen=True)
class Approval:
    """What a code or refresh token grants: a person, an app, scopes, one family."""

    client_id: str
    personal_id: str
    scopes: frozenset[str]
    family: str


async def redeem_code(
    session: AsyncSession, *, client_id: str, code: str, redirect_uri: str, verifier: str
) -> Approval:
    """The approval behind a code, used once (RFC 6749 §4.1.3, RFC 7636 §4.6).

    A code presented a second time is refused, and the tokens issued for it are
    revoked (RFC 6749 §4.1.2).
    """
    found = await session.scalar(
        select(AuthorizationCode).where(AuthorizationCode.code_hash == digest(code))
    )
    if found is None or found.client_id != client_id:
        raise GrantError("invalid_grant", "unknown code")
    family = f"c{found.id}"
    if found.used_at is not None:
        await revoke_family(session, family)
        raise GrantError("invalid_grant", "code already used")
    claimed = await session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.id == found.id, AuthorizationCode.used_at.is_(None))
        .values(used_at=_now())
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise GrantError("invalid_grant", "code already used")
    if _aware(found.expires_at) < _now():
        raise GrantError("invalid_grant", "code expired")
    if found.redirect_uri != redirect_uri:
        raise GrantError("invalid_grant", "redirect_uri differs from the authorization request")
    if not valid_verifier(verifier) or not hmac.compare_digest(
        s256(verifier), found.code_challenge
    ):
        raise GrantError("invalid_grant", "code_verifier does not match the code_challenge")
    return Approval(client_id, found.personal_id, frozenset(found.scopes.split()), family)


async def issue_refresh_token(session: AsyncSession, approval: Approval, days: int) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            token_hash=digest(token),
            family=approval.family,
            client_id=approval.client_id,
            personal_id=approval.personal_id,
            scopes=" ".join(sorted(approval.scopes)),
            expires_at=_now() + timedelta(days=days),
        )
    )
    await session.flush()
    return token


async def rotate_refresh_token(
    session: AsyncSession, *, client_id: str, token: str, scopes: frozenset[str] | None
) -> Approval:
    """The approval behind a refresh token, which is used up (a new one is issued).

    A used token presented again means it leaked: the whole family is revoked.
    ``scopes`` may narrow the grant, never widen it.
    """
    found = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == digest(token))
    )
    if found is None or found.client_id != client_id:
        raise GrantError("invalid_grant", "unknown refresh token")
    if found.revoked_at is not None:
        raise GrantError("invalid_grant", "refresh token revoked")
    if found.used_at is not None:
        await revoke_family(session, found.family)
        raise GrantError("invalid_grant", "refresh token already used; its grant is revoked")
    if _aware(found.expires_at) < _now():
        raise GrantError("invalid_grant", "refresh token expired")
    granted = frozenset(found.scopes.split())
    if scopes is not None and not scopes <= granted:
        raise GrantError("invalid_scope", "a refresh may not widen the grant")
    claimed = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == found.id, RefreshToken.used_at.is_(None))
        .values(used_at=_now())
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # a concurrent use won
        await revoke_family(session, found.family)
        raise GrantError("invalid_grant", "refresh token already used; its grant is revoked")
    return Approval(client_id, found.personal_id, scopes or granted, found.family)


async def revoke_family(session: AsyncSession, family: str) -> None:
    """Revoke every refresh token of an approval (and so the access tokens naming it).

    Every redeemed code got a refresh token in the same transaction, so a family
    always has a row to mark.
    """
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=_now())
    )


async def revoke_token(session: AsyncSession, *, client_id: str, token: str) -> None:
    """RFC 7009: revoke a refresh token's whole grant; unknown tokens are ignored."""
    found = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == digest(token))
    )
    if found is not None and found.client_id == client_id:
        await revoke_family(session, found.family)


async def family_revoked(session: AsyncSession, family: str) -> bool:
    """Whether the approval an access token came from was revoked."""
    revoked = await session.scalar(
        select(RefreshToken.id)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_not(None))
        .limit(1)
    )
    return revoked is not None
