"""Helpers for talking to the hub over HTTP in tests."""

import base64
import hashlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select

from hub.adapters.identity.base import Identity
from hub.auth.clients import create_client
from hub.auth.sessions import SessionStore
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.domain.enums import ClientKind, OrgLevel

ALL_SCOPES = [
    "students:read",
    "students:write",
    "staff:read",
    "staff:write",
    "certificates:read",
    "reports:read",
    "changes:read",
    "personal-ids:read",
    "contacts:read",
    "assessments:read",
    "assessments:write",
    "transcripts:read",
    "transcripts:write",
    "transcripts:sign",
]


async def register(
    db: Database,
    *,
    org: OrgLevel,
    schools: list[str] = (),  # type: ignore[assignment]
    districts: list[str] = (),  # type: ignore[assignment]
    scopes: list[str] = ALL_SCOPES,
    kind: ClientKind = ClientKind.VENDOR,
    redirect_uris: list[str] = (),  # type: ignore[assignment]
) -> tuple[str, str]:
    async with db.unit_of_work() as session:
        client = await create_client(
            session,
            name="test client",
            kind=kind,
            scopes=scopes,
            org_level=org,
            school_codes=list(schools),
            district_codes=list(districts),
            redirect_uris=list(redirect_uris),
        )
    return client.client_id, client.client_secret


async def signed_in_session(store: SessionStore, personal_id: str, name: str) -> tuple[str, str]:
    """A session for ``personal_id`` made directly in ``store``, as the sign-in callback
    makes one (VNeID, account level 2): its cookie's value and its anti-forgery token."""
    token = await store.create(
        Identity("vneid", personal_id, personal_id, name, account_level=2), name
    )
    current = await store.current(token)
    assert current is not None
    return token, current.csrf_token


#: Where a test app's authorization codes are sent (nothing listens: the test reads
#: the redirect's Location).
APP_REDIRECT_URI = "http://127.0.0.1:9/callback"


async def token_through_authorize(
    http: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    *,
    client_id: str,
    secret: str,
    personal_id: str,
    scope: str,
) -> str:
    """A person-bound access token as an app gets one: the person, signed in at the hub
    (a session made directly), approves the app at ``/oauth/authorize`` and the app
    trades the code with its PKCE verifier (the app registered :data:`APP_REDIRECT_URI`)."""
    store = SessionStore(db, settings)
    session_token, csrf = await signed_in_session(store, personal_id, "test person")
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    form = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": APP_REDIRECT_URI,
        "scope": scope,
        "state": "s",
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
        "csrf_token": csrf,
        "decision": "allow",
    }
    approved = await http.post(
        "/oauth/authorize", data=form, cookies={store.cookie_name: session_token}
    )
    assert approved.status_code == 303, approved.text
    code = parse_qs(urlsplit(approved.headers["location"]).query)["code"][0]
    issued = await http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": APP_REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(client_id, secret),
    )
    assert issued.status_code == 200, issued.text
    return str(issued.json()["access_token"])


async def token_for(http: httpx.AsyncClient, client_id: str, secret: str, scope: str = "") -> str:
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    response = await http.post("/oauth/token", data=data, auth=(client_id, secret))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def client_token(db: Database, http: httpx.AsyncClient, **kwargs: Any) -> str:
    return await token_for(http, *await register(db, **kwargs))


async def gql(
    http: httpx.AsyncClient, token: str | None, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def data(result: dict[str, Any]) -> dict[str, Any]:
    assert not result.get("errors"), result["errors"]
    return result["data"]


def error_codes(result: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in result.get("errors") or []]


@dataclass
class Visitor:
    """A browser signed in as one person: its client (with the session cookie) and the
    session's anti-forgery token."""

    web: httpx.AsyncClient
    csrf: str


async def signed_in_visitor(app: Any, personal_id: str, name: str) -> Visitor:
    """A browser with a session for ``personal_id`` made directly in ``app``'s store (as
    a sign-in would), talking to ``app`` through ASGI; close ``.web`` when done."""
    store = app.state.hub.sessions
    token, csrf = await signed_in_session(store, personal_id, name)
    web = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://hub.test",
        cookies={store.cookie_name: token},
    )
    return Visitor(web, csrf)


@asynccontextmanager
async def visiting(app: Any, personal_id: str, name: str) -> AsyncIterator[Visitor]:
    """A browser signed in as ``personal_id`` (:func:`signed_in_visitor`) for the length
    of the block, its client closed after."""
    visitor = await signed_in_visitor(app, personal_id, name)
    async with visitor.web:
        yield visitor


async def read_on_pages(db: Database, *, person: str, entity: str) -> set[int]:
    """The ids of the ``entity`` rows the hub's pages logged ``person`` reading (the
    access log's entries of client ``hub-web``)."""
    log = models.AccessLog
    async with db.sessions() as session:
        return set(
            await session.scalars(
                select(log.entity_id).where(
                    log.client_id == "hub-web", log.person == person, log.entity == entity
                )
            )
        )
