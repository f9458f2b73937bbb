"""Servers' ports come from below the kernel's ephemeral range and are free when given."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

import pytest

from hub.adapters.signing import simulator
from hub.adapters.signing.simulator import FIRST_SERVER_PORT, free_port


def _ephemeral_from() -> int:  # read here, not through the module under test
    return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])


def test_a_port_is_below_the_ephemeral_range_and_binds() -> None:
    for _ in range(20):
        port = free_port("127.0.0.1")
        assert FIRST_SERVER_PORT <= port < _ephemeral_from()
        with contextlib.closing(socket.socket()) as server:
            # as servers bind (uvicorn, the simulators): a port another test's server
            # closed a moment ago waits in TIME_WAIT, which only a bare bind refuses
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", port))
            server.listen()


def test_a_port_something_listens_on_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with contextlib.closing(socket.socket()) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        other = free_port("127.0.0.1")
        offers = iter([busy, other])  # the busy port first, then a free one
        monkeypatch.setattr(
            simulator.secrets, "randbelow", lambda _: next(offers) - FIRST_SERVER_PORT
        )
        assert free_port("127.0.0.1") == other
