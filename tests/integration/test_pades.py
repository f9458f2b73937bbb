"""PAdES on the transcript PDF: three signers in order, B-B and B-T, read back by the
hub's reader and by poppler's ``pdfsig`` — an independent verifier built on NSS — so
the hub's signatures are not only consistent with its own reader."""

import dataclasses
import io
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import ExternalSigner, PdfTimeStamper
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from hub.adapters.signing.pki import DemoPKI, Issued
from hub.adapters.signing.simulator import sign_digest
from hub.documents import samples
from hub.documents.pdf import render_pdf
from hub.documents.xml.transcript import build_xml
from hub.domain.signers import SIGNING_ORDER, SignerRole
from hub.memo import Remembered
from hub.signing import algorithms, pades
from hub.signing.algorithms import SignatureAlgorithm
from hub.signing.pades import (
    PadesError,
    PreparedPdf,
    SignatureValueMismatchError,
    finish_pdf,
    prepare_pdf,
)
from hub.signing.verification.pdf_reader import read_pdf_signatures
from tests import algorithm_signers
from tests import signing_support as support
from tests.algorithm_signers import AlgorithmSigner
from tests.signing_support import (
    PRINCIPAL_NAME,
    SIGNED_AT,
    TEACHER_NAME,
    flip_a_content_byte,
    sign_all,
)

signers = support.signers
basic = support.basic
timestamped = support.timestamped


@pytest.fixture(scope="module")
def unsigned() -> bytes:
    content = samples.secondary(7)
    return render_pdf(content, xml=build_xml(content))


async def sign(pdf: bytes, role: SignerRole, who: Issued) -> bytes:
    """``role``'s signature alone, B-B, claiming the time it has in ``basic``."""
    signing_time = SIGNED_AT + timedelta(minutes=SIGNING_ORDER.index(role))
    return await support.sign(pdf, role, who, signing_time=signing_time)


def revise(pdf: bytes, change: Callable[[IncrementalPdfFileWriter], None]) -> bytes:
    """``pdf`` with one incremental update made by ``change``."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    change(writer)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def overwrite_page(writer: IncrementalPdfFileWriter) -> None:
    """Paint a white box over the first page's grades, as a forger would."""
    page_ref = writer.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    patch = writer.add_object(generic.StreamObject(stream_data=b"q 1 1 1 rg 100 400 200 40 re f Q"))
    contents = page.raw_get("/Contents")
    existing = list(contents) if isinstance(contents, generic.ArrayObject) else [contents]
    page["/Contents"] = generic.ArrayObject([*existing, patch])
    writer.update_container(page)


# --- Reading back ------------------------------------------------------------------------


async def test_three_intact_signatures_in_order(basic: bytes, signers: list[Issued]) -> None:
    signatures, problems = await read_pdf_signatures(basic)
    assert problems == []
    assert [s.role for s in signatures] == list(SIGNING_ORDER)
    for number, (signature, who) in enumerate(zip(signatures, signers, strict=True)):
        assert signature.index == number
        assert signature.intact, signature.problem
        assert signature.covers_previous
        assert signature.problem is None
        assert signature.certificate == who.certificate
        assert set(who.chain) <= set(signature.other_certificates)
        assert signature.claimed_time == SIGNED_AT + timedelta(minutes=number)
        assert signature.timestamp_valid is None
        assert signature.timestamp_time is None


async def test_timestamps_from_the_in_process_tsa(timestamped: bytes, pki: DemoPKI) -> None:
    signatures, problems = await read_pdf_signatures(timestamped)
    assert problems == []
    now = datetime.now(UTC)
    for signature in signatures:
        assert signature.intact and signature.covers_previous, signature.problem
        assert signature.timestamp_valid is True
        assert signature.timestamp_time is not None
        assert abs(signature.timestamp_time - now) < timedelta(minutes=5)
        assert signature.signing_time == signature.timestamp_time
        assert signature.timestamp_certificate == pki.tsa.certificate
        assert set(pki.tsa.chain) <= set(signature.timestamp_other_certificates)


async def test_timestamps_from_the_tsa_over_http(
    unsigned: bytes, signers: list[Issued], pki: DemoPKI
) -> None:
    signed = await sign_all(unsigned, signers, HTTPTimeStamper(pki.tsa_url), signed_at=SIGNED_AT)
    signatures, problems = await read_pdf_signatures(signed)
    assert problems == []
    assert [s.role for s in signatures] == list(SIGNING_ORDER)
    assert all(s.intact and s.covers_previous and s.timestamp_valid for s in signatures)
    assert all(s.timestamp_certificate == pki.tsa.certificate for s in signatures)


async def test_one_revision_per_signer_each_covering_all_before_it(
    unsigned: bytes, basic: bytes
) -> None:
    reader = PdfFileReader(io.BytesIO(basic))
    assert reader.xrefs.total_revisions == 4
    assert basic.startswith(unsigned)
    ranges = [[int(n) for n in s.byte_range] for s in reader.embedded_signatures]
    assert [start for start, *_ in ranges] == [0, 0, 0]
    *_, last_start, last_length = ranges[-1]
    assert last_start + last_length == len(basic)
    dictionaries = [s.sig_object for s in reader.embedded_signatures]
    assert [d["/Reason"] for d in dictionaries] == [role.label for role in SIGNING_ORDER]
    assert [d["/Name"] for d in dictionaries] == [
        TEACHER_NAME,
        PRINCIPAL_NAME,
        samples.SCHOOL.name,
    ]
    assert {d["/SubFilter"] for d in dictionaries} == {"/ETSI.CAdES.detached"}


# --- An independent verifier: poppler's pdfsig ---------------------------------------------


@pytest.fixture(scope="module")
def nss_options(pki: DemoPKI, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """pdfsig's options to trust the PKI: a fresh NSS database with the roots trusted and
    the issuing CAs known, made with NSS's ``certutil`` (``libnss3-tools``).

    pdfsig 22.12 needs the issuing CA in its database as well: taken from the
    signature alone, it verifies the first signature's chain and reports "Unknown
    issue with Certificate" for every later one (bare pyHanko signatures too), so
    the database holds what a verifier installs anyway — the chain.
    """
    assert shutil.which("certutil"), "libnss3-tools is missing: run `make system-deps`"
    database = tmp_path_factory.mktemp("nss")
    run(["certutil", "-N", "-d", f"sql:{database}", "--empty-password"])
    for authority in pki.authorities.values():
        pem = database / f"{authority.slug}.pem"
        pem.write_bytes(authority.certificate.public_bytes(serialization.Encoding.PEM))
        trust = ",," if authority.parent else "CT,C,C"
        entry = ["-n", authority.slug, "-t", trust, "-i", str(pem)]
        run(["certutil", "-A", "-d", f"sql:{database}", *entry])
    return ["-nssdir", f"sql:{database}"]


def run(command: list[str]) -> None:
    subprocess.run(command, check=True, capture_output=True, stdin=subprocess.DEVNULL, timeout=60)


def pdfsig(pdf: bytes, options: list[str], tmp_path: Path) -> str:
    """poppler's ``pdfsig`` report on ``pdf``."""
    assert shutil.which("pdfsig"), "poppler-utils is missing: run `make system-deps`"
    document = tmp_path / "document.pdf"
    document.write_bytes(pdf)
    return subprocess.run(
        ["pdfsig", *options, str(document)], capture_output=True, text=True, timeout=60
    ).stdout


@pytest.mark.parametrize("kind", ["basic", "timestamped"])
def test_pdfsig_accepts_every_signature(
    kind: str, request: pytest.FixtureRequest, nss_options: list[str], tmp_path: Path
) -> None:
    report = pdfsig(request.getfixturevalue(kind), nss_options, tmp_path)
    assert report.count("Signature Validation: Signature is Valid.") == 3, report
    for role in SIGNING_ORDER:
        assert f"Signature Field Name: {role.value}" in report
    assert f"Signer Certificate Common Name: {TEACHER_NAME}" in report
    assert "Signature Type: ETSI.CAdES.detached" in report
    assert report.count("Certificate Validation: Certificate is Trusted.") == 3, report


# --- Changes after signing ----------------------------------------------------------------


async def test_a_changed_byte_breaks_every_signature(
    timestamped: bytes, nss_options: list[str], tmp_path: Path
) -> None:
    tampered = flip_a_content_byte(timestamped)
    signatures, _ = await read_pdf_signatures(tampered)
    assert len(signatures) == 3
    for signature in signatures:
        assert not signature.intact
        assert "digest mismatch" in (signature.problem or "")
    report = pdfsig(tampered, nss_options, tmp_path)
    assert "Signature is Valid." not in report
    assert report.count("Signature Validation: Digest Mismatch.") == 3, report


async def test_a_page_changed_after_the_last_signature_is_reported(timestamped: bytes) -> None:
    signatures, problems = await read_pdf_signatures(revise(timestamped, overwrite_page))
    assert problems == []
    assert all(s.intact for s in signatures)
    assert [s.covers_previous for s in signatures] == [True, True, False]
    assert "incremental update 5 of 5 changes the document" in (signatures[-1].problem or "")


async def test_a_page_changed_between_signers_is_reported_on_the_next_signer(
    unsigned: bytes, signers: list[Issued]
) -> None:
    teacher, principal, seal = signers
    pdf = await sign(unsigned, SignerRole.HOMEROOM_TEACHER, teacher)
    pdf = revise(pdf, overwrite_page)
    pdf = await sign(pdf, SignerRole.PRINCIPAL, principal)
    pdf = await sign(pdf, SignerRole.SCHOOL_SEAL, seal)
    signatures, _ = await read_pdf_signatures(pdf)
    assert all(s.intact for s in signatures)
    assert [s.covers_previous for s in signatures] == [True, False, True]


async def test_a_document_timestamp_after_the_last_signature_is_not_a_change(
    timestamped: bytes, pki: DemoPKI
) -> None:
    """PAdES-LTA adds validation data after the last signature: not a signature, not a change."""
    writer = IncrementalPdfFileWriter(io.BytesIO(timestamped))
    output = await PdfTimeStamper(pki.timestamper).async_timestamp_pdf(writer, "sha256")
    signatures, problems = await read_pdf_signatures(output.getvalue())
    assert problems == []
    assert [s.role for s in signatures] == list(SIGNING_ORDER)
    assert all(s.intact and s.covers_previous for s in signatures)


async def test_metadata_updated_after_signing_is_not_a_change(basic: bytes) -> None:
    """The document information dictionary is not content: pyHanko clears its updates."""

    def touch_info(writer: IncrementalPdfFileWriter) -> None:
        writer.set_info(
            generic.DictionaryObject({generic.pdf_name("/Title"): generic.pdf_string("x")})
        )

    signatures, _ = await read_pdf_signatures(revise(basic, touch_info))
    assert all(s.covers_previous for s in signatures)


# --- Refusals ------------------------------------------------------------------------------


async def test_a_signature_from_the_wrong_key_is_refused(
    unsigned: bytes, signers: list[Issued]
) -> None:
    teacher, principal, _ = signers
    prepared = await prepare_pdf(
        unsigned,
        role=SignerRole.HOMEROOM_TEACHER,
        certificate=teacher.certificate,
        chain=teacher.chain,
    )
    with pytest.raises(SignatureValueMismatchError):
        await finish_pdf(prepared, sign_digest(principal.key, prepared.digest))
    with pytest.raises(SignatureValueMismatchError):
        await finish_pdf(prepared, sign_digest(teacher.key, bytes(32)))


async def test_prepared_state_is_plain_and_must_match(
    unsigned: bytes, signers: list[Issued]
) -> None:
    teacher = signers[0]
    prepared = await prepare_pdf(
        unsigned,
        role=SignerRole.HOMEROOM_TEACHER,
        certificate=teacher.certificate,
        chain=teacher.chain,
    )
    values = dataclasses.asdict(prepared)
    assert all(isinstance(v, bytes | str | int | tuple) for v in values.values())
    stored = PreparedPdf(**values)
    signature = sign_digest(teacher.key, stored.digest)
    signed = await finish_pdf(stored, signature)
    assert (await read_pdf_signatures(signed))[0][0].intact
    damaged = dataclasses.replace(prepared, pdf=prepared.pdf.replace(b"/Reason", b"/Reasom", 1))
    with pytest.raises(PadesError, match="byte-range digest"):
        await finish_pdf(damaged, signature)


async def test_a_role_claimed_in_the_cms_must_be_the_field_s(
    unsigned: bytes, signers: list[Issued], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A principal's signature that claims, in its signed attributes, to be the teacher's."""
    claimed_as_teacher = pades._role_claim(SignerRole.HOMEROOM_TEACHER)
    monkeypatch.setattr(pades, "_role_claim", lambda role: claimed_as_teacher)
    monkeypatch.setattr(pades, "_templates", Remembered(None, 4))  # built with the forged claim
    pdf = await sign(unsigned, SignerRole.PRINCIPAL, signers[1])
    [signature], _ = await read_pdf_signatures(pdf)
    assert signature.intact
    assert signature.role is None
    assert "claiming the role HOMEROOM_TEACHER" in (signature.problem or "")


async def test_a_signed_field_cannot_be_signed_again(basic: bytes, signers: list[Issued]) -> None:
    teacher = signers[0]
    with pytest.raises(PadesError, match="HOMEROOM_TEACHER"):
        await prepare_pdf(
            basic,
            role=SignerRole.HOMEROOM_TEACHER,
            certificate=teacher.certificate,
            chain=teacher.chain,
        )


async def test_files_that_are_not_pdfs() -> None:
    signatures, problems = await read_pdf_signatures(b"<hocBa/>")
    assert signatures == []
    assert problems and problems[0].startswith("not a readable PDF")


# --- The stamp -----------------------------------------------------------------------------


def test_the_stamp_reads_in_vietnamese(basic: bytes, tmp_path: Path) -> None:
    """pdftotext gets the stamps back through their ToUnicode maps, diacritics and all."""
    assert shutil.which("pdftotext"), "poppler-utils is missing: run `make system-deps`"
    document = tmp_path / "signed.pdf"
    document.write_bytes(basic)
    text = subprocess.run(
        ["pdftotext", "-raw", str(document), "-"], check=True, capture_output=True, text=True
    ).stdout
    for line in (
        f"Ký bởi: {TEACHER_NAME}",
        f"Ký bởi: {PRINCIPAL_NAME}",
        f"Ký bởi: {samples.SCHOOL.name}",
        "Vai trò: Giáo viên chủ nhiệm",
        "Vai trò: Hiệu trưởng",
        "Vai trò: Con dấu của trường",
        "Ngày ký: 31/05/2026 16:30:00 (GMT+7)",
    ):
        assert line in text, text


async def test_the_signed_attributes_are_pyhankos_own_for_the_document_digest(
    unsigned: bytes, signers: list[Issued]
) -> None:
    """The per-signer template (built once) gives byte for byte what pyHanko builds."""
    from asn1crypto import cms
    from pyhanko.sign.signers.pdf_cms import ExternalSigner, PdfCMSSignedAttributes

    principal = signers[1]
    prepared = await prepare_pdf(
        unsigned,
        role=SignerRole.PRINCIPAL,
        certificate=principal.certificate,
        chain=principal.chain,
    )
    signer = ExternalSigner(
        signing_cert=cms.Certificate.load(
            principal.certificate.public_bytes(serialization.Encoding.DER)
        ),
        cert_registry=None,
        signature_value=256,
    )
    attributes = await signer.signed_attrs(
        prepared.document_digest,
        "sha256",
        attr_settings=PdfCMSSignedAttributes(
            cades_signed_attrs=pades._role_claim(SignerRole.PRINCIPAL)
        ),
        use_pades=True,
    )
    assert prepared.signed_attributes == attributes.dump()


# --- Other signature algorithms (a CSC server's keys) -------------------------------


@pytest.fixture(scope="module")
def mixed_signers(pki: DemoPKI) -> list[AlgorithmSigner]:
    return algorithm_signers.mixed_signers(pki)


@pytest.fixture(scope="module")
async def mixed(unsigned: bytes, mixed_signers: list[AlgorithmSigner], pki: DemoPKI) -> bytes:
    """Signed by an ECDSA teacher, an RSA-PSS principal and an RSA PKCS#1 v1.5 seal, B-T."""
    return await algorithm_signers.sign_pdf_in_turn(
        unsigned,
        zip(SIGNING_ORDER, mixed_signers, strict=True),
        pki.timestamper,
        signed_at=SIGNED_AT,
    )


async def test_every_algorithm_reads_back_intact(
    mixed: bytes, mixed_signers: list[AlgorithmSigner]
) -> None:
    signatures, problems = await read_pdf_signatures(mixed)
    assert problems == []
    for signature, who in zip(signatures, mixed_signers, strict=True):
        assert signature.intact, signature.problem
        assert signature.problem is None
        assert signature.certificate == who.certificate
        assert signature.timestamp_valid


async def test_each_cms_names_its_keys_algorithm(mixed: bytes) -> None:
    reader = PdfFileReader(io.BytesIO(mixed))
    named = [
        algorithms.from_cms_algorithm(embedded.signer_info["signature_algorithm"])
        for embedded in reader.embedded_regular_signatures
    ]
    assert named == [
        SignatureAlgorithm.ECDSA_SHA256,
        SignatureAlgorithm.RSA_PSS_SHA256,
        SignatureAlgorithm.RSA_PKCS1_SHA256,
    ]


def test_pdfsig_accepts_every_algorithm(
    mixed: bytes, nss_options: list[str], tmp_path: Path
) -> None:
    report = pdfsig(mixed, nss_options, tmp_path)
    assert report.count("Signature Validation: Signature is Valid.") == 3, report
    assert report.count("Certificate Validation: Certificate is Trusted.") == 3, report


async def test_a_value_of_another_algorithm_is_refused(
    unsigned: bytes, mixed_signers: list[AlgorithmSigner]
) -> None:
    principal = mixed_signers[1]
    prepared = await prepare_pdf(
        unsigned,
        role=SIGNING_ORDER[0],
        certificate=principal.certificate,
        chain=principal.chain,
    )
    with pytest.raises(SignatureValueMismatchError):
        await finish_pdf(prepared, principal.sign(prepared.digest))  # PSS, prepared for v1.5


class _TheTokenGiven(TimeStamper):
    """Answers every timestamp request with one token: to package a CMS again."""

    def __init__(self, token: cms.ContentInfo) -> None:
        super().__init__()
        self.token = token

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        return self.token


async def _pyhankos_own_packaging(
    pdf: bytes, who: list[Issued] | list[AlgorithmSigner]
) -> list[tuple[bytes, bytes]]:
    """(the CMS in each signature of ``pdf``, pyHanko's packaging of the same signed
    attributes, signature value and timestamp token with the signer's certificates)."""
    reader = PdfFileReader(io.BytesIO(pdf))
    pairs = []
    for embedded, signer in zip(reader.embedded_regular_signatures, who, strict=True):
        contents = bytes(embedded.sig_object["/Contents"])
        written = contents[: len(cms.ContentInfo.load(contents, strict=False).dump())]
        signer_info = embedded.signer_info
        unsigned = signer_info["unsigned_attrs"]
        timestamper = _TheTokenGiven(unsigned[0]["values"][0]) if unsigned else None
        algorithm = getattr(signer, "algorithm", SignatureAlgorithm.RSA_PKCS1_SHA256)
        library = ExternalSigner(
            signing_cert=asn1_x509.Certificate.load(
                signer.certificate.public_bytes(serialization.Encoding.DER)
            ),
            cert_registry=SimpleCertificateStore.from_certs(
                [
                    asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
                    for c in signer.chain
                ]
            ),
            signature_value=signer_info["signature"].native,
            signature_mechanism=algorithms.cms_algorithm(algorithm),
        )
        packaged = await library.async_sign_prescribed_attributes(
            "sha256",
            cms.CMSAttributes.load(b"\x31" + signer_info["signed_attrs"].dump()[1:]),
            timestamper=timestamper,
        )
        pairs.append((written, packaged.dump()))
    return pairs


async def test_the_cms_is_pyhankos_own_packaging(
    basic: bytes, signers: list[Issued], mixed: bytes, mixed_signers: list[AlgorithmSigner]
) -> None:
    """finish_pdf's CMS (pades._CmsFrame) is byte for byte what pyHanko packages, B-B and
    B-T, for RSA PKCS#1 v1.5, RSA-PSS and ECDSA keys with their chains."""
    pairs = await _pyhankos_own_packaging(basic, signers)
    pairs += await _pyhankos_own_packaging(mixed, mixed_signers)
    assert len(pairs) == 6
    for written, packaged in pairs:
        assert written == packaged
