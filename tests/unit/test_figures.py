"""The dashboard's figures kept a while and counted again in the background
(hub.web.dashboard.figures)."""

import asyncio

from hub.web.dashboard.figures import Figures


class Counter:
    def __init__(self) -> None:
        self.counts = 0
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self) -> int:
        await self.release.wait()
        self.counts += 1
        return self.counts


async def test_with_no_time_to_keep_every_read_counts() -> None:
    count = Counter()
    figures = Figures(0)
    assert [(await figures.get("k", count)).value for _ in range(3)] == [1, 2, 3]


async def test_fresh_figures_are_kept_and_stale_ones_served_while_counted_again() -> None:
    now = [0.0]
    count = Counter()
    figures = Figures(60, clock=lambda: now[0])
    first = await figures.get("k", count)
    assert first.value == 1
    now[0] = 59
    assert (await figures.get("k", count)).value == 1 and count.counts == 1
    now[0] = 61
    count.release.clear()
    stale = await figures.get("k", count)  # served at once, a count started
    assert stale.value == 1
    again = await figures.get("k", count)  # still counting: no second count
    assert again.value == 1
    count.release.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    fresh = await figures.get("k", count)
    assert fresh.value == 2 and fresh.at >= first.at and count.counts == 2


async def test_first_readers_share_one_count_and_keys_are_apart() -> None:
    count = Counter()
    count.release.clear()
    figures = Figures(60, clock=lambda: 0.0)
    readers = [asyncio.ensure_future(figures.get("k", count)) for _ in range(3)]
    other = asyncio.ensure_future(figures.get("other", count))
    await asyncio.sleep(0)
    count.release.set()
    values = [(await reader).value for reader in readers]
    assert len(set(values)) == 1 and (await other).value != values[0]
    assert count.counts == 2


async def test_a_failed_count_keeps_the_figures_before_it() -> None:
    now = [0.0]
    figures = Figures(60, clock=lambda: now[0])
    assert (await figures.get("k", Counter())).value == 1

    async def broken() -> int:
        raise RuntimeError("database gone")

    now[0] = 120
    assert (await figures.get("k", broken)).value == 1
    await asyncio.sleep(0)
    assert (await figures.get("k", Counter())).value == 1  # kept; a new count started
