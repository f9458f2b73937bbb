"""checkov on what is deployed: each Kubernetes overlay as kustomize renders it, and
deploy/Dockerfile. No finding may stand; a check is skipped only in deploy/checkov.yaml,
with its reason written there. checkov runs offline (no platform, no update check).
"""

import json
import os
import re
import subprocess
from pathlib import Path

from tests.deploy.support import DEPLOY, INSTALL, OVERLAYS, rendered_text, tool

CONFIG = DEPLOY / "checkov.yaml"


def test_every_skipped_check_says_why() -> None:
    lines = CONFIG.read_text().splitlines()
    start = lines.index("skip-check:")
    skipped = [line for line in lines[start + 1 :] if line.strip().startswith("- ")]
    assert skipped, "no skip-check entries: remove the section instead"
    for line in skipped:
        assert re.fullmatch(r"  - CKV2?_\w+  # \S.{10,}", line), f"no reason given: {line!r}"


def test_checkov_finds_nothing_in_the_overlays_and_the_dockerfile(tmp_path: Path) -> None:
    checkov = tool("checkov")
    files = []
    for overlay in OVERLAYS:
        path = tmp_path / f"{overlay}.yaml"
        path.write_text(rendered_text(overlay))
        files += ["-f", str(path)]
    environment = {
        **os.environ,
        "BC_SKIP_MAPPING": "TRUE",
        "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE",
        "HOME": str(tmp_path),
    }
    environment.pop("BC_API_KEY", None)
    result = subprocess.run(
        [
            checkov,
            "--config-file",
            str(CONFIG),
            *files,
            "-f",
            str(DEPLOY / "Dockerfile"),
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        cwd=tmp_path,
        check=False,
    )
    assert result.stdout.strip(), f"checkov said nothing ({INSTALL}):\n{result.stderr[-3000:]}"
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    scanned = {r["check_type"]: r["summary"] for r in reports}
    assert set(scanned) == {"kubernetes", "dockerfile"}, scanned
    assert scanned["dockerfile"]["resource_count"] == 1
    assert scanned["kubernetes"]["resource_count"] >= 30
    assert all(s["parsing_errors"] == 0 for s in scanned.values()), scanned
    failed = [
        f"{c['check_id']} {c['check_name']}: {c['resource']} ({Path(c['file_path']).name})"
        for r in reports
        for c in r["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)
    assert result.returncode == 0, result.stderr[-3000:]
    assert all(s["passed"] > 0 for s in scanned.values())


def test_the_image_runs_the_api_as_a_user_and_migrates_only_when_asked() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^USER 10001:10001$", dockerfile, re.M)
    (cmd,) = re.findall(r"^CMD (.+)$", dockerfile, re.M)
    assert json.loads(cmd) == ["hub", "serve", "--workers", "2"]
    assert "HEALTHCHECK" in dockerfile and "/health" in dockerfile
