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
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asn1crypto import x509 as asn1_x509  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding  # noqa: E402
from lxml import etree  # noqa: E402
from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: E402
from pyhanko.sign.validation import async_validate_pdf_signature  # noqa: E402
from pyhanko_certvalidator import ValidationContext  # noqa: E402
from signxml import SignatureConfiguration, SignatureMethod, XMLVerifier  # noqa: E402
from signxml.algorithms import DigestAlgorithm  # noqa: E402

from hub.adapters.signing.pki import GOV, DemoPKI  # noqa: E402
from hub.adapters.signing.simulator import SimulatorServer, free_port, sign_digest  # noqa: E402
from hub.documents import samples  # noqa: E402
from hub.domain.signers import SIGNING_ORDER, SignerRole  # noqa: E402
from hub.signing.pades import finish_pdf, prepare_pdf  # noqa: E402
from hub.signing.trust import TrustStore  # noqa: E402
from hub.signing.verdict import Verdict  # noqa: E402
from hub.signing.verify import verify_document  # noqa: E402
from hub.signing.xades import finish_xml, prepare_xml  # noqa: E402
from hub.transcripts.service import render  # noqa: E402


async def signed_documents(pki: DemoPKI) -> tuple[bytes, bytes]:
    """One transcript signed B-T by teacher, principal and seal, as XML and as PDF."""
    signers = {
        SignerRole.HOMEROOM_TEACHER: pki.issue_person(
            GOV, full_name="Nguyễn Thị Lan", personal_id="001185012345", organisation="THCS A"
        ),
        SignerRole.PRINCIPAL: pki.issue_person(
            GOV, full_name="Trần Văn Minh", personal_id="001075054321", organisation="THCS A"
        ),
        SignerRole.SCHOOL_SEAL: pki.issue_seal(GOV, school_name="THCS A", school_code="01LB01"),
    }
    xml, pdf = await render(samples.secondary(1))
    for role in SIGNING_ORDER:
        issued = signers[role]
        now = datetime.now(UTC)
        prepared_xml = prepare_xml(
            xml, role=role, certificate=issued.certificate, chain=issued.chain, signing_time=now
        )
        xml = await finish_xml(
            prepared_xml, sign_digest(issued.key, prepared_xml.digest), timestamper=pki.timestamper
        )
        prepared_pdf = await prepare_pdf(
            pdf, role=role, certificate=issued.certificate, chain=issued.chain, signing_time=now
        )
        pdf = await finish_pdf(
            prepared_pdf, sign_digest(issued.key, prepared_pdf.digest), timestamper=pki.timestamper
        )
    return xml, pdf


async def rate(seconds: float, work: Callable[[], Awaitable[object]]) -> float:
    await work()  # warm caches (OCSP answers, parsed certificates)
    done, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        await work()
        done += 1
    return done / elapsed


async def main(seconds: float) -> None:
    port = free_port("127.0.0.1")
    pki = DemoPKI.create(f"http://127.0.0.1:{port}")
    with SimulatorServer(pki.app(), port=port):
        xml, pdf = await signed_documents(pki)
        trust = TrustStore(pki.roots)

        async def hub_xml() -> None:
            result = await verify_document(xml, trust=trust)
            assert result.verdict is Verdict.VALID, result.reasons

        async def hub_pdf() -> None:
            result = await verify_document(pdf, trust=trust)
            assert result.verdict is Verdict.VALID, result.reasons

        certificates = [_signer_certificate(etree.fromstring(xml), n) for n in (1, 2, 3)]

        async def bare_xml() -> None:
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

        async def bare_pdf() -> None:
            reader = PdfFileReader(io.BytesIO(pdf))
            context = ValidationContext(trust_roots=roots, allow_fetching=False)
            for embedded in reader.embedded_signatures:
                status = await async_validate_pdf_signature(embedded, context)
                assert status.intact and status.valid

        figures = {
            "hub verify_document XML (3 signatures, full checks)": await rate(seconds, hub_xml),
            "bare signxml XMLVerifier ×3 (integrity only)": await rate(seconds, bare_xml),
            "hub verify_document PDF (3 signatures, full checks)": await rate(seconds, hub_pdf),
            "bare pyHanko validate_pdf_signature ×3 (no revocation)": await rate(seconds, bare_pdf),
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
