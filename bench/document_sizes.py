"""Benchmark: how many bytes a sealed transcript weighs, and where they go (issue 13).

The sample school's one-page secondary transcript, rendered with its XML attached,
then signed by homeroom teacher, principal and seal, B-T (the demo PKI's in-process
TSA), through the hub's two steps (``prepare_pdf`` told the timestamper, then
``finish_pdf``). For the unsigned file and each signature's revision it
prints the bytes added, how much of that is the ``/Contents`` placeholder and how
much of the placeholder the CMS really fills, and the font programs the revision
embeds — the two things that made a signature ~75 KB before (a font subset
embedded per signature, padding no CMS fills):

    .venv/bin/python bench/document_sizes.py

Then the seal's long-term revisions (``hub.signing.longterm``, the demo PKI's OCSP
served on loopback): a DSS with a document timestamp carrying the signed, long-term
XML, then the TSA's own evidence.
The bar: a sealed transcript with three long-term signatures (B-LTA) within
:data:`TARGET_LTA_BYTES`.
"""

import asyncio
import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asn1crypto import parser  # noqa: E402
from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: E402

from hub.adapters.signing.pki import DemoPKI, Issued  # noqa: E402
from hub.adapters.signing.simulator import SimulatorServer, free_port  # noqa: E402
from hub.documents import samples  # noqa: E402
from hub.signing import longterm  # noqa: E402
from hub.signing.trust import TrustStore  # noqa: E402
from hub.transcripts.service import render  # noqa: E402
from tests.signing_support import SIGNED_AT, school_signers, sign_all  # noqa: E402

#: What the sealed, long-term file may weigh: 150 KB (1 KB = 1000 bytes, the stricter).
TARGET_LTA_BYTES = 150_000


def revisions(pdf: bytes) -> list[int]:
    """Where each revision ends: after each ``%%EOF`` (and its line end)."""
    ends = []
    for match in re.finditer(rb"%%EOF\r?\n?", pdf):
        ends.append(match.end())
    return ends


def font_bytes(pdf: bytes, start: int, end: int) -> int:
    """Bytes of the embedded font programs (``/Length1`` streams) between two offsets."""
    total = 0
    for match in re.finditer(rb"/Length1 \d+", pdf[start:end]):
        head = pdf[start + match.start() - 400 : start + match.end() + 400]
        length = re.search(rb"/Length (\d+)", head)
        total += int(length.group(1)) if length else 0
    return total


def placeholders(pdf: bytes) -> list[tuple[int, int]]:
    """Each signature's ``/Contents``: (hex digits reserved, hex digits its CMS fills)."""
    reader = PdfFileReader(io.BytesIO(pdf))
    sizes = []
    for signature in reader.embedded_signatures:
        byte_range = signature.sig_object["/ByteRange"]
        _, _, _, header, body, _ = parser.parse(signature.pkcs7_content)
        sizes.append((byte_range[2] - byte_range[1] - 2, 2 * (len(header) + len(body))))
    return sizes


async def sealed(pki: DemoPKI, signers: list[Issued], *, tsa_known: bool) -> bytes:
    """The sample transcript sealed B-T. With ``tsa_known``, :func:`prepare_pdf` is given
    the timestamper :func:`finish_pdf` uses, so even the first signature's placeholder
    is sized from the TSA's own answer; without, from the earlier signatures' tokens."""
    _, pdf = await render(samples.secondary(1))
    return await sign_all(pdf, signers, pki.timestamper, signed_at=SIGNED_AT, tsa_known=tsa_known)


async def carrying_its_xml(pki: DemoPKI, signers: list[Issued], sealed_pdf: bytes) -> bytes:
    """``sealed_pdf`` made long-term as the seal does it: the XML signed by the same three
    and made long-term, then the PDF, carrying that XML (hub.signing.longterm)."""
    xml, _ = await render(samples.secondary(1))
    trust = TrustStore(pki.roots)
    signed_xml = await longterm.xml_long_term(
        await sign_all(xml, signers, pki.timestamper), trust=trust, timestamper=pki.timestamper
    )
    return await longterm.pdf_long_term(
        sealed_pdf, trust=trust, timestamper=pki.timestamper, signed_xml=signed_xml
    )


def main() -> None:
    port = free_port("127.0.0.1")
    pki = DemoPKI.create(f"http://127.0.0.1:{port}")
    signers = school_signers(pki)
    with SimulatorServer(pki.app(), port=port):
        unknown = asyncio.run(sealed(pki, signers, tsa_known=False))
        sealed_pdf = asyncio.run(sealed(pki, signers, tsa_known=True))
        long_term = asyncio.run(carrying_its_xml(pki, signers, sealed_pdf))
    report(long_term)
    print(
        f"sealed, three B-T signatures: {len(sealed_pdf):,} bytes;"
        f" the TSA not told at prepare: {len(unknown):,} bytes"
    )


def report(document: bytes) -> None:
    ends = revisions(document)
    contents = placeholders(document)
    labels = [
        "unsigned (with XML)",
        *(f"signature {n}" for n in range(1, 4)),
        "DSS, timestamp, signed XML",
        "the TSA's evidence (DSS)",
    ]
    print(f"{'revision':26} {'bytes added':>11} {'fonts':>8} {'/Contents hex':>14} {'CMS hex':>8}")
    start = 0
    for number, end in enumerate(ends):
        label = labels[number] if number < len(labels) else f"revision {number + 1}"
        reserved, used = contents[number - 1] if 0 < number <= len(contents) else (0, 0)
        print(
            f"{label:26} {end - start:11,} {font_bytes(document, start, end):8,}"
            f" {reserved:14,} {used:8,}"
        )
        start = end
    size = len(document)
    verdict = "within" if size <= TARGET_LTA_BYTES else "OVER"
    print(
        f"sealed, three long-term signatures (B-LTA): {size:,} bytes, {verdict} the"
        f" {TARGET_LTA_BYTES:,}-byte (150 KB) bar"
    )


if __name__ == "__main__":
    main()
