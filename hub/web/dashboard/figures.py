"""Province-wide figures counted ahead of the officer who reads them (issue 12, part 4).

Counting a 2.3-million-pupil province's transcripts by state, or 130,000 staff against
their certificates, takes the database most of a second: too long for a page. The
dashboard keeps each set of figures it has counted, for the reach it was counted for,
and serves them while a fresh count runs in the background once they are older than
``Settings.dashboard_refresh_seconds`` — so no officer waits for a count but the first
after the process starts, and every page says when its figures were counted. With 0
seconds every request counts (the tests, which read figures right after changing
them).
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import structlog

log = structlog.get_logger()

T = TypeVar("T")


@dataclass(frozen=True)
class Counted(Generic[T]):
    """Figures and when they were counted."""

    value: T
    at: datetime


class Figures:
    """Counted figures by key, refreshed in the background when stale (one count per
    key at a time; concurrent first readers share it)."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] | None = None) -> None:
        self.seconds = seconds
        self._clock = clock or time.monotonic
        self._kept: dict[Hashable, tuple[float, Counted[Any]]] = {}
        self._counting: dict[Hashable, asyncio.Task[Counted[Any]]] = {}

    async def get(self, key: Hashable, count: Callable[[], Awaitable[T]]) -> Counted[T]:
        """The figures of ``key``: kept ones if fresh enough, else kept ones while
        ``count`` runs in the background, else (none kept yet) the count's own."""
        if self.seconds <= 0:
            return Counted(await count(), datetime.now(UTC))
        kept = self._kept.get(key)
        if kept is not None:
            if self._clock() - kept[0] >= self.seconds and key not in self._counting:
                self._start(key, count)
            return kept[1]
        task = self._counting.get(key) or self._start(key, count)
        return await asyncio.shield(task)

    def _start(
        self, key: Hashable, count: Callable[[], Awaitable[T]]
    ) -> "asyncio.Task[Counted[T]]":
        async def run() -> Counted[T]:
            try:
                counted = Counted(await count(), datetime.now(UTC))
                self._kept[key] = (self._clock(), counted)
                return counted
            finally:
                self._counting.pop(key, None)

        task = asyncio.get_running_loop().create_task(run())
        task.add_done_callback(_log_failure)
        self._counting[key] = task
        return task


def _log_failure(task: "asyncio.Task[Any]") -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("dashboard.count_failed", error=type(task.exception()).__name__)
