"""Health, metrics, GraphiQL, and the CLI commands a newcomer and CI use."""

import json
import os
import subprocess
import sys
from pathlib import Path

from hub.adapters.signing.simulator import free_port
from hub.schema.api import schema

ROOT = Path(__file__).resolve().parents[2]


async def test_health_reports_the_database(http, world):
    response = await http.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_metrics_expose_requests_latency_and_sql(http, world):
    await http.get("/health")
    text = (await http.get("/metrics")).text
    assert "hub_http_requests_total" in text
    assert "hub_http_request_duration_seconds_bucket" in text
    assert "hub_sql_statements_per_request_bucket" in text


async def test_graphiql_is_served_to_browsers(http, world):
    response = await http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200 and "graphiql" in response.text.lower()


def test_checked_in_sdl_matches_the_code():
    assert (ROOT / "schema.graphql").read_text(encoding="utf-8") == str(schema) + "\n"


def _hub(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def test_clients_create_prints_json_a_script_can_use(settings, world):
    env = os.environ | {
        "HUB_DATABASE_URL": settings.database_url,
        "HUB_TOKEN_KEY_FILE": str(settings.token_key_file),
    }
    result = _hub(
        "clients",
        "create",
        "--name",
        "vnEdu test",
        "--org",
        "SCHOOL",
        "--school",
        world.schools["A"].code,
        "--scope",
        "students:read",
        "--json",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["client_id"].startswith("hub_") and len(created["client_secret"]) >= 32
    refused = _hub(
        "clients",
        "create",
        "--name",
        "x",
        "--org",
        "SCHOOL",
        "--school",
        "NOPE",
        "--scope",
        "students:read",
        env=env,
    )
    assert refused.returncode == 2 and "NOPE" in refused.stdout


def test_schema_check_fails_on_a_stale_file(tmp_path):
    stale = tmp_path / "schema.graphql"
    stale.write_text("type Query { old: Int }\n")
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "schema", "--check"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 1


async def test_hub_serve_answers_over_real_http(settings, db, world):
    """End to end: `hub serve` in its own process, a client over loopback HTTP."""
    import asyncio

    import httpx

    from hub.domain.enums import OrgLevel
    from tests.helpers import register

    client_id, secret = await register(db, org=OrgLevel.SCHOOL, schools=[world.schools["B"].code])
    port = free_port("127.0.0.1")
    env = os.environ | {
        "HUB_DATABASE_URL": settings.database_url,
        "HUB_TOKEN_KEY_FILE": str(settings.token_key_file),
        "HUB_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub.cli", "serve", "--port", str(port), env=env, cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            for _ in range(100):
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            token = (
                await client.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(client_id, secret),
                )
            ).json()["access_token"]
            answer = await client.post(
                "/graphql",
                json={"query": "{ students { totalCount } }"},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert answer.json() == {
            "data": {"students": {"totalCount": len(world.schools["B"].students)}}
        }
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=10)


def test_demo_prepares_a_province_and_prints_tokens_and_queries(tmp_path):
    env = os.environ | {
        "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}",
        "HUB_TOKEN_KEY_FILE": str(tmp_path / "key.pem"),
        "COLUMNS": "200",
    }
    result = _hub("demo", "--no-serve", env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "http://127.0.0.1:8000/graphql" in out
    assert out.count("Bearer ey") == 2
    assert "grant_type=client_credentials" in out
    assert "nguyen van an" in out
    again = _hub("demo", "--no-serve", env=env)  # a second run reuses the seeded province
    assert again.returncode == 0, again.stderr


def test_transcripts_generate_cli_reports_progress_and_skips(tmp_path):
    env = os.environ | {
        "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}",
        "HUB_TOKEN_KEY_FILE": str(tmp_path / "key.pem"),
        "COLUMNS": "200",
    }
    assert _hub("db", "upgrade", env=env).returncode == 0
    assert _hub("seed", "--size", "school", env=env).returncode == 0
    import sqlite3

    with sqlite3.connect(tmp_path / "cli.sqlite3") as connection:
        code = connection.execute("SELECT moet_code FROM schools ORDER BY id LIMIT 1").fetchone()[0]
        pupils = connection.execute(
            "SELECT count(*) FROM students WHERE school_id = (SELECT min(id) FROM schools) "
            "AND personal_id IS NOT NULL"
        ).fetchone()[0]
    first = _hub("transcripts", "generate", "--school", code, env=env)
    assert first.returncode == 0, first.stderr
    assert f"{pupils} generated" in first.stdout
    again = _hub("transcripts", "generate", "--school", code, env=env)
    assert f"{pupils} unchanged" in again.stdout
