"""Benchmark: XAdES signing and reading of the XML transcript on one core.

In one run, one after the other on the same core:

(a) prepare+finish/s — ``hub.signing.xades.prepare_xml`` then ``finish_xml`` (B-B),
    the provider's RSA signing excluded from the clock (it happens at the provider);
(b) the same with the RSA signing included, to compare with (c);
(c) the floor — signxml's ``XMLSigner`` (enveloped, exclusive C14N, RSA-SHA256) with
    a preloaded key on the same XML, what one-step signing costs in Python;
(d) read_xml_signatures/s on a three-signature document, B-B and B-T
    (trust checks excluded: they are cached elsewhere);
(e) signxml's ``XMLVerifier`` on one signature of the same B-B document, for scale.

The bars are ≥ 250 prepare+finish/s and ≥ 200 reads/s. Run it pinned:

    taskset -c 0 .venv/bin/python bench/signing_xml.py [--seconds 3]
"""

import argparse
import asyncio

from _common import hub_signing, offline_signers, pin_to_one_core, rate
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml import (
    CanonicalizationMethod,
    SignatureConfiguration,
    SignatureMethod,
    XMLSigner,
    XMLVerifier,
)
from signxml.algorithms import DigestAlgorithm

from hub.documents import samples
from hub.documents.xml.transcript import build_xml
from hub.signing.verification.xml_reader import read_xml_signatures
from tests.signing_support import sign_all

#: Distinct students signed in turn, so no run reuses the previous one's bytes.
VARIANTS = 64


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    seconds = parser.parse_args().seconds
    print(f"pinned to {pin_to_one_core()}; {seconds:g} s per measurement")

    pki, people = offline_signers()
    teacher = people[0]
    documents = [build_xml(samples.secondary(i)) for i in range(VARIANTS)]
    print(f"document: {len(documents[0]):,} bytes unsigned")

    a = await rate(hub_signing(documents, teacher, exclude_provider=True), seconds)
    print(f"(a) prepare+finish, provider excluded : {a:8.0f} /s   (bar 250)")
    b = await rate(hub_signing(documents, teacher, exclude_provider=False), seconds)
    print(f"(b) prepare+sign+finish               : {b:8.0f} /s")

    signer = XMLSigner(
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    chain_pem = [
        c.public_bytes(Encoding.PEM).decode() for c in (teacher.certificate, *teacher.chain)
    ]

    async def bare_signxml(i: int) -> None:
        root = etree.fromstring(documents[i % VARIANTS])
        etree.tostring(signer.sign(root, key=teacher.key, cert=chain_pem))

    c = await rate(bare_signxml, seconds)
    print(f"(c) signxml XMLSigner, key preloaded  : {c:8.0f} /s")

    signed_bb = await sign_all(documents[0], people)
    signed_bt = await sign_all(documents[0], people, pki.timestamper)
    assert all(s.intact for s in read_xml_signatures(signed_bt)[0])

    async def read(document: bytes) -> None:
        read_xml_signatures(document)

    d1 = await rate(lambda i: read(signed_bb), seconds)
    print(f"(d) read_xml_signatures, 3 sig, B-B   : {d1:8.0f} /s   (bar 200)")
    d2 = await rate(lambda i: read(signed_bt), seconds)
    print(f"    read_xml_signatures, 3 sig, B-T   : {d2:8.0f} /s   (bar 200)")

    # signxml verifies the first ds:Signature it finds: the teacher's (two references).
    config = SignatureConfiguration(expect_references=2)

    async def signxml_verify(i: int) -> None:
        XMLVerifier().verify(signed_bb, x509_cert=teacher.certificate, expect_config=config)

    e = await rate(signxml_verify, seconds)
    print(f"(e) signxml XMLVerifier, 1 signature  : {e:8.0f} /s")


if __name__ == "__main__":
    asyncio.run(main())
