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
from collections.abc import Awaitable, Callable

from _common import hub_signing, offline_signers, pin_to_one_core, rate
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, SimpleSigner
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from hub.adapters.signing.pki import Issued
from hub.documents import samples
from hub.documents.pdf import render_pdf
from hub.documents.pdf.layout import FONT_DIR
from hub.documents.xml.transcript import build_xml
from hub.domain.signers import SignerRole
from hub.signing.verification.pdf_reader import read_pdf_signatures
from tests.signing_support import sign_all

#: Distinct students signed in turn, so no run reuses the previous one's bytes.
VARIANTS = 16
#: The placeholder the hub reserves for this signer (hex digits), given to pyHanko too.
BYTES_RESERVED = 2 * 18 * 1024


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

    pki, people = offline_signers()
    teacher = people[0]
    documents = []
    for i in range(VARIANTS):
        content = samples.secondary(i)
        documents.append(render_pdf(content, xml=build_xml(content)))
    print(f"document: {len(documents[0]):,} bytes unsigned")

    a = await rate(hub_signing(documents, teacher, exclude_provider=True), seconds)
    print(f"(a) hub prepare+finish, provider excluded : {a:7.1f} /s   (bar 30)")
    b = await rate(hub_signing(documents, teacher, exclude_provider=False), seconds)
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

    signed = [await sign_all(documents[i], people, pki.timestamper) for i in range(VARIANTS)]
    signatures, problems = await read_pdf_signatures(signed[0])
    assert not problems and all(s.intact and s.timestamp_valid for s in signatures)
    print(f"signed document (3 × B-T): {len(signed[0]):,} bytes")

    async def read(i: int) -> None:
        await read_pdf_signatures(signed[i % VARIANTS])

    e = await rate(read, seconds)
    print(f"(e) read_pdf_signatures, 3 signatures     : {e:7.1f} /s   (bar 30)")


if __name__ == "__main__":
    asyncio.run(main())
