"""Does a signer's certificate count at the moment it signed (RULES.md §5)?

Three questions, answered separately so each answer can be cached:

1. **Path**: does the certificate chain to a root in the trust store (signatures
   on the chain, CA constraints, key usage)? pyhanko-certvalidator builds and
   checks the path; the answer does not depend on the signing time, so it is kept
   per certificate.
2. **Validity**: was every certificate on the path inside its validity period at
   the signing time? A comparison of dates, done per signature.
3. **Revocation**: was the certificate revoked before the signing time? Asked of
   the issuer's OCSP responder (falling back to its CRL) named in the
   certificate, signed by the issuer, and kept for :data:`REVOCATION_TTL`; the
   revocation *time* is kept, so "revoked after it signed" still counts as good.

A long-term signed document (PAdES/XAdES LTA, :mod:`hub.signing.longterm`) carries
the OCSP responses and CRLs it needs: :meth:`TrustStore.revocation` reads those
first (:class:`Evidence`, judged offline by :func:`judge_evidence`) and asks the
network only when the document holds no answer. :meth:`TrustStore.fetch_evidence`
fetches the raw answer that signing embeds.

The trust store is the demo roots in demo mode and a configured list of real
roots (PEM files) otherwise. Revocation of intermediate CAs is taken from the
trust list (an intermediate that is no longer trusted is removed from it).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError, ValidationError

from hub.config import Mode, Settings
from hub.memo import Remembered
from hub.signing import algorithms

#: How long a revocation answer is reused before asking again.
REVOCATION_TTL = timedelta(minutes=5)
_FETCH_TIMEOUT = httpx.Timeout(5.0, connect=2.0)


@dataclass(frozen=True, slots=True)
class PathResult:
    trusted: bool
    #: The validated path, end-entity first, root last (empty when not trusted).
    path: tuple[x509.Certificate, ...]
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class RevocationResult:
    #: None: could not find out (``problem`` says why).
    checked: bool
    revoked_at: datetime | None = None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """Validation data a document carries (a PDF's DSS, XAdES certificate and revocation
    values): certificates, and OCSP responses and CRLs as DER, judged only when used."""

    certificates: tuple[x509.Certificate, ...] = ()
    ocsp: tuple[bytes, ...] = ()
    crls: tuple[bytes, ...] = ()

    def __or__(self, other: Evidence) -> Evidence:
        return Evidence(
            tuple(dict.fromkeys((*self.certificates, *other.certificates))),
            tuple(dict.fromkeys((*self.ocsp, *other.ocsp))),
            tuple(dict.fromkeys((*self.crls, *other.crls))),
        )


#: An OCSP response or CRL made this long before the moment it must vouch for still
#: counts: the clocks of a TSA and a CA's responder are not the same clock.
CLOCK_SKEW = timedelta(minutes=5)


class EvidenceUnavailable(RuntimeError):
    """No revocation answer could be fetched for a certificate that names a source."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """A revocation answer as fetched: what it says, and its DER to embed."""

    result: RevocationResult
    kind: str  # "ocsp" or "crl"
    der: bytes = field(repr=False)


class TrustStore:
    """Trusted roots, with cached path and revocation answers, and the verdicts on the
    hub's stored documents that rest on them (:attr:`stored_verdicts`)."""

    def __init__(self, roots: Iterable[x509.Certificate], *, fetch_revocation: bool = True) -> None:
        self.roots = list(roots)
        self.fetch_revocation = fetch_revocation
        self._asn1_roots = [_asn1(root) for root in self.roots]
        self._paths: dict[tuple[bytes, ...], PathResult] = {}
        self._revocations: dict[bytes, tuple[float, RevocationResult]] = {}
        self._locks: dict[bytes, asyncio.Lock] = {}
        #: Verdicts on stored documents, kept no longer than the revocation answers they
        #: rest on (hub.signing.verification.records): a QR code's page verifies once.
        self.stored_verdicts: Remembered[object] = Remembered(REVOCATION_TTL, 4096)
        #: Answers fetched to embed (:meth:`fetch_evidence`), no older than
        #: :data:`CLOCK_SKEW`, so each still vouches for a signature made since.
        self._evidence: Remembered[Fetched] = Remembered(CLOCK_SKEW, 4096)
        #: The HTTP client of each event loop that asks (:meth:`_client`).
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    def _client(self) -> httpx.AsyncClient:
        """The client this event loop's OCSP and CRL requests share, made on its first
        request: a new client per request built its TLS context and connection pool
        every time (an archive run asks for hundreds of answers). One per loop, as a
        client's connections belong to the loop that opened them."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            client = self._clients[loop] = httpx.AsyncClient(timeout=_FETCH_TIMEOUT)
        return client

    async def aclose(self) -> None:
        """Close the running event loop's client, if it made one."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    @classmethod
    def from_pem_files(cls, files: Iterable[Path], **options: bool) -> TrustStore:
        roots: list[x509.Certificate] = []
        for file in files:
            roots.extend(x509.load_pem_x509_certificates(Path(file).read_bytes()))
        return cls(roots, **options)

    # --- 1. path ----------------------------------------------------------------------------

    async def path(
        self, certificate: x509.Certificate, others: Sequence[x509.Certificate] = ()
    ) -> PathResult:
        key = (_fingerprint(certificate), *sorted(_fingerprint(c) for c in others))
        cached = self._paths.get(key)
        if cached is None:
            cached = await self._build_path(certificate, others)
            self._paths[key] = cached
        return cached

    async def _build_path(
        self, certificate: x509.Certificate, others: Sequence[x509.Certificate]
    ) -> PathResult:
        # Checked at a moment inside the certificate's life: whether it was valid
        # when it signed is question 2, asked per signature.
        moment = certificate.not_valid_before_utc + timedelta(seconds=1)
        context = ValidationContext(
            trust_roots=self._asn1_roots,
            other_certs=[_asn1(c) for c in others],
            moment=moment,
            allow_fetching=False,
            revocation_mode="soft-fail",
        )
        validator = CertificateValidator(_asn1(certificate), validation_context=context)
        try:
            path = await validator.async_validate_usage(set())
        except PathBuildingError as error:
            return PathResult(False, (), f"no path to a trusted root: {error}")
        except (PathValidationError, ValidationError) as error:
            return PathResult(False, (), f"path does not validate: {error}")
        chain = [
            x509.load_der_x509_certificate(c.dump()) for c in path.iter_certs(include_root=True)
        ]
        return PathResult(True, tuple(reversed(chain)))

    # --- 3. revocation ----------------------------------------------------------------------

    async def revocation(
        self,
        certificate: x509.Certificate,
        issuer: x509.Certificate,
        *,
        evidence: Evidence | None = None,
        since: datetime | None = None,
    ) -> RevocationResult:
        """Was ``certificate`` revoked, and when? From ``evidence`` the document carries
        when it holds an answer made at or after ``since`` (the moment the answer must
        vouch for), else from the network (cached)."""
        if evidence is not None:
            embedded = judge_evidence(certificate, issuer, evidence, since)
            if embedded is not None:
                return embedded
        key = _fingerprint(certificate)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._revocations.get(key)
            if cached and time.monotonic() - cached[0] < REVOCATION_TTL.total_seconds():
                return cached[1]
            result = await self._ask_revocation(certificate, issuer)
            if result.checked:
                self._revocations[key] = (time.monotonic(), result)
            return result

    async def _ask_revocation(
        self, certificate: x509.Certificate, issuer: x509.Certificate
    ) -> RevocationResult:
        if not self.fetch_revocation:
            return RevocationResult(False, problem="revocation checking is switched off")
        fetched, problem = await _fetch(self._client(), certificate, issuer)
        return fetched.result if fetched else RevocationResult(False, problem=problem)

    async def fetch_evidence(
        self, certificate: x509.Certificate, issuer: x509.Certificate
    ) -> Fetched | None:
        """The issuer's current answer on ``certificate``, as DER to embed in a document
        (OCSP first, then the CRL); None when the certificate names no source. Raises
        :class:`EvidenceUnavailable` when it names one and none answers usably."""
        if not (_ocsp_urls(certificate) or _crl_urls(certificate)):
            return None
        key = _fingerprint(certificate)
        kept = self._evidence.get(key)
        if isinstance(kept, Fetched):
            return kept  # a class sealed at once asks once per CA and signer
        fetched, problem = await _fetch(self._client(), certificate, issuer)
        if fetched is None:
            raise EvidenceUnavailable(problem)
        self._evidence.put(key, fetched)
        return fetched


async def _fetch(
    client: httpx.AsyncClient, certificate: x509.Certificate, issuer: x509.Certificate
) -> tuple[Fetched | None, str]:
    """The first usable answer of the certificate's OCSP responders, then CRLs."""
    problems: list[str] = []
    for url in _ocsp_urls(certificate):
        try:
            return await _ask_ocsp(client, url, certificate, issuer), ""
        except (httpx.HTTPError, ValueError, InvalidSignature) as error:
            problems.append(f"OCSP {url}: {error!r}")
    for url in _crl_urls(certificate):
        try:
            return await _ask_crl(client, url, certificate, issuer), ""
        except (httpx.HTTPError, ValueError, InvalidSignature) as error:
            problems.append(f"CRL {url}: {error!r}")
    if not problems:
        problems.append("the certificate names no OCSP responder and no CRL")
    return None, "; ".join(problems)


def judge_evidence(
    certificate: x509.Certificate,
    issuer: x509.Certificate,
    evidence: Evidence,
    since: datetime | None,
) -> RevocationResult | None:
    """What the document's own OCSP responses or CRLs say of ``certificate``: the first
    one for it, signed by its issuer (or the issuer's delegated responder), made no
    earlier than ``since`` less :data:`CLOCK_SKEW`; None when none qualifies.

    An answer made after the signature still vouches for the moment of signing: a
    revocation is never undone, and a "revoked" answer carries its revocation time."""
    earliest = since - CLOCK_SKEW if since is not None else None
    for der in evidence.ocsp:
        try:
            response = ocsp.load_der_ocsp_response(der)
            if (
                response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL
                or response.serial_number != certificate.serial_number
                or (earliest is not None and response.produced_at_utc < earliest)
            ):
                continue
            return _judge_ocsp(response, issuer)
        except (ValueError, InvalidSignature):
            continue
    for der in evidence.crls:
        try:
            crl = x509.load_der_x509_crl(der)
            if crl.issuer != issuer.subject or (
                earliest is not None and crl.last_update_utc < earliest
            ):
                continue
            return _judge_crl(crl, certificate, issuer)
        except (ValueError, InvalidSignature):
            continue
    return None


def trust_store(
    settings: Settings, *, extra: Iterable[Path] = (), fetch_revocation: bool = True
) -> TrustStore:
    """The configured roots, plus ``extra`` PEM files, plus the demo roots in demo mode
    (``roots.pem``, which the demo PKI writes beside its state, so the hub never loads
    the demo PKI itself)."""
    files = [*settings.trust_roots, *extra]
    demo_roots = settings.demo_pki_dir / "roots.pem"
    if settings.mode is Mode.DEMO and demo_roots.exists():
        files.append(demo_roots)
    return TrustStore.from_pem_files(files, fetch_revocation=fetch_revocation)


async def _ask_ocsp(
    client: httpx.AsyncClient, url: str, certificate: x509.Certificate, issuer: x509.Certificate
) -> Fetched:
    request = (
        ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA256()).build()
    )
    answer = await client.post(
        url,
        content=request.public_bytes(serialization.Encoding.DER),
        headers={"Content-Type": "application/ocsp-request"},
    )
    answer.raise_for_status()
    response = ocsp.load_der_ocsp_response(answer.content)
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise ValueError(f"OCSP status {response.response_status.name}")
    if response.serial_number != certificate.serial_number:
        raise ValueError("OCSP answered for another certificate")
    return Fetched(_judge_ocsp(response, issuer), "ocsp", answer.content)


def _judge_ocsp(response: ocsp.OCSPResponse, issuer: x509.Certificate) -> RevocationResult:
    """A successful response's verdict, once its signature checks out."""
    signer = _ocsp_signer(response, issuer)
    _verify(
        signer.public_key(),
        response.signature,
        response.tbs_response_bytes,
        response.signature_hash_algorithm,
    )
    if response.certificate_status is ocsp.OCSPCertStatus.REVOKED:
        return RevocationResult(True, revoked_at=response.revocation_time_utc)
    if response.certificate_status is ocsp.OCSPCertStatus.UNKNOWN:
        raise ValueError("OCSP responder does not know the certificate")
    return RevocationResult(True)


def _ocsp_signer(response: ocsp.OCSPResponse, issuer: x509.Certificate) -> x509.Certificate:
    """The issuer itself, or a delegated responder certificate the issuer signed."""
    if response.responder_name == issuer.subject or response.responder_key_hash == _key_id(issuer):
        return issuer
    for candidate in response.certificates:
        if candidate.issuer == issuer.subject:
            _verify(
                issuer.public_key(),
                candidate.signature,
                candidate.tbs_certificate_bytes,
                candidate.signature_hash_algorithm,
            )
            usage = candidate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            if x509.oid.ExtendedKeyUsageOID.OCSP_SIGNING in usage:
                return candidate
    raise ValueError("OCSP response is not signed by the issuer or its responder")


async def _ask_crl(
    client: httpx.AsyncClient, url: str, certificate: x509.Certificate, issuer: x509.Certificate
) -> Fetched:
    answer = await client.get(url)
    answer.raise_for_status()
    crl = x509.load_der_x509_crl(answer.content)
    return Fetched(_judge_crl(crl, certificate, issuer), "crl", answer.content)


def _judge_crl(
    crl: x509.CertificateRevocationList, certificate: x509.Certificate, issuer: x509.Certificate
) -> RevocationResult:
    if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
        raise ValueError("CRL is not signed by the certificate's issuer")
    entry = crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
    return RevocationResult(True, revoked_at=entry.revocation_date_utc if entry else None)


def _verify(public_key: object, signature: bytes, data: bytes, algorithm: object) -> None:
    """An OCSP response's, a responder certificate's or a CRL's signature: RSA PKCS#1
    v1.5 or ECDSA, as a CA signs (:mod:`hub.signing.algorithms`)."""
    if not isinstance(algorithm, hashes.HashAlgorithm):
        raise ValueError("the signature names no hash algorithm")
    algorithms.verify(
        algorithms.for_key(public_key), public_key, signature, data, hash_algorithm=algorithm
    )


def _ocsp_urls(certificate: x509.Certificate) -> list[str]:
    try:
        access = certificate.extensions.get_extension_for_class(
            x509.AuthorityInformationAccess
        ).value
    except x509.ExtensionNotFound:
        return []
    return [
        str(d.access_location.value)
        for d in access
        if d.access_method == x509.AuthorityInformationAccessOID.OCSP
    ]


def _crl_urls(certificate: x509.Certificate) -> list[str]:
    try:
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return []
    return [str(name.value) for point in points for name in point.full_name or ()]


def _key_id(certificate: x509.Certificate) -> bytes:
    digest = hashes.Hash(hashes.SHA1())
    digest.update(
        certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.PKCS1
        )
    )
    return digest.finalize()


def _fingerprint(certificate: x509.Certificate) -> bytes:
    return certificate.fingerprint(hashes.SHA256())


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
