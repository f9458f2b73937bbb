"""The demo PKI behind the signing simulators: roots, issuing CAs, CRL, OCSP and a TSA.

Named after the real Vietnamese hierarchy with "(DEMO)" so nobody mistakes a demo
signature for a real one (PROVIDERS.md): the Government CA root and its issuing
CA for official-duty certificates, the national root with the public CAs (VNPT,
Viettel) under it, and a CA for a generic CSC server. End-entity certificates are
bound to a person's 12-digit personal ID (``UID=CCCD:…``) or to a school (seal,
``UID=MNS:…`` with the ministry's school code), and point at this PKI's CRL and
OCSP responder, which :meth:`DemoPKI.app` serves over HTTP with an RFC 3161
timestamp authority.

Keys never leave the process that made them: simulators hold end-entity keys and
sign with them; the hub sees only certificates and signature values.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign import general
from pyhanko.sign.general import simple_cms_attribute
from pyhanko.sign.timestamps.api import TimeStamper
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.adapters.signing.certificates import PERSONAL_ID_PREFIXES, SCHOOL_CODE_PREFIX
from hub.signing.timestamp_requests import TemplateRequests

GOV_ROOT = "gov-root"
GOV = "gov"
NATIONAL_ROOT = "national-root"
VNPT = "vnpt"
VIETTEL = "viettel"
CSC_DEMO = "csc-demo"
TSA = "tsa"

#: slug → (common name, organisation, parent slug); roots have no parent.
HIERARCHY: dict[str, tuple[str, str, str | None]] = {
    GOV_ROOT: ("RootCA chuyên dùng Chính phủ G2 (DEMO)", "Ban Cơ yếu Chính phủ", None),
    GOV: ("CA phục vụ các cơ quan Nhà nước G2 (DEMO)", "Ban Cơ yếu Chính phủ", GOV_ROOT),
    NATIONAL_ROOT: ("Vietnam National Root CA (DEMO)", "Bộ Khoa học và Công nghệ", None),
    VNPT: ("VNPT Certification Authority (DEMO)", "VNPT Group", NATIONAL_ROOT),
    VIETTEL: ("Viettel-CA (DEMO)", "Viettel Group", NATIONAL_ROOT),
    CSC_DEMO: ("CSC Cloud Signing CA (DEMO)", "CSC Demo", NATIONAL_ROOT),
}

_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_pem(key: rsa.RSAPrivateKey) -> bytes:
    """``key`` as unencrypted PKCS#8 PEM."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str, organisation: str, uid: str | None = None) -> x509.Name:
    parts = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    if uid:
        parts.append(x509.NameAttribute(NameOID.USER_ID, uid))
    return x509.Name(parts)


@dataclass(frozen=True, slots=True)
class Issued:
    """A key pair with its certificate and chain (issuing CA first, root last)."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]


@dataclass
class Authority:
    slug: str
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    parent: Authority | None
    #: serial → (revocation time, reason)
    revoked: dict[int, tuple[datetime, x509.ReasonFlags]] = field(default_factory=dict)

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """This CA's certificate and its parents', up to the root."""
        own = (self.certificate,)
        return own + self.parent.chain if self.parent else own


def _tlv(tag: int, content: bytes) -> bytes:
    """One DER element: tag, definite length, content."""
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


def _der_integer(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def _der_oid(dotted: str) -> bytes:
    return core.ObjectIdentifier(dotted).dump()


def _der_time(tag: int, moment: datetime) -> bytes:
    """GeneralizedTime (0x18, fraction without trailing zeros) or UTCTime (0x17), in UTC."""
    moment = moment.astimezone(UTC)
    if tag == 0x17:
        return _tlv(tag, moment.strftime("%y%m%d%H%M%SZ").encode())
    text = moment.strftime("%Y%m%d%H%M%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return _tlv(tag, (text + "Z").encode())


_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_ID_CT_TST_INFO = _der_oid("1.2.840.113549.1.9.16.1.4")
_ID_CONTENT_TYPE = _der_oid("1.2.840.113549.1.9.3")
_ID_MESSAGE_DIGEST = _der_oid("1.2.840.113549.1.9.4")
_ID_SIGNING_TIME = _der_oid("1.2.840.113549.1.9.5")
_ID_SIGNED_DATA = _der_oid("1.2.840.113549.1.7.2")
_DIGEST_ALGORITHMS = {name: algos.DigestAlgorithm({"algorithm": name}).dump() for name in _HASHES}


class DemoTsa:
    """The demo RFC 3161 timestamp authority.

    Each token's DER is assembled from parts encoded once (the TSA's certificates,
    its name, its ESS signing-certificate attribute): building it with asn1crypto
    objects, as pyHanko's ``DummyTimeStamper`` does, re-encodes the embedded
    certificates for every token (~15 ms), which made the simulated TSA the
    bottleneck of bulk signing; a real TSA answers in about a millisecond.
    """

    #: The TSA policy of the demo (the OID pyHanko's test TSA uses).
    POLICY = "1.3.6.1.4.1.4146.2.2"

    def __init__(self, tsa: Issued, clock: Callable[[], datetime] | None = None) -> None:
        #: What time it is for this TSA: the tests of archive-timestamp renewal run one
        #: years ahead (the hub's own TSA always says now).
        self._clock = clock or (lambda: datetime.now(UTC))
        self._key = tsa.key
        certificate = asn1_x509.Certificate.load(tsa.certificate.public_bytes(_DER))
        self._policy = _der_oid(self.POLICY)
        # tsa [0] EXPLICIT GeneralName, the directoryName choice [4] EXPLICIT Name.
        self._tsa_name = _tlv(0xA0, _tlv(0xA4, certificate.subject.dump()))
        embedded = sorted(c.public_bytes(_DER) for c in {tsa.certificate, *tsa.chain})
        self._certificates = _tlv(0xA0, b"".join(embedded))  # [0] IMPLICIT SET OF
        self._sid = cms.IssuerAndSerialNumber(
            {"issuer": certificate.issuer, "serial_number": certificate.serial_number}
        ).dump()
        self._signing_certificate = simple_cms_attribute(
            "signing_certificate", general.as_signing_certificate(certificate)
        ).dump()
        self._rsa = algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15"}).dump()

    def response(self, request_der: bytes) -> bytes:
        """The TimeStampResp (granted, with a token) for a DER TimeStampReq."""
        request = tsp.TimeStampReq.load(request_der)
        imprint = request["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        if algorithm not in _HASHES:
            return _tlv(0x30, _tlv(0x30, _der_integer(2)))  # rejection: badAlg
        now = self._clock()
        nonce = request["nonce"]
        tst_info = _tlv(
            0x30,
            _der_integer(1)
            + self._policy
            + imprint.dump()
            + _der_integer(int.from_bytes(os.urandom(8), "big"))
            + _der_time(0x18, now)
            + (nonce.dump() if nonce.native is not None else b"")
            + self._tsa_name,
        )
        hash_algorithm = _HASHES[algorithm]()
        digest = hashes.Hash(hash_algorithm)
        digest.update(tst_info)
        attributes = sorted(
            [
                _tlv(0x30, _ID_CONTENT_TYPE + _tlv(0x31, _ID_CT_TST_INFO)),
                _tlv(0x30, _ID_SIGNING_TIME + _tlv(0x31, _der_time(0x17, now))),
                self._signing_certificate,
                _tlv(
                    0x30,
                    _ID_MESSAGE_DIGEST + _tlv(0x31, _tlv(0x04, digest.finalize())),
                ),
            ]
        )
        signed = b"".join(attributes)
        signature = self._key.sign(_tlv(0x31, signed), PKCS1v15(), hash_algorithm)
        digest_algorithm = _DIGEST_ALGORITHMS[algorithm]
        signer_info = _tlv(
            0x30,
            _der_integer(1)
            + self._sid
            + digest_algorithm
            + _tlv(0xA0, signed)
            + self._rsa
            + _tlv(0x04, signature),
        )
        signed_data = _tlv(
            0x30,
            _der_integer(3)
            + _tlv(0x31, digest_algorithm)
            + _tlv(0x30, _ID_CT_TST_INFO + _tlv(0xA0, _tlv(0x04, tst_info)))
            + self._certificates
            + _tlv(0x31, signer_info),
        )
        token = _tlv(0x30, _ID_SIGNED_DATA + _tlv(0xA0, signed_data))
        return _tlv(0x30, _tlv(0x30, _der_integer(0)) + token)


class _InProcessTimeStamper(TemplateRequests):
    """A pyHanko ``TimeStamper`` that asks the demo TSA directly (no HTTP), writing its
    requests as the hub's HTTP client does. ``apart``: the TSA answers in another
    thread, so the caller's ``thread_time`` holds the signer's side of a timestamp
    alone, not the TSA's token signing (a benchmark's engine figure)."""

    def __init__(self, tsa: DemoTsa, *, apart: bool = False) -> None:
        super().__init__()
        self._tsa = tsa
        self._apart = apart

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        request = req.dump()
        if self._apart:
            return tsp.TimeStampResp.load(await asyncio.to_thread(self._tsa.response, request))
        return tsp.TimeStampResp.load(self._tsa.response(request))


class DemoPKI:
    """A small, complete PKI whose revocation services live at ``base_url``."""

    def __init__(self, base_url: str, authorities: dict[str, Authority], tsa: Issued) -> None:
        self.base_url = base_url.rstrip("/")
        self.authorities = authorities
        self.tsa = tsa
        self._tsa = DemoTsa(tsa)
        self._timestamper = _InProcessTimeStamper(self._tsa)

    # --- building -------------------------------------------------------------------------

    @classmethod
    def create(cls, base_url: str) -> DemoPKI:
        authorities: dict[str, Authority] = {}
        for slug, (common_name, organisation, parent_slug) in HIERARCHY.items():
            parent = authorities[parent_slug] if parent_slug else None
            key = new_key()
            years = 20 if parent is None else 10
            builder = (
                x509.CertificateBuilder()
                .subject_name(_name(common_name, organisation))
                .issuer_name(
                    parent.certificate.subject if parent else _name(common_name, organisation)
                )
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(_EPOCH)
                .not_valid_after(_EPOCH + timedelta(days=365 * years))
                .add_extension(
                    x509.BasicConstraints(ca=True, path_length=None if parent is None else 0),
                    critical=True,
                )
                .add_extension(
                    x509.KeyUsage(
                        digital_signature=True,
                        content_commitment=False,
                        key_encipherment=False,
                        data_encipherment=False,
                        key_agreement=False,
                        key_cert_sign=True,
                        crl_sign=True,
                        encipher_only=False,
                        decipher_only=False,
                    ),
                    critical=True,
                )
                .add_extension(
                    x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
                )
            )
            if parent:
                builder = builder.add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()),
                    critical=False,
                )
            certificate = builder.sign(parent.key if parent else key, hashes.SHA256())
            authorities[slug] = Authority(slug, key, certificate, parent)
        pki = cls.__new__(cls)
        pki.base_url = base_url.rstrip("/")
        pki.authorities = authorities
        tsa = pki._issue(
            GOV,
            _name("Dịch vụ dấu thời gian Chính phủ (DEMO)", "Ban Cơ yếu Chính phủ"),
            valid_from=_EPOCH,
            valid_to=_EPOCH + timedelta(days=365 * 10),
            extended_usage=ExtendedKeyUsageOID.TIME_STAMPING,
        )
        cls.__init__(pki, base_url, authorities, tsa)
        return pki

    def _issue(
        self,
        ca: str,
        subject: x509.Name,
        *,
        valid_from: datetime | None = None,
        valid_to: datetime | None = None,
        key: rsa.RSAPrivateKey | None = None,
        extended_usage: x509.ObjectIdentifier | None = None,
    ) -> Issued:
        key = key or new_key()
        certificate = self._certificate(
            ca,
            subject,
            key.public_key(),
            valid_from=valid_from,
            valid_to=valid_to,
            extended_usage=extended_usage,
        )
        return Issued(key, certificate, self.authorities[ca].chain)

    def _certificate(
        self,
        ca: str,
        subject: x509.Name,
        public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
        *,
        valid_from: datetime | None,
        valid_to: datetime | None,
        extended_usage: x509.ObjectIdentifier | None = None,
    ) -> x509.Certificate:
        authority = self.authorities[ca]
        now = datetime.now(UTC)
        valid_from = valid_from or now - timedelta(days=1)
        valid_to = valid_to or now + timedelta(days=2 * 365)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(authority.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(valid_from)
            .not_valid_after(valid_to)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            full_name=[x509.UniformResourceIdentifier(self.crl_url(ca))],
                            relative_name=None,
                            reasons=None,
                            crl_issuer=None,
                        )
                    ]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(
                            x509.AuthorityInformationAccessOID.OCSP,
                            x509.UniformResourceIdentifier(self.ocsp_url(ca)),
                        ),
                        x509.AccessDescription(
                            x509.AuthorityInformationAccessOID.CA_ISSUERS,
                            x509.UniformResourceIdentifier(f"{self.base_url}/certs/{ca}.cer"),
                        ),
                    ]
                ),
                critical=False,
            )
        )
        if extended_usage is not None:
            builder = builder.add_extension(x509.ExtendedKeyUsage([extended_usage]), critical=True)
        return builder.sign(authority.key, hashes.SHA256())

    def issue_person(
        self,
        ca: str,
        *,
        full_name: str,
        personal_id: str,
        organisation: str,
        valid_from: datetime | None = None,
        valid_to: datetime | None = None,
        key: rsa.RSAPrivateKey | None = None,
    ) -> Issued:
        """A personal signing certificate bound to ``personal_id`` (``UID=CCCD:…``)."""
        subject = _name(full_name, organisation, uid=f"{PERSONAL_ID_PREFIXES[0]}{personal_id}")
        return self._issue(ca, subject, valid_from=valid_from, valid_to=valid_to, key=key)

    def issue_seal(
        self,
        ca: str,
        *,
        school_name: str,
        school_code: str,
        valid_from: datetime | None = None,
        valid_to: datetime | None = None,
        key: rsa.RSAPrivateKey | None = None,
    ) -> Issued:
        """An organisation certificate for a school's seal (``UID=MNS:<ministry code>``)."""
        subject = self.seal_subject(school_name=school_name, school_code=school_code)
        return self._issue(ca, subject, valid_from=valid_from, valid_to=valid_to, key=key)

    def certify(
        self,
        ca: str,
        public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
        subject: x509.Name,
        *,
        valid_from: datetime | None = None,
        valid_to: datetime | None = None,
    ) -> x509.Certificate:
        """Certify a key made elsewhere (a PKCS#11 token's, for the school seal; an EC
        key of a CSC server's, whose end-entity keys may be ECDSA)."""
        return self._certificate(ca, subject, public_key, valid_from=valid_from, valid_to=valid_to)

    @staticmethod
    def seal_subject(*, school_name: str, school_code: str) -> x509.Name:
        return _name(school_name, school_name, uid=f"{SCHOOL_CODE_PREFIX}{school_code}")

    # --- revocation -----------------------------------------------------------------------

    def _authority_of(self, certificate: x509.Certificate) -> Authority:
        for authority in self.authorities.values():
            if authority.certificate.subject == certificate.issuer:
                return authority
        raise KeyError(f"not issued by this PKI: {certificate.subject.rfc4514_string()}")

    def revoke(
        self,
        certificate: x509.Certificate,
        *,
        at: datetime | None = None,
        reason: x509.ReasonFlags = x509.ReasonFlags.key_compromise,
    ) -> None:
        self._authority_of(certificate).revoked[certificate.serial_number] = (
            at or datetime.now(UTC),
            reason,
        )

    def revoked_at(self, certificate: x509.Certificate) -> datetime | None:
        entry = self._authority_of(certificate).revoked.get(certificate.serial_number)
        return entry[0] if entry else None

    def crl_url(self, ca: str) -> str:
        return f"{self.base_url}/crl/{ca}.crl"

    def ocsp_url(self, ca: str) -> str:
        return f"{self.base_url}/ocsp/{ca}"

    @property
    def tsa_url(self) -> str:
        return f"{self.base_url}/tsa"

    def crl(self, ca: str) -> bytes:
        authority = self.authorities[ca]
        now = datetime.now(UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(authority.certificate.subject)
            .last_update(now - timedelta(minutes=1))
            .next_update(now + timedelta(days=1))
            .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.key.public_key()),
                critical=False,
            )
        )
        for serial, (when, reason) in authority.revoked.items():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(when)
                .add_extension(x509.CRLReason(reason), critical=False)
                .build()
            )
        return builder.sign(authority.key, hashes.SHA256()).public_bytes(_DER)

    def ocsp_response(self, request_der: bytes) -> bytes:
        """Answer an OCSP request, signed by the issuing CA itself."""
        try:
            request = ocsp.load_der_ocsp_request(request_der)
        except ValueError:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.MALFORMED_REQUEST
            ).public_bytes(_DER)
        authority = next(
            (
                a
                for a in self.authorities.values()
                if request.issuer_key_hash == _key_hash(a.certificate, request.hash_algorithm)
            ),
            None,
        )
        if authority is None:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.UNAUTHORIZED
            ).public_bytes(_DER)
        now = datetime.now(UTC)
        revoked = authority.revoked.get(request.serial_number)
        # OCSP names the certificate by serial; the builder needs a certificate object
        # only for its serial and issuer, so a stand-in with that serial serves.
        subject = _stand_in(authority, request.serial_number)
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response(
                cert=subject,
                issuer=authority.certificate,
                algorithm=hashes.SHA1()
                if isinstance(request.hash_algorithm, hashes.SHA1)
                else hashes.SHA256(),
                cert_status=ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD,
                this_update=now - timedelta(minutes=1),
                next_update=now + timedelta(hours=12),
                revocation_time=revoked[0] if revoked else None,
                revocation_reason=revoked[1] if revoked else None,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, authority.certificate)
        )
        for extension in request.extensions:
            if isinstance(extension.value, x509.OCSPNonce):
                builder = builder.add_extension(extension.value, critical=False)
        return builder.sign(authority.key, hashes.SHA256()).public_bytes(_DER)

    # --- timestamps -----------------------------------------------------------------------

    def another_tsa(
        self, *, valid_to: datetime, clock: Callable[[], datetime] | None = None
    ) -> TimeStamper:
        """A second TSA, certified by the Government root until ``valid_to`` and telling
        time by ``clock``: the TSA of a later decade, for renewing archive timestamps."""
        issued = self._issue(
            GOV_ROOT,
            _name("Dịch vụ dấu thời gian Chính phủ G3 (DEMO)", "Ban Cơ yếu Chính phủ"),
            valid_from=_EPOCH,
            valid_to=valid_to,
            extended_usage=ExtendedKeyUsageOID.TIME_STAMPING,
        )
        return _InProcessTimeStamper(DemoTsa(issued, clock))

    @property
    def timestamper(self) -> TimeStamper:
        """An in-process TSA (pyHanko ``TimeStamper``) with this PKI's TSA key."""
        return self._timestamper

    def timestamper_apart(self) -> TimeStamper:
        """:attr:`timestamper`, but the TSA answers in another thread: what the calling
        thread spends on a timestamp is the signer's side only."""
        return _InProcessTimeStamper(self._tsa, apart=True)

    def timestamp_response(self, request_der: bytes) -> bytes:
        return self._tsa.response(request_der)

    # --- trust ----------------------------------------------------------------------------

    @property
    def roots(self) -> list[x509.Certificate]:
        return [a.certificate for a in self.authorities.values() if a.parent is None]

    def roots_pem(self) -> bytes:
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.roots)

    # --- persistence (the demo keeps its PKI across restarts) -------------------------------

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        authorities = {
            slug: _dump(authority.key, authority.certificate)
            | {
                "revoked": {
                    str(serial): [when.isoformat(), reason.value]
                    for serial, (when, reason) in authority.revoked.items()
                }
            }
            for slug, authority in self.authorities.items()
        }
        state = {
            "base_url": self.base_url,
            "authorities": authorities,
            "tsa": _dump(self.tsa.key, self.tsa.certificate),
        }
        (directory / "pki.json").write_text(json.dumps(state, indent=1))
        # What the hub itself reads in demo mode (hub.signing.trust.trust_store): the
        # roots alone, so it never loads this module.
        (directory / "roots.pem").write_bytes(self.roots_pem())

    @classmethod
    def load(cls, directory: Path) -> DemoPKI:
        state = json.loads((directory / "pki.json").read_text())
        authorities: dict[str, Authority] = {}
        for slug, (*_, parent_slug) in HIERARCHY.items():
            entry = state["authorities"][slug]
            key, certificate = _undump(entry)
            authority = Authority(
                slug, key, certificate, authorities[parent_slug] if parent_slug else None
            )
            authority.revoked = {
                int(serial): (datetime.fromisoformat(when), x509.ReasonFlags(reason))
                for serial, (when, reason) in entry["revoked"].items()
            }
            authorities[slug] = authority
        tsa_key, tsa_certificate = _undump(state["tsa"])
        tsa = Issued(tsa_key, tsa_certificate, authorities[GOV].chain)
        return cls(state["base_url"], authorities, tsa)

    # --- the HTTP face: CRL, OCSP, TSA, CA certificates --------------------------------------

    def app(self) -> Starlette:
        async def crl(request: Request) -> Response:
            slug = request.path_params["slug"]
            if slug not in self.authorities:
                return Response(status_code=404)
            return Response(self.crl(slug), media_type="application/pkix-crl")

        async def ocsp_post(request: Request) -> Response:
            return Response(
                self.ocsp_response(await request.body()), media_type="application/ocsp-response"
            )

        async def tsa(request: Request) -> Response:
            try:
                answer = self.timestamp_response(await request.body())
            except ValueError:
                return Response(status_code=400)
            return Response(answer, media_type="application/timestamp-reply")

        async def certificate(request: Request) -> Response:
            authority = self.authorities.get(request.path_params["slug"])
            if authority is None:
                return Response(status_code=404)
            return Response(
                authority.certificate.public_bytes(_DER), media_type="application/pkix-cert"
            )

        async def roots(request: Request) -> Response:
            return Response(self.roots_pem(), media_type="application/x-pem-file")

        return Starlette(
            routes=[
                Route("/crl/{slug}.crl", crl),
                Route("/ocsp/{slug}", ocsp_post, methods=["POST"]),
                Route("/tsa", tsa, methods=["POST"]),
                Route("/certs/{slug}.cer", certificate),
                Route("/roots.pem", roots),
            ]
        )


_DER = serialization.Encoding.DER
_NO_PASSWORD = serialization.NoEncryption()


def _key_hash(certificate: x509.Certificate, algorithm: hashes.HashAlgorithm) -> bytes:
    digest = hashes.Hash(algorithm)
    digest.update(
        certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.PKCS1
        )
    )
    return digest.finalize()


def _stand_in(authority: Authority, serial: int) -> x509.Certificate:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(authority.certificate.subject)
        .issuer_name(authority.certificate.subject)
        .public_key(authority.key.public_key())
        .serial_number(serial)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(authority.key, hashes.SHA256())
    )


def _dump(key: rsa.RSAPrivateKey, certificate: x509.Certificate) -> dict[str, str]:
    return {
        "key": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, _NO_PASSWORD
        ).decode(),
        "certificate": certificate.public_bytes(serialization.Encoding.PEM).decode(),
    }


def _undump(entry: dict[str, str]) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = serialization.load_pem_private_key(entry["key"].encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key, x509.load_pem_x509_certificate(entry["certificate"].encode())
