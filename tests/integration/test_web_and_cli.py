"""Health, metrics, GraphiQL, and the CLI commands a newcomer and CI use."""

import json
import os
import subprocess
import sys
from pathlib import Path

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
