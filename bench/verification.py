"""Benchmark: full verification of three-signature transcripts (XML and PDF) on one core.

The hub's ``verify_document`` does everything a verifier must (RULES.md §5):
integrity of each signature, its timestamp, the chain to the trust store,
validity and revocation at signing time (OCSP answers cached for five minutes,
as a running hub does), role, order and completeness. Side by side, in the same
run, the bare libraries on the same documents:

- XML: signxml's ``XMLVerifier`` on each of the three signatures (digests and
  signature value only, the certificate taken as given — less than the hub does);
- PDF: pyHanko's ``validate_pdf_signature`` on each of the three signatures with
  a ValidationContext holding the trust roots and revocation checks off.

Bars: ≥ 200 XML/s and ≥ 30 PDF/s. Run it pinned:

    taskset -c 0 .venv/bin/python bench/verification.py [--seconds 5]
"""

import argparse
import asyncio
import io

from _common import pin_to_one_core, rate
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from signxml import SignatureConfiguration, SignatureMethod, XMLVerifier
from signxml.algorithms import DigestAlgorithm

from hub.adapters.signing.pki import DemoPKI
from hub.adapters.signing.simulator import SimulatorServer, free_port
from hub.documents import samples
from hub.signing.trust import TrustStore
from hub.signing.verification import Verdict, verify_document
from hub.transcripts.service import render
from tests.signing_support import school_signers, sign_all


async def signed_documents(pki: DemoPKI) -> tuple[bytes, bytes]:
    """One transcript signed B-T by teacher, principal and seal, as XML and as PDF."""
    signers = school_signers(pki)
    xml, pdf = await render(samples.secondary(1))
    return (
        await sign_all(xml, signers, pki.timestamper),
        await sign_all(pdf, signers, pki.timestamper),
    )


async def main(seconds: float) -> None:
    print(f"pinned to {pin_to_one_core()}; {seconds:g} s per measurement")
    port = free_port("127.0.0.1")
    pki = DemoPKI.create(f"http://127.0.0.1:{port}")
    with SimulatorServer(pki.app(), port=port):
        xml, pdf = await signed_documents(pki)
        trust = TrustStore(pki.roots)

        async def hub_xml(i: int) -> None:
            result = await verify_document(xml, trust=trust)
            assert result.verdict is Verdict.VALID, result.reasons

        async def hub_pdf(i: int) -> None:
            result = await verify_document(pdf, trust=trust)
            assert result.verdict is Verdict.VALID, result.reasons

        certificates = [_signer_certificate(etree.fromstring(xml), n) for n in (1, 2, 3)]

        async def bare_xml(i: int) -> None:
            for index in range(3):
                verifier = _NthXMLVerifier()
                verifier.index = index
                verifier.verify(
                    xml,
                    x509_cert=certificates[index],
                    id_attribute="Id",
                    expect_config=SignatureConfiguration(
                        expect_references=index + 2,  # content, earlier signatures, properties
                        signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
                        digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
                    ),
                )

        roots = [asn1_x509.Certificate.load(r.public_bytes(Encoding.DER)) for r in pki.roots]

        async def bare_pdf(i: int) -> None:
            reader = PdfFileReader(io.BytesIO(pdf))
            context = ValidationContext(trust_roots=roots, allow_fetching=False)
            for embedded in reader.embedded_signatures:
                status = await async_validate_pdf_signature(embedded, context)
                assert status.intact and status.valid

        figures = {
            "hub verify_document XML (3 signatures, full checks)": await rate(hub_xml, seconds),
            "bare signxml XMLVerifier ×3 (integrity only)": await rate(bare_xml, seconds),
            "hub verify_document PDF (3 signatures, full checks)": await rate(hub_pdf, seconds),
            "bare pyHanko validate_pdf_signature ×3 (no revocation)": await rate(bare_pdf, seconds),
        }
    for name, value in figures.items():
        print(f"{name:58} {value:8.1f} docs/s")


def _signer_certificate(root: etree._Element, n: int) -> str:
    node = root.xpath(
        f"//ds:Signature[@Id='signature-{n}']//ds:X509Certificate",
        namespaces={"ds": "http://www.w3.org/2000/09/xmldsig#"},
    )[0]
    return "-----BEGIN CERTIFICATE-----\n" + node.text + "\n-----END CERTIFICATE-----\n"


class _NthXMLVerifier(XMLVerifier):
    """signxml verifies the first ds:Signature it finds; this one picks the ``index``-th."""

    index = 0

    def _get_signature(self, root: etree._Element) -> etree._Element:
        tag = "{http://www.w3.org/2000/09/xmldsig#}Signature"
        return root if root.tag == tag else root.findall(tag)[self.index]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    asyncio.run(main(args.seconds))
