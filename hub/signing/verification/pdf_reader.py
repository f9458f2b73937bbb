"""Take a signed transcript PDF apart: each signature, its integrity, its timestamp.

This reader decides nothing about trust. For every signature it reports an
:class:`~hub.signing.verification.report.ExtractedSignature` — which role it fills, whether
its bytes and signature value are intact, whether the document was changed
since by anything but the next signers' signatures, what its timestamp proves —
and :func:`hub.signing.verification.rules.assess` applies RULES.md §4–§5 (chain, validity,
revocation, the right people in the right order). So nothing here touches the
network: only pyHanko's integrity functions run (byte-range coverage, digests,
signature values with the embedded certificates), never its path validation.

"Nothing changed after each signature" is pyHanko's difference analysis of
every incremental update after the first signature against the revision that
signature signed: an update may fill form fields (the next signers' signatures
are form filling) and nothing more. The first update that does more is
reported on the signature whose revision it belongs to — that signer signed
over a changed document — or, when it comes after the last signature, on the
last one: nobody signed it.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.decode_limits import DecodeLimits, DocumentDecodeBudget, StreamDecodeLimits
from pyhanko.pdf_utils.misc import PdfDecodeLimitError, PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.cades_asn1 import SignerAttributesV2
from pyhanko.sign.diff_analysis import (
    DEFAULT_DIFF_POLICY,
    ModificationLevel,
    SuspiciousModification,
)
from pyhanko.sign.fields import SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.general import (
    CMSExtractionError,
    extract_certificate_info,
    extract_signer_info,
    get_pyca_cryptography_hash,
)
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError, SignatureValidationError
from pyhanko.sign.validation.generic_cms import validate_sig_integrity
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel

from hub.domain.signers import SignerRole
from hub.signing import pdf_tokens  # noqa: F401  (pyHanko reads and writes tokens fast)
from hub.signing.trust import Evidence
from hub.signing.verification.report import (
    DocumentRejected,
    ExtractedSignature,
    ReasonCode,
    Stamp,
)

#: Not structlog: ``hub verify --json`` prints the verdict on stdout, where structlog
#: writes; the standard logger writes warnings to stderr until the server configures it.
log = logging.getLogger(__name__)

_SUBFILTERS = {subfilter.value for subfilter in SigSeedSubFilter}
#: What parsing a hostile or broken file may raise (asn1crypto raises ValueError).
_MALFORMED = (PdfError, ValueError, KeyError, TypeError)

# What a transcript PDF never exceeds, by far: it has one page (two with a long primary
# comment), a few hundred objects, three signature fields and one revision per signer.
# A file beyond these is refused before pyHanko spends time on it.
MAX_REVISIONS = 32
MAX_OBJECTS = 50_000
MAX_PAGES = 50
MAX_SIGNATURE_FIELDS = 16
#: Stream decoding: pyHanko's limits for untrusted input, tightened to the size of a
#: transcript (fonts, a page's content, the attached XML, three signatures).
DECODE_LIMITS = DecodeLimits(
    per_stream=StreamDecodeLimits(max_output_size=32 * 1024 * 1024),
    document_budget=DocumentDecodeBudget(base_allowance=64 * 1024 * 1024, max_ratio=20),
)


def _unreadable(error: BaseException) -> DocumentRejected:
    """The file is not a PDF pyHanko can read; what it said goes to the log only."""
    if _caused_by_recursion(error):
        return _nested_too_deeply()  # pyHanko reports some as a read error
    if isinstance(error, PdfDecodeLimitError):
        return DocumentRejected(
            ReasonCode.DOCUMENT_TOO_COMPLEX,
            "dữ liệu nén giải ra quá lớn",
            "compressed data expands too far",
        )
    log.info("verify.pdf_unreadable: error=%s", repr(error)[:500])
    return DocumentRejected(
        ReasonCode.DOCUMENT_MALFORMED, "không phải tệp PDF đọc được", "not a readable PDF"
    )


def _caused_by_recursion(error: BaseException | None) -> bool:
    seen = 0
    while error is not None and seen < 16:
        if isinstance(error, RecursionError):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def _too_many(what_vi: str, what_en: str, count: int, limit: int) -> DocumentRejected:
    return DocumentRejected(
        ReasonCode.DOCUMENT_TOO_COMPLEX,
        f"{count} {what_vi}, tối đa {limit}",
        f"{count} {what_en}, at most {limit}",
    )


async def read_pdf_signatures(pdf: bytes) -> tuple[list[ExtractedSignature], list[str]]:
    """The signatures in ``pdf`` in signing order, and what is wrong with the file itself.

    The second list names problems of the document as a whole (not a PDF, a
    signature dictionary that cannot be read at all); each signature's own
    problems are in its :attr:`~hub.signing.verification.report.ExtractedSignature.problem`.
    Nothing raises on a malformed file: it comes from anyone. (Verification calls
    :func:`read_pdf` in a worker thread instead, which says *why* it gave up.)
    """
    try:
        return read_pdf(pdf)
    except DocumentRejected as rejected:
        return [], [f"not a readable PDF: {rejected.detail_en}"]
    except Exception as error:  # the promise above
        return [], [f"not a readable PDF: {_unreadable(error).detail_en}"]


def read_pdf(pdf: bytes) -> tuple[list[ExtractedSignature], list[str]]:
    """:func:`read_pdf_signatures`, run where it may block: raises
    :class:`DocumentRejected` for a file it cannot or will not read as a whole
    (damaged, or beyond the limits above). Anything else it raises is a bug, or a
    file hostile in a way not foreseen, which the caller turns into a verdict."""
    _check_complete(pdf)
    try:
        reader = PdfFileReader(io.BytesIO(pdf), decode_limits=DECODE_LIMITS)
        _check_size(reader)
        fields = list(
            itertools.islice(
                enumerate_sig_fields(reader, filled_status=True), MAX_SIGNATURE_FIELDS + 1
            )
        )
    except DocumentRejected:
        raise
    except RecursionError:
        raise _nested_too_deeply() from None
    except (*_MALFORMED, zlib.error, NotImplementedError, AttributeError, IndexError) as error:
        raise _unreadable(error) from None
    if len(fields) > MAX_SIGNATURE_FIELDS:
        raise _too_many("trường chữ ký", "signature fields", len(fields), MAX_SIGNATURE_FIELDS)
    problems: list[str] = []
    embedded: list[EmbeddedPdfSignature] = []
    archives: list[EmbeddedPdfSignature] = []
    for name, value, field in fields:
        try:
            dictionary = value.get_object()
            if dictionary.get("/Type") == "/DocTimeStamp":
                # An archive timestamp (PAdES-LTA), not a signer's signature.
                archives.append(EmbeddedPdfSignature(reader, field, name))
                continue
            if dictionary.get("/SubFilter") not in _SUBFILTERS:
                problems.append(f"the signature in field {name} is of an unknown type")
                continue
            embedded.append(EmbeddedPdfSignature(reader, field, name))
        except (RecursionError, MemoryError):
            raise
        except Exception as error:  # one signature's dictionary, from anyone
            log.info(
                "verify.pdf_signature_unreadable: field=%s error=%s", str(name)[:100], repr(error)
            )
            problems.append(f"the signature in field {name} cannot be read")
    embedded.sort(key=lambda signature: signature.signed_revision)
    signatures = [_read_signature(index, signature) for index, signature in enumerate(embedded)]
    _check_updates(reader, embedded, signatures)
    _read_long_term(reader, embedded, archives, signatures)
    return signatures, problems


def _read_long_term(
    reader: PdfFileReader,
    embedded: list[EmbeddedPdfSignature],
    archives: list[EmbeddedPdfSignature],
    signatures: list[ExtractedSignature],
) -> None:
    """The DSS's certificates, OCSP responses and CRLs (the document's evidence, shared
    by every signature) and, for each signature, the document timestamps after it."""
    try:
        dss = DocumentSecurityStore.read_dss(reader)
        evidence = Evidence(
            tuple(_known(c).crypto for c in dss.load_certs()),
            tuple(r.get_object().data for r in dss.ocsps),
            tuple(r.get_object().data for r in dss.crls),
        )
    except NoDSSFoundError:
        evidence = Evidence()
    except (RecursionError, MemoryError):
        raise
    except Exception as error:  # a DSS from anyone: it simply provides nothing
        log.info("verify.pdf_dss_unreadable: error=%s", repr(error)[:500])
        evidence = Evidence()
    archives.sort(key=lambda archive: archive.signed_revision)
    stamps = [(archive.signed_revision, _read_archive(archive)) for archive in archives]
    source = _attachment(reader.root, ("/Names", "/EmbeddedFiles", "/Names"))
    carried = next(
        (
            found
            for archive in archives
            if (found := _attachment(archive.sig_field, ("/AP", "/N", "/AF"))) is not None
        ),
        None,
    )
    for signature, own in zip(signatures, embedded, strict=True):
        signature.source_xml, signature.carried_xml = source, carried
        signature.evidence = evidence
        signature.archive_stamps = [
            stamp for revision, stamp in stamps if revision > own.signed_revision
        ]


def _attachment(holder: generic.DictionaryObject, path: tuple[str, ...]) -> bytes | None:
    """The first XML file attached at ``path`` under ``holder`` (an ``/AF`` array or a
    name tree's ``/Names`` array of file specifications); None when there is none or
    it cannot be read (a file from anyone)."""
    try:
        found: object = holder
        for key in path:
            if not isinstance(found, generic.DictionaryObject) or key not in found:
                return None
            found = _resolved(found[key])
        for item in found if isinstance(found, generic.ArrayObject) else ():
            spec = _resolved(item)
            if isinstance(spec, generic.DictionaryObject) and "/EF" in spec:
                data = _resolved(_resolved(spec["/EF"])["/F"]).data  # type: ignore[index, attr-defined]
                if isinstance(data, bytes) and data.lstrip().startswith(b"<"):
                    return data
    except (RecursionError, MemoryError):
        raise
    except Exception as error:  # an attachment from anyone
        log.info("verify.pdf_attachment_unreadable: error=%s", repr(error)[:300])
    return None


def _read_archive(archive: EmbeddedPdfSignature) -> Stamp:
    """A document timestamp: over its whole revision, its imprint the digest of its
    byte range, its token's signature verifying."""
    try:
        if archive.evaluate_signature_coverage() < SignatureCoverageLevel.ENTIRE_REVISION:
            return Stamp(False, None, None, problem="it does not cover its whole revision")
        covered = archive.compute_digest()
        algorithm = archive.md_algorithm
        verified = _verify_timestamp(
            archive.signed_data, lambda imprint: covered if imprint == algorithm else b""
        )
    except (RecursionError, MemoryError):
        raise
    except Exception as error:  # a timestamp from anyone
        log.info("verify.pdf_archive_unreadable: error=%s", repr(error)[:500])
        return Stamp(False, None, None, problem="it cannot be read")
    return Stamp(
        verified.valid,
        verified.time if verified.valid else None,
        verified.certificate,
        verified.other_certificates,
        None if verified.valid else "its token does not match the document",
    )


def _check_complete(pdf: bytes) -> None:
    """Refuse a file that does not end where its last revision ends: a cut file (a
    download broken off) or an update left half-written. A reader would take the last
    complete revision and judge a document nobody sent, unsigned or with fewer
    signatures; what was cut is unknown, so the file is damaged."""
    end = pdf.rfind(b"%%EOF")
    if end < 0 or pdf[end + len(b"%%EOF") :].strip(b"\r\n\t \x00"):
        raise DocumentRejected(
            ReasonCode.DOCUMENT_MALFORMED,
            "tệp bị cắt cụt hoặc có dữ liệu thừa sau phần cuối (%%EOF)",
            "the file is cut short, or has data after its end (%%EOF)",
        )


def _nested_too_deeply() -> DocumentRejected:
    return DocumentRejected(
        ReasonCode.DOCUMENT_TOO_COMPLEX,
        "các đối tượng lồng nhau quá sâu hoặc tham chiếu vòng tròn",
        "objects nested too deeply, or referring to each other in a loop",
    )


def _resolved(value: object) -> object:
    """``value`` itself, or what it refers to if it is an indirect object."""
    return value.get_object() if isinstance(value, generic.IndirectObject) else value


def _check_size(reader: PdfFileReader) -> None:
    """Refuse a file with more revisions, objects or pages than a transcript could have."""
    revisions = reader.xrefs.total_revisions
    if revisions > MAX_REVISIONS:
        raise _too_many("lần cập nhật", "revisions", revisions, MAX_REVISIONS)
    objects = reader.trailer["/Size"]
    if not isinstance(objects, int):
        raise _unreadable(ValueError("trailer /Size is not an integer"))
    if objects > MAX_OBJECTS:
        raise _too_many("đối tượng", "objects", objects, MAX_OBJECTS)
    # .get leaves an indirect object unresolved, and /Pages always is one.
    pages = _resolved(reader.root.get("/Pages"))
    count = _resolved(pages.get("/Count")) if isinstance(pages, generic.DictionaryObject) else None
    if isinstance(count, int) and count > MAX_PAGES:
        raise _too_many("trang", "pages", count, MAX_PAGES)


def _read_signature(index: int, embedded: EmbeddedPdfSignature) -> ExtractedSignature:
    signature = ExtractedSignature(index=index, role=None, certificate=None)
    problems = []
    try:
        signature.role, role_problem = _role(embedded)
        problems += [role_problem] if role_problem else []
        signature.claimed_time = embedded.self_reported_timestamp
        signer, others = _certificates(embedded.signed_data)
        signature.certificate = signer.crypto
        signature.other_certificates = [c.crypto for c in others]
        signature.intact, integrity_problem = _integrity(embedded, signer.asn1)
        problems += [integrity_problem] if integrity_problem else []
        _read_timestamp(embedded.signer_info, signature)
    except CMSExtractionError:
        problems.append("the signer's certificate is not in the signature")
    except (RecursionError, MemoryError):
        raise
    except Exception as error:  # a signature from anyone
        log.info("verify.pdf_signature_malformed: error=%s", repr(error)[:500])
        signature.intact = False
        problems.append("malformed signature: its CMS structure cannot be read")
    signature.problem = "; ".join(problems) or None
    return signature


def _role(embedded: EmbeddedPdfSignature) -> tuple[SignerRole | None, str | None]:
    """The role from the field name (the hub names fields by role), checked against the
    role claimed in the CMS and the role label in ``/Reason``, when they name one."""
    try:
        role = SignerRole(embedded.field_name)
    except ValueError:
        return None, f"field {embedded.field_name} is not a signer role"
    claimed = _claimed_role(embedded.signer_info)
    if claimed is not None and claimed != role.value:
        return None, f"field {role.value} holds a signature claiming the role {claimed}"
    reason = embedded.sig_object.get("/Reason")
    labels = {other.label: other for other in SignerRole}
    if reason in labels and labels[reason] is not role:
        return None, f"field {role.value} holds a signature whose reason is {reason}"
    return role, None


def _claimed_role(signer_info: cms.SignerInfo) -> str | None:
    """The role name of a signer-attributes-v2 claimed role (see hub.signing.pades)."""
    for attribute in signer_info["signed_attrs"]:
        value = attribute["values"][0]
        if not isinstance(value, SignerAttributesV2):
            continue
        for claimed in value.native.get("claimed_attributes") or []:
            if claimed["type"] == "role":
                return str(claimed["values"][0]["role_name"])
    return None


def _integrity(
    embedded: EmbeddedPdfSignature, certificate: asn1_x509.Certificate
) -> tuple[bool, str | None]:
    """Byte range over the whole revision, digest as signed, value verifying with the
    embedded certificate."""
    if embedded.evaluate_signature_coverage() < SignatureCoverageLevel.ENTIRE_REVISION:
        return False, "the signed byte range does not cover its whole revision"
    try:
        digest_matches, value_verifies = validate_sig_integrity(
            embedded.signer_info, certificate, "data", embedded.compute_digest()
        )
    except SignatureValidationError as error:
        log.info("verify.pdf_signature_unverifiable: error=%s", str(error.failure_message)[:500])
        return False, "malformed signature: its value cannot be checked"
    if not digest_matches:
        return False, "the signed bytes were changed (digest mismatch)"
    if not value_verifies:
        return False, "the signature value does not verify with the signer's certificate"
    return True, None


def _read_timestamp(signer_info: cms.SignerInfo, signature: ExtractedSignature) -> None:
    """The signature-time-stamp: its imprint must be the hash of this signature value and
    its own signature must verify with the TSA certificate it carries. Whether that TSA
    is trusted is the assessor's question."""
    tokens = []
    if signer_info["unsigned_attrs"]:
        tokens = [
            value["content"]
            for attribute in signer_info["unsigned_attrs"]
            if attribute["type"].native == "signature_time_stamp_token"
            for value in attribute["values"]
        ]
    value = signer_info["signature"].native
    for token in tokens:
        verified = _verify_timestamp(token, lambda algorithm: _digest(algorithm, value))
        signature.timestamp_valid = verified.valid
        signature.timestamp_certificate = verified.certificate
        signature.timestamp_other_certificates = verified.other_certificates
        signature.timestamp_time = verified.time if verified.valid else None
        if verified.valid:
            return


@dataclass(frozen=True, slots=True)
class _TimestampCheck:
    valid: bool
    time: datetime | None
    certificate: x509.Certificate | None
    other_certificates: list[x509.Certificate]


def _verify_timestamp(token: cms.SignedData, imprint_of: Callable[[str], bytes]) -> _TimestampCheck:
    """An RFC 3161 token whose imprint must be ``imprint_of(its hash algorithm)``."""
    content = token["encap_content_info"]["content"]
    tst_info = content.parsed if content else None
    if not isinstance(tst_info, tsp.TSTInfo):
        return _TimestampCheck(False, None, None, [])
    imprint = tst_info["message_imprint"]
    imprint_algorithm = imprint["hash_algorithm"]["algorithm"].native
    try:
        signer, others = _certificates(token)
        expected = imprint_of(imprint_algorithm)
        tst_signer = extract_signer_info(token)
        content_digest = _digest(tst_signer["digest_algorithm"]["algorithm"].native, bytes(content))
        digest_matches, value_verifies = validate_sig_integrity(
            tst_signer, signer.asn1, "tst_info", content_digest
        )
    except (RecursionError, MemoryError):
        raise
    except Exception:  # a token from anyone: it simply does not verify
        return _TimestampCheck(False, None, None, [])
    return _TimestampCheck(
        valid=digest_matches and value_verifies and imprint["hashed_message"].native == expected,
        time=tst_info["gen_time"].native,
        certificate=signer.crypto,
        other_certificates=[c.crypto for c in others],
    )


def _digest(algorithm: str, data: bytes) -> bytes:
    try:
        return hashlib.new(get_pyca_cryptography_hash(algorithm).name, data).digest()
    except (AttributeError, ValueError) as error:
        raise ValueError(f"unsupported digest algorithm {algorithm}") from error


def _check_updates(
    reader: PdfFileReader,
    embedded: list[EmbeddedPdfSignature],
    signatures: list[ExtractedSignature],
) -> None:
    """Mark the signature that was put over a change — or, for a change after the last
    signature, that last one — with ``covers_previous`` False (see the module docstring)."""
    if not embedded:
        return
    change = _first_change(reader, embedded[0].signed_revision)
    if change is None:
        return
    revision, description = change
    index = next(
        (i for i, signature in enumerate(embedded) if signature.signed_revision >= revision),
        len(embedded) - 1,
    )
    signature = signatures[index]
    signature.covers_previous = False
    signature.problem = "; ".join(filter(None, [signature.problem, description]))


def _first_change(reader: PdfFileReader, base: int) -> tuple[int, str] | None:
    """The first revision after ``base`` (the first signature's) that does more than fill
    form fields, compared with ``base`` as pyHanko's own review does, and what it did.

    Comparing every later revision with the same base reads the signed revision's
    object graph once for all of them.
    """
    total = reader.xrefs.total_revisions
    signed = reader.get_historical_resolver(base)
    for revision in range(base + 1, total):
        where = f"incremental update {revision + 1} of {total}"
        try:
            result = DEFAULT_DIFF_POLICY.apply(signed, reader.get_historical_resolver(revision))
        except SuspiciousModification as error:
            detail = str(error).splitlines()[0].rstrip(".")
            return revision, f"{where} changes the document: {detail}"
        except (RecursionError, MemoryError):
            raise
        except Exception as error:  # an update from anyone
            log.info(
                "verify.pdf_update_unreadable: revision=%s error=%s", revision, repr(error)[:500]
            )
            return revision, f"{where} cannot be analysed"
        if result.modification_level > ModificationLevel.FORM_FILLING:
            level = result.modification_level.name.lower().replace("_", " ")
            return revision, f"{where} changes the document ({level})"
    return None


@dataclass(frozen=True, slots=True)
class _Certificate:
    """A certificate as pyHanko (asn1crypto) and the verdict (cryptography) want it."""

    asn1: asn1_x509.Certificate
    crypto: x509.Certificate


#: Certificates already parsed, by their encoded contents: the same signers, CAs and
#: TSA come back in every transcript of a school. Emptied when full.
_KNOWN: dict[bytes, _Certificate] = {}
_KNOWN_LIMIT = 1024


def _known(certificate: asn1_x509.Certificate) -> _Certificate:
    """One parsed object per certificate, so what asn1crypto works out about it (names
    prepared for comparison, the DER encoding) is worked out once."""
    key = certificate.contents
    known = _KNOWN.get(key)
    if known is None:
        der = certificate.dump()
        known = _Certificate(asn1_x509.Certificate.load(der), x509.load_der_x509_certificate(der))
        if len(_KNOWN) >= _KNOWN_LIMIT:
            _KNOWN.clear()
        _KNOWN[key] = known
    return known


def _certificates(signed_data: cms.SignedData) -> tuple[_Certificate, list[_Certificate]]:
    """The signer's certificate and the others carried in ``signed_data``.

    pyHanko finds the signer's certificate by comparing names after LDAP string
    preparation — about a millisecond a Vietnamese name, for every certificate,
    in every signature and timestamp. The issuer and serial in a SignerInfo are
    copied from the certificate, so a byte-for-byte match finds it at once;
    pyHanko's comparison stays the fallback for encodings that differ.
    Raises :class:`CMSExtractionError` when the signer's certificate is missing.
    """
    sid = extract_signer_info(signed_data)["sid"]
    carried = [c.chosen for c in signed_data["certificates"] if c.name == "certificate"]
    if sid.name == "issuer_and_serial_number":
        issuer = sid.chosen["issuer"].dump()
        serial = sid.chosen["serial_number"].native
        for index, candidate in enumerate(carried):
            if candidate.serial_number == serial and candidate.issuer.dump() == issuer:
                others = carried[:index] + carried[index + 1 :]
                return _known(candidate), [_known(c) for c in others]
    info = extract_certificate_info(signed_data)
    return _known(info.signer_cert), [_known(c) for c in info.other_certs]
