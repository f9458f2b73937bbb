"""Take a signed XML transcript apart: each ``ds:Signature`` as an :class:`ExtractedSignature`.

This is the XML half of verification (RULES.md §5); whether the certificates chain
to a trusted root, were valid and unrevoked at signing time, and whether the right
people signed in the right order is decided from what this returns by
:func:`hub.signing.verification.rules.assess`, the same way as for PDF.

The reader accepts exactly the shape :mod:`hub.signing.xades` writes and nothing
looser, because every freedom a verifier grants is a way to make it look at one thing
while the signature covers another:

- references are same-document ``#Id`` only, resolved through the ``Id`` attribute to
  exactly one element (a duplicated Id is a wrapping attack and fails);
- the only transform and canonicalisation is exclusive C14N, so a reference always
  covers its whole element; RSA with SHA-256/384/512, RSA-PSS or ECDSA with
  SHA-256 (:mod:`hub.signing.algorithms`), and SHA-256/384/512 digests;
- role and claimed time are read from the ``SignedProperties`` the signature
  references, inside its own ``QualifyingProperties``; ``SigningCertificateV2`` must
  name the first ``KeyInfo`` certificate, the one the value is verified with;
- a signature covers what came before when it references ``<content>`` itself and
  every earlier signature element itself (not merely an element with that Id).

It verifies with lxml and cryptography directly rather than through signxml, which
re-serialises and re-parses the whole document for every reference (several times
slower on a three-signature transcript, see ``bench/signing_xml.py``) and knows
nothing of XAdES timestamps; the tests check that signxml and xmlsec1 agree with it.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from datetime import datetime
from functools import lru_cache
from typing import Any

from asn1crypto import cms as asn1_cms
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7
from lxml import etree

from hub.documents.xml.transcript import TranscriptXmlError, validate_xml
from hub.domain.signers import SignerRole
from hub.signing import algorithms as signature_algorithms
from hub.signing.trust import Evidence
from hub.signing.verification.report import (
    DocumentRejected,
    ExtractedSignature,
    ReasonCode,
    Stamp,
)
from hub.signing.xades import (
    CONTENT,
    EXC_C14N,
    SIGNED_PROPERTIES_TYPE,
    TRANSCRIPT,
    UNSIGNED_SIGNATURE_PROPERTIES,
    Element,
    XadesError,
    archive_input,
    canonical,
    certificate_from_base64,
    ds,
    parse_document,
    xades,
    xades141,
)

#: The digests a signature, a reference or a timestamp may use, by hashlib name.
_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}
_SIGNATURE_METHODS: dict[str, hashes.HashAlgorithm] = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": _HASHES["sha256"],
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": _HASHES["sha384"],
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": _HASHES["sha512"],
}
#: Digest method URI → hashlib name.
_DIGEST_METHODS: dict[str, str] = {
    "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
}

_WITH_ID = etree.XPath("//*[@Id]")
_X509_CERTIFICATES = f"{ds('KeyInfo')}/{ds('X509Data')}/{ds('X509Certificate')}"
_QUALIFYING = f"{ds('Object')}/{xades('QualifyingProperties')}"


_SIGNATURE_TIMESTAMP = (
    f"{xades('UnsignedProperties')}/{xades('UnsignedSignatureProperties')}"
    f"/{xades('SignatureTimeStamp')}"
)


#: Not structlog: ``hub verify --json`` prints the verdict on stdout, where structlog
#: writes; the standard logger writes warnings to stderr until the server configures it.
log = logging.getLogger(__name__)


class _Broken(Exception):
    """A signature does not verify; the message says why, for ``problem``."""


# What a transcript never exceeds, by far: a few hundred elements, three signatures of a
# handful of references each. libxml2 itself refuses nesting deeper than 256 (huge_tree
# off), entities are never expanded and a DOCTYPE is refused (see parse_document).
MAX_ELEMENTS = 100_000
MAX_SIGNATURES = 8
MAX_REFERENCES = 8
MAX_KEYINFO_CERTIFICATES = 10
#: Schema violations reported one by one; the rest are counted.
MAX_LISTED = 10


def read_xml_signatures(xml: bytes) -> tuple[list[ExtractedSignature], list[str]]:
    """The signatures of an XML transcript in document order, and what is wrong with the
    document as a whole (not well-formed, not a transcript, not valid against the XSD).

    Never raises on bad input: a signature that does not verify is reported with
    ``intact=False`` and its ``problem``. Trust, validity and revocation are not
    checked here. (Verification calls :func:`read_xml` in a worker thread instead,
    which says *why* it gave up on a file.)
    """
    try:
        return read_xml(xml)
    except DocumentRejected as rejected:
        return [], [f"not a well-formed XML document: {rejected.detail_en}"]
    except Exception:  # the promise above
        log.warning("verify.xml_unexpected", exc_info=True)
        return [], ["not a well-formed XML document"]


def read_xml(xml: bytes) -> tuple[list[ExtractedSignature], list[str]]:
    """:func:`read_xml_signatures`, run where it may block: raises
    :class:`DocumentRejected` for a file it cannot or will not read as a whole."""
    try:
        root = parse_document(xml)
    except etree.XMLSyntaxError as error:
        raise _not_well_formed(error) from None
    except XadesError as error:
        raise DocumentRejected(
            ReasonCode.DOCUMENT_MALFORMED,
            "học bạ XML không được có khai báo DOCTYPE",
            str(error),
        ) from None
    if sum(1 for _ in root.iter()) > MAX_ELEMENTS:
        raise DocumentRejected(
            ReasonCode.DOCUMENT_TOO_COMPLEX,
            f"hơn {MAX_ELEMENTS} phần tử XML",
            f"more than {MAX_ELEMENTS} XML elements",
        )
    content = root.find(CONTENT)
    if root.tag != TRANSCRIPT or content is None:
        tag = root.tag if isinstance(root.tag, str) else "?"
        return [], [f"not a transcript: the root element is {tag}"]
    elements = root.findall(ds("Signature"))
    if len(elements) > MAX_SIGNATURES:
        raise DocumentRejected(
            ReasonCode.DOCUMENT_TOO_COMPLEX,
            f"{len(elements)} chữ ký, tối đa {MAX_SIGNATURES}",
            f"{len(elements)} signatures, at most {MAX_SIGNATURES}",
        )
    problems: list[str] = []
    try:
        validate_xml(xml)
    except TranscriptXmlError as error:
        head = str(error).split(":\n", 1)[0]
        problems += [f"{head}: {v}" for v in error.violations[:MAX_LISTED]] or [head]
        if len(error.violations) > MAX_LISTED:
            problems.append(f"{head}: {len(error.violations) - MAX_LISTED} more violations")
    document = _Document(root, content)
    signatures = [
        document.read(index, element, elements[:index]) for index, element in enumerate(elements)
    ]
    _read_long_term(elements, signatures)
    return signatures, problems


def _read_long_term(elements: list[Element], signatures: list[ExtractedSignature]) -> None:
    """The certificate and revocation values anywhere in the document's unsigned
    properties (the evidence, shared), and each signature's archive timestamps: its
    own and those of every later signature, which covers it through its references."""
    certificates: list[x509.Certificate] = []
    ocsp: list[bytes] = []
    crls: list[bytes] = []
    for element in elements:
        unsigned = element.find(UNSIGNED_SIGNATURE_PROPERTIES)
        if unsigned is None:
            continue
        for value in unsigned.iter(xades("EncapsulatedX509Certificate")):
            try:
                certificates.append(certificate_from_base64(value.text or ""))
            except (ValueError, TypeError):
                log.info("verify.xml_value_unreadable: a certificate value")
        for kind, into in (("EncapsulatedOCSPValue", ocsp), ("EncapsulatedCRLValue", crls)):
            for value in unsigned.iter(xades(kind)):
                try:
                    into.append(base64.b64decode(value.text or "", validate=True))
                except ValueError:
                    log.info("verify.xml_value_unreadable: %s", kind)
    evidence = Evidence(tuple(dict.fromkeys(certificates)), tuple(ocsp), tuple(crls))
    stamps = [
        [_read_archive(element, stamp) for stamp in _archive_stamps(element)]
        for element in elements
    ]
    for index, signature in enumerate(signatures):
        signature.evidence = evidence
        signature.archive_stamps = sorted(
            (stamp for later in stamps[index:] for stamp in later),
            key=lambda stamp: (stamp.time is None, stamp.time or datetime.min),
        )


def _archive_stamps(element: Element) -> list[Element]:
    unsigned = element.find(UNSIGNED_SIGNATURE_PROPERTIES)
    return [] if unsigned is None else unsigned.findall(xades141("ArchiveTimeStamp"))


def _read_archive(signature: Element, stamp: Element) -> Stamp:
    """An ``xadesv141:ArchiveTimeStamp``: a token over :func:`archive_input` of its
    signature as it stood before the stamp, whose CMS signature verifies."""
    method = stamp.find(ds("CanonicalizationMethod"))
    if method is None or method.get("Algorithm") != EXC_C14N:
        return Stamp(False, None, None, problem="it must use exclusive C14N")
    try:
        der = base64.b64decode(stamp.findtext(xades("EncapsulatedTimeStamp")) or "")
        tst_info, signer, others = _verified_token(der)
        imprint = tst_info["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        if algorithm not in _HASHES:
            return Stamp(False, None, signer, others, f"unsupported imprint {algorithm}")
        expected = hashlib.new(algorithm, archive_input(signature, stamp)).digest()
        if imprint["hashed_message"].native != expected:
            return Stamp(False, None, signer, others, "the signature changed after it was stamped")
        return Stamp(True, tst_info["gen_time"].native, signer, others)
    except _Broken as error:
        return Stamp(False, None, None, problem=str(error))
    except (RecursionError, MemoryError):
        raise
    except Exception as error:  # a token from anyone
        log.info("verify.xml_archive_unreadable: error=%s", repr(error)[:500])
        return Stamp(False, None, None, problem="its token cannot be read")


def _not_well_formed(error: etree.XMLSyntaxError) -> DocumentRejected:
    """libxml2's refusal as a stable phrase: where, not its words (they stay in the log)."""
    message = str(error.msg or "").lower()
    if "depth" in message or "huge" in message or "amplification" in message:
        return DocumentRejected(
            ReasonCode.DOCUMENT_TOO_COMPLEX,
            "các phần tử XML lồng nhau quá sâu hoặc quá lớn",
            "XML nested too deeply or too large",
        )
    log.info("verify.xml_unreadable: error=%s", str(error)[:500])
    line, column = error.position if error.position else (0, 0)
    return DocumentRejected(
        ReasonCode.DOCUMENT_MALFORMED,
        f"không phải XML hợp lệ, lỗi ở dòng {line}, cột {column}",
        f"not well-formed XML, at line {line}, column {column}",
    )


class _Document:
    """One document being read: its Ids, and canonical forms computed once (every
    signature references ``<content>``; later ones reference the same earlier ones)."""

    def __init__(self, root: Element, content: Element) -> None:
        self.content = content
        self.ids: dict[str, Element | None] = {}
        for element in _WITH_ID(root):
            key = element.get("Id")
            # A second element with the same Id makes the Id resolve to nothing.
            self.ids[key] = None if key in self.ids else element
        self._canonical: dict[tuple[str, tuple[str, ...] | None], bytes] = {}

    def resolve(self, uri: str) -> Element:
        if not uri or not uri.startswith("#"):
            raise _Broken(f"reference URI {uri!r} is not a same-document #Id")
        element = self.ids.get(uri[1:])
        if element is None:
            raise _Broken(f"reference {uri} resolves to no element, or to several")
        return element

    def canonical(self, uri: str, element: Element, prefixes: tuple[str, ...] | None) -> bytes:
        key = (uri, prefixes)
        if key not in self._canonical:
            self._canonical[key] = canonical(element, prefixes)
        return self._canonical[key]

    def read(self, index: int, element: Element, earlier: list[Element]) -> ExtractedSignature:
        result = ExtractedSignature(index=index, role=None, certificate=None)
        problems: list[str] = []
        try:
            carried = element.findall(_X509_CERTIFICATES)
            if len(carried) > MAX_KEYINFO_CERTIFICATES:
                raise ValueError("too many KeyInfo certificates")
            certificates = [certificate_from_base64(c.text or "") for c in carried]
        except (ValueError, TypeError) as error:
            log.info("verify.xml_certificate_unreadable: error=%s", str(error)[:500])
            problems.append("a KeyInfo certificate cannot be read")
        else:
            if certificates:
                result.certificate, result.other_certificates = certificates[0], certificates[1:]
            else:
                problems.append("KeyInfo carries no X509Certificate")
        covered: list[Element] = []
        try:
            properties = self._check_references(element, covered, problems)
            # Read even when a digest failed, so the report can say who the signer
            # claims to be; ``intact`` says whether to believe it.
            _read_properties(properties, result)
            if result.certificate is not None:
                _check_signing_certificate(properties, result.certificate)
                _check_signature_value(element, result.certificate)
        except _Broken as error:
            problems.append(str(error))
        except (RecursionError, MemoryError):
            raise
        except Exception as error:  # a signature from anyone
            log.info("verify.xml_signature_malformed: error=%s", repr(error)[:500])
            problems.append("the signature's structure cannot be read")
        result.intact = not problems
        result.covers_previous = all(any(e is c for c in covered) for e in (self.content, *earlier))
        if not result.covers_previous:
            problems.append("it does not reference <content> and every earlier signature")
        value = element.find(ds("SignatureValue"))
        qualifying = element.find(_QUALIFYING)
        stamp = qualifying.find(_SIGNATURE_TIMESTAMP) if qualifying is not None else None
        if stamp is not None and value is not None:
            try:
                timestamp_problem = _read_timestamp(stamp, value, result)
            except (RecursionError, MemoryError):
                raise
            except Exception as error:  # a token from anyone
                log.info("verify.xml_timestamp_malformed: error=%s", repr(error)[:500])
                result.timestamp_valid = False
                timestamp_problem = "the token cannot be read"
            if timestamp_problem:
                problems.append(f"timestamp: {timestamp_problem}")
        result.problem = "; ".join(problems) or None
        return result

    def _check_references(
        self, signature: Element, covered: list[Element], problems: list[str]
    ) -> Element:
        """Check every reference's digest, adding each element referenced to ``covered``
        and each mismatch to ``problems``; the signature's own ``SignedProperties``.
        Raises :class:`_Broken` when the structure is wrong."""
        signed_info = signature.find(ds("SignedInfo"))
        if signed_info is None:
            raise _Broken("no SignedInfo")
        properties: list[Element] = []
        references = signed_info.findall(ds("Reference"))
        if len(references) > MAX_REFERENCES:
            raise _Broken(f"more than {MAX_REFERENCES} references")
        for reference in references:
            uri = reference.get("URI") or ""
            target = self.resolve(uri)
            prefixes = _transform_prefixes(reference)
            method = reference.find(ds("DigestMethod"))
            digest = _DIGEST_METHODS.get(method.get("Algorithm", "") if method is not None else "")
            if digest is None:
                raise _Broken(f"reference {uri}: unsupported digest method")
            expected = base64.b64decode(reference.findtext(ds("DigestValue")) or "")
            if hashlib.new(digest, self.canonical(uri, target, prefixes)).digest() != expected:
                problems.append(f"the digest of {uri} does not match: changed after signing")
            covered.append(target)
            if reference.get("Type") == SIGNED_PROPERTIES_TYPE:
                properties.append(target)
        qualifying = signature.find(_QUALIFYING)
        own = qualifying.find(xades("SignedProperties")) if qualifying is not None else None
        signature_target = f"#{signature.get('Id')}"
        if (
            qualifying is None
            or qualifying.get("Target") != signature_target
            or own is None
            or len(properties) != 1
            or properties[0] is not own
        ):
            raise _Broken(
                "the signature must reference exactly its own xades:SignedProperties "
                f"(in QualifyingProperties Target={signature_target!r})"
            )
        return own


def _transform_prefixes(holder: Element) -> tuple[str, ...] | None:
    """Check that ``holder`` (a Reference) has exactly one transform, exclusive C14N, and
    return its InclusiveNamespaces PrefixList, if any."""
    transforms = holder.findall(f"{ds('Transforms')}/{ds('Transform')}")
    if len(transforms) != 1 or transforms[0].get("Algorithm") != EXC_C14N:
        raise _Broken("a reference must have exactly one transform, exclusive C14N")
    return _prefix_list(transforms[0])


def _prefix_list(method: Element) -> tuple[str, ...] | None:
    inclusive = method.find(f"{{{EXC_C14N}}}InclusiveNamespaces")
    if inclusive is None:
        return None
    return tuple(inclusive.get("PrefixList", "").split())


def _check_signature_value(signature: Element, certificate: x509.Certificate) -> None:
    """The value verifies over the canonical SignedInfo with the KeyInfo certificate."""
    signed_info = signature.find(ds("SignedInfo"))
    assert signed_info is not None  # _check_references found it
    c14n = signed_info.find(ds("CanonicalizationMethod"))
    if c14n is None or c14n.get("Algorithm") != EXC_C14N:
        raise _Broken("SignedInfo must be canonicalised with exclusive C14N")
    method = signed_info.find(ds("SignatureMethod"))
    uri = method.get("Algorithm", "") if method is not None else ""
    # RSA PKCS#1 v1.5 with SHA-384/512 too (made elsewhere); the hub's own algorithms
    # (RSA-PSS, ECDSA with SHA-256) as hub.signing.algorithms writes them.
    digest_algorithm = _SIGNATURE_METHODS.get(uri)
    algorithm = signature_algorithms.from_xmldsig_uri(uri)
    if digest_algorithm is not None:
        algorithm = signature_algorithms.SignatureAlgorithm.RSA_PKCS1_SHA256
    if algorithm is None:
        raise _Broken("unsupported signature method (RSA, RSA-PSS or ECDSA with SHA-256)")
    public_key = certificate.public_key()
    try:
        signature_algorithms.checked_key(algorithm, public_key)
    except signature_algorithms.UnsupportedAlgorithmError:
        raise _Broken(f"the certificate's key cannot sign {algorithm.value}") from None
    try:
        value = base64.b64decode(signature.findtext(ds("SignatureValue")) or "")
        signature_algorithms.verify(
            algorithm,
            public_key,
            signature_algorithms.from_xmldsig(algorithm, value),
            canonical(signed_info, _prefix_list(c14n)),
            hash_algorithm=digest_algorithm,
        )
    except (InvalidSignature, ValueError):
        raise _Broken("the signature value does not verify with the KeyInfo certificate") from None


def _check_signing_certificate(properties: Element, certificate: x509.Certificate) -> None:
    """``SigningCertificateV2`` names ``certificate``: its digest and, if given, issuer
    and serial. This binds the (unsigned) KeyInfo certificate to the signature."""
    cert = properties.find(
        f"{xades('SignedSignatureProperties')}/{xades('SigningCertificateV2')}/{xades('Cert')}"
    )
    if cert is None:
        raise _Broken("SignedProperties has no SigningCertificateV2")
    method = cert.find(f"{xades('CertDigest')}/{ds('DigestMethod')}")
    digest = _DIGEST_METHODS.get(method.get("Algorithm", "") if method is not None else "")
    expected = base64.b64decode(cert.findtext(f"{xades('CertDigest')}/{ds('DigestValue')}") or "")
    if (
        digest is None
        or hashlib.new(digest, certificate.public_bytes(Encoding.DER)).digest() != expected
    ):
        raise _Broken("SigningCertificateV2 does not match the KeyInfo certificate")
    issuer_serial = cert.findtext(xades("IssuerSerialV2"))
    if issuer_serial is not None and not _names(issuer_serial.strip(), certificate):
        raise _Broken("IssuerSerialV2 does not match the KeyInfo certificate")


@lru_cache(maxsize=1024)
def _names(issuer_serial: str, certificate: x509.Certificate) -> bool:
    """Whether a base64 RFC 5035 IssuerSerial names ``certificate``.

    Names are compared as X.500 names (asn1crypto's string preparation), which is
    slow, so the answer is kept: the same few certificates sign every transcript.
    """
    try:
        named = asn1_cms.IssuerSerial.load(base64.b64decode(issuer_serial))
        issuer = asn1_x509.Name.load(certificate.issuer.public_bytes())
        return named["serial"].native == certificate.serial_number and any(
            name.chosen == issuer for name in named["issuer"] if name.name == "directory_name"
        )
    except (ValueError, TypeError):
        return False


def _read_properties(properties: Element, result: ExtractedSignature) -> None:
    """Role and claimed signing time, from the SignedProperties the signature covers."""
    signature_properties = properties.find(xades("SignedSignatureProperties"))
    if signature_properties is None:
        return
    role = signature_properties.findtext(
        f"{xades('SignerRoleV2')}/{xades('ClaimedRoles')}/{xades('ClaimedRole')}"
    )
    if role is not None:
        try:
            result.role = SignerRole(role.strip())
        except ValueError:
            result.role = None
    claimed = signature_properties.findtext(xades("SigningTime"))
    if claimed is not None:
        try:
            moment = datetime.fromisoformat(claimed.strip())
        except ValueError:
            return
        # xs:dateTime without a zone names no instant; leave it unknown.
        result.claimed_time = moment if moment.tzinfo is not None else None


def _read_timestamp(stamp: Element, value: Element, result: ExtractedSignature) -> str | None:
    """Check the RFC 3161 token of ``xades:SignatureTimeStamp`` and fill the timestamp
    fields; the problem, if any.

    The token must be over the canonical ``ds:SignatureValue`` and its CMS signature
    must verify with the certificate it names; whether that TSA is trusted is
    ``assess``'s question.
    """
    result.timestamp_valid = False
    method = stamp.find(ds("CanonicalizationMethod"))
    if method is None or method.get("Algorithm") != EXC_C14N:
        return "the timestamp must say it covers the exclusive C14N of SignatureValue"
    try:
        der = base64.b64decode(stamp.findtext(xades("EncapsulatedTimeStamp")) or "")
        tst_info, signer, others = _verified_token(der)
        result.timestamp_certificate, result.timestamp_other_certificates = signer, others
        imprint = tst_info["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        if algorithm not in _HASHES:
            return f"unsupported message imprint algorithm {algorithm}"
        expected = hashlib.new(algorithm, canonical(value, _prefix_list(method))).digest()
        if imprint["hashed_message"].native != expected:
            return "the token is over another signature value"
        moment = tst_info["gen_time"].native
    except _Broken as error:
        return str(error)
    except (ValueError, TypeError, KeyError) as error:
        log.info("verify.xml_timestamp_unreadable: error=%s", str(error)[:500])
        return "the token cannot be read"
    result.timestamp_valid = True
    result.timestamp_time = moment
    return None


def _verified_token(der: bytes) -> tuple[tsp.TSTInfo, x509.Certificate, list[x509.Certificate]]:
    """The TSTInfo of an RFC 3161 token whose CMS signature verifies (RFC 5652 §5.4,
    RFC 3161 §2.4.2), the signer's certificate and the other certificates it carries.

    Done with asn1crypto and cryptography rather than pyHanko's generic CMS
    validation, which compares names with LDAP string preparation and costs about
    5 ms a token; certificates are parsed once per distinct DER.
    """
    token = asn1_cms.ContentInfo.load(der)
    if token["content_type"].native != "signed_data":
        raise _Broken("the token is not CMS SignedData")
    signed_data = token["content"]
    encapsulated = signed_data["encap_content_info"]
    if encapsulated["content_type"].native != "tst_info":
        raise _Broken("the token does not hold a TSTInfo")
    if len(signed_data["signer_infos"]) != 1:
        raise _Broken("the token must have exactly one signer")
    signer_info = signed_data["signer_infos"][0]
    # cryptography's own parser: asn1crypto re-encodes each certificate to dump it.
    certificates = pkcs7.load_der_pkcs7_certificates(der)
    signer = _token_signer(signer_info["sid"], certificates)
    digest_algorithm = signer_info["digest_algorithm"]["algorithm"].native
    if digest_algorithm not in _HASHES:
        raise _Broken(f"unsupported token digest algorithm {digest_algorithm}")
    signed_attributes = signer_info["signed_attrs"]
    if not isinstance(signed_attributes, asn1_cms.CMSAttributes):
        raise _Broken("the token has no signed attributes")
    attributes: dict[str, Any] = {}
    for attribute in signed_attributes:
        name = attribute["type"].native
        if name in attributes or len(attribute["values"]) != 1:
            raise _Broken(f"the token's signed attribute {name} is repeated")
        attributes[name] = attribute["values"][0]
    if "content_type" not in attributes or attributes["content_type"].native != "tst_info":
        raise _Broken("the token's content-type attribute is not TSTInfo")
    content = bytes(encapsulated["content"])
    expected = hashlib.new(digest_algorithm, content).digest()
    if "message_digest" not in attributes or attributes["message_digest"].native != expected:
        raise _Broken("the token's message digest does not match its TSTInfo")
    _check_ess_certificate(attributes, signer)
    # The signature covers the DER SET OF the attributes, not their [0] IMPLICIT form.
    signed = b"\x31" + signed_attributes.dump()[1:]
    _check_token_signature(signer, signer_info, signed, _HASHES[digest_algorithm])
    return encapsulated["content"].parsed, signer, [c for c in certificates if c is not signer]


def _token_signer(
    sid: asn1_cms.SignerIdentifier, certificates: list[x509.Certificate]
) -> x509.Certificate:
    """The certificate the token's SignerIdentifier names, among those it carries."""
    for certificate in certificates:
        if sid.name == "issuer_and_serial_number":
            named = sid.chosen
            if (
                named["serial_number"].native == certificate.serial_number
                and named["issuer"].dump() == certificate.issuer.public_bytes()
            ):
                return certificate
        else:
            try:
                key_id = certificate.extensions.get_extension_for_class(
                    x509.SubjectKeyIdentifier
                ).value.digest
            except x509.ExtensionNotFound:
                continue
            if key_id == sid.chosen.native:
                return certificate
    raise _Broken("the token does not carry its signer's certificate")


def _check_ess_certificate(attributes: dict[str, Any], signer: x509.Certificate) -> None:
    """RFC 3161 requires the ESS signing-certificate attribute (v1 or v2): it binds the
    TSA certificate to the signature, so a look-alike certificate cannot be swapped in."""
    if "signing_certificate_v2" in attributes:
        cert_id = attributes["signing_certificate_v2"]["certs"][0]
        algorithm = cert_id["hash_algorithm"]["algorithm"].native
    elif "signing_certificate" in attributes:
        cert_id = attributes["signing_certificate"]["certs"][0]
        algorithm = "sha1"  # ESSCertID (v1) is SHA-1 by definition
    else:
        raise _Broken("the token has no ESS signing-certificate attribute")
    own = hashlib.new(algorithm, signer.public_bytes(Encoding.DER)).digest()
    if own != cert_id["cert_hash"].native:
        raise _Broken("the token's ESS signing-certificate does not name its signer")


def _check_token_signature(
    signer: x509.Certificate,
    signer_info: asn1_cms.SignerInfo,
    signed: bytes,
    algorithm: hashes.HashAlgorithm,
) -> None:
    kind = signer_info["signature_algorithm"].signature_algo
    signature = signer_info["signature"].native
    key = signer.public_key()
    try:
        if kind == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, padding.PKCS1v15(), algorithm)
        elif kind == "ecdsa" and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed, ec.ECDSA(algorithm))
        else:
            raise _Broken(f"unsupported token signature algorithm {kind}")
    except InvalidSignature:
        raise _Broken("the token's signature does not verify") from None
