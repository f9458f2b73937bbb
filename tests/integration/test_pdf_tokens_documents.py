"""A signed transcript reads the same, object by object, with hub.signing.pdf_tokens'
readers and with pyHanko's own (tests/unit/test_pdf_tokens.py holds them token by token)."""

from __future__ import annotations

import io

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from hub.adapters.signing.pki import DemoPKI
from hub.documents import samples
from hub.domain.signers import SIGNING_ORDER
from hub.signing import pdf_tokens
from hub.transcripts.service import render
from tests import signing_support


async def test_signed_transcript_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    _, pdf = await render(samples.primary(1))
    pki = DemoPKI.create("http://127.0.0.1:9")
    for role, who in zip(SIGNING_ORDER, signing_support.school_signers(pki), strict=True):
        pdf = await signing_support.sign(pdf, role, who)
    fast = _every_object(pdf)
    for owner, name, _, original in pdf_tokens.REPLACED:
        monkeypatch.setattr(owner, name, original)
    assert _every_object(pdf) == fast
    assert len(fast) > 40
    # Strings with escapes, signatures' /Contents and names were all among them.
    text = repr(fast)
    assert "Chữ ký số" in text and "/ByteRange" in text and "/Contents" in text


def _every_object(pdf: bytes) -> list[tuple[int, int, str]]:
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    seen = []
    for revision in range(reader.xrefs.total_revisions):
        for reference in reader.xrefs.explicit_refs_in_revision(revision):
            value = reader.get_object(reference, revision=revision)
            seen.append((revision, reference.idnum, repr(value)))
    return seen
