"""What an API client's token reaches: its :class:`Caller`, read from the client's row.

The one reading of a client's grants, for the callers :mod:`hub.auth.clients` caches
and for the admission service a person works for (:mod:`hub.auth.people`), so
neither of those modules imports the other to get it.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from hub.auth.access import Caller
from hub.db.models import ApiClient, School
from hub.domain.enums import OrgLevel


async def load_caller(
    session: AsyncSession, client_id: str, scopes: frozenset[str]
) -> Caller | None:
    """Resolve a token's client to the schools it reaches; None if disabled or gone."""
    return (await load_caller_and_version(session, client_id, scopes))[0]


async def load_caller_and_version(
    session: AsyncSession, client_id: str, scopes: frozenset[str]
) -> tuple[Caller | None, int | None]:
    """The caller and the client's current ``credentials_version`` (None: no such client)."""
    client = await session.scalar(
        select(ApiClient)
        .where(ApiClient.client_id == client_id)
        .options(selectinload(ApiClient.grants))
    )
    if client is None:
        return None, None
    if client.disabled or client.deleted_at is not None:
        return None, client.credentials_version
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
    caller = Caller(
        client_id=client.client_id,
        scopes=scopes & granted,
        org_level=client.org_level,
        school_ids=school_ids,
        kind=client.kind,
    )
    return caller, client.credentials_version
