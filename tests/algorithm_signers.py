"""Signers whose keys sign other than RSA PKCS#1 v1.5 (RSASSA-PSS, ECDSA), as a CSC
server's credentials may, for the XAdES and PAdES engines' tests."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign.timestamps import TimeStamper

from hub.adapters.signing.csc.simulator import PrivateKey, sign_with
from hub.adapters.signing.pki import GOV, DemoPKI, Issued
from hub.documents import samples
from hub.domain.signers import SignerRole
from hub.signing.algorithms import SignatureAlgorithm
from hub.signing.pades import finish_pdf, prepare_pdf
from hub.signing.xades import finish_xml, prepare_xml
from tests.signing_support import PRINCIPAL_ID, PRINCIPAL_NAME, TEACHER_ID, TEACHER_NAME


@dataclass(frozen=True)
class AlgorithmSigner:
    """A key, its certificate (issued by the demo Government CA) and how it signs."""

    key: PrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    algorithm: SignatureAlgorithm

    def sign(self, digest: bytes) -> bytes:
        """What a provider answers: the raw value (ECDSA as DER)."""
        return sign_with(self.key, self.algorithm, digest)


def from_issued(issued: Issued, algorithm: SignatureAlgorithm) -> AlgorithmSigner:
    """An RSA signer of the demo PKI, signing with ``algorithm``."""
    return AlgorithmSigner(issued.key, issued.certificate, issued.chain, algorithm)


def ecdsa_signer(pki: DemoPKI, issued: Issued) -> AlgorithmSigner:
    """A P-256 key certified for the subject of ``issued``."""
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = pki.certify(GOV, key.public_key(), issued.certificate.subject)
    return AlgorithmSigner(key, certificate, issued.chain, SignatureAlgorithm.ECDSA_SHA256)


def mixed_signers(pki: DemoPKI) -> list[AlgorithmSigner]:
    """Homeroom teacher with ECDSA, principal with RSA-PSS, seal with RSA PKCS#1 v1.5."""
    school = samples.SCHOOL
    teacher = pki.issue_person(
        GOV, full_name=TEACHER_NAME, personal_id=TEACHER_ID, organisation=school.name
    )
    principal = pki.issue_person(
        GOV, full_name=PRINCIPAL_NAME, personal_id=PRINCIPAL_ID, organisation=school.name
    )
    seal = pki.issue_seal(GOV, school_name=school.name, school_code=school.moet_code)
    return [
        ecdsa_signer(pki, teacher),
        from_issued(principal, SignatureAlgorithm.RSA_PSS_SHA256),
        from_issued(seal, SignatureAlgorithm.RSA_PKCS1_SHA256),
    ]


async def sign_xml_in_turn(
    document: bytes,
    turns: Iterable[tuple[SignerRole, AlgorithmSigner]],
    timestamper: TimeStamper | None = None,
    *,
    signed_at: datetime,
) -> bytes:
    """Each signer's XAdES signature in turn, each with its own algorithm."""
    for number, (role, who) in enumerate(turns):
        prepared = prepare_xml(
            document,
            role=role,
            certificate=who.certificate,
            chain=who.chain,
            signing_time=signed_at + timedelta(minutes=number),
            algorithm=who.algorithm,
        )
        document = await finish_xml(prepared, who.sign(prepared.digest), timestamper=timestamper)
    return document


async def sign_pdf_in_turn(
    document: bytes,
    turns: Iterable[tuple[SignerRole, AlgorithmSigner]],
    timestamper: TimeStamper | None = None,
    *,
    signed_at: datetime,
) -> bytes:
    """Each signer's PAdES signature in turn, each with its own algorithm."""
    for number, (role, who) in enumerate(turns):
        prepared = await prepare_pdf(
            document,
            role=role,
            certificate=who.certificate,
            chain=who.chain,
            signing_time=signed_at + timedelta(minutes=number),
            timestamper=timestamper,
            algorithm=who.algorithm,
        )
        document = await finish_pdf(prepared, who.sign(prepared.digest), timestamper=timestamper)
    return document
