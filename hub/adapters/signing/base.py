"""The one interface every signing provider sits behind.

A provider holds the signer's key; the hub only ever sends it digests and gets
back raw signature values (RSA PKCS#1 v1.5 over DigestInfo(SHA-256, digest),
PROVIDERS.md). Signing with a person's key needs that person to confirm on their
phone, which takes seconds to minutes, so signing is two calls: ``sign_hashes``
opens a provider transaction and returns at once, ``poll`` tells how it stands.
Nothing here waits for a phone.

The rules every adapter follows are written here once: what a batch may hold
(:func:`check_batch`), how a refusal met while polling ends a transaction
(:func:`outcome_of`), and how signatures are read from an answer
(:func:`signatures_of`).
"""

from __future__ import annotations

import base64
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from asn1crypto import cms
from cryptography import x509

from hub.domain.enums import SigningProvider
from hub.domain.problems import Code, HubError

#: Providers' names as people know them, for messages.
PROVIDER_NAMES: dict[SigningProvider, str] = {
    SigningProvider.BCY: "Ban Cơ yếu Chính phủ",
    SigningProvider.SMARTCA: "VNPT SmartCA",
    SigningProvider.MYSIGN: "Viettel MySign",
    SigningProvider.CSC: "CSC",
    SigningProvider.PKCS11: "USB token của trường",
}


class SigningError(HubError):
    """A provider refused or failed; ``code`` says why in the hub's terms.

    ``detail`` keeps the provider's own code/message for the logs and support.
    """

    def __init__(self, code: Code, provider: SigningProvider, detail: str = "", **more: object):
        self.provider = provider
        self.detail = detail
        more.setdefault("credential", "")
        more.setdefault("user", "")
        super().__init__(code, provider=PROVIDER_NAMES[provider], detail=detail or code, **more)


class TransactionState(StrEnum):
    PENDING = "PENDING"  # waiting for the signer's confirmation
    SIGNED = "SIGNED"
    REJECTED = "REJECTED"  # the signer said no on the phone
    EXPIRED = "EXPIRED"  # nobody confirmed in time
    FAILED = "FAILED"  # the provider could not sign (see ``error``)


@dataclass(frozen=True, slots=True)
class Credential:
    """One signing key at a provider, with its certificate chain.

    ``chain`` runs from the issuing CA up (the end-entity certificate first is
    ``certificate``); a root may be missing, as some providers leave it out.
    """

    provider: SigningProvider
    credential_id: str
    user_id: str
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()
    #: How many digests one transaction (one phone confirmation) may carry.
    max_batch: int = 1
    #: Provider-reported state, e.g. "ACTIVE", "REVOKED", "EXPIRED".
    status: str = "ACTIVE"


@dataclass(frozen=True, slots=True)
class Transaction:
    """A signing request open at the provider, enough to poll it later.

    ``data`` holds whatever else the provider needs to find it again (a
    ``tran_code``, the digests for an authorize-then-sign flow …); it is plain
    strings so a job can store it in the database and poll after a restart.
    """

    provider: SigningProvider
    transaction_id: str
    credential_id: str
    count: int
    expires_at: datetime
    data: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The transaction as a JSON object, to store until it is polled."""
        return {
            "provider": self.provider.value,
            "transaction_id": self.transaction_id,
            "credential_id": self.credential_id,
            "count": self.count,
            "expires_at": self.expires_at.isoformat(),
            "data": dict(self.data),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Transaction:
        """The transaction :meth:`to_json` stored."""
        return cls(
            provider=SigningProvider(data["provider"]),
            transaction_id=data["transaction_id"],
            credential_id=data["credential_id"],
            count=int(data["count"]),
            expires_at=datetime.fromisoformat(data["expires_at"]),
            data=dict(data["data"]),
        )


@dataclass(frozen=True, slots=True)
class TransactionResult:
    state: TransactionState
    #: Raw signature values, one per digest, in the order the digests were sent.
    signatures: tuple[bytes, ...] = ()
    error: SigningError | None = None


class HealthStatus(StrEnum):
    UP = "UP"
    DEGRADED = "DEGRADED"  # answering, but slowly or with errors
    DOWN = "DOWN"


@dataclass(frozen=True, slots=True)
class Health:
    provider: SigningProvider
    status: HealthStatus
    latency_ms: float | None
    last_error: str | None
    checked_at: datetime


class SigningAdapter(ABC):
    """What the hub needs from any signing provider."""

    provider: SigningProvider

    @abstractmethod
    async def list_credentials(self, user_id: str) -> list[Credential]:
        """The signing credentials of ``user_id`` (a personal ID, or the provider's user name)."""

    async def credential(self, user_id: str, credential_id: str) -> Credential:
        """One credential with its certificate chain.

        Found among :meth:`list_credentials`; a provider that can be asked for one
        credential directly overrides this.
        """
        for credential in await self.list_credentials(user_id):
            if credential.credential_id == credential_id:
                return credential
        raise SigningError(
            Code.CREDENTIAL_NOT_FOUND,
            self.provider,
            "not among the user's",
            user=user_id,
            credential=credential_id,
        )

    @abstractmethod
    async def sign_hashes(
        self, credential: Credential, digests: Sequence[bytes], descriptions: Sequence[str]
    ) -> Transaction:
        """Ask the provider to sign SHA-256 ``digests`` (one confirmation for all).

        ``descriptions`` say what each digest is, for the signer's phone screen.
        Raises :class:`SigningError` when the provider refuses outright.
        """

    @abstractmethod
    async def poll(self, transaction: Transaction) -> TransactionResult:
        """How the transaction stands now; never waits for the signer."""

    @abstractmethod
    async def health(self) -> Health:
        """A cheap call that shows whether the provider answers, and how fast."""

    async def aclose(self) -> None:  # noqa: B027 - adapters without resources need nothing
        """Release connections."""


def check_batch(
    credential: Credential,
    digests: Sequence[bytes],
    descriptions: Sequence[str],
    *,
    descriptions_required: bool = True,
) -> None:
    """Refuse a batch no provider could honour: a caller's mistake, not a provider's answer.

    A batch is one to ``credential.max_batch`` SHA-256 digests, each with its
    description; a provider that shows one optional text for the whole batch (CSC)
    may be sent none (``descriptions_required=False``).
    """
    if not digests:
        raise ValueError("nothing to sign")
    if len(digests) > credential.max_batch:
        raise ValueError(
            f"{len(digests)} digests but credential {credential.credential_id} "
            f"allows {credential.max_batch} per authorisation"
        )
    if any(len(digest) != 32 for digest in digests):
        raise ValueError("digests must be SHA-256 (32 bytes)")
    if len(descriptions) != len(digests) and (descriptions or descriptions_required):
        raise ValueError("one description per digest")


#: Refusals that speak of the transaction itself: a poll that meets one reports the
#: transaction's end. Any other (the provider unreachable or failing, the hub's own
#: account refused) leaves its state unknown, for the job to poll again later.
TRANSACTION_ENDINGS: frozenset[Code] = frozenset(
    {
        Code.SIGNER_NOT_CONFIRMED,
        Code.SIGNER_REJECTED,
        Code.CERTIFICATE_EXPIRED,
        Code.CERTIFICATE_REVOKED,
        Code.QUOTA_EXHAUSTED,
        Code.SIGNING_FAILED,
    }
)


def final_state(code: Code) -> TransactionState:
    """The state of a transaction the provider ended with ``code``.

    The signer's "no" is REJECTED, the signer's silence EXPIRED, any other end FAILED.
    """
    if code is Code.SIGNER_REJECTED:
        return TransactionState.REJECTED
    if code is Code.SIGNER_NOT_CONFIRMED:
        return TransactionState.EXPIRED
    return TransactionState.FAILED


def outcome_of(
    error: SigningError, *, endings: Set[Code] = TRANSACTION_ENDINGS
) -> TransactionResult:
    """A poll's refusal as the transaction's end, when its code is one of ``endings``.

    Any other refusal has said nothing about the transaction, so it is raised again
    for the job to poll later.
    """
    if error.problem.code not in endings:
        raise error
    return TransactionResult(final_state(error.problem.code), error=error)


def signatures_of(
    provider: SigningProvider,
    values: Sequence[str] | None,
    count: int,
    *,
    credential_id: str = "",
) -> tuple[bytes, ...]:
    """The raw signature values of an answer, checked to be one per digest sent."""
    if values is None or len(values) != count:
        raise SigningError(
            Code.PROVIDER_FAILURE,
            provider,
            f"{len(values or ())} signatures for {count} hashes",
            credential=credential_id,
        )
    try:
        return tuple(raw_signature(value) for value in values)
    except ValueError as error:
        raise SigningError(
            Code.PROVIDER_FAILURE,
            provider,
            f"unreadable signature: {error}",
            credential=credential_id,
        ) from error


def raw_signature(value: bytes | str) -> bytes:
    """The raw signature value in a provider's answer.

    Providers answer with base64 of the raw value; some answer with a whole DER
    CMS SignedData instead (PROVIDERS.md), from which the signature is taken.
    """
    data = base64.b64decode(value) if isinstance(value, str) else value
    if data[:1] == b"\x30":
        try:
            info = cms.ContentInfo.load(data, strict=True)
            if info["content_type"].native == "signed_data":
                return info["content"]["signer_infos"][0]["signature"].native
        except (ValueError, TypeError, KeyError):
            pass
    return data


def utcnow() -> datetime:
    return datetime.now(UTC)


class Stopwatch:
    """Milliseconds since creation, for health latency."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 1)
