"""Registering and managing API clients, and turning a client into a :class:`Caller`.

Every change that must stop a client's tokens (disable, delete, secret rotation)
raises the client's ``credentials_version`` — tokens carry the version they were
issued under — and the ``api_clients_revision`` counter, and on PostgreSQL sends
``NOTIFY hub_api_clients`` with the client id when the transaction commits. API
processes listen (:mod:`hub.auth.revocation`) and forget the client's cached
caller at once; without a listener (SQLite) they read the counter at most every
``clients_poll_seconds``.
"""

import secrets as _secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from hub.auth.access import SCOPES, Caller
from hub.auth.client_reach import load_caller_and_version
from hub.auth.grants import family_revoked
from hub.auth.people import load_person
from hub.auth.secrets import dummy_hash, hash_secret, new_secret, verify_secret
from hub.db.engine import Database, current_statements
from hub.db.models import ApiClient, ApiClientGrant, ClientsRevision, District, School
from hub.domain.enums import ClientKind, OrgLevel
from hub.domain.people import Person

#: The PostgreSQL NOTIFY channel of client changes; the payload is the client id.
CHANNEL = "hub_api_clients"


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
    redirect_uris: list[str] = (),  # type: ignore[assignment]
) -> NewClient:
    """Register a client; the secret is returned once and stored only hashed.

    ``redirect_uris`` lets the client act for people (authorization code with PKCE):
    absolute https URIs (http only on loopback), matched exactly.
    """
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ClientError(f"unknown scopes: {', '.join(unknown)}")
    for uri in redirect_uris:
        if not valid_redirect_uri(uri):
            raise ClientError(f"not a usable redirect URI (https, or http on loopback): {uri}")
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
        redirect_uris=" ".join(redirect_uris) or None,
    )
    session.add(client)
    await session.flush()
    return NewClient(client.client_id, secret, name, sorted(set(scopes)), org_level)


async def find_client(session: AsyncSession, client_id: str) -> ApiClient | None:
    """The client registered as ``client_id`` (enabled or not), or None."""
    return await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))


def valid_redirect_uri(uri: str) -> bool:
    """An absolute https URI without a fragment, or http on loopback (RFC 8252 §7.3)."""
    parts = urlsplit(uri)
    if parts.fragment or not parts.netloc:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


async def authenticate(session: AsyncSession, client_id: str, secret: str) -> ApiClient | None:
    """The enabled client with these credentials, or None.

    The same work whatever the outcome: one lookup and one scrypt verification, of
    a dummy hash made like the real ones when the client id is unknown, so the
    answer time does not tell which client ids exist (or are disabled).
    """
    client = await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    stored = client.secret_hash if client is not None else dummy_hash()
    matches = verify_secret(secret, stored)
    if client is None or not matches or client.disabled or client.deleted_at is not None:
        return None
    return client


@dataclass(frozen=True)
class ClientInfo:
    """What ``hub clients list`` shows of a client (never its secret)."""

    client_id: str
    name: str
    kind: str
    org_level: str
    scopes: list[str]
    districts: list[str]
    schools: list[str]
    disabled: bool
    deleted: bool
    credentials_version: int
    created_at: datetime

    def as_json(self) -> dict[str, object]:
        return {
            "client_id": self.client_id,
            "name": self.name,
            "kind": self.kind,
            "org_level": self.org_level,
            "scopes": self.scopes,
            "districts": self.districts,
            "schools": self.schools,
            "disabled": self.disabled,
            "deleted": self.deleted,
            "credentials_version": self.credentials_version,
            "created_at": self.created_at.isoformat(),
        }


async def list_clients(session: AsyncSession, *, include_deleted: bool = False) -> list[ClientInfo]:
    query = select(ApiClient).options(selectinload(ApiClient.grants)).order_by(ApiClient.id)
    if not include_deleted:
        query = query.where(ApiClient.deleted_at.is_(None))
    clients = list(await session.scalars(query))
    district_ids = {g.district_id for c in clients for g in c.grants if g.district_id}
    school_ids = {g.school_id for c in clients for g in c.grants if g.school_id}
    district_codes = dict(
        (
            await session.execute(
                select(District.id, District.code).where(District.id.in_(district_ids))
            )
        ).all()
    )
    school_codes = dict(
        (
            await session.execute(
                select(School.id, School.moet_code).where(School.id.in_(school_ids))
            )
        ).all()
    )
    return [
        ClientInfo(
            client_id=c.client_id,
            name=c.name,
            kind=c.kind.value,
            org_level=c.org_level.value,
            scopes=c.scopes.split(),
            districts=sorted(district_codes[g.district_id] for g in c.grants if g.district_id),
            schools=sorted(school_codes[g.school_id] for g in c.grants if g.school_id),
            disabled=c.disabled,
            deleted=c.deleted_at is not None,
            credentials_version=c.credentials_version,
            created_at=c.created_at,
        )
        for c in clients
    ]


async def _find(session: AsyncSession, client_id: str) -> ApiClient:
    client = await session.scalar(
        select(ApiClient).where(ApiClient.client_id == client_id).with_for_update()
    )
    if client is None or client.deleted_at is not None:
        raise ClientError(f"no client {client_id}")
    return client


async def _changed(session: AsyncSession, client: ApiClient) -> None:
    """Stop the client's tokens everywhere: new version, counter, NOTIFY on commit."""
    client.credentials_version += 1
    await session.flush()
    await session.execute(
        update(ClientsRevision)
        .where(ClientsRevision.id == 1)
        .values(value=ClientsRevision.value + 1)
    )
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_notify(:channel, :client_id)"),
            {"channel": CHANNEL, "client_id": client.client_id},
        )


async def set_disabled(session: AsyncSession, client_id: str, disabled: bool) -> None:
    """Disable (its tokens stop at once) or enable a client (it must ask for new tokens:
    the version moves either way, so tokens from before the disable stay refused)."""
    client = await _find(session, client_id)
    if client.disabled == disabled:
        return
    client.disabled = disabled
    await _changed(session, client)


async def rotate_secret(session: AsyncSession, client_id: str) -> NewClient:
    """A new secret, shown once; the old secret and every token issued before stop at once."""
    client = await _find(session, client_id)
    secret = new_secret()
    client.secret_hash = hash_secret(secret)
    await _changed(session, client)
    return NewClient(client.client_id, secret, client.name, client.scopes.split(), client.org_level)


async def delete_client(session: AsyncSession, client_id: str) -> None:
    """Delete softly: the row stays (the access log names the client by its id) but the
    client is disabled for good, its secret replaced by one nobody knows and its
    tokens refused."""
    client = await _find(session, client_id)
    client.disabled = True
    client.deleted_at = datetime.now(UTC).replace(tzinfo=None)
    client.secret_hash = hash_secret(new_secret())
    await _changed(session, client)


class CallerCache:
    """Callers resolved recently, so a request does not pay for the lookup.

    A token is honoured only while its ``credentials_version`` is the client's. A
    disabled, deleted or rotated client is forgotten at once when the PostgreSQL
    listener (:mod:`hub.auth.revocation`) hears of it; while no listener is
    connected (SQLite, or the connection is down) the ``api_clients_revision``
    counter is read at most every ``poll_seconds`` and the cache emptied when it
    moved. Entries also expire after ``ttl`` seconds, for changes made behind the
    hub's back (grants edited in SQL).
    """

    def __init__(self, ttl: float = 30.0, poll_seconds: float = 1.0) -> None:
        self.ttl = ttl
        self.poll_seconds = poll_seconds
        #: Set by the listener while its LISTEN connection is up.
        self.listening = False
        self._entries: dict[
            tuple[str, frozenset[str]], tuple[float, Caller | None, int | None]
        ] = {}
        self._generation = 0  # moves on every forget/clear: a load in flight is not kept
        #: People a person-bound token or a session acts for, by personal ID.
        self._people: dict[str, tuple[float, Person]] = {}
        #: Whether an app's grant (a refresh-token family) was revoked, by family.
        self._revoked: dict[str, tuple[float, bool]] = {}
        self._revision: int | None = None
        self._checked_at = float("-inf")

    async def get(
        self,
        db: Database,
        client_id: str,
        scopes: frozenset[str],
        credentials_version: int | None = None,
    ) -> Caller | None:
        """The caller for a token of ``client_id``; None if the client is disabled or
        gone, or if ``credentials_version`` (the token's) is no longer the client's."""
        await self._poll(db)
        key = (client_id, scopes)
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            _, caller, version = hit
            # A token newer than what is cached: the client changed since (enabled,
            # rotated) and this process has not heard yet.
            fresh = credentials_version is None or version is None or credentials_version <= version
        else:
            fresh = False
        if not fresh:
            generation = self._generation
            async with db.sessions() as session:
                caller, version = await load_caller_and_version(session, client_id, scopes)
            if generation == self._generation:
                self._entries[key] = (now, caller, version)
        if credentials_version is not None and credentials_version != version:
            return None
        return caller

    async def person(self, db: Database, personal_id: str, full_name: str = "") -> Person:
        """The person's roles (:func:`hub.auth.people.load_person`), cached like callers.

        Every change that can take a role away raises the same revision and sends the
        same notification as a client change (migration 0015), so a teacher moved to
        another school stops acting for the old one at the next request.
        """
        await self._poll(db)
        now = time.monotonic()
        hit = self._people.get(personal_id)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        generation = self._generation
        async with db.sessions() as session:
            found = await load_person(session, personal_id, full_name)
        if generation == self._generation:
            self._people[personal_id] = (now, found)
        return found

    async def revoked(self, db: Database, family: str) -> bool:
        """Whether the grant a person-bound token came from was revoked (cached; a
        revocation raises the revision like a role change)."""
        await self._poll(db)
        now = time.monotonic()
        hit = self._revoked.get(family)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        generation = self._generation
        async with db.sessions() as session:
            found = await family_revoked(session, family)
        if generation == self._generation:
            self._revoked[family] = (now, found)
        return found

    async def _poll(self, db: Database) -> None:
        if self.listening:
            return
        now = time.monotonic()
        if now - self._checked_at < self.poll_seconds:
            return
        self._checked_at = now
        # Not one of the request's own statements (the per-request SQL tallies).
        token = current_statements.set(None)
        try:
            async with db.sessions() as session:
                revision = await session.scalar(
                    select(ClientsRevision.value).where(ClientsRevision.id == 1)
                )
        finally:
            current_statements.reset(token)
        if revision != self._revision:
            self.clear()
            self._revision = revision

    def forget(self, client_id: str) -> None:
        """Drop what is cached of one client (its tokens are checked afresh)."""
        self._generation += 1
        for key in [k for k in self._entries if k[0] == client_id]:
            del self._entries[key]

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()
        self._people.clear()
        self._revoked.clear()

    def stop_listening(self) -> None:
        """The listener lost its connection: poll from the next request on."""
        self.listening = False
        self._checked_at = float("-inf")
        self._revision = None
