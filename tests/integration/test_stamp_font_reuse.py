"""The shared stamp font is read once per process (issue 15 part 3): every transcript
one version of the hub rendered carries the same font objects, so the signing engine
keeps what it read by the objects' bytes — and a document whose font differs, by a
single width, is read for itself."""

import asyncio
import io
import re

from hub.documents import samples
from hub.signing import pades
from hub.signing.pades import RevisionWriter, _read_glyphs, _SharedStampFont, _stored_font
from hub.transcripts.service import render


def _font_of(pdf: bytes) -> _SharedStampFont:
    font = _SharedStampFont.of(RevisionWriter(io.BytesIO(pdf)))
    assert font is not None
    return font


def test_two_transcripts_share_what_was_read_and_it_is_what_a_fresh_read_gives() -> None:
    _, first = asyncio.run(render(samples.primary(1)))
    _, second = asyncio.run(render(samples.primary(2)))
    assert first != second
    pades._glyphs_read.clear()
    read = _font_of(first)
    assert len(pades._glyphs_read) == 1
    again = _font_of(second)
    assert again.glyphs is read.glyphs  # from what the first one read
    fresh, _ = _read_glyphs(again.reference)
    assert fresh == again.glyphs
    assert len(fresh) > 200


def test_a_font_with_one_width_changed_is_read_for_itself() -> None:
    _, pdf = asyncio.run(render(samples.primary(1)))
    pades._glyphs_read.clear()
    original = _font_of(pdf)
    writer = RevisionWriter(io.BytesIO(pdf))
    stored = _stored_font(writer, original.reference)
    assert stored is not None
    descendant = stored[1]
    # One width of the /W runs, changed in place (same length: the offsets still hold).
    runs = re.search(rb"/W\s*\[\s*\d+\s*\[\s*(\d+)", descendant)
    assert runs is not None
    width = runs[1]
    changed = str(int(width) + 1 if width[-1:] != b"9" else int(width) - 1).encode()
    assert len(changed) == len(width)
    edited = descendant[: runs.start(1)] + changed + descendant[runs.end(1) :]
    document = pdf.replace(descendant, edited)
    assert document != pdf and len(document) == len(pdf)

    altered = _font_of(document)
    assert altered.glyphs != original.glyphs
    assert {w for _, w in altered.glyphs.values()} - {w for _, w in original.glyphs.values()} <= {
        int(changed)
    }
    assert len(pades._glyphs_read) == 2
    assert _font_of(pdf).glyphs is original.glyphs
