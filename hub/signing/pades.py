"""PAdES signatures on the transcript PDF, made in two steps around a remote signer.

The signer's key lives at a provider (or on the school's token); the hub only
ever sends it a SHA-256 digest and gets back a raw RSA PKCS#1 v1.5 signature
value, after the signer has confirmed on their phone — minutes later, maybe in
another process. So signing is split where pyHanko's "interrupted signing" flow
splits it:

1. :func:`prepare_pdf` appends the signer's revision to the document — the
   signature dictionary with a zero-filled ``/Contents`` placeholder, the
   appearance stamp in the role's field — digests its ``/ByteRange`` and builds
   the CMS signed attributes over that digest. It returns a :class:`PreparedPdf`
   holding only bytes, strings and numbers, which a job stores in the database;
   ``digest`` is what the provider signs.
2. :func:`finish_pdf` takes the stored :class:`PreparedPdf` and the provider's
   signature value, checks the value against the certificate (a document is
   never finished with a signature that does not verify), adds the RFC 3161
   signature timestamp (PAdES B-T) when given a timestamper, and writes the CMS
   into the placeholder.

Every signer adds one incremental revision filling the empty signature field
named after its :class:`~hub.domain.signers.SignerRole` (RULES.md §4), so a
verifier sees each signature over exactly what was there before it.

The signatures follow PAdES baseline B-B (ETSI EN 319 142-1) as pyHanko makes
them with ``/SubFilter /ETSI.CAdES.detached``: signed attributes content-type,
message-digest and signing-certificate-v2, no CMS signingTime (the time is the
dictionary's ``/M``); the claimed role goes in a signer-attributes-v2 attribute,
and ``/Reason`` carries the role's Vietnamese label, ``/Name`` the signer's name.
The field's stamp says the same to a reader — "Ký bởi", "Vai trò", "Ngày ký" in
Vietnam time — in the documents' DejaVu face, at 7–8 pt, through the one copy of
the font the unsigned document carries (:mod:`hub.documents.pdf.stamp_font`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import cache, lru_cache

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from asn1crypto.parser import emit
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.font.api import FontEngine, FontEngineFactory, ShapeResult
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign.ades.api import CAdESSignedAttrSpec, SignerAttrSpec
from pyhanko.sign.fields import SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import ExternalSigner, PdfSignatureMetadata, PdfSigner
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from hub.documents.pdf import stamp_font
from hub.domain.signers import SignerRole
from hub.memo import Remembered
from hub.signing import algorithms as signature_algorithms
from hub.signing import pdf_tokens  # noqa: F401  (pyHanko reads and writes tokens fast)
from hub.signing.algorithms import SignatureAlgorithm

#: Vietnam keeps UTC+7 all year; the stamp shows the signer's wall-clock time.
VIETNAM_TIME = timezone(timedelta(hours=7), "GMT+7")

#: Room for the RFC 3161 token when nothing tells its size (see
#: :func:`_timestamp_allowance`): a token with the TSA certificate and its chain is
#: 4–6 KiB today.
TIMESTAMP_ALLOWANCE = 6 * 1024
#: Room over the largest token the TSA gave before: its answers differ by a few
#: bytes (serial number, nonce, time precision); a new TSA certificate may be longer.
TIMESTAMP_MARGIN = 256
#: SignedData framing: versions, algorithm identifiers, the signer's serial number,
#: the headers of the SETs and SEQUENCEs (~140 bytes measured), with room to spare.
CMS_OVERHEAD = 256


class PadesError(ValueError):
    """The PDF cannot be signed as asked: no empty field for the role, a prepared state
    that does not match itself (a stored row damaged or mixed up with another), a CMS
    larger than its placeholder. Nothing usable was produced."""


class PlaceholderTooSmallError(PadesError):
    """The CMS is larger than the room the signer's revision kept for it.

    The placeholder is part of what was signed, so it cannot grow: the document
    must be prepared and signed again (its timestamp allowance then learns the
    TSA's larger token). Nothing was written.
    """


class SignatureValueMismatchError(PadesError):
    """The signature value does not verify over the prepared digest with the certificate.

    The provider signed something else (another document's digest), with another
    key than the certificate's, or the answer was damaged on the way. Finishing
    would embed a signature every verifier rejects, so nothing is written and the
    signer must sign again.
    """


@dataclass(frozen=True, slots=True)
class PreparedPdf:
    """A transcript PDF waiting for one signer's signature value.

    Plain bytes, strings and numbers only, so a job can store it and
    :func:`finish_pdf` can run in another process, minutes later.
    """

    #: The :class:`SignerRole` value whose field the signature fills.
    role: str
    #: The document with the signer's revision appended, ``/Contents`` still zeros.
    pdf: bytes
    #: Where the hex ``<…>`` placeholder starts and ends in ``pdf`` (outside the byte range).
    contents_start: int
    contents_end: int
    #: SHA-256 over the ``/ByteRange`` of ``pdf``: the CMS message-digest.
    document_digest: bytes
    #: DER of the CMS signed attributes (a SET OF, as signed).
    signed_attributes: bytes
    #: SHA-256 of ``signed_attributes``: what the provider signs.
    digest: bytes
    #: The signer's certificate and its chain (issuing CA first), DER.
    certificate: bytes
    chain: tuple[bytes, ...]
    #: How the signer's key signs (the credential's :mod:`hub.signing.algorithms` one).
    algorithm: SignatureAlgorithm = SignatureAlgorithm.RSA_PKCS1_SHA256

    def detached(self, source: bytes) -> PreparedPdf:
        """This with ``pdf`` cut down to what the signer's revision adds to ``source``,
        the document it was prepared from, less the zero-filled placeholder: a few KB to
        store instead of the whole document twice over. :meth:`attached` restores it."""
        placeholder = self.pdf[self.contents_start : self.contents_end]
        if (
            not self.pdf.startswith(source)
            or self.contents_start < len(source)
            or placeholder != _placeholder(len(placeholder))
        ):
            raise PadesError("the prepared document is not a revision of its source")
        tail = self.pdf[len(source) : self.contents_start] + self.pdf[self.contents_end :]
        return dataclasses.replace(self, pdf=tail)

    def attached(self, source: bytes) -> PreparedPdf:
        """The whole prepared document again, from :meth:`detached`'s and ``source``.

        Joined to another source, the byte-range digest no longer matches and
        :func:`finish_pdf` refuses it.
        """
        if self.pdf.startswith(b"%PDF-"):
            return self  # stored whole
        cut = self.contents_start - len(source)
        if cut < 0:
            raise PadesError("the prepared revision does not fit its source document")
        size = self.contents_end - self.contents_start
        pdf = b"".join((source, self.pdf[:cut], _placeholder(size), self.pdf[cut:]))
        return dataclasses.replace(self, pdf=pdf)


def _placeholder(size: int) -> bytes:
    """The ``/Contents`` placeholder pyHanko writes: ``<00…0>``, ``size`` bytes in all."""
    return b"<" + b"0" * (size - 2) + b">"


async def prepare_pdf(
    pdf: bytes,
    *,
    role: SignerRole,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
    signing_time: datetime | None = None,
    timestamper: TimeStamper | None = None,
    algorithm: SignatureAlgorithm | None = None,
) -> PreparedPdf:
    """Append ``role``'s signature revision to ``pdf``; return what the provider must sign.

    ``signing_time`` (default: now) goes into ``/M`` and the stamp; the time a
    verifier can trust comes later, from the timestamp :func:`finish_pdf` adds.
    ``timestamper``, the one :func:`finish_pdf` will use, sizes the room kept for its
    token (see :func:`_timestamp_allowance`). ``algorithm`` is how the signer's key
    signs (default: RSA PKCS#1 v1.5 for RSA, ECDSA for EC). Raises :class:`PadesError`
    when the document has no empty field for ``role``.
    """
    material = _signer_material(
        certificate.public_bytes(serialization.Encoding.DER),
        tuple(c.public_bytes(serialization.Encoding.DER) for c in chain),
        algorithm,
    )
    signed_at = (signing_time or datetime.now(UTC)).astimezone(VIETNAM_TIME)
    # The signature value only exists later: the placeholder signer stands in
    # for the provider while pyHanko lays out the revision.
    signer = ExternalSigner(
        signing_cert=material.certificate,
        cert_registry=material.registry,
        signature_value=material.signature_size,
        signature_mechanism=signature_algorithms.cms_algorithm(material.algorithm),
    )
    # The attributes do not depend on the document: built first, so their size
    # counts in the placeholder's.
    template = await _attributes_template(material, signer, role)
    try:
        writer = RevisionWriter(io.BytesIO(pdf))
        width, height = _field_size(writer, role.value)
    except PdfError as error:
        raise PadesError(f"cannot sign the {role.value} field: {error}") from error
    stamp = _stamp_text(
        signer=material.name, role=role.label, signed_at=signed_at, width=width, height=height
    )
    pdf_signer = PdfSigner(
        PdfSignatureMetadata(
            field_name=role.value,
            md_algorithm="sha256",
            subfilter=SigSeedSubFilter.PADES,
            reason=role.label,
            name=material.name,
        ),
        signer=signer,
        stamp_style=_stamp_style(stamp, _stamp_font(writer, stamp.text)),
    )
    try:
        session = pdf_signer.init_signing_session(writer, existing_fields_only=True)
    except (SigningError, PdfError) as error:
        raise PadesError(f"cannot sign the {role.value} field: {error}") from error
    # Not pdf_signer.async_digest_doc_for_signing: it would run the pre-signing
    # certificate validation (no validation context here: nothing to run) and,
    # without a size, a whole dry-run signature to estimate the placeholder.
    session.system_time = signed_at
    cms_size = (
        material.cms_size
        + len(template.before)
        + len(template.after)
        + hashlib.sha256().digest_size
        + await _timestamp_allowance(writer, timestamper)
    )
    tbs = session.prepare_tbs_document(
        validation_info=None,
        bytes_reserved=2 * cms_size,
        appearance_text_params={"stamp": stamp.text},
    )
    output = io.BytesIO()
    prepared_digest, _ = tbs.digest_tbs_document(output=output)
    signed_attributes = template.fill(prepared_digest.document_digest)
    return PreparedPdf(
        role=role.value,
        pdf=output.getvalue(),
        contents_start=prepared_digest.reserved_region_start,
        contents_end=prepared_digest.reserved_region_end,
        document_digest=prepared_digest.document_digest,
        signed_attributes=signed_attributes,
        digest=hashlib.sha256(signed_attributes).digest(),
        certificate=material.certificate_der,
        chain=material.chain_der,
        algorithm=material.algorithm,
    )


async def finish_pdf(
    prepared: PreparedPdf, signature: bytes, *, timestamper: TimeStamper | None = None
) -> bytes:
    """The signed PDF: ``signature``, the provider's raw value, embedded as a CMS.

    With ``timestamper`` the CMS gets a signature-time-stamp (PAdES B-T); without,
    the signature is B-B. Raises :class:`SignatureValueMismatchError` when ``signature``
    does not verify, :class:`PadesError` when ``prepared`` is not the state
    :func:`prepare_pdf` left (a stored row damaged or mixed up with another). The
    timestamper's own errors (TSA unreachable) pass through: nothing was written,
    and the same ``prepared`` and ``signature`` can be finished again later.
    """
    material = _signer_material(prepared.certificate, prepared.chain, prepared.algorithm)
    start, end = prepared.contents_start, prepared.contents_end
    document = prepared.pdf
    if hashlib.sha256(prepared.signed_attributes).digest() != prepared.digest:
        raise PadesError("the prepared signed attributes do not match their digest")
    if hashlib.sha256(document[:start] + document[end:]).digest() != prepared.document_digest:
        raise PadesError("the prepared document does not match its byte-range digest")
    try:
        signature_algorithms.verify(
            material.algorithm, material.public_key, signature, prepared.signed_attributes
        )
    except (InvalidSignature, ValueError) as error:
        raise SignatureValueMismatchError(
            f"the {prepared.role} signature value does not verify with the certificate"
            f" of {material.name}"
        ) from error
    signer = ExternalSigner(
        signing_cert=material.certificate,
        cert_registry=material.registry,
        signature_value=signature,
        signature_mechanism=signature_algorithms.cms_algorithm(material.algorithm),
    )
    signed_attributes = cms.CMSAttributes.load(prepared.signed_attributes)
    unsigned = await signer.unsigned_attrs(
        "sha256", signature, signed_attrs=signed_attributes, timestamper=timestamper
    )
    content = material.frame.package(prepared.signed_attributes, signature, unsigned)
    room, needed = (end - start - 2) // 2, len(content)
    if needed > room:
        raise PlaceholderTooSmallError(
            f"the {prepared.role} signature ({needed} bytes) does not fit the {room} bytes"
            " its revision kept for it: prepare the document and sign again"
        )
    output = io.BytesIO(document)
    try:
        PreparedByteRangeDigest(prepared.document_digest, start, end).fill_with_cms(output, content)
    except SigningError as error:
        raise PadesError(str(error)) from error
    return output.getvalue()


# --- The revision and its placeholder ---------------------------------------------------

#: What wraps a timestamp token in the CMS: the unsigned attributes' SET, the
#: attribute's SEQUENCE, its type (id-aa-timeStampToken) and value SET, and the
#: longer length fields of the structures around them.
_TOKEN_FRAMING = 64


class RevisionWriter(IncrementalPdfFileWriter):
    """pyHanko's incremental writer, leaving the document's metadata as it was: for
    every revision appended to a transcript (signatures, and the long-term
    validation data and document timestamps after them).

    pyHanko rewrites the information dictionary in every revision it writes (and
    the XMP, when there is one) to set ``/ModDate`` and ``/Producer``: 1.2 KB a
    signature for the dictionary alone, and in a PDF/A file the XMP packet again.
    The transcript's metadata describes its content, which a signature does not
    change; when each signature was made is in its ``/M`` and its timestamp. Left
    as rendered, the dictionary and the XMP also keep agreeing, as PDF/A requires —
    pyHanko's own update would not: it appends itself to the dictionary's
    ``/Producer`` but writes only itself into the XMP's.
    """

    def _update_meta(self) -> None:
        pass


async def _timestamp_allowance(
    writer: IncrementalPdfFileWriter, timestamper: TimeStamper | None
) -> int:
    """Bytes to keep for the timestamp :func:`finish_pdf` adds, with its framing.

    The largest token the TSA is known to give, plus :data:`TIMESTAMP_MARGIN`. With
    ``timestamper``, the one that will stamp, its own answer says (pyHanko asks the TSA
    once per timestamper for a token over a dummy digest and keeps it); the document's
    earlier signatures are not read, as reading their dictionaries (each with its CMS)
    is a fifth of preparing a signature. Without, the tokens in the earlier signatures
    (the same TSA as a rule); knowing neither, :data:`TIMESTAMP_ALLOWANCE`. Room too
    small is not a broken file: :func:`finish_pdf` refuses a CMS larger than its
    placeholder (:class:`PlaceholderTooSmallError`).
    """
    if timestamper is not None:
        token = await timestamper.async_dummy_response("sha256")
        return len(token.dump()) + _TOKEN_FRAMING + TIMESTAMP_MARGIN
    sizes = []
    for signature in writer.prev.embedded_signatures:
        unsigned = signature.signer_info["unsigned_attrs"]
        if unsigned and any(a["type"].native == "signature_time_stamp_token" for a in unsigned):
            sizes.append(len(unsigned.dump()) + _TOKEN_FRAMING)
    return max(sizes) + TIMESTAMP_MARGIN if sizes else TIMESTAMP_ALLOWANCE


# --- Per-certificate material ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SignerMaterial:
    """What signing needs from a certificate, converted once per certificate."""

    certificate_der: bytes
    chain_der: tuple[bytes, ...]
    certificate: asn1_x509.Certificate
    registry: SimpleCertificateStore
    public_key: signature_algorithms.PublicKey
    algorithm: SignatureAlgorithm
    name: str
    signature_size: int
    #: DER bytes of the CMS but for its signed attributes and timestamp token.
    cms_size: int
    #: The CMS's parts that are the same for every signature of this certificate.
    frame: _CmsFrame


@lru_cache(maxsize=256)
def _signer_material(
    certificate_der: bytes,
    chain_der: tuple[bytes, ...],
    algorithm: SignatureAlgorithm | None = None,
) -> _SignerMaterial:
    """Parse a signer's certificate and chain once: a teacher signs a whole class in a row.

    The placeholder is sized from what the CMS will carry — this certificate, its
    chain, the largest signature the key makes with ``algorithm``, the issuer name
    that identifies the signer — and, in :func:`prepare_pdf`, the signed attributes
    and the timestamp token, so no dry-run signature is needed to estimate it.
    """
    certificate = asn1_x509.Certificate.load(certificate_der)
    public_key = x509.load_der_x509_certificate(certificate_der).public_key()
    try:
        algorithm = algorithm or signature_algorithms.for_key(public_key)
        key = signature_algorithms.checked_key(algorithm, public_key)
    except signature_algorithms.UnsupportedAlgorithmError as error:
        raise PadesError(str(error)) from None
    signature_size = signature_algorithms.signature_size(algorithm, key)
    registry = SimpleCertificateStore.from_certs([asn1_x509.Certificate.load(c) for c in chain_der])
    der_size = (
        len(certificate_der)
        + sum(len(c) for c in chain_der)
        + signature_size
        + len(certificate.issuer.dump())
        + CMS_OVERHEAD
    )
    return _SignerMaterial(
        certificate_der=certificate_der,
        chain_der=chain_der,
        certificate=certificate,
        registry=registry,
        public_key=key,
        algorithm=algorithm,
        name=_display_name(certificate),
        signature_size=signature_size,
        cms_size=der_size,
        frame=_CmsFrame.of(
            ExternalSigner(
                signing_cert=certificate,
                cert_registry=registry,
                signature_value=signature_size,
                signature_mechanism=signature_algorithms.cms_algorithm(algorithm),
            )
        ),
    )


#: The DER of the content type ``signedData`` (RFC 5652 §5.1).
_SIGNED_DATA = cms.ContentType("signed_data").dump()


@dataclass(frozen=True, slots=True)
class _CmsFrame:
    """A signer's CMS around what changes from one signature to the next.

    pyHanko packages a signature by building the whole ``ContentInfo`` in asn1crypto
    objects (three quarters of finishing a PDF signature): the same certificates,
    algorithm identifiers and issuer name every time. Here pyHanko packages one
    signature per certificate, the parts that do not change are kept as its DER, and
    :meth:`package` puts each signature's attributes and value between them — the
    bytes pyHanko would write (tests/integration/test_pades.py holds them equal).
    """

    #: SignedData's version, digest algorithms, encapsulated content and certificates.
    signed_data_head: bytes
    #: SignerInfo's version, signer identifier and digest algorithm.
    signer_info_head: bytes
    signature_algorithm: bytes

    @classmethod
    def of(cls, signer: ExternalSigner) -> _CmsFrame:
        packaged = signer._package_signature(  # the library's own packaging, once
            digest_algorithm="sha256",
            cms_version="v1",
            signed_attrs=cms.CMSAttributes([]),
            signature=b"",  # its own field, not kept
            unsigned_attrs=None,
            encap_content_info=None,
        )
        signed_data = packaged["content"]
        (signer_info,) = signed_data["signer_infos"]
        return cls(
            signed_data_head=b"".join(
                signed_data[part].dump()
                for part in ("version", "digest_algorithms", "encap_content_info", "certificates")
            ),
            signer_info_head=b"".join(
                signer_info[part].dump() for part in ("version", "sid", "digest_algorithm")
            ),
            signature_algorithm=signer_info["signature_algorithm"].dump(),
        )

    def package(
        self, signed_attributes: bytes, signature: bytes, unsigned: cms.CMSAttributes | None
    ) -> bytes:
        """The DER ``ContentInfo``: ``signed_attributes`` (a SET OF, as signed) and
        ``unsigned`` go in as the SignerInfo's ``[0]`` and ``[1]``."""
        signer_info = (
            self.signer_info_head
            + b"\xa0"
            + signed_attributes[1:]
            + self.signature_algorithm
            + emit(0, 0, 4, signature)  # OCTET STRING
        )
        if unsigned is not None:
            signer_info += b"\xa1" + unsigned.dump()[1:]
        signer_infos = emit(0, 1, 17, emit(0, 1, 16, signer_info))  # SET OF SEQUENCE
        signed_data = emit(0, 1, 16, self.signed_data_head + signer_infos)
        return emit(0, 1, 16, _SIGNED_DATA + emit(2, 1, 0, signed_data))


@dataclass(frozen=True, slots=True)
class _AttributesTemplate:
    """The DER of a signer's signed attributes for one role, around a digest slot.

    The attributes are the same for every document a signer signs in a role but
    the message digest (content-type, signing-certificate-v2 over the same
    certificate, the same claimed role), and encoding them with asn1crypto costs
    several milliseconds a document, so pyHanko builds them once per signer and
    role with a marker digest, and each document's digest goes in its place.
    """

    before: bytes
    after: bytes

    def fill(self, document_digest: bytes) -> bytes:
        return self.before + document_digest + self.after


_templates: Remembered[_AttributesTemplate] = Remembered(None, 1024)


async def _attributes_template(
    material: _SignerMaterial, signer: ExternalSigner, role: SignerRole
) -> _AttributesTemplate:
    # The algorithm is in the attributes too (CMSAlgorithmProtection, RFC 6211).
    key = (material.certificate_der, material.algorithm, role)
    template = _templates.get(key)
    if template is None:
        marker = os.urandom(32)  # a SHA-256 digest nothing else in the attributes equals
        attributes = await signer.signed_attrs(
            marker,
            "sha256",
            attr_settings=PdfCMSSignedAttributes(cades_signed_attrs=_role_claim(role)),
            use_pades=True,
        )
        encoded = attributes.dump()
        if encoded.count(marker) != 1:
            raise PadesError("the signed attributes do not hold the document digest once")
        at = encoded.index(marker)
        template = _AttributesTemplate(encoded[:at], encoded[at + len(marker) :])
        _templates.put(key, template)
    return template


def _display_name(certificate: asn1_x509.Certificate) -> str:
    subject = certificate.subject.native
    return str(subject.get("common_name") or subject.get("organization_name") or "")


@cache
def _role_claim(role: SignerRole) -> CAdESSignedAttrSpec:
    """A signer-attributes-v2 claiming ``role``, written as EU DSS writes a claimed role
    (id-at-role, the role name as a URI general name), so the role is signed in the
    CMS itself and not only in the field name and ``/Reason``."""
    claimed = cms.AttCertAttribute(
        {"type": "role", "values": [{"role_name": {"uniform_resource_identifier": role.value}}]}
    )
    return CAdESSignedAttrSpec(
        signer_attributes=SignerAttrSpec(claimed_attrs=[claimed], certified_attrs=[])
    )


# --- The stamp --------------------------------------------------------------------------

#: The stamp's type size, largest first: it is set at the largest at which every line
#: fits the field, and never below the last — 7 pt is legible at 100 % zoom. Whole
#: points, and a whole-point leading: pyHanko lays text boxes out in fractions.
_STAMP_FONT_SIZES = (8, 7)
#: Space between lines, and between the field's edge and the text, in points.
_STAMP_LINE_GAP = 2
_STAMP_MARGIN = 3


@dataclass(frozen=True, slots=True)
class _StampText:
    """What a stamp says, as it is set: its lines and their type size."""

    lines: tuple[str, ...]
    font_size: int

    @property
    def leading(self) -> int:
        return self.font_size + _STAMP_LINE_GAP

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _stamp_text(
    *, signer: str, role: str, signed_at: datetime, width: float, height: float
) -> _StampText:
    """ "Ký bởi: …", "Vai trò: …", "Ngày ký: … (GMT+7)" set for a field ``width`` by
    ``height`` points.

    At the largest of :data:`_STAMP_FONT_SIZES` at which every line fits on one
    line; else at the smallest, a long line (a school's full name) wrapped at word
    boundaries, continuation lines indented. The text is never set smaller than
    that — a stamp too small to read is worse than a wrapped one — and never
    scaled by pyHanko: when even the wrapped text is taller than the field, the
    name is cut with "…" so the role and the time still show (the full name stays
    in the signature's ``/Name`` and certificate).
    """
    face = stamp_font.stamp_face()
    when = signed_at.astimezone(VIETNAM_TIME)
    items = [
        f"Ký bởi: {unicodedata.normalize('NFC', signer)}",
        f"Vai trò: {role}",
        f"Ngày ký: {when:%d/%m/%Y %H:%M:%S} (GMT+7)",
    ]
    room = width - 2 * _STAMP_MARGIN
    for size in _STAMP_FONT_SIZES:
        if all(face.width(item, size) <= room for item in items):
            return _StampText(tuple(items), size)
    size = _STAMP_FONT_SIZES[-1]
    signer_lines = _wrap(items[0], size, room)
    rest = [line for item in items[1:] for line in _wrap(item, size, room)]
    most = int((height - 2 * _STAMP_MARGIN + _STAMP_LINE_GAP) / (size + _STAMP_LINE_GAP))
    keep = max(1, most - len(rest))
    if len(signer_lines) > keep:
        signer_lines = signer_lines[:keep]
        last = signer_lines[-1]
        while last and face.width(last + "…", size) > room:
            last = last[:-1].rstrip()
        signer_lines[-1] = last + "…"
    return _StampText((*signer_lines, *rest), size)


def _wrap(value: str, size: int, room: float) -> list[str]:
    """``value`` in lines no wider than ``room`` at ``size``: at spaces where it can,
    within a word only when one word is wider than the whole line."""
    face = stamp_font.stamp_face()
    indent = "   "
    lines: list[str] = []
    line = ""
    for word in value.split(" "):
        candidate = f"{line} {word}" if line else (indent if lines else "") + word
        if face.width(candidate, size) <= room:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = indent + word
        while face.width(line, size) > room and len(line) > len(indent) + 1:
            cut = len(line) - 1
            while cut > len(indent) + 1 and face.width(line[:cut], size) > room:
                cut -= 1
            lines.append(line[:cut])
            line = indent + line[cut:]
    lines.append(line)
    return lines


def _stamp_style(text: _StampText, font: FontEngineFactory) -> TextStampStyle:
    """The stamp as :func:`_stamp_text` set it: left-aligned in the field, at its size,
    never scaled (a scaled stamp is what made the old ones ~4 px high)."""
    return TextStampStyle(
        stamp_text="%(stamp)s",
        text_box_style=TextBoxStyle(
            font=font,
            font_size=text.font_size,
            leading=text.leading,
            # The box is exactly the text: the field's margin is the only one.
            box_layout_rule=layout.SimpleBoxLayoutRule(
                x_align=layout.AxisAlignment.ALIGN_MIN,
                y_align=layout.AxisAlignment.ALIGN_MIN,
                margins=layout.Margins.uniform(0),
            ),
        ),
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(_STAMP_MARGIN),
            inner_content_scaling=layout.InnerScaling.NO_SCALING,
        ),
        # The page draws the field's outline; the stamp only fills it.
        border_width=0,
        background=None,
    )


def _field_size(writer: IncrementalPdfFileWriter, name: str) -> tuple[float, float]:
    """Width and height of the signature field ``name``'s widget, in points."""
    for field_name, _, field in enumerate_sig_fields(writer, filled_status=False):
        if field_name == name:
            x0, y0, x1, y1 = (float(v) for v in field.get_object()["/Rect"])
            return abs(x1 - x0), abs(y1 - y0)
    raise PadesError(f"the document has no empty signature field {name}")


def _stamp_font(writer: IncrementalPdfFileWriter, text: str) -> FontEngineFactory:
    """The font for a stamp saying ``text``: the document's shared stamp font when it
    has every character (:mod:`hub.documents.pdf.stamp_font`); else — a name in
    another script, a document rendered before the shared font existed — a subset of
    the face embedded with this signature, so every letter still renders."""
    shared = _SharedStampFont.of(writer)
    if shared is not None and shared.covers(text):
        return _SharedStampFontFactory(shared)
    return _StampFontFactory(stamp_font.stamp_face())


class _SharedStampFont:
    """The document's shared stamp font, read back: its object, and which glyph shows
    each character and how wide (from its ``/ToUnicode`` and ``/W``)."""

    _BFCHAR = re.compile(rb"<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]{4,8})>")

    def __init__(self, reference: generic.IndirectObject, glyphs: dict[str, tuple[int, int]]):
        self.reference = reference
        #: character → (glyph id, width in 1/1000 em); shared between documents, never changed
        self.glyphs = glyphs

    @classmethod
    def of(cls, writer: IncrementalPdfFileWriter) -> _SharedStampFont | None:
        try:
            fonts = writer.root["/AcroForm"]["/DR"]["/Font"]
            reference = fonts.raw_get(f"/{stamp_font.STAMP_FONT_RESOURCE}")
        except KeyError:
            return None
        if not isinstance(reference, generic.IndirectObject):
            return None
        stored = _stored_font(writer, reference)
        glyphs = _glyphs_read.get(stored) if stored is not None else None
        if glyphs is None:
            try:
                glyphs, objects = _read_glyphs(reference)
            except (KeyError, IndexError, TypeError, ValueError):
                return None  # not a font this module wrote: the stamp embeds its own
            if stored is not None and _whole(stored, objects):
                _glyphs_read.put(stored, glyphs)
        return cls(reference, glyphs)

    def covers(self, text: str) -> bool:
        return all(
            character in self.glyphs
            for character in unicodedata.normalize("NFC", text)
            if character != "\n"
        )


def _read_glyphs(
    reference: generic.IndirectObject,
) -> tuple[dict[str, tuple[int, int]], tuple[generic.PdfObject, ...]]:
    """Character → (glyph id, width) of the shared stamp font ``reference`` names, read
    from its ``/W`` and ``/ToUnicode``; and the font's three objects as parsed."""
    font = reference.get_object()
    descendant = font["/DescendantFonts"][0].get_object()
    widths: dict[int, int] = {}
    runs = descendant["/W"]
    for index in range(0, len(runs) - 1, 2):
        first, values = int(runs[index]), runs[index + 1]
        widths.update((first + offset, int(w)) for offset, w in enumerate(values))
    to_unicode = font["/ToUnicode"].get_object()
    glyphs: dict[str, tuple[int, int]] = {}
    for glyph, text in _SharedStampFont._BFCHAR.findall(to_unicode.data):
        glyph_id = int(glyph, 16)
        if glyph_id in widths:
            glyphs[bytes.fromhex(text.decode()).decode("utf-16-be")] = (glyph_id, widths[glyph_id])
    return glyphs, (font, descendant, to_unicode)


#: Glyphs of the shared stamp fonts read so far, by the bytes of their objects
#: (:func:`_stored_font`): every transcript one version of the hub rendered carries the
#: same font, and parsing its ~240 widths and its CMap cost a millisecond a PDF.
_glyphs_read: Remembered[dict[str, tuple[int, int]]] = Remembered(None, 64)

#: The references a shared stamp font's dictionary makes, as :mod:`stamp_font` writes it.
_FONT_REFERENCES = re.compile(
    rb"/DescendantFonts\s*\[\s*(\d+)\s+(\d+)\s+R\s*\].*?/ToUnicode\s+(\d+)\s+(\d+)\s+R", re.S
)


def _stored_font(
    writer: IncrementalPdfFileWriter, reference: generic.IndirectObject
) -> tuple[bytes, bytes, bytes] | None:
    """The bytes the shared stamp font is stored as in the file — its font, descendant
    font and ``/ToUnicode`` objects, each from its header to the first ``endobj`` after
    it — found without parsing them; None when one of them is not plainly in the file
    (in an object stream, or referred to otherwise than :data:`_FONT_REFERENCES` says).

    The parser reads nothing but these bytes for these objects, so equal bytes are the
    same font — when each object ends at that first ``endobj``, which :func:`_whole`
    checks before a font read is kept."""
    reader = writer.prev
    if not isinstance(reader, PdfFileReader) or not isinstance(reader.stream, io.BytesIO):
        return None
    data = reader.stream.getvalue()
    font = _stored_object(writer, reader, data, reference.reference)
    found = _FONT_REFERENCES.search(font) if font is not None else None
    if font is None or found is None:
        return None
    descendant = _stored_object(
        writer, reader, data, generic.Reference(int(found[1]), int(found[2]))
    )
    to_unicode = _stored_object(
        writer, reader, data, generic.Reference(int(found[3]), int(found[4]))
    )
    if descendant is None or to_unicode is None:
        return None
    return font, descendant, to_unicode


def _stored_object(
    writer: IncrementalPdfFileWriter,
    reader: PdfFileReader,
    data: bytes,
    reference: generic.Reference,
) -> bytes | None:
    if (reference.generation, reference.idnum) in writer.objects:
        return None  # changed in the revision being written: not what the file holds
    at = reader.xrefs[generic.Reference(reference.idnum, reference.generation)]
    if not isinstance(at, int):
        return None  # in an object stream
    end = data.find(b"endobj", at)
    return data[at : end + len(b"endobj")] if end >= 0 else None


def _whole(stored: tuple[bytes, bytes, bytes], objects: tuple[generic.PdfObject, ...]) -> bool:
    """Whether the stored bytes decide the glyphs alone: each object ends in ``>>`` (a
    dictionary) or ``endstream`` with its stream's data in it, no string or name in it
    says ``endobj`` (so the first ``endobj`` was its end, not a cut), and neither the
    widths nor the CMap's stream dictionary refer to another object; and the font's
    references are the ones :func:`_stored_font` followed."""
    font, descendant, to_unicode = objects
    found = _FONT_REFERENCES.search(stored[0])
    if not isinstance(font, generic.DictionaryObject) or found is None:
        return False
    descendants, cmap = font.raw_get("/DescendantFonts"), font.raw_get("/ToUnicode")
    if not (
        isinstance(descendants, generic.ArrayObject)
        and len(descendants) == 1
        and _refers_to(descendants.raw_get(0), found[1], found[2])
        and _refers_to(cmap, found[3], found[4])
    ):
        return False
    for raw, parsed in zip(stored, objects, strict=True):
        body = raw[: -len(b"endobj")].rstrip()
        if isinstance(parsed, generic.StreamObject):
            if not body.endswith(b"endstream") or parsed.encoded_data not in body:
                return False
        elif not body.endswith(b">>") or _says_endobj(parsed):
            return False
    return (
        isinstance(descendant, generic.DictionaryObject)
        and isinstance(to_unicode, generic.StreamObject)
        and _direct(descendant.raw_get("/W"))
        and all(_direct(value) for value in to_unicode.values())
    )


def _says_endobj(value: object) -> bool:
    if isinstance(value, str | bytes):
        text = value.encode("latin-1", "replace") if isinstance(value, str) else value
        return b"endobj" in text
    if isinstance(value, dict):
        return any(_says_endobj(k) or _says_endobj(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_says_endobj(v) for v in value)
    return False


def _refers_to(value: object, idnum: bytes, generation: bytes) -> bool:
    return (
        isinstance(value, generic.IndirectObject)
        and value.idnum == int(idnum)
        and value.generation == int(generation)
    )


def _direct(value: object) -> bool:
    """Whether ``value`` holds no reference to another object, at any depth."""
    if isinstance(value, generic.IndirectObject):
        return False
    if isinstance(value, dict):
        return all(_direct(v) for v in value.values())
    if isinstance(value, list):
        return all(_direct(v) for v in value)
    return True


@dataclass(frozen=True)
class _SharedStampFontFactory(FontEngineFactory):
    font: _SharedStampFont

    def create_font_engine(
        self, writer: BasePdfFileWriter, obj_stream: object = None
    ) -> FontEngine:
        return _SharedStampFontEngine(writer, self.font)


class _SharedStampFontEngine(FontEngine):
    """A stamp set in the document's shared font: codes are its glyph ids, and nothing
    is written — the appearance refers to the font object the document already has."""

    def __init__(self, writer: BasePdfFileWriter, font: _SharedStampFont) -> None:
        super().__init__(writer, stamp_font.STAMP_FONT_RESOURCE, embedded_subset=False)
        self.font = font

    @property
    def uses_complex_positioning(self) -> bool:
        return False

    def shape(self, txt: str) -> ShapeResult:
        codes, advance = [], 0
        for character in unicodedata.normalize("NFC", txt):
            glyph_id, width = self.font.glyphs[character]
            codes.append(f"{glyph_id:04X}")
            advance += width
        return ShapeResult(f"<{''.join(codes)}> Tj".encode("ascii"), advance / 1000, 0)

    def as_resource(self) -> generic.IndirectObject:
        return self.font.reference

    def prepare_write(self) -> None:
        pass  # the font is in the document already


@dataclass(frozen=True)
class _StampFontFactory(FontEngineFactory):
    font: stamp_font.StampFace

    def create_font_engine(
        self, writer: BasePdfFileWriter, obj_stream: object = None
    ) -> FontEngine:
        return _StampFontEngine(writer, self.font)


class _StampFontEngine(FontEngine):
    """One stamp's own subset of the face, a Type0 font with Identity-H glyph ids: the
    fallback when the document's shared stamp font lacks a character."""

    def __init__(self, writer: BasePdfFileWriter, font: stamp_font.StampFace) -> None:
        super().__init__(writer, font.postscript_name, embedded_subset=True)
        self.font = font
        #: glyph id → (width, the text it shows) for /W and /ToUnicode
        self.used: dict[int, tuple[int, str]] = {}
        self.reference = writer.allocate_placeholder()
        self.written = False

    @property
    def uses_complex_positioning(self) -> bool:
        # Glyphs advance by their /W widths: plain Tj, no positioning operators.
        return False

    def shape(self, txt: str) -> ShapeResult:
        codes = []
        advance = 0
        for character in unicodedata.normalize("NFC", txt):
            glyph_id, width = self.font.glyph(character)
            self.used.setdefault(glyph_id, (width, character))
            codes.append(f"{glyph_id:04X}")
            advance += width
        return ShapeResult(f"<{''.join(codes)}> Tj".encode("ascii"), advance / 1000, 0)

    def as_resource(self) -> generic.IndirectObject:
        return self.reference

    def prepare_write(self) -> None:
        # The writer calls this every time it serialises the document.
        if self.written:
            return
        self.written = True
        writer, font = self.writer, self.font
        name = f"{self.subset_prefix}+{font.postscript_name}"
        compressed, length = font.subset(frozenset(self.used))
        program = generic.StreamObject(
            {
                generic.pdf_name("/Filter"): generic.pdf_name("/FlateDecode"),
                generic.pdf_name("/Length1"): generic.NumberObject(length),
            },
            encoded_data=compressed,
        )
        descriptor = generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/FontDescriptor"),
                generic.pdf_name("/FontName"): generic.pdf_name(f"/{name}"),
                # Serif, symbolic (glyphs addressed by id, not by a standard encoding).
                generic.pdf_name("/Flags"): generic.NumberObject(0b110),
                generic.pdf_name("/FontBBox"): generic.ArrayObject(
                    generic.NumberObject(v) for v in font.bbox
                ),
                generic.pdf_name("/ItalicAngle"): generic.NumberObject(0),
                generic.pdf_name("/Ascent"): generic.NumberObject(font.ascent),
                generic.pdf_name("/Descent"): generic.NumberObject(font.descent),
                generic.pdf_name("/CapHeight"): generic.NumberObject(font.cap_height),
                generic.pdf_name("/StemV"): generic.NumberObject(80),
                generic.pdf_name("/FontFile2"): writer.add_object(program),
            }
        )
        widths = generic.ArrayObject(
            generic.ArrayObject(generic.NumberObject(w) for w in run)
            if isinstance(run, list)
            else generic.NumberObject(run)
            for run in stamp_font.width_runs(
                {glyph: width for glyph, (width, _) in self.used.items()}
            )
        )
        cid_font = generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Font"),
                generic.pdf_name("/Subtype"): generic.pdf_name("/CIDFontType2"),
                generic.pdf_name("/BaseFont"): generic.pdf_name(f"/{name}"),
                generic.pdf_name("/CIDSystemInfo"): generic.DictionaryObject(
                    {
                        generic.pdf_name("/Registry"): generic.pdf_string("Adobe"),
                        generic.pdf_name("/Ordering"): generic.pdf_string("Identity"),
                        generic.pdf_name("/Supplement"): generic.NumberObject(0),
                    }
                ),
                generic.pdf_name("/FontDescriptor"): writer.add_object(descriptor),
                generic.pdf_name("/CIDToGIDMap"): generic.pdf_name("/Identity"),
                generic.pdf_name("/W"): widths,
            }
        )
        to_unicode = generic.StreamObject(
            stream_data=stamp_font.to_unicode(
                (glyph, text) for glyph, (_, text) in self.used.items()
            )
        )
        to_unicode.compress()
        type0 = generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Font"),
                generic.pdf_name("/Subtype"): generic.pdf_name("/Type0"),
                generic.pdf_name("/BaseFont"): generic.pdf_name(f"/{name}"),
                generic.pdf_name("/Encoding"): generic.pdf_name("/Identity-H"),
                generic.pdf_name("/DescendantFonts"): generic.ArrayObject(
                    [writer.add_object(cid_font)]
                ),
                generic.pdf_name("/ToUnicode"): writer.add_object(to_unicode),
            }
        )
        writer.add_object(type0, idnum=self.reference.idnum)
