"""Long-term validation (issue 13): a sealed transcript made PAdES B-LTA / XAdES LTA
verifies VALID with the PKI offline, now and — once its archive timestamp is renewed by
a later TSA — ten years on, when every signer's certificate and the first TSA's have
expired; without the renewal it is INDETERMINATE then, and a tampered one is INVALID.

Documents are made as the hub makes them (``sign_all``: the engines, B-T with the demo
PKI's TSA), then :func:`hub.signing.longterm.make_long_term` with the demo PKI's OCSP
responder answering over loopback HTTP; verification runs with revocation fetching
switched off, so every answer must come from the document itself.
"""

from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from hub.adapters.signing.pki import DemoPKI, Issued
from hub.documents import samples
from hub.domain.signers import SIGNING_ORDER
from hub.signing import longterm
from hub.signing.trust import TrustStore
from hub.signing.verification import ExpectedSigners, ReasonCode, Verdict, verify_document
from hub.signing.verification.pdf_reader import read_pdf
from hub.signing.xades import ds, xades141
from hub.transcripts.service import render
from tests.integration.test_pades import pdfsig
from tests.integration.test_xades import xmlsec1
from tests.signing_support import (
    PRINCIPAL_ID,
    TEACHER_ID,
    flip_a_content_byte,
    school_signers,
    sign_all,
)

TEACHER, PRINCIPAL, SEAL = SIGNING_ORDER
EXPECTED = ExpectedSigners(
    personal_ids={TEACHER: frozenset({TEACHER_ID}), PRINCIPAL: frozenset({PRINCIPAL_ID})},
    school_code=samples.SCHOOL.moet_code,
)
TEN_YEARS_ON = datetime.now(UTC) + timedelta(days=3653)
#: Before the first TSA's certificate ends (2030-01-01), as the archive job renews it.
RENEWED_AT = datetime(2029, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def signers(pki: DemoPKI) -> list[Issued]:
    return school_signers(pki)


@pytest.fixture(scope="module")
async def sealed(pki: DemoPKI, signers: list[Issued]) -> longterm.Documents:
    """A sample transcript signed by the three (B-T), then made long-term."""
    xml, pdf = await render(samples.secondary(1))
    documents = longterm.Documents(
        await sign_all(xml, signers, pki.timestamper),
        await sign_all(pdf, signers, pki.timestamper),
    )
    return await longterm.make_long_term(
        documents, trust=TrustStore(pki.roots), timestamper=pki.timestamper
    )


@pytest.fixture(scope="module")
async def renewed(pki: DemoPKI, sealed: longterm.Documents) -> longterm.Documents:
    """``sealed`` with a second archive timestamp, from a TSA certified until 2040."""
    later = pki.another_tsa(valid_to=datetime(2040, 1, 1, tzinfo=UTC), clock=lambda: RENEWED_AT)
    return await longterm.make_long_term(sealed, trust=TrustStore(pki.roots), timestamper=later)


@pytest.fixture(scope="module")
def offline(pki: DemoPKI) -> TrustStore:
    return TrustStore(pki.roots, fetch_revocation=False)


def codes(result) -> set[ReasonCode]:  # type: ignore[no-untyped-def]
    return {reason.code for reason in result.reasons}


@pytest.mark.parametrize("kind", ["xml", "pdf"])
async def test_a_long_term_transcript_verifies_offline(sealed, offline, kind):
    result = await verify_document(getattr(sealed, kind), trust=offline, expected=EXPECTED)
    assert result.verdict is Verdict.VALID, result.reasons
    assert [s.role for s in result.signatures] == list(SIGNING_ORDER)


@pytest.mark.parametrize("kind", ["xml", "pdf"])
async def test_the_same_transcript_before_long_term_is_indeterminate_offline(
    pki, signers, offline, kind
):
    xml, pdf = await render(samples.secondary(1))
    signed = await sign_all(xml if kind == "xml" else pdf, signers, pki.timestamper)
    result = await verify_document(signed, trust=offline, expected=EXPECTED)
    assert result.verdict is Verdict.INDETERMINATE
    assert codes(result) == {ReasonCode.REVOCATION_UNKNOWN}


@pytest.mark.parametrize("kind", ["xml", "pdf"])
async def test_ten_years_on_it_needs_the_renewed_archive_timestamp(sealed, renewed, offline, kind):
    before = await verify_document(
        getattr(sealed, kind), trust=offline, expected=EXPECTED, at=TEN_YEARS_ON
    )
    assert before.verdict is Verdict.INDETERMINATE
    assert codes(before) == {ReasonCode.TIMESTAMP_EXPIRED}
    after = await verify_document(
        getattr(renewed, kind), trust=offline, expected=EXPECTED, at=TEN_YEARS_ON
    )
    assert after.verdict is Verdict.VALID, after.reasons


async def test_the_renewal_adds_only_a_timestamp_and_its_evidence(sealed, renewed):
    assert renewed.pdf.startswith(sealed.pdf)
    grown = etree.fromstring(renewed.xml)
    stamps = grown.findall(f"{ds('Signature')}//{xades141('ArchiveTimeStamp')}")
    assert len(stamps) == 2
    assert all(s.getparent() is stamps[0].getparent() for s in stamps)  # the seal's


async def test_a_tampered_long_term_pdf_is_invalid(sealed, offline):
    result = await verify_document(
        flip_a_content_byte(sealed.pdf), trust=offline, expected=EXPECTED
    )
    assert result.verdict is Verdict.INVALID
    assert ReasonCode.DOCUMENT_MODIFIED in codes(result)


async def test_a_tampered_long_term_xml_is_invalid(sealed, offline):
    tampered = sealed.xml.replace(
        samples.SCHOOL.name.encode(), b"Tr\xc6\xb0\xe1\xbb\x9dng Kh\xc3\xa1c", 1
    )
    assert tampered != sealed.xml
    result = await verify_document(tampered, trust=offline, expected=EXPECTED)
    assert result.verdict is Verdict.INVALID


async def test_an_archive_timestamp_over_other_values_is_invalid(sealed, offline):
    """Evidence swapped after the archive timestamp: the stamp no longer matches."""
    root = etree.fromstring(sealed.xml)
    values = root.findall(f".//{{{'http://uri.etsi.org/01903/v1.3.2#'}}}EncapsulatedOCSPValue")
    values[0].getparent().remove(values[0])
    result = await verify_document(etree.tostring(root), trust=offline, expected=EXPECTED)
    assert ReasonCode.ARCHIVE_TIMESTAMP_INVALID in codes(result)
    assert result.verdict is Verdict.INVALID


def test_renewal_is_due_before_the_tsa_certificate_ends(sealed):
    signatures, _ = read_pdf(sealed.pdf)
    assert not longterm.renewal_due(signatures, datetime.now(UTC))
    assert longterm.renewal_due(signatures, datetime(2029, 6, 1, tzinfo=UTC))


# --- Independent verifiers still accept the long-term documents -------------------------


def test_pdfsig_accepts_the_three_signatures_of_a_long_term_pdf(renewed, tmp_path):
    report = pdfsig(renewed.pdf, ["-nocert"], tmp_path)
    assert report.count("Signature Validation: Signature is Valid.") == 3, report
    for role in SIGNING_ORDER:
        assert f"Signature Field Name: {role.value}" in report


@pytest.mark.parametrize("node_id", ["signature-1", "signature-2", "signature-3"])
def test_xmlsec1_accepts_each_signature_of_a_long_term_xml(renewed, pki, node_id, tmp_path):
    verified, report = xmlsec1(renewed.xml, node_id, tmp_path, pki)
    assert verified, report


async def test_without_an_answer_from_the_pki_it_stays_as_it_was():
    """OCSP and CRL unreachable: LongTermError, and the seal keeps its B-T documents
    for the archive job (hub.signing.service._long_term)."""
    unreachable = DemoPKI.create("http://127.0.0.1:9")
    people = school_signers(unreachable)
    xml, _ = await render(samples.secondary(2))
    signed = await sign_all(xml, people, unreachable.timestamper)
    with pytest.raises(longterm.LongTermError, match="OCSP"):
        await longterm.xml_long_term(
            signed, trust=TrustStore(unreachable.roots), timestamper=unreachable.timestamper
        )


# --- One file carries everything -------------------------------------------------------


async def test_the_sealed_pdf_carries_the_signed_xml_and_says_they_agree(sealed, offline):
    signatures, _ = read_pdf(sealed.pdf)
    assert signatures[0].carried_xml == sealed.xml  # the long-term XML, byte for byte
    assert b"<ds:SignatureValue" not in (signatures[0].source_xml or b"<")  # the draft
    result = await verify_document(sealed.pdf, trust=offline, expected=EXPECTED)
    assert result.verdict is Verdict.VALID, result.reasons
    assert result.attached is not None and result.attached.kind == "xml"
    assert result.attached.verdict is Verdict.VALID
    assert result.attached_agrees is True


async def test_a_pdf_carrying_another_transcripts_xml_is_invalid(pki, signers, sealed, offline):
    xml, pdf = await render(samples.secondary(3))
    other = await sign_all(xml, signers, pki.timestamper)
    signed_pdf = await sign_all(pdf, signers, pki.timestamper)
    mixed = await longterm.pdf_long_term(
        signed_pdf, trust=TrustStore(pki.roots), timestamper=pki.timestamper, signed_xml=sealed.xml
    )
    result = await verify_document(mixed, trust=offline, expected=EXPECTED)
    assert result.verdict is Verdict.INVALID
    assert codes(result) == {ReasonCode.ATTACHMENT_MISMATCH}
    assert result.attached is not None and result.attached.verdict is Verdict.VALID
    assert other != sealed.xml


async def test_a_transcript_sealed_without_timestamps_is_reported_not_raised(pki, signers):
    """Sealed while no TSA was configured (B-B): the engines cannot take it further, and
    the seal and the archive job get LongTermError (kept as it is, reported)."""
    xml, pdf = await render(samples.secondary(4))
    untimed = longterm.Documents(await sign_all(xml, signers), await sign_all(pdf, signers))
    assert longterm.due(untimed, datetime.now(UTC))
    with pytest.raises(longterm.LongTermError, match="timestamp"):
        await longterm.make_long_term(
            untimed, trust=TrustStore(pki.roots), timestamper=pki.timestamper
        )
    with pytest.raises(longterm.LongTermError):
        longterm.due(longterm.Documents(b"<not a transcript/>", untimed.pdf), datetime.now(UTC))
