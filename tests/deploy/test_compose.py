"""deploy/compose.yaml: valid by the Compose Specification's JSON schema
(tests/deploy/schemas/compose-spec.json), and the stack it promises: PostgreSQL, Redis,
the migrations run once before the API and the workers, all on by default; `hub demo`
with its simulators in the demo profile."""

import json
import re
from typing import Any

import jsonschema
import pytest
import yaml

from hub.config import Settings
from tests.deploy.support import DEPLOY, SCHEMAS

DEFAULT = {"postgres", "redis", "token-key", "migrate", "api", "worker"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return document


def test_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(compose)]
    assert not errors, "\n".join(errors)


def test_the_whole_stack_is_on_by_default(compose: dict[str, Any]) -> None:
    services = compose["services"]
    default = {name for name, s in services.items() if not s.get("profiles")}
    assert default == DEFAULT
    assert services["demo"]["profiles"] == ["demo"]
    assert services["migrate"]["command"] == ["hub", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker", "demo"):
        needs = services[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully", name
    for name in ("api", "worker"):
        needs = services[name]["depends_on"]
        assert needs["redis"]["condition"] == "service_healthy", name
        assert needs["token-key"]["condition"] == "service_completed_successfully", name
        assert services[name]["environment"]["HUB_MODE"] == "production"
        assert services[name]["environment"]["HUB_REDIS_URL"].startswith("redis://redis:")
    assert services["api"]["command"][:2] == ["hub", "serve"]
    assert services["worker"]["command"][:2] == ["hub", "worker"]
    assert services["demo"]["command"] == ["hub", "demo"]
    assert services["demo"]["environment"]["HUB_MODE"] == "demo"


def test_hub_containers_are_locked_down_and_images_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service["image"]
        assert re.fullmatch(r"[\w./-]+:[\w.-]+", image) and not image.endswith(":latest"), name
        if "build" in service:
            assert service["read_only"] is True, name
            assert service["cap_drop"] == ["ALL"], name
            assert "no-new-privileges:true" in service["security_opt"], name


def test_settings_are_settings_the_hub_knows(compose: dict[str, Any]) -> None:
    known = {f"HUB_{name.upper()}" for name in Settings.model_fields}
    for name, service in compose["services"].items():
        unknown = {v for v in service.get("environment", {}) if v.startswith("HUB_")} - known
        assert not unknown, f"{name}: {unknown} are not in hub/config.py"
