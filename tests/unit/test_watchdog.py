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


@pytest.mark.parametrize("stopping", [True, False])
def test_a_failure_is_logged_unless_the_worker_is_stopping(
    stopping: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    watchdog = actors.Watchdog(runtime=object(), stall_seconds=0.0)  # type: ignore[arg-type]
    rounds = iter([False, True])  # one round, then the wait says stop
    monkeypatch.setattr(watchdog._stop, "wait", lambda timeout=None: next(rounds))
    loop = _StoppedLoop(watchdog._stop.set if stopping else lambda: None)
    monkeypatch.setattr(dramatiq.asyncio, "get_event_loop_thread", lambda: loop)
    with capture_logs() as logs:
        watchdog._run(broker=None)  # type: ignore[arg-type]
    failed = [entry for entry in logs if entry["event"] == "jobs_watchdog_failed"]
    assert bool(failed) is not stopping
