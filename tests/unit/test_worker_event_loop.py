"""A worker process runs its actors on uvloop's event loop (hub.jobs.entry), as uvicorn
runs the API on it; a test process keeps asyncio's own."""

import asyncio
import os
import subprocess
import sys

#: What dramatiq's AsyncIO middleware does at a worker's boot: make the actors' loop.
LOOP_AT_BOOT = (
    "import logging, hub.jobs.entry; from dramatiq.asyncio import EventLoopThread;"
    " print(type(EventLoopThread(logging.getLogger()).loop).__module__)"
)


def test_a_worker_makes_its_actors_loop_with_uvloop(tmp_path):
    env = os.environ | {"HUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"}
    env.pop("HUB_REDIS_URL", None)
    printed = subprocess.run(
        [sys.executable, "-c", LOOP_AT_BOOT], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert printed.split()[-1] == "uvloop"


def test_the_test_process_keeps_asyncios_loop():
    assert not type(asyncio.get_event_loop_policy()).__module__.startswith("uvloop")
