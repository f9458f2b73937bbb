"""What ``bench/bulk_signing.py --profile DIR`` has each Dramatiq worker process import
instead of :mod:`hub.jobs.entry`: the same broker, with pyinstrument sampling the
worker's event-loop thread (where the async actors run) from boot to shutdown, its
report written to ``DIR/worker-<pid>.txt`` (and the session, ``.pyisession``). Benchmarks only."""

import os
import threading
from pathlib import Path
from typing import Any

import dramatiq
from pyinstrument import Profiler

from hub.jobs.entry import broker

__all__ = ["broker"]


class _Profiling(dramatiq.Middleware):
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.profiler: Profiler | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        from dramatiq.asyncio import get_event_loop_thread

        loop = get_event_loop_thread()
        assert loop is not None
        started = threading.Event()

        def start() -> None:
            self.profiler = Profiler(interval=0.001, async_mode="disabled")
            self.profiler.start()
            started.set()

        loop.loop.call_soon_threadsafe(start)
        started.wait(10)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        from dramatiq.asyncio import get_event_loop_thread

        loop = get_event_loop_thread()
        if loop is None or self.profiler is None:
            return

        async def stop() -> None:
            assert self.profiler is not None
            self.profiler.stop()

        loop.run_coroutine(stop())
        self.directory.mkdir(parents=True, exist_ok=True)
        name = self.directory / f"worker-{os.getpid()}"
        name.with_suffix(".txt").write_text(self.profiler.output_text(unicode=True, show_all=False))
        self.profiler.last_session.save(str(name.with_suffix(".pyisession")))


broker.add_middleware(_Profiling(Path(os.environ["HUB_BENCH_PROFILE"])))
