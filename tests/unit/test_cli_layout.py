"""The ``hub`` command line's layout: light to start, and apart from production code."""

import re
import subprocess
import sys
from pathlib import Path

from hub.cli.sync import PhaseChoice
from hub.jobs import sync

ROOT = Path(__file__).resolve().parents[2]


def test_the_cli_names_the_sync_phases_as_the_job_does():
    assert [p.value for p in PhaseChoice] == [p.value for p in sync.Phase]


def test_importing_the_cli_loads_no_database_jobs_or_documents():
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, hub.cli; print(' '.join(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout.split()
    heavy = [m for m in loaded if m.startswith(("hub.jobs", "hub.db", "hub.documents", "hub.demo"))]
    assert heavy == []


def test_production_code_imports_neither_the_cli_nor_the_demo():
    pattern = re.compile(r"^\s*(from|import)\s+hub\.(cli|demo)\b", re.MULTILINE)
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "hub").rglob("*.py")
        if path.relative_to(ROOT).parts[1] not in ("cli", "demo")
        and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
