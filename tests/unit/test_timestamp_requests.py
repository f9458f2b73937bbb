"""hub.signing.timestamp_requests writes the requests pyHanko writes, byte for byte."""

from __future__ import annotations

import os

import pytest
from asn1crypto import tsp
from pyhanko.sign.timestamps import api as pyhanko_timestamps
from pyhanko.sign.timestamps.api import TimeStamper

from hub.signing import timestamp_requests
from hub.signing.timestamp_requests import TemplateRequests


class _Template(TemplateRequests):
    pass


def test_requests_are_pyhankos(monkeypatch: pytest.MonkeyPatch) -> None:
    ours, library = _Template(), TimeStamper()
    for _ in range(200):
        digest = os.urandom(32)
        nonce, request = ours.request_cms(digest, "sha256")
        monkeypatch.setattr(pyhanko_timestamps, "get_nonce", lambda drawn=nonce: drawn)
        their_nonce, theirs = library.request_cms(digest, "sha256")
        assert (nonce, request.dump()) == (their_nonce, theirs.dump())
        assert request["message_imprint"]["hashed_message"].native == digest
        assert request["nonce"].native == nonce
        monkeypatch.undo()


def test_other_requests_are_left_to_pyhanko() -> None:
    """Another digest algorithm, or no nonce: pyHanko's own request."""
    nonce, request = _Template().request_cms(os.urandom(64), "sha512")
    assert request["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha512"
    assert request["nonce"].native == nonce
    without = _Template(include_nonce=False)
    nonce, request = without.request_cms(os.urandom(32), "sha256")
    assert nonce is None and isinstance(request, tsp.TimeStampReq)
    assert request["nonce"].native is None


def test_a_template_that_holds_its_marker_twice_is_refused() -> None:
    digest = bytes(32)
    with pytest.raises(RuntimeError):
        timestamp_requests._cut(digest + digest + b"\x02\x08" + bytes(8), digest, 0)
