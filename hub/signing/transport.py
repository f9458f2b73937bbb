"""The department's signature on what it sends to the national systems ("ký số khi truyền").

The national transcript store and the ministry's sector database take data from a
department only signed with the department's registered organisation certificate
(PROVIDERS.md, "Sector and population databases"). Each batch the national sync sends
carries a **detached CMS** over the exact bytes of the request body
(:data:`hub.adapters.national.protocol.SIGNATURE` header): signed attributes
content-type, message-digest (SHA-256 of the body), signing-time and
signing-certificate-v2; the certificate and its chain in the SignedData. Detached, so
the body stays the JSON the far side reads, and the signature covers every byte of it.

The key is wherever the department keeps it — a PKCS#11 token, a remote signing
service — and is reached through the same adapters the transcripts are signed with
(:class:`~hub.adapters.signing.base.SigningAdapter`): only the SHA-256 of the signed
attributes leaves the hub. Which adapter and credential is configuration
(:func:`department_signer`):

- ``HUB_NATIONAL_SIGNER_PROVIDER``: the provider holding the key (``PKCS11``, ``BCY``,
  ``CSC`` …), whose table the providers file (``HUB_SIGNING_PROVIDERS_FILE``) has;
- ``HUB_NATIONAL_SIGNER_USER``: how that provider knows the department (for PKCS#11
  the key of the token's sub-table, ``[pkcs11.<user>]``; for a remote service its
  user ID);
- ``HUB_NATIONAL_SIGNER_CREDENTIAL``: the credential (key) ID there.

A provider that asks a person to confirm each signature suits no machine-to-machine
sync: choose a token or a service that signs for an organisation without a phone
(the school seal's kind). :class:`BatchSigner` still waits up to ``wait_seconds`` for
one that confirms later.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import tomllib
from datetime import UTC, datetime

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.sign.signers import ExternalSigner
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko_certvalidator.registry import SimpleCertificateStore

from hub.adapters.signing.base import (
    Credential,
    SigningAdapter,
    SigningError,
    TransactionState,
)
from hub.adapters.signing.providers import registered
from hub.config import Settings
from hub.domain.enums import SigningProvider
from hub.domain.problems import Code
from hub.signing import algorithms

#: What the provider is shown for each batch signature (ASCII: some phones show no more).
DESCRIPTION = "Ky so lo du lieu dong bo quoc gia"


class BatchSigner:
    """Signs batches with the department's organisation key, through a signing adapter.

    The credential (certificate and chain) is read once and kept for the life of the
    process: every batch is signed with the same key (a renewed certificate is taken up
    when the workers restart). A signature value is checked against the certificate
    before it goes out, so a provider that signed with another key is found here and
    not at the far side.
    """

    def __init__(
        self,
        *,
        adapter: SigningAdapter,
        user_id: str,
        credential_id: str,
        poll_seconds: float = 0.5,
        wait_seconds: float = 120.0,
    ) -> None:
        self.adapter = adapter
        self.user_id = user_id
        self.credential_id = credential_id
        self.poll_seconds = poll_seconds
        self.wait_seconds = wait_seconds
        self._credential: Credential | None = None

    @property
    def provider(self) -> SigningProvider:
        return self.adapter.provider

    async def credential(self) -> Credential:
        if self._credential is None:
            self._credential = await self.adapter.credential(self.user_id, self.credential_id)
        return self._credential

    async def sign(self, body: bytes) -> bytes:
        """The DER of a detached CMS SignedData over ``body``, made with the department's key.

        Raises :class:`~hub.adapters.signing.base.SigningError` when the provider
        refuses, fails or does not sign within ``wait_seconds`` (PROVIDER_UNAVAILABLE:
        a later try may do).
        """
        credential = await self.credential()
        # The attributes first (what the key signs), then the SignedData around the value.
        attributes = await _external(credential, None).signed_attrs(
            hashlib.sha256(body).digest(),
            "sha256",
            attr_settings=PdfCMSSignedAttributes(signing_time=datetime.now(UTC)),
            is_pdf_sig=False,
        )
        encoded = attributes.dump()
        value = await self._signature_value(credential, hashlib.sha256(encoded).digest())
        try:
            algorithms.verify(
                credential.signature_algorithm,
                credential.certificate.public_key(),
                value,
                encoded,
            )
        except (InvalidSignature, ValueError) as error:
            raise SigningError(
                Code.SIGNING_FAILED,
                self.provider,
                "the batch signature does not verify with the department's certificate",
                credential=self.credential_id,
            ) from error
        content = await _external(credential, value).async_sign_prescribed_attributes(
            "sha256", attributes
        )
        return bytes(content.dump())

    async def _signature_value(self, credential: Credential, digest: bytes) -> bytes:
        transaction = await self.adapter.sign_hashes(credential, [digest], [DESCRIPTION])
        deadline = time.monotonic() + self.wait_seconds
        while True:
            result = await self.adapter.poll(transaction)
            if result.state is TransactionState.SIGNED:
                return algorithms.normalised_value(
                    credential.signature_algorithm, result.signatures[0]
                )
            if result.state is not TransactionState.PENDING:
                raise result.error or SigningError(
                    Code.SIGNING_FAILED, self.provider, f"transaction {result.state.value}"
                )
            if time.monotonic() > deadline:
                raise SigningError(
                    Code.PROVIDER_UNAVAILABLE,
                    self.provider,
                    f"the batch signature was not made within {self.wait_seconds:g} s",
                )
            await asyncio.sleep(self.poll_seconds)

    async def aclose(self) -> None:
        await self.adapter.aclose()


def department_signer(settings: Settings) -> BatchSigner | None:
    """The department's batch signer from ``HUB_NATIONAL_SIGNER_*`` and the providers file;
    None while ``HUB_NATIONAL_SIGNER_PROVIDER`` is unset.

    Only the named provider's table is built, so a sync worker opens no connection to
    the people's signing services. A half-done configuration is refused at start.
    """
    provider = settings.national_signer_provider
    if provider is None:
        return None
    user, credential = settings.national_signer_user, settings.national_signer_credential
    if not user or not credential:
        raise ValueError(
            "HUB_NATIONAL_SIGNER_PROVIDER is set: set HUB_NATIONAL_SIGNER_USER and "
            "HUB_NATIONAL_SIGNER_CREDENTIAL too (the department's key at that provider)"
        )
    if settings.signing_providers_file is None:
        raise ValueError(
            "HUB_NATIONAL_SIGNER_PROVIDER is set but HUB_SIGNING_PROVIDERS_FILE is not: "
            "the provider's table (URL, credentials, token) is read from that file"
        )
    entry = next((e for e in registered() if e.provider.value == provider.upper()), None)
    if entry is None:
        known = ", ".join(e.provider.value for e in registered())
        raise ValueError(f"HUB_NATIONAL_SIGNER_PROVIDER: no provider {provider} (known: {known})")
    tables = tomllib.loads(settings.signing_providers_file.read_text())
    table = tables.get(entry.table)
    if table is None:
        raise ValueError(
            f"{settings.signing_providers_file} has no [{entry.table}] table for the "
            "department's signer"
        )
    return BatchSigner(adapter=entry.build(table), user_id=user, credential_id=credential)


def _external(credential: Credential, value: bytes | None) -> ExternalSigner:
    """pyHanko's signer for a key held elsewhere, carrying the certificate and its chain."""
    return ExternalSigner(
        signing_cert=_asn1(credential.certificate),
        cert_registry=SimpleCertificateStore.from_certs([_asn1(c) for c in credential.chain]),
        signature_value=value,
        signature_mechanism=algorithms.cms_algorithm(credential.signature_algorithm),
    )


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))
