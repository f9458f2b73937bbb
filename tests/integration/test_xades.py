"""XAdES on the XML transcript: three signers in order, B-B and B-T, read back, and
checked by two independent verifiers (xmlsec1 and signxml) so the hub's format is
not only consistent with its own reader."""

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree
from pyhanko.sign.timestamps import HTTPTimeStamper
from signxml import InvalidSignature, SignatureConfiguration, SignatureMethod, XMLVerifier
from signxml.algorithms import DigestAlgorithm
from signxml.xades import XAdESSignatureConfiguration, XAdESVerifier

from hub.adapters.signing.pki import DemoPKI, Issued
from hub.adapters.signing.simulator import sign_digest
from hub.documents import samples
from hub.documents.xml.transcript import NAMESPACE, SIGNATURE_NAMESPACE, build_xml, validate_xml
from hub.domain.signers import SIGNING_ORDER
from hub.signing.algorithms import SignatureAlgorithm
from hub.signing.verification.xml_reader import read_xml_signatures
from hub.signing.xades import (
    XADES_NAMESPACE,
    SignatureValueMismatchError,
    XadesError,
    ds,
    finish_xml,
    prepare_xml,
)
from tests import algorithm_signers
from tests import signing_support as support
from tests.algorithm_signers import AlgorithmSigner
from tests.signing_support import SIGNED_AT, sign_all

signers = support.signers
basic = support.basic
timestamped = support.timestamped


@pytest.fixture(scope="module")
def unsigned() -> bytes:
    return build_xml(samples.secondary(7))


# --- Reading back -----------------------------------------------------------------


def test_three_intact_signatures_in_order(basic: bytes, signers: list[Issued]) -> None:
    validate_xml(basic)
    signatures, problems = read_xml_signatures(basic)
    assert problems == []
    assert [s.role for s in signatures] == list(SIGNING_ORDER)
    for number, (signature, who) in enumerate(zip(signatures, signers, strict=True)):
        assert signature.index == number
        assert signature.intact and signature.covers_previous, signature.problem
        assert signature.problem is None
        assert signature.certificate == who.certificate
        assert signature.other_certificates == list(who.chain)
        assert signature.claimed_time == SIGNED_AT + timedelta(minutes=number)
        assert signature.timestamp_valid is None and signature.timestamp_time is None


def test_signing_keeps_what_was_signed_byte_for_byte(unsigned: bytes, basic: bytes) -> None:
    """Nothing before a new signature is re-indented or re-written."""
    content_end = unsigned.index(b"</content>") + len(b"</content>")
    assert basic[:content_end] == unsigned[:content_end]
    first = basic.index(b"<ds:Signature ")
    assert basic.count(b"<ds:Signature ") == 3
    assert basic.endswith(b"</ds:Signature>\n</transcript>\n")
    assert basic[content_end:first] == b"\n"


def test_each_signature_covers_content_and_the_earlier_ones(basic: bytes) -> None:
    root = etree.fromstring(basic)
    for number, signature in enumerate(root.findall(ds("Signature")), start=1):
        uris = [r.get("URI") for r in signature.iterfind(f"{ds('SignedInfo')}/{ds('Reference')}")]
        earlier = [f"#signature-{n}" for n in range(1, number)]
        assert uris == ["#content", *earlier, f"#signature-{number}-signed-properties"]


async def test_timestamps_from_the_in_process_tsa(timestamped: bytes, pki: DemoPKI) -> None:
    validate_xml(timestamped)
    signatures, problems = read_xml_signatures(timestamped)
    assert problems == []
    now = datetime.now(UTC)
    for signature in signatures:
        assert signature.intact and signature.covers_previous, signature.problem
        assert signature.timestamp_valid is True, signature.problem
        assert signature.timestamp_time is not None
        assert abs(signature.timestamp_time - now) < timedelta(minutes=5)
        assert signature.signing_time == signature.timestamp_time
        assert signature.timestamp_certificate == pki.tsa.certificate
        assert pki.tsa.chain[0] in signature.timestamp_other_certificates


async def test_timestamps_from_the_tsa_over_http(
    unsigned: bytes, signers: list[Issued], pki: DemoPKI
) -> None:
    document = await sign_all(unsigned, signers, HTTPTimeStamper(pki.tsa_url), signed_at=SIGNED_AT)
    signatures, problems = read_xml_signatures(document)
    assert problems == []
    assert [(s.intact, s.covers_previous, s.timestamp_valid) for s in signatures] == [
        (True, True, True)
    ] * 3
    assert all(s.timestamp_certificate == pki.tsa.certificate for s in signatures)


# --- Interoperability -------------------------------------------------------------


def xmlsec1(document: bytes, node_id: str, tmp_path: Path, pki: DemoPKI) -> tuple[bool, str]:
    """Whether Debian's xmlsec1 verifies the signature ``node_id`` (digests, value and
    the chain in KeyInfo up to the demo roots)."""
    assert shutil.which("xmlsec1"), "xmlsec1 is missing: run `make system-deps`"
    path, roots = tmp_path / f"{node_id}.xml", tmp_path / "roots.pem"
    path.write_bytes(document)
    roots.write_bytes(pki.roots_pem())
    command = [
        "xmlsec1",
        "--verify",
        "--enabled-reference-uris",
        "same-doc",
        "--id-attr:Id",
        f"{NAMESPACE}:content",
        "--id-attr:Id",
        f"{SIGNATURE_NAMESPACE}:Signature",
        "--id-attr:Id",
        f"{XADES_NAMESPACE}:SignedProperties",
        "--node-id",
        node_id,
        "--trusted-pem",
        str(roots),
        str(path),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    return run.returncode == 0, run.stderr


class _NthSignature:
    """signxml verifies the first ``ds:Signature`` it finds; this picks the ``index``-th."""

    index = 0

    def _get_signature(self, root: etree._Element) -> etree._Element:
        return root if root.tag == ds("Signature") else root.findall(ds("Signature"))[self.index]


class _NthXMLVerifier(_NthSignature, XMLVerifier):
    pass


class _NthXAdESVerifier(_NthSignature, XAdESVerifier):
    pass


def signxml_verify(document: bytes, index: int, who: Issued, *, xades: bool) -> None:
    """signxml's verdict on the ``index``-th signature, with the signer's known
    certificate; raises when it does not verify. With ``xades`` the ``ds:Signature`` is
    also validated against the XAdES schemas and SigningCertificateV2 checked."""
    references = index + 2  # content, the earlier signatures, SignedProperties
    verifier: _NthXMLVerifier | _NthXAdESVerifier
    if xades:
        verifier = _NthXAdESVerifier()
        config: SignatureConfiguration = XAdESSignatureConfiguration(expect_references=references)
    else:
        verifier = _NthXMLVerifier()
        config = SignatureConfiguration(
            expect_references=references,
            signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
            digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
        )
    verifier.index = index
    verifier.verify(document, x509_cert=who.certificate, id_attribute="Id", expect_config=config)


@pytest.mark.parametrize("kind", ["basic", "timestamped"])
def test_xmlsec1_accepts_every_signature(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, pki: DemoPKI
) -> None:
    document = request.getfixturevalue(kind)
    for number in (1, 2, 3):
        ok, output = xmlsec1(document, f"signature-{number}", tmp_path, pki)
        assert ok, output
        assert f"SignedInfo References (ok/all): {number + 1}/{number + 1}" in output


@pytest.mark.parametrize("kind", ["basic", "timestamped"])
def test_signxml_accepts_every_signature(
    kind: str, request: pytest.FixtureRequest, signers: list[Issued]
) -> None:
    document = request.getfixturevalue(kind)
    for index, who in enumerate(signers):
        signxml_verify(document, index, who, xades=False)
        signxml_verify(document, index, who, xades=True)


# --- Tampering --------------------------------------------------------------------


def test_a_changed_score_breaks_every_signature(
    timestamped: bytes, signers: list[Issued], tmp_path: Path, pki: DemoPKI
) -> None:
    assert timestamped.count(b"<score>8.3</score>") == 1
    tampered = timestamped.replace(b"<score>8.3</score>", b"<score>9.3</score>")
    validate_xml(tampered)  # still a well-formed, valid transcript: only signatures tell
    signatures, problems = read_xml_signatures(tampered)
    assert problems == []
    for index, signature in enumerate(signatures):
        assert not signature.intact
        assert "#content" in (signature.problem or "")
        assert signature.timestamp_valid is True  # the values themselves are untouched
        assert not xmlsec1(tampered, f"signature-{index + 1}", tmp_path, pki)[0]
        with pytest.raises(InvalidSignature):
            signxml_verify(tampered, index, signers[index], xades=False)


def test_a_changed_earlier_signature_breaks_it_and_every_later_one(
    timestamped: bytes, signers: list[Issued], tmp_path: Path, pki: DemoPKI
) -> None:
    start = timestamped.index(b"<ds:SignatureValue>") + len(b"<ds:SignatureValue>") + 10
    byte = timestamped[start : start + 1]
    tampered = timestamped[:start] + (b"B" if byte == b"A" else b"A") + timestamped[start + 1 :]
    signatures, _ = read_xml_signatures(tampered)
    first, *later = signatures
    assert not first.intact and "signature value does not verify" in (first.problem or "")
    assert first.timestamp_valid is False  # the token is over the original value
    for signature in later:
        assert not signature.intact
        assert "#signature-1" in (signature.problem or "")
    for index in range(3):
        assert not xmlsec1(tampered, f"signature-{index + 1}", tmp_path, pki)[0]
        with pytest.raises(InvalidSignature):
            signxml_verify(tampered, index, signers[index], xades=False)


def test_a_signature_moved_before_an_earlier_one_does_not_cover_it(basic: bytes) -> None:
    """Signatures are judged in document order: the seal's, moved first, still verifies,
    but the teacher's and the principal's then do not cover what precedes them."""
    root = etree.fromstring(basic)
    *_, seal = root.findall(ds("Signature"))
    root.remove(seal)
    root.insert(1, seal)
    signatures, problems = read_xml_signatures(etree.tostring(root))
    assert problems == []
    assert [s.intact for s in signatures] == [True, True, True]
    assert [s.covers_previous for s in signatures] == [True, False, False]


def test_a_second_element_with_the_content_id_breaks_every_signature(basic: bytes) -> None:
    """Signature wrapping: with two candidates for ``#content`` the reader will not pick one."""
    root = etree.fromstring(basic)
    decoy = etree.fromstring(etree.tostring(root.find(f"{{{NAMESPACE}}}content")))
    root.findall(ds("Signature"))[-1].find(ds("Object")).append(decoy)
    signatures, _ = read_xml_signatures(etree.tostring(root))
    assert all(not s.intact and "#content" in (s.problem or "") for s in signatures)


def test_documents_that_are_not_transcripts() -> None:
    assert read_xml_signatures(b"<transcript")[1][0].startswith("not a well-formed")
    assert read_xml_signatures(b"<other/>")[1][0].startswith("not a transcript")


# --- Finishing refuses what would break the document ----------------------------


async def test_a_signature_from_the_wrong_key_is_refused(
    unsigned: bytes, signers: list[Issued]
) -> None:
    teacher, principal, _ = signers
    prepared = prepare_xml(
        unsigned,
        role=SIGNING_ORDER[0],
        certificate=teacher.certificate,
        chain=teacher.chain,
    )
    with pytest.raises(SignatureValueMismatchError, match="does not verify with the certificate"):
        await finish_xml(prepared, sign_digest(principal.key, prepared.digest))
    with pytest.raises(SignatureValueMismatchError):
        await finish_xml(prepared, sign_digest(teacher.key, bytes(32)))


async def test_prepared_state_is_plain_bytes_and_must_match(
    unsigned: bytes, signers: list[Issued]
) -> None:
    teacher = signers[0]
    prepared = prepare_xml(
        unsigned, role=SIGNING_ORDER[0], certificate=teacher.certificate, chain=teacher.chain
    )
    assert b"<ds:SignatureValue/>" in prepared.document
    other = type(prepared)(digest=bytes(32), document=prepared.document)
    with pytest.raises(XadesError, match="does not match the digest"):
        await finish_xml(other, sign_digest(teacher.key, other.digest))


async def test_a_stored_request_keeps_the_new_signature_not_the_transcript(
    unsigned: bytes, signers: list[Issued]
) -> None:
    """What a signing request stores is the signature prepare_xml added (detached from
    the transcript it was prepared from), put back together only on that transcript;
    a request stored whole, before requests were stored detached, still finishes."""
    teacher = signers[0]
    prepared = prepare_xml(
        unsigned, role=SIGNING_ORDER[0], certificate=teacher.certificate, chain=teacher.chain
    )
    detached = prepared.detached(unsigned)
    assert len(detached.document) < len(prepared.document) - len(unsigned) // 2
    assert detached.attached(unsigned) == prepared
    for other in (unsigned.replace(b"</", b"</ ", 1), unsigned.replace(b">", b"]", 1), b""):
        with pytest.raises(XadesError, match="source document"):
            detached.attached(other)
    value = sign_digest(teacher.key, prepared.digest)
    signed = await finish_xml(detached.attached(unsigned), value)
    assert signed == await finish_xml(prepared.attached(b""), value)


def test_a_fourth_signature_is_refused(basic: bytes, signers: list[Issued]) -> None:
    seal = signers[2]
    with pytest.raises(XadesError, match="already has 3 signatures"):
        prepare_xml(basic, role=SIGNING_ORDER[2], certificate=seal.certificate, chain=seal.chain)


# --- Other signature algorithms (a CSC server's keys) -------------------------------


@pytest.fixture(scope="module")
def mixed_signers(pki: DemoPKI) -> list[AlgorithmSigner]:
    return algorithm_signers.mixed_signers(pki)


@pytest.fixture(scope="module")
async def mixed(unsigned: bytes, mixed_signers: list[AlgorithmSigner], pki: DemoPKI) -> bytes:
    """Signed by an ECDSA teacher, an RSA-PSS principal and an RSA PKCS#1 v1.5 seal, B-T."""
    return await algorithm_signers.sign_xml_in_turn(
        unsigned,
        zip(SIGNING_ORDER, mixed_signers, strict=True),
        pki.timestamper,
        signed_at=SIGNED_AT,
    )


def test_each_signature_method_names_its_keys_algorithm(mixed: bytes) -> None:
    methods = [
        element.get("Algorithm") for element in etree.fromstring(mixed).iter(ds("SignatureMethod"))
    ]
    assert methods == [
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    ]
    extracted, problems = read_xml_signatures(mixed)
    assert problems == []
    assert [s.problem for s in extracted] == [None, None, None]


def test_xmlsec1_accepts_ecdsa_and_pkcs1_signatures(
    mixed: bytes, tmp_path: Path, pki: DemoPKI
) -> None:
    """Debian's xmlsec1 (1.2.x) has no RSA-PSS; signxml checks that one below."""
    for number in (1, 3):
        ok, output = xmlsec1(mixed, f"signature-{number}", tmp_path, pki)
        assert ok, output


def test_signxml_accepts_every_algorithm(
    mixed: bytes, mixed_signers: list[AlgorithmSigner]
) -> None:
    methods = [
        SignatureMethod.ECDSA_SHA256,
        SignatureMethod.SHA256_RSA_MGF1,
        SignatureMethod.RSA_SHA256,
    ]
    for index, (who, method) in enumerate(zip(mixed_signers, methods, strict=True)):
        verifier = _NthXMLVerifier()
        verifier.index = index
        verifier.verify(
            mixed,
            x509_cert=who.certificate,
            id_attribute="Id",
            expect_config=SignatureConfiguration(
                expect_references=index + 2,
                signature_methods=frozenset({method}),
                digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
            ),
        )


async def test_a_value_of_another_algorithm_is_refused(
    unsigned: bytes, mixed_signers: list[AlgorithmSigner]
) -> None:
    """A PSS value where the document says PKCS#1 v1.5 (or the reverse) does not verify."""
    principal = mixed_signers[1]
    prepared = prepare_xml(
        unsigned,
        role=SIGNING_ORDER[0],
        certificate=principal.certificate,
        chain=principal.chain,
    )
    with pytest.raises(SignatureValueMismatchError):
        await finish_xml(prepared, principal.sign(prepared.digest))  # PSS, document says v1.5
    with pytest.raises(XadesError, match="cannot sign"):
        prepare_xml(
            unsigned,
            role=SIGNING_ORDER[0],
            certificate=mixed_signers[0].certificate,
            chain=mixed_signers[0].chain,
            algorithm=SignatureAlgorithm.RSA_PSS_SHA256,
        )
