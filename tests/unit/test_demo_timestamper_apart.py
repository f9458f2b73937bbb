"""The demo PKI's timestamper that lets its TSA answer in another thread."""

from __future__ import annotations

import hashlib
import threading

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from hub.adapters.signing.pki import DemoPKI, DemoTsa


async def test_the_token_is_the_tsas_and_signed_in_another_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pki = DemoPKI.create("http://127.0.0.1:9")
    answered_in: list[threading.Thread] = []
    answer = DemoTsa.response

    def noted(tsa: DemoTsa, request: bytes) -> bytes:
        answered_in.append(threading.current_thread())
        return answer(tsa, request)

    monkeypatch.setattr(DemoTsa, "response", noted)
    imprint = hashlib.sha256(b"transcript").digest()
    token = await pki.timestamper_apart().async_timestamp(imprint, "sha256")
    info = token["content"]["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == imprint
    carried = [c.chosen.dump() for c in token["content"]["certificates"]]
    assert pki.tsa.certificate.public_bytes(Encoding.DER) in carried
    assert answered_in and all(t is not threading.current_thread() for t in answered_in)
