"""The hub's small bounded cache of answers (hub.memo.Remembered)."""

from datetime import timedelta

import pytest

from hub import memo
from hub.memo import Remembered


def test_an_answer_is_kept_until_its_time_is_up(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(memo.time, "monotonic", lambda: now[0])
    kept = Remembered(timedelta(seconds=300), size=10)
    kept.put("a", 1)
    now[0] += 299
    assert kept.get("a") == 1
    now[0] += 1
    assert kept.get("a") is None
    assert kept.get("never") is None


def test_the_least_recently_used_answer_goes_first() -> None:
    kept = Remembered(timedelta(minutes=5), size=2)
    kept.put("a", 1)
    kept.put("b", 2)
    assert kept.get("a") == 1  # "b" is now the least recently used
    kept.put("c", 3)
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == (1, None, 3)


def test_without_a_time_an_answer_stays_until_pushed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(memo.time, "monotonic", lambda: now[0])
    kept: Remembered[int] = Remembered(None, size=1)
    kept.put("a", 1)
    now[0] += 10**9
    assert kept.get("a") == 1
    kept.put("b", 2)
    assert (kept.get("a"), kept.get("b"), len(kept)) == (None, 2, 1)
