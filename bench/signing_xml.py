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
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.serialization import Encoding  # noqa: E402
from lxml import etree  # noqa: E402
from signxml import (  # noqa: E402
    CanonicalizationMethod,
    SignatureConfiguration,
    SignatureMethod,
    XMLSigner,
    XMLVerifier,
)
from signxml.algorithms import DigestAlgorithm  # noqa: E402

from hub.adapters.signing.pki import GOV, DemoPKI, Issued  # noqa: E402
from hub.adapters.signing.simulator import sign_digest  # noqa: E402
from hub.documents import samples  # noqa: E402
from hub.documents.xml.transcript import build_xml  # noqa: E402
from hub.domain.signers import SIGNING_ORDER  # noqa: E402
from hub.signing.verify_xml import read_xml_signatures  # noqa: E402
from hub.signing.xades import finish_xml, prepare_xml  # noqa: E402

#: Distinct students signed in turn, so no run reuses the previous one's bytes.
VARIANTS = 64


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


async def fully_signed(xml: bytes, people: list[Issued], pki: DemoPKI | None) -> bytes:
    for role, who in zip(SIGNING_ORDER, people, strict=True):
        prepared = prepare_xml(xml, role=role, certificate=who.certificate, chain=who.chain)
        signature = sign_digest(who.key, prepared.digest)
        xml = await finish_xml(prepared, signature, timestamper=pki and pki.timestamper)
    return xml


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    seconds = parser.parse_args().seconds
    print(f"pinned to {pin_to_one_core()}; {seconds:g} s per measurement")

    pki = DemoPKI.create("http://127.0.0.1:9")
    people = signers(pki)
    teacher = people[0]
    documents = [build_xml(samples.secondary(i)) for i in range(VARIANTS)]
    print(f"document: {len(documents[0]):,} bytes unsigned")

    async def prepare_finish(i: int, *, exclude_provider: bool) -> float:
        prepared = prepare_xml(
            documents[i % VARIANTS],
            role=SIGNING_ORDER[0],
            certificate=teacher.certificate,
            chain=teacher.chain,
        )
        started = time.perf_counter()
        signature = sign_digest(teacher.key, prepared.digest)
        provider = time.perf_counter() - started
        await finish_xml(prepared, signature)
        return provider if exclude_provider else 0.0

    a = await rate(lambda i: prepare_finish(i, exclude_provider=True), seconds)
    print(f"(a) prepare+finish, provider excluded : {a:8.0f} /s   (bar 250)")
    b = await rate(lambda i: prepare_finish(i, exclude_provider=False), seconds)
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

    signed_bb = await fully_signed(documents[0], people, None)
    signed_bt = await fully_signed(documents[0], people, pki)
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
