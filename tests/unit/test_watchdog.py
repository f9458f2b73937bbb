"""The jobs watchdog stops before the event loop it uses, and quietly when stopping."""

from __future__ import annotations

from typing import Any

import dramatiq.asyncio
import dramatiq.broker
import pytest
from dramatiq.middleware.asyncio import AsyncIO
from structlog.testing import capture_logs

from hub.config import Settings
from hub.jobs import actors


def test_the_watchdog_comes_before_the_event_loop_middleware(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dramatiq.broker, "global_broker", dramatiq.broker.global_broker)
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/w.db")
    broker = actors.configure(settings, object())  # type: ignore[arg-type]
    kinds = [type(middleware) for middleware in broker.middleware]
    assert kinds.index(actors.Watchdog) < kinds.index(AsyncIO)


class _StoppedLoop:
    """An event loop thread that has shut down, as dramatiq's is once AsyncIO stopped it;
    ``stop`` runs as the worker's shutdown would, before the failure reaches the watchdog."""

    def __init__(self, stop: Any) -> None:
        self.stop = stop

    def run_coroutine(self, coroutine: Any) -> Any:
        coroutine.close()
        self.stop()
        raise RuntimeError("cannot schedule new futures after shutdown")


class _DeadThread:
    def is_alive(self) -> bool:
        return False


@pytest.mark.parametrize("stopping", ["shutdown", "killed", None])
def test_a_failure_is_logged_unless_the_worker_is_stopping(
    stopping: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopping is the worker's shutdown (the watchdog told first) or a kill: a second
    TERM makes Dramatiq's process leave its main thread with no shutdown at all."""
    watchdog = actors.Watchdog(runtime=object(), stall_seconds=0.0)  # type: ignore[arg-type]
    rounds = iter([False, True])  # one round, then the wait says stop
    monkeypatch.setattr(watchdog._stop, "wait", lambda timeout=None: next(rounds))
    if stopping == "killed":
        monkeypatch.setattr(actors.threading, "main_thread", _DeadThread)
    loop = _StoppedLoop(watchdog._stop.set if stopping == "shutdown" else lambda: None)
    monkeypatch.setattr(dramatiq.asyncio, "get_event_loop_thread", lambda: loop)
    with capture_logs() as logs:
        watchdog._run(broker=None)  # type: ignore[arg-type]
    failed = [entry for entry in logs if entry["event"] == "jobs_watchdog_failed"]
    assert bool(failed) is (stopping is None)
