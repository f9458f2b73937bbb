"""The HTTP surface (issue "Guard the data", part B): headers, /metrics, body limits,
the published SDL and what /health tells strangers."""

import re

import httpx
import pytest

from hub.config import Mode
from hub.db.engine import Database
from hub.schema.api import schema
from hub.web.app import create_app
from hub.web.security import CSP

PERSONAL = [
    ("POST", "/graphql"),
    ("POST", "/oauth/token"),
    ("GET", "/transcripts/abc.pdf"),
    ("GET", "/verify/abc"),
    ("POST", "/verify"),
]


def _client(app) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app, client=("10.9.0.1", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://hub.test")


@pytest.fixture
def production(settings, app):  # type: ignore[no-untyped-def]
    """Production settings (the session app has made the token signing key)."""
    return settings.model_copy(update={"mode": Mode.PRODUCTION})


# --- 5. security headers ------------------------------------------------------------


async def test_every_response_carries_the_security_headers(http, world):
    for method, path in [*PERSONAL, ("GET", "/health"), ("GET", "/metrics"), ("GET", "/nope")]:
        response = await http.request(method, path, json={"query": "{ __typename }"})
        headers = response.headers
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "unpkg" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store", path
        assert "strict-transport-security" not in headers  # plain http: no HSTS


async def test_the_demo_graphiql_page_loads_nothing_from_elsewhere(http, production, world):
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert "unsafe" not in csp and "http" not in csp
    assert "<script>" not in page.text and "<style" not in page.text and " style=" not in page.text
    sources = re.findall(r'(?:src|href)="([^"]*)"', page.text)
    assert sources and all(source.startswith("/static/") for source in sources)
    for source in sources:
        assert (await http.get(source)).status_code == 200, source
    async with _client(create_app(production)) as strict:
        page = await strict.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 404
        assert page.headers["content-security-policy"] == CSP


async def test_hsts_when_served_over_tls(settings, app, world):
    tls = settings.model_copy(update={"public_url": "https://hub.sogd.example.vn"})
    async with _client(create_app(tls)) as http:
        response = await http.get("/.well-known/jwks.json")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")
    off = tls.model_copy(update={"hsts_seconds": 0})
    async with _client(create_app(off)) as http:
        assert "strict-transport-security" not in (await http.get("/health")).headers


# --- 6. /metrics in production ----------------------------------------------------


async def test_metrics_need_the_token_in_production(production, http, world):
    assert (await http.get("/metrics")).status_code == 200  # demo: open
    guarded = production.model_copy(update={"metrics_token": "m3trics-t0ken"})
    async with _client(create_app(guarded)) as client:
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "hub_http" not in wrong.text
        right = await client.get("/metrics", headers={"Authorization": "Bearer m3trics-t0ken"})
        assert right.status_code == 200 and "hub_http_requests_total" in right.text
    async with _client(create_app(production)) as client:  # no token set: closed
        closed = await client.get("/metrics", headers={"Authorization": "Bearer "})
        assert closed.status_code == 401


# --- 7. request body limits -------------------------------------------------------


async def test_a_20_mb_graphql_body_is_refused_unparsed(http, world):
    huge = b'{"query": "{ __typename }", "variables": {"x": "' + b"a" * (20 * 1024 * 1024) + b'"}}'
    response = await http.post(
        "/graphql", content=huge, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "REQUEST_TOO_LARGE"
    assert "byte" in error["message"]


async def test_a_chunked_body_is_cut_at_the_cap(http, world):
    async def chunks():  # no Content-Length: the cap applies while reading
        for _ in range(40):
            yield b"x" * 64 * 1024

    response = await http.post(
        "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"


async def test_body_caps_per_route(http, world):
    token = await http.post(
        "/oauth/token", content=b"grant_type=client_credentials&x=" + b"a" * 17 * 1024,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert token.status_code == 413 and token.json()["code"] == "REQUEST_TOO_LARGE"
    assert token.json()["error"] == "invalid_request"
    upload = await http.post("/verify", content=b"x" * (10 * 1024 * 1024 + 1))
    assert upload.status_code == 413 and upload.json()["code"] == "REQUEST_TOO_LARGE"
    # A 2 MB multipart upload is within the 10 MB a GraphQL upload may have.
    multipart = await http.post(
        "/graphql",
        data={
            "operations": '{"query": "{ __typename }", "variables": {}}',
            "map": "{}",
        },
        files={"unused": ("f.bin", b"x" * 2 * 1024 * 1024)},
    )
    assert multipart.status_code != 413
    small = await http.post("/graphql", json={"query": "{ __typename }"})
    assert small.status_code == 200 and small.json()["data"] == {"__typename": "Query"}


# --- 8. the SDL as a file ---------------------------------------------------------


async def test_the_sdl_is_published_in_every_mode(http, production, world):
    async with _client(create_app(production)) as in_production:
        for client in (http, in_production):
            response = await client.get("/schema.graphql")
            assert response.status_code == 200
            assert response.text == str(schema) + "\n"
            assert response.headers["content-type"].startswith("text/plain")


# --- 9. /health tells no exception text ---------------------------------------------


async def test_health_hides_the_database_error(settings, app, world):
    broken = Database("postgresql+psycopg://hub:s3cret@127.0.0.1:1/secretdb")
    async with _client(create_app(settings, broken)) as http:
        response = await http.get("/health")
    await broken.dispose()
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable"}
    for leak in ("127.0.0.1", "secretdb", "refused", "psycopg", "hub"):
        assert leak not in response.text
