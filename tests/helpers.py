"""Helpers for talking to the hub over HTTP in tests."""

from typing import Any

import httpx

from hub.auth.clients import create_client
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
        )
    return client.client_id, client.client_secret


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
