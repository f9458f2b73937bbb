"""A serving process and a worker freeze their start-up heap (hub.heap.settle_heap), so
the collector's full passes walk only what requests and jobs allocate; tests never
freeze theirs."""

import gc
import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("entry", ["hub.web.main", "hub.jobs.entry"])
def test_an_entry_point_freezes_what_start_up_built(tmp_path, entry):
    env = os.environ | {"HUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"}
    env.pop("HUB_REDIS_URL", None)
    printed = subprocess.run(
        [sys.executable, "-c", f"import gc, {entry}; print(gc.get_freeze_count())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert int(printed.split()[-1]) > 100_000


def test_the_test_process_is_not_frozen():
    assert gc.get_freeze_count() == 0
