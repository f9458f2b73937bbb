"""Benchmark: PAdES signing and reading of the transcript PDF on one core.

In one run, one after the other on the same core:

(a) prepare+finish/s — ``hub.signing.pades.prepare_pdf`` then ``finish_pdf`` (B-B)
    into the homeroom teacher's field, the provider's RSA signing excluded from the
    clock (it happens at the provider);
(b) the same with the RSA signing included, to compare with (c) and (d);
(c) the bare library — pyHanko's ``PdfSigner`` with a ``SimpleSigner`` whose key is
    loaded once, the same fixed ``bytes_reserved`` (no dry-run estimate), pyHanko's
    default stamp (Latin-1 text in a base-14 font: no Vietnamese);
(d) as (c) with the stamp in DejaVu through pyHanko's ``GlyphAccumulatorFactory``,
    what a Vietnamese stamp costs done the library's way;
(e) read_pdf_signatures/s on three-signature B-T documents (integrity, timestamps
    and difference analysis; trust checks are not the reader's).

The bars are ≥ 30 prepare+finish/s and ≥ 30 reads/s. Run it pinned:

    taskset -c 0 .venv/bin/python bench/signing_pdf.py [--seconds 3]
"""

import argparse
import asyncio
import io
import logging
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asn1crypto import keys as asn1_keys  # noqa: E402
from asn1crypto import x509 as asn1_x509  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402
from cryptography.hazmat.primitives.serialization import (  # noqa: E402
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory  # noqa: E402
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: E402
from pyhanko.pdf_utils.text import TextBoxStyle  # noqa: E402
from pyhanko.sign.fields import SigSeedSubFilter  # noqa: E402
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, SimpleSigner  # noqa: E402
from pyhanko.stamp import TextStampStyle  # noqa: E402
from pyhanko_certvalidator.registry import SimpleCertificateStore  # noqa: E402

from hub.adapters.signing.pki import GOV, DemoPKI, Issued  # noqa: E402
from hub.adapters.signing.simulator import sign_digest  # noqa: E402
from hub.documents import samples  # noqa: E402
from hub.documents.pdf import render_pdf  # noqa: E402
from hub.documents.pdf.layout import FONT_DIR  # noqa: E402
from hub.documents.xml.transcript import build_xml  # noqa: E402
from hub.domain.signers import SIGNING_ORDER, SignerRole  # noqa: E402
from hub.signing.pades import finish_pdf, prepare_pdf  # noqa: E402
from hub.signing.verify_pdf import read_pdf_signatures  # noqa: E402

#: Distinct students signed in turn, so no run reuses the previous one's bytes.
VARIANTS = 16
#: The placeholder the hub reserves for this signer (hex digits), given to pyHanko too.
BYTES_RESERVED = 2 * 18 * 1024


def pin_to_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"CPU {cpu}"


async def rate(work: Callable[[int], Awaitable[float | None]], seconds: float) -> float:
    """Calls per second of ``work(i)``, the median of ten windows (the machine may be
    shared); a call may return the seconds to leave out of the clock."""
    for i in range(3):
        await work(i)
    done, rates = 0, []
    for _ in range(10):
        calls, excluded = 0, 0.0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds / 10:
            excluded += await work(done) or 0.0
            calls, done = calls + 1, done + 1
        rates.append(calls / (time.perf_counter() - start - excluded))
    return statistics.median(rates)


def signers(pki: DemoPKI) -> list[Issued]:
    organisation = samples.SCHOOL.name
    return [
        pki.issue_person(
            GOV, full_name="Nguyễn Thị Lan", personal_id="001190000001", organisation=organisation
        ),
        pki.issue_person(
            GOV, full_name="Trần Văn Minh", personal_id="001180000002", organisation=organisation
        ),
        pki.issue_seal(GOV, school_name=organisation, school_code=samples.SCHOOL.moet_code),
    ]


async def fully_signed(pdf: bytes, people: list[Issued], pki: DemoPKI) -> bytes:
    for role, who in zip(SIGNING_ORDER, people, strict=True):
        prepared = await prepare_pdf(pdf, role=role, certificate=who.certificate, chain=who.chain)
        signature = sign_digest(who.key, prepared.digest)
        pdf = await finish_pdf(prepared, signature, timestamper=pki.timestamper)
    return pdf


class PreloadedSigner(SimpleSigner):
    """pyHanko's SimpleSigner reloads its key from DER for every signature (~40 ms for
    RSA-2048); a fair baseline signs with the key object loaded once."""

    def __init__(self, who: Issued) -> None:
        der = who.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
        super().__init__(
            signing_cert=_asn1(who.certificate),
            signing_key=asn1_keys.PrivateKeyInfo.load(der),
            cert_registry=SimpleCertificateStore.from_certs([_asn1(c) for c in who.chain]),
        )
        self.key = who.key

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))


def bare_pyhanko(who: Issued, stamp: TextStampStyle | None) -> Callable[[bytes], Awaitable[bytes]]:
    signer = PreloadedSigner(who)
    meta = PdfSignatureMetadata(
        field_name=SignerRole.HOMEROOM_TEACHER.value,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        reason=SignerRole.HOMEROOM_TEACHER.label,
    )

    async def sign(pdf: bytes) -> bytes:
        pdf_signer = PdfSigner(meta, signer, stamp_style=stamp)
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        output = await pdf_signer.async_sign_pdf(
            writer, existing_fields_only=True, bytes_reserved=BYTES_RESERVED
        )
        return output.getvalue()

    return sign


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    seconds = parser.parse_args().seconds
    print(f"pinned to {pin_to_one_core()}; {seconds:g} s per measurement")
    # (d) subsets the font with fontTools for every signature, which logs a warning each time.
    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)

    pki = DemoPKI.create("http://127.0.0.1:9")
    people = signers(pki)
    teacher = people[0]
    documents = []
    for i in range(VARIANTS):
        content = samples.secondary(i)
        documents.append(render_pdf(content, xml=build_xml(content)))
    print(f"document: {len(documents[0]):,} bytes unsigned")

    async def prepare_finish(i: int, *, exclude_provider: bool) -> float:
        prepared = await prepare_pdf(
            documents[i % VARIANTS],
            role=SignerRole.HOMEROOM_TEACHER,
            certificate=teacher.certificate,
            chain=teacher.chain,
        )
        started = time.perf_counter()
        signature = sign_digest(teacher.key, prepared.digest)
        provider = time.perf_counter() - started
        await finish_pdf(prepared, signature)
        return provider if exclude_provider else 0.0

    a = await rate(lambda i: prepare_finish(i, exclude_provider=True), seconds)
    print(f"(a) hub prepare+finish, provider excluded : {a:7.1f} /s   (bar 30)")
    b = await rate(lambda i: prepare_finish(i, exclude_provider=False), seconds)
    print(f"(b) hub prepare+sign+finish               : {b:7.1f} /s")

    plain = bare_pyhanko(teacher, None)

    async def bare_plain(i: int) -> None:
        await plain(documents[i % VARIANTS])

    c = await rate(bare_plain, seconds)
    print(f"(c) pyHanko PdfSigner, default stamp      : {c:7.1f} /s")

    dejavu = TextStampStyle(
        stamp_text="Ký bởi: %(signer)s\nVai trò: Giáo viên chủ nhiệm\nNgày ký: %(ts)s",
        text_box_style=TextBoxStyle(
            font=GlyphAccumulatorFactory(str(FONT_DIR / "DejaVuSerifCondensed.ttf"), font_size=8),
            font_size=8,
        ),
    )
    opentype = bare_pyhanko(teacher, dejavu)

    async def bare_opentype(i: int) -> None:
        await opentype(documents[i % VARIANTS])

    d = await rate(bare_opentype, seconds)
    print(f"(d) pyHanko PdfSigner, DejaVu stamp       : {d:7.1f} /s")

    signed = [await fully_signed(documents[i], people, pki) for i in range(VARIANTS)]
    signatures, problems = await read_pdf_signatures(signed[0])
    assert not problems and all(s.intact and s.timestamp_valid for s in signatures)
    print(f"signed document (3 × B-T): {len(signed[0]):,} bytes")

    async def read(i: int) -> None:
        await read_pdf_signatures(signed[i % VARIANTS])

    e = await rate(read, seconds)
    print(f"(e) read_pdf_signatures, 3 signatures     : {e:7.1f} /s   (bar 30)")


if __name__ == "__main__":
    asyncio.run(main())
