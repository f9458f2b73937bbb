"""A serving process freezes its start-up heap (hub.web.app.settle_heap), so the
collector's full passes walk only what requests allocate; tests never freeze theirs."""

import gc
import os
import subprocess
import sys


def test_the_asgi_entry_point_freezes_what_start_up_built(tmp_path):
    env = os.environ | {"HUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"}
    env.pop("HUB_REDIS_URL", None)
    printed = subprocess.run(
        [sys.executable, "-c", "import gc, hub.web.main; print(gc.get_freeze_count())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert int(printed) > 100_000


def test_the_test_process_is_not_frozen():
    assert gc.get_freeze_count() == 0
