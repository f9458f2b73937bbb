"""Registering API clients and turning a client into a :class:`Caller`."""

import secrets as _secrets
import time
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from hub.auth.access import SCOPES, Caller
from hub.auth.secrets import hash_secret, new_secret, verify_secret
from hub.db.engine import Database
from hub.db.models import ApiClient, ApiClientGrant, District, School
from hub.domain.enums import ClientKind, OrgLevel


class ClientError(ValueError):
    """A client cannot be registered as asked."""


@dataclass(frozen=True)
class NewClient:
    client_id: str
    client_secret: str
    name: str
    scopes: list[str]
    org_level: OrgLevel


async def create_client(
    session: AsyncSession,
    *,
    name: str,
    kind: ClientKind,
    scopes: list[str],
    org_level: OrgLevel,
    district_codes: list[str] = (),  # type: ignore[assignment]
    school_codes: list[str] = (),  # type: ignore[assignment]
) -> NewClient:
    """Register a client; the secret is returned once and stored only hashed."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ClientError(f"unknown scopes: {', '.join(unknown)}")
    grants: list[ApiClientGrant] = []
    if org_level is OrgLevel.DISTRICT:
        if not district_codes:
            raise ClientError("a district-scoped client needs at least one --district")
        found = dict(
            (
                await session.execute(
                    select(District.code, District.id).where(District.code.in_(district_codes))
                )
            ).all()
        )
        missing = sorted(set(district_codes) - set(found))
        if missing:
            raise ClientError(f"unknown district codes: {', '.join(missing)}")
        grants = [ApiClientGrant(district_id=i) for i in found.values()]
    elif org_level is OrgLevel.SCHOOL:
        if not school_codes:
            raise ClientError("a school-scoped client needs at least one --school")
        found = dict(
            (
                await session.execute(
                    select(School.moet_code, School.id).where(School.moet_code.in_(school_codes))
                )
            ).all()
        )
        missing = sorted(set(school_codes) - set(found))
        if missing:
            raise ClientError(f"unknown school codes: {', '.join(missing)}")
        grants = [ApiClientGrant(school_id=i) for i in found.values()]
    secret = new_secret()
    client = ApiClient(
        client_id=f"hub_{_secrets.token_hex(8)}",
        name=name,
        kind=kind,
        secret_hash=hash_secret(secret),
        scopes=" ".join(sorted(set(scopes))),
        org_level=org_level,
        grants=grants,
    )
    session.add(client)
    await session.flush()
    return NewClient(client.client_id, secret, name, sorted(set(scopes)), org_level)


async def authenticate(session: AsyncSession, client_id: str, secret: str) -> ApiClient | None:
    """The enabled client with these credentials, or None."""
    client = await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    if client is None or client.disabled or not verify_secret(secret, client.secret_hash):
        return None
    return client


async def load_caller(
    session: AsyncSession, client_id: str, scopes: frozenset[str]
) -> Caller | None:
    """Resolve a token's client to the schools it reaches; None if disabled or gone."""
    client = await session.scalar(
        select(ApiClient)
        .where(ApiClient.client_id == client_id)
        .options(selectinload(ApiClient.grants))
    )
    if client is None or client.disabled:
        return None
    school_ids: frozenset[int] | None = None
    if client.org_level is not OrgLevel.DEPARTMENT:
        district_ids = [g.district_id for g in client.grants if g.district_id is not None]
        direct_ids = [g.school_id for g in client.grants if g.school_id is not None]
        rows = await session.scalars(
            select(School.id).where(
                or_(School.id.in_(direct_ids), School.district_id.in_(district_ids))
            )
        )
        school_ids = frozenset(rows)
    granted = frozenset(client.scopes.split())
    return Caller(
        client_id=client.client_id,
        scopes=scopes & granted,
        org_level=client.org_level,
        school_ids=school_ids,
    )


class CallerCache:
    """Callers resolved recently, so a request does not pay for the lookup.

    Entries live a short while: a disabled client or a changed grant takes effect
    within ``ttl`` seconds (tokens themselves live longer).
    """

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._entries: dict[tuple[str, frozenset[str]], tuple[float, Caller | None]] = {}

    async def get(self, db: Database, client_id: str, scopes: frozenset[str]) -> Caller | None:
        key = (client_id, scopes)
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        async with db.sessions() as session:
            caller = await load_caller(session, client_id, scopes)
        self._entries[key] = (now, caller)
        return caller

    def clear(self) -> None:
        self._entries.clear()
