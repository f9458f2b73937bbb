"""RFC 3161 requests from a template: every timestamper of the hub writes its requests here.

A bulk batch asks the TSA twice a transcript (the XML's signature and the PDF's), and
pyHanko builds each request in asn1crypto objects and encodes it again: a tenth of a
signing worker's event loop. A SHA-256 request differs from the next only in its
digest and nonce, so pyHanko builds a timestamper's first, and each request is that one
with the digest and the nonce put in their places: the same DER pyHanko sends
(tests/unit/test_timestamp_requests.py), read back by asn1crypto without encoding it
again when pyHanko sends it and checks the answer's nonce.
"""

from __future__ import annotations

from typing import Any

from asn1crypto import tsp
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import get_nonce

#: The nonce pyHanko draws: eight bytes, the first 0x01 (a positive INTEGER of fixed width).
_NONCE_SIZE = 8


def _cut(request: bytes, digest: bytes, nonce: int) -> tuple[bytes, bytes, bytes]:
    """A request cut around its digest and its nonce's eight bytes."""
    nonce_bytes = nonce.to_bytes(_NONCE_SIZE, "big")
    if request.count(digest) != 1 or request.count(b"\x02\x08" + nonce_bytes) != 1:
        raise RuntimeError("a timestamp request holds its digest or its nonce more than once")
    before, after_digest = request.split(digest)
    between, after = after_digest.split(nonce_bytes)
    return before, between, after


class TemplateRequests(TimeStamper):
    """A pyHanko timestamper whose SHA-256 requests are its first one's, with each
    request's digest and nonce put in."""

    _template: tuple[bytes, bytes, bytes] | None = None

    def request_cms(self, message_digest: bytes, md_algorithm: str) -> tuple[Any, tsp.TimeStampReq]:
        if md_algorithm != "sha256" or not self.include_nonce or len(message_digest) != 32:
            return super().request_cms(message_digest, md_algorithm)
        if self._template is None:  # pyHanko's own request, once
            marker = bytes(range(0xA0, 0xC0))
            nonce, request = super().request_cms(marker, md_algorithm)
            self._template = _cut(request.dump(), marker, nonce)
        nonce = get_nonce()
        before, between, after = self._template
        der = before + message_digest + between + nonce.to_bytes(_NONCE_SIZE, "big") + after
        return nonce, tsp.TimeStampReq.load(der)
