"""Long-term validation: a sealed transcript that still verifies decades from now.

A transcript is used years after it is signed, long after the homeroom teacher's
certificate (1–3 years) has expired and the CA's OCSP responder has moved on. So when
the seal has made a transcript whole, the hub adds to it everything a verifier needs
offline (PAdES B-LT / XAdES LT) and a timestamp over all of it (B-LTA / XAdES LTA):

- **Evidence.** For every certificate of every chain in the document — the three
  signers', and the TSAs' that stamped their signatures — the issuer's OCSP
  response (or CRL) as :class:`~hub.signing.trust.TrustStore` fetches it, and the
  certificates themselves (:func:`gather`).
- **PDF** (:func:`pdf_long_term`): one incremental revision with a DSS holding the
  evidence, a VRI entry per signature, and a document timestamp over the whole file;
  then a DSS revision with the evidence of that timestamp's own TSA. pyHanko's
  difference analysis counts DSS and document-timestamp revisions as permitted
  (:mod:`hub.signing.verification.pdf_reader` skips ``/DocTimeStamp`` fields).
- **XML** (:func:`xml_long_term`): in the *last* signature's unsigned properties,
  ``xades:CertificateValues`` and ``xades:RevocationValues`` with the evidence of the
  whole document, then an ``xadesv141:ArchiveTimeStamp``
  (:func:`hub.signing.xades.archive_input`), then ``xadesv141:TimeStampValidationData``
  with the evidence of the archive timestamp's TSA. EN 319 132-1 puts each
  signature's values in its own unsigned properties; here every later signature
  covers the earlier ones whole (``xades`` module docstring), so an earlier signature
  can no longer grow, and the last one carries the values of all three. Its archive
  timestamp covers the earlier signatures through its references.

**Renewal.** A timestamp proves something existed while its TSA's certificate is
valid. Before that certificate expires, :func:`pdf_long_term` / :func:`xml_long_term`
run again on the stored document: the evidence of the latest timestamp's TSA is in
already, so they only add a new timestamp over everything (the archive chain of
PAdES-LTA), and its TSA's evidence. :func:`renewal_due` says when; the job is
:mod:`hub.jobs.archive`. :mod:`hub.signing.verification.rules` walks the chain back.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asn1crypto import cms as asn1_cms
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import SigFieldSpec, append_signature_field
from pyhanko.sign.general import extract_certificate_info
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from hub.memo import Remembered
from hub.signing import xades
from hub.signing.pades import RevisionWriter
from hub.signing.trust import Evidence, EvidenceUnavailable, TrustStore
from hub.signing.verification.report import ExtractedSignature
from hub.signing.xades import ds, parse_document, serialise, xades141

#: What the sealed PDF calls the signed XML it carries (:func:`_carry`), and the field of
#: the document timestamp whose appearance carries it.
SIGNED_XML_NAME = "transcript-signed.xml"
CARRIER_FIELD = "LongTermArchive"

#: A timestamp is renewed this long before its TSA certificate expires.
RENEW_BEFORE = timedelta(days=365)


class LongTermError(RuntimeError):
    """The document cannot be made long-term now: a certificate does not chain to the
    trust store, or its issuer's OCSP responder and CRL gave no usable answer. Nothing
    was changed; the archive job tries again on its next run."""


# --- Evidence -------------------------------------------------------------------------


async def gather(
    trust: TrustStore, chains: Iterable[tuple[x509.Certificate, Sequence[x509.Certificate]]]
) -> Evidence:
    """The certificates and revocation answers of every ``(certificate, carried)`` chain:
    the validated path, and for each certificate on it below the root, its issuer's
    current answer (a certificate that names no OCSP responder and no CRL has none)."""
    certificates: dict[x509.Certificate, None] = {}
    ocsp: dict[bytes, None] = {}
    crls: dict[bytes, None] = {}
    for certificate, carried in chains:
        path = await trust.path(certificate, carried)
        if not path.trusted:
            raise LongTermError(f"{certificate.subject.rfc4514_string()}: {path.problem}")
        for subject, issuer in zip(path.path, path.path[1:], strict=False):
            certificates[subject] = None
            try:
                fetched = await trust.fetch_evidence(subject, issuer)
            except EvidenceUnavailable as error:
                raise LongTermError(f"{subject.subject.rfc4514_string()}: {error}") from None
            if fetched is not None:
                (ocsp if fetched.kind == "ocsp" else crls)[fetched.der] = None
    return Evidence(tuple(certificates), tuple(ocsp), tuple(crls))


def chains_of(
    signatures: Sequence[ExtractedSignature],
) -> list[tuple[x509.Certificate, Sequence[x509.Certificate]]]:
    """Every chain the signatures rest on: each signer's and its signature timestamp's
    TSA (each with the certificates it carried)."""
    chains: list[tuple[x509.Certificate, Sequence[x509.Certificate]]] = []
    for signature in signatures:
        if signature.certificate is not None:
            chains.append((signature.certificate, signature.other_certificates))
        if signature.timestamp_certificate is not None:
            chains.append((signature.timestamp_certificate, signature.timestamp_other_certificates))
    return chains


def renewal_due(signatures: Sequence[ExtractedSignature], now: datetime) -> bool:
    """Whether a document needs (another) archive timestamp at ``now``: it has none, or
    the latest one's TSA certificate expires within :data:`RENEW_BEFORE`."""
    stamps = [stamp for signature in signatures[-1:] for stamp in signature.archive_stamps]
    if not stamps or stamps[-1].certificate is None:
        return True
    return stamps[-1].certificate.not_valid_after_utc - RENEW_BEFORE <= now


@dataclass(frozen=True)
class Documents:
    """A transcript's two documents, as stored."""

    xml: bytes
    pdf: bytes


def due(documents: Documents, now: datetime) -> bool:
    """Whether either document needs (another) archive timestamp at ``now``."""
    from hub.signing.verification.pdf_reader import read_pdf
    from hub.signing.verification.xml_reader import read_xml

    with _as_long_term_error():
        return renewal_due(read_xml(documents.xml)[0], now) or renewal_due(
            read_pdf(documents.pdf)[0], now
        )


async def make_long_term(
    documents: Documents, *, trust: TrustStore, timestamper: TimeStamper
) -> Documents:
    """Both documents made long-term (or their archive timestamps renewed), or
    :class:`LongTermError` / the TSA's ``OSError`` with nothing changed."""
    with _as_long_term_error():
        xml = await xml_long_term(documents.xml, trust=trust, timestamper=timestamper)
        pdf = await pdf_long_term(
            documents.pdf, trust=trust, timestamper=timestamper, signed_xml=xml
        )
    return Documents(xml, pdf)


@contextlib.contextmanager
def _as_long_term_error() -> Iterator[None]:
    """A document the engines cannot take further — no signature timestamp (sealed
    without a TSA), damaged, unreadable — is :class:`LongTermError` to the seal and the
    archive job, which keep it as it is and report it, never an error that stops them."""
    from hub.signing.pades import PadesError
    from hub.signing.verification.report import DocumentRejected

    try:
        yield
    except (xades.XadesError, PadesError, DocumentRejected, PdfError) as error:
        raise LongTermError(str(error)[:300]) from error


# --- PDF ------------------------------------------------------------------------------


async def pdf_long_term(
    pdf: bytes,
    *,
    trust: TrustStore,
    timestamper: TimeStamper,
    signed_xml: bytes | None = None,
) -> bytes:
    """``pdf`` made (or kept) PAdES B-LTA: one revision with a DSS holding the evidence
    of every signature that has no VRI entry yet and a new document timestamp, then a
    revision with that timestamp's TSA's evidence. The first time, ``signed_xml`` (the
    transcript's finished XML) goes in with the timestamp (:func:`_carry`). Raises
    :class:`LongTermError` (nothing written) when evidence cannot be had."""
    reader = PdfFileReader(io.BytesIO(pdf))
    try:
        known = set(DocumentSecurityStore.read_dss(reader).vri_entries)
    except NoDSSFoundError:
        known = set()
    missing = []
    for embedded in reader.embedded_regular_signatures:
        key = _vri_key(embedded)
        if DocumentSecurityStore.sig_content_identifier(key) not in known:
            missing.append((key, await _uncarried(trust, _pdf_chains(embedded))))
    writer = RevisionWriter(io.BytesIO(pdf))
    _supply_dss(writer, missing)
    field = None
    if signed_xml is not None and not reader.embedded_timestamp_signatures:
        field = _carry(writer, signed_xml)
    output = io.BytesIO()
    await PdfTimeStamper(timestamper, field_name=field).async_timestamp_pdf(
        writer, "sha256", output=output, bytes_reserved=_room_for_a_token(reader)
    )
    pdf = output.getvalue()
    # The new document timestamp's own TSA, so the latest timestamp too verifies offline.
    newest = PdfFileReader(io.BytesIO(pdf)).embedded_timestamp_signatures[-1]
    evidence = await _uncarried(trust, _pdf_chains(newest))
    writer = RevisionWriter(io.BytesIO(pdf))
    _supply_dss(writer, [(_vri_key(newest), evidence)])
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


async def _uncarried(
    trust: TrustStore, chains: Sequence[tuple[x509.Certificate, Sequence[x509.Certificate]]]
) -> Evidence:
    """:func:`gather`'s evidence less the certificates the signatures and timestamps
    already carry (CMS, ``ds:KeyInfo``): a verifier reads those from there, so the DSS
    or the XAdES values need not hold them twice."""
    evidence = await gather(trust, chains)
    carried = {c for certificate, others in chains for c in (certificate, *others)}
    return dataclasses.replace(
        evidence, certificates=tuple(c for c in evidence.certificates if c not in carried)
    )


def _carry(writer: RevisionWriter, signed_xml: bytes) -> str:
    """The first document timestamp's field, made here to carry the signed XML.

    A sealed PDF holds the fully signed (long-term) XML, so the one file a family keeps
    carries both. It cannot go in the seal's own revision — the XML's seal signature
    is made in the same provider transaction as the PDF's — nor into the catalog's
    attachments after a signature: any verifier's difference analysis (pyHanko's,
    Adobe's) then finds the signed revisions changed. What a later revision may add is
    a signature field with its appearance; so the XML is the associated file (``/AF``,
    ``/AFRelationship /Alternative``, PDF/A-3) of the empty appearance of the
    document timestamp's field, and that timestamp covers it. The draft the page was
    rendered with stays the document's attachment, covered by every signature;
    :mod:`hub.signing.verification.rules` checks the two say the same."""
    # The rendered attachment's shape (hub.documents.pdf.layout.attach_xml), its date
    # in the same form (pyHanko's EmbeddedFileObject would write "…Z").
    stream = generic.StreamObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/EmbeddedFile"),
            generic.NameObject("/Subtype"): generic.NameObject("/application/xml"),
            generic.NameObject("/Params"): generic.DictionaryObject(
                {
                    generic.NameObject("/Size"): generic.NumberObject(len(signed_xml)),
                    generic.NameObject("/ModDate"): generic.TextStringObject(
                        f"D:{datetime.now(UTC):%Y%m%d%H%M%S}+00'00'"
                    ),
                }
            ),
        },
        stream_data=signed_xml,
    )
    stream.compress()
    stream_ref = writer.add_object(stream)
    name = generic.TextStringObject(SIGNED_XML_NAME)
    carried = writer.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Filespec"),
                generic.NameObject("/F"): name,
                generic.NameObject("/UF"): name,
                generic.NameObject("/Desc"): generic.TextStringObject(
                    "Học bạ số XML đã ký đủ (giáo viên chủ nhiệm, hiệu trưởng, con dấu)"
                ),
                generic.NameObject("/AFRelationship"): generic.NameObject("/Alternative"),
                generic.NameObject("/EF"): generic.DictionaryObject(
                    {generic.NameObject("/F"): stream_ref, generic.NameObject("/UF"): stream_ref}
                ),
            }
        )
    )
    appearance = generic.StreamObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/XObject"),
            generic.NameObject("/Subtype"): generic.NameObject("/Form"),
            generic.NameObject("/BBox"): generic.ArrayObject([generic.NumberObject(0)] * 4),
            generic.NameObject("/Resources"): generic.DictionaryObject(),
            generic.NameObject("/AF"): generic.ArrayObject([carried]),
        },
        stream_data=b"",
    )
    append_signature_field(writer, SigFieldSpec(sig_field_name=CARRIER_FIELD, box=(0, 0, 0, 0)))
    field = next(
        ref.get_object()
        for ref in writer.root["/AcroForm"]["/Fields"]
        if ref.get_object().get("/T") == CARRIER_FIELD
    )
    field[generic.NameObject("/AP")] = generic.DictionaryObject(
        {generic.NameObject("/N"): writer.add_object(appearance)}
    )
    return CARRIER_FIELD


def _pdf_chains(
    embedded: EmbeddedPdfSignature,
) -> list[tuple[x509.Certificate, Sequence[x509.Certificate]]]:
    """The signer's chain and its signature timestamps' TSA chains, as carried."""
    tokens = [embedded.signed_data]
    unsigned = embedded.signer_info["unsigned_attrs"]
    if unsigned:
        tokens += [
            value["content"]
            for attribute in unsigned
            if attribute["type"].native == "signature_time_stamp_token"
            for value in attribute["values"]
        ]
    return [_carried_chain(signed_data) for signed_data in tokens]


#: Chains already classified, by what decides them (:func:`_carried_chain`).
_carried: Remembered[tuple[x509.Certificate, list[x509.Certificate]]] = Remembered(None, 1024)


def _carried_chain(
    signed_data: asn1_cms.SignedData,
) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """The signer's certificate and the others a CMS carries, as pyHanko's
    ``extract_certificate_info`` tells them apart.

    Which is the signer's is decided by the signer identifier and the certificates
    alone, and a batch's documents carry the same few (a class's teacher, a principal,
    a seal, one TSA): so each set is classified once — asn1crypto compares names
    slowly, and every document's chains were read again for each of its signatures."""
    try:
        (signer,) = signed_data["signer_infos"]
        key = (signer["sid"].dump(), tuple(c.dump() for c in signed_data["certificates"]))
    except (TypeError, ValueError):  # not one signer, no certificates: pyHanko says why
        key = None
    found = _carried.get(key) if key is not None else None
    if found is None:
        info = extract_certificate_info(signed_data)
        found = (_crypto(info.signer_cert), [_crypto(c) for c in info.other_certs])
        if key is not None:
            _carried.put(key, found)
    return found[0], list(found[1])


def _room_for_a_token(reader: PdfFileReader) -> int | None:
    """Hex room for a document timestamp: the largest token already in the document
    (the same TSA, as a rule) and 512 bytes to spare; None (pyHanko asks the TSA for a dummy
    token to measure) when the document holds none."""
    sizes = [
        len(stamp.pkcs7_content.rstrip(b"\x00")) for stamp in reader.embedded_timestamp_signatures
    ]
    for embedded in reader.embedded_regular_signatures:
        unsigned = embedded.signer_info["unsigned_attrs"]
        if unsigned:
            sizes += [
                len(value.dump())
                for attribute in unsigned
                if attribute["type"].native == "signature_time_stamp_token"
                for value in attribute["values"]
            ]
    return 2 * (max(sizes) + 512) if sizes else None


def _vri_key(embedded: EmbeddedPdfSignature) -> bytes:
    """What pyHanko hashes for a signature's VRI key (its ``/Contents`` as hex)."""
    return bytes(embedded.pkcs7_content.hex().encode("ascii"))


def _supply_dss(
    writer: IncrementalPdfFileWriter, entries: Sequence[tuple[bytes, Evidence]]
) -> None:
    """Add (or extend) the DSS in the revision ``writer`` is writing, a VRI per entry."""
    for key, evidence in entries:
        DocumentSecurityStore.supply_dss_in_writer(
            writer,
            key,
            certs=[_asn1(c) for c in evidence.certificates],
            ocsps=[asn1_ocsp.OCSPResponse.load(der) for der in evidence.ocsp],
            crls=[asn1_crl.CertificateList.load(der) for der in evidence.crls],
        )


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))


def _crypto(certificate: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(certificate.dump())


# --- XML ------------------------------------------------------------------------------


async def xml_long_term(xml: bytes, *, trust: TrustStore, timestamper: TimeStamper) -> bytes:
    """``xml`` made (or kept) XAdES LTA: the whole document's evidence in the last
    signature's values (first time only), a new archive timestamp, and its TSA's
    evidence. Raises :class:`LongTermError` (nothing changed) when evidence cannot be
    had, ``XadesError`` for a document whose last signature is not finished B-T."""
    from hub.signing.verification.xml_reader import read_xml

    signatures, _ = read_xml(xml)
    root = parse_document(xml)
    elements = root.findall(ds("Signature"))
    if not elements or len(elements) != len(signatures):
        raise xades.XadesError("the document has no signature to make long-term")
    last = elements[-1]
    unsigned = last.find(xades.UNSIGNED_SIGNATURE_PROPERTIES)
    if unsigned is None:
        raise xades.XadesError("the last signature has no signature timestamp (B-T) yet")
    if unsigned.find(xades141("ArchiveTimeStamp")) is None:
        _values(unsigned, await _uncarried(trust, chains_of(signatures)))
    token = await xades.timestamp_token(xades.archive_input(last), timestamper)
    stamp = _sub141(unsigned, "ArchiveTimeStamp")
    xades.sub(stamp, ds("CanonicalizationMethod"), Algorithm=xades.EXC_C14N)
    xades.sub(stamp, xades.xades("EncapsulatedTimeStamp"), base64.b64encode(token).decode())
    tsa, carried = _carried_chain(asn1_cms.ContentInfo.load(token)["content"])
    evidence = await _uncarried(trust, [(tsa, carried)])
    _values(_sub141(unsigned, "TimeStampValidationData"), evidence)
    return serialise(root)


def _sub141(parent: xades.Element, name: str) -> xades.Element:
    """A XAdES 1.4.1 element, its namespace declared on it as ``xadesv141``."""
    return etree.SubElement(parent, xades141(name), nsmap={"xadesv141": xades.XADES141_NAMESPACE})


def _values(parent: xades.Element, evidence: Evidence) -> None:
    """``xades:CertificateValues`` (when any is not in the document already) and
    ``xades:RevocationValues`` holding ``evidence``."""
    if evidence.certificates:
        certificates = xades.sub(parent, xades.xades("CertificateValues"))
    for certificate in evidence.certificates:
        xades.sub(
            certificates,
            xades.xades("EncapsulatedX509Certificate"),
            base64.b64encode(certificate.public_bytes(Encoding.DER)).decode(),
        )
    revocation = xades.sub(parent, xades.xades("RevocationValues"))
    if evidence.crls:
        crls = xades.sub(revocation, xades.xades("CRLValues"))
        for der in evidence.crls:
            xades.sub(crls, xades.xades("EncapsulatedCRLValue"), base64.b64encode(der).decode())
    if evidence.ocsp:
        responses = xades.sub(revocation, xades.xades("OCSPValues"))
        for der in evidence.ocsp:
            xades.sub(
                responses, xades.xades("EncapsulatedOCSPValue"), base64.b64encode(der).decode()
            )
