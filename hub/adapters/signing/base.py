"""The one interface every signing provider sits behind.

A provider holds the signer's key; the hub only ever sends it digests and gets
back raw signature values (RSA PKCS#1 v1.5 over DigestInfo(SHA-256, digest),
PROVIDERS.md; a CSC credential may sign RSASSA-PSS or ECDSA instead, which its
:attr:`Credential.signature_algorithm` says). Signing with a person's key needs
that person to confirm on their phone, which takes seconds to minutes, so signing
is two calls: ``sign_hashes`` opens a provider transaction and returns at once,
``poll`` tells how it stands.
Nothing here waits for a phone.

The rules every adapter follows are written here once: what a batch may hold
(:func:`check_batch`), which refusals end a transaction and which mean the provider
is down (:data:`PROVIDER_DOWN`, :func:`outcome_of`), how an adapter reads its
provider's own refusals (:class:`ErrorTable`, one per adapter), and how signatures
are read from an answer (:func:`signatures_of`). What a provider is to the rest of
the hub — its name, how the providers file builds it, its simulator, its user-ID
format — is its :class:`ProviderEntry` in :mod:`hub.adapters.signing.providers`.
"""

from __future__ import annotations

import base64
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from asn1crypto import cms
from cryptography import x509

from hub.domain.enums import SigningProvider
from hub.domain.problems import Code, HubError
from hub.signing.algorithms import SignatureAlgorithm


class SigningError(HubError):
    """A provider refused or failed; ``code`` says why in the hub's terms.

    ``detail`` keeps the provider's own code/message for the logs and support.
    """

    def __init__(
        self,
        code: Code,
        provider: SigningProvider,
        detail: str = "",
        *,
        user: str = "",
        credential: str = "",
    ) -> None:
        self.provider = provider
        self.detail = detail
        super().__init__(
            code,
            provider=provider.label,
            detail=detail or code,
            user=user,
            credential=credential,
        )


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
    #: How the key signs a digest; only a CSC server may offer other than PKCS#1 v1.5.
    signature_algorithm: SignatureAlgorithm = SignatureAlgorithm.RSA_PKCS1_SHA256


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
    def from_json(
        cls, data: dict[str, Any], *, provider: SigningProvider | None = None
    ) -> Transaction:
        """The transaction :meth:`to_json` stored; ``provider`` for one the hub does not
        ship with (the tests' own), whose name is no :class:`SigningProvider`."""
        return cls(
            provider=provider or SigningProvider(data["provider"]),
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


#: Refusals that mean the provider is down or failing (unreachable, too slow, HTTP
#: 5xx, an answer not understood). Met while polling, they say nothing about the
#: transaction: the caller keeps it and asks again once the provider's health check
#: answers; a batch pauses with the reason meanwhile.
PROVIDER_DOWN: frozenset[Code] = frozenset({Code.PROVIDER_UNAVAILABLE, Code.PROVIDER_FAILURE})


def ends_transaction(code: Code) -> bool:
    """Whether a refusal met while polling ends the transaction: all but :data:`PROVIDER_DOWN`.

    The signer's answer, the certificate, the quota, a failed signing say so
    plainly. So does a refusal of the hub's own account (PROVIDER_BAD_CREDENTIALS)
    or of what the transaction names (PROVIDER_USER_UNKNOWN, CREDENTIAL_NOT_FOUND):
    configuration is not mended within the minutes a transaction lives, and asking
    again until then would only spend the job's retries; failing the items says what
    to fix and gives the transcripts back to be requested again.
    """
    return code not in PROVIDER_DOWN


def final_state(code: Code) -> TransactionState:
    """The state of a transaction the provider ended with ``code``.

    The signer's "no" is REJECTED, the signer's silence EXPIRED, any other end FAILED.
    """
    if code is Code.SIGNER_REJECTED:
        return TransactionState.REJECTED
    if code is Code.SIGNER_NOT_CONFIRMED:
        return TransactionState.EXPIRED
    return TransactionState.FAILED


def outcome_of(error: SigningError) -> TransactionResult:
    """A poll's refusal as the transaction's end (:func:`ends_transaction`).

    A provider that is down has said nothing about the transaction, so its refusal
    is raised again for the caller to poll later.
    """
    if not ends_transaction(error.problem.code):
        raise error
    return TransactionResult(final_state(error.problem.code), error=error)


# Unbounded: mypy does not take an exception class (type[...]) as Hashable here.
K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class ErrorTable(Generic[K]):
    """How one adapter reads its provider's refusals: the provider's own codes in the hub's.

    ``codes`` maps the provider's code (a number, a word, an exception class) to the
    hub's; ``hints`` serve providers that say most things in a sentence: words that,
    all found in the message, decide (first match wins); ``default`` is anything
    else (None: the adapter looks further, e.g. at the certificate's status).
    """

    codes: Mapping[K, Code]
    hints: tuple[tuple[tuple[str, ...], Code], ...] = ()
    default: Code | None = Code.SIGNING_FAILED

    def code(self, key: K | None, *, text: str = "", status: K | None = None) -> Code | None:
        """The hub's code for a refusal: its ``key`` if the table knows it, else the
        hints in ``text``, else its HTTP ``status`` if the table knows that, else the default."""
        if key is not None and key in self.codes:
            return self.codes[key]
        lowered = text.lower()
        for words, code in self.hints:
            if all(word in lowered for word in words):
                return code
        if status is not None and status in self.codes:
            return self.codes[status]
        return self.default


class Signs(StrEnum):
    """Whose keys a provider holds."""

    PEOPLE = "PEOPLE"  # teachers and principals, by personal ID
    SEALS = "SEALS"  # schools' seals, by ministry school code


def _as_is(user_id: str) -> str:
    return user_id


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderEntry:
    """Everything the hub knows about one provider outside its adapter: its registry line.

    Configuration (:func:`hub.signing.setup.signing_services`), the demo, the seed,
    the provider migration and the contract tests all loop over the entries in
    :mod:`hub.adapters.signing.providers`; none names a provider itself.
    """

    #: What rows, transactions and the API call it (its ``label`` is its name for people).
    provider: SigningProvider
    #: Its table in the providers file (``HUB_SIGNING_PROVIDERS_FILE``).
    table: str
    #: Its adapter from that table (keys as the folder's docstring lists them).
    build: Callable[[Mapping[str, Any]], SigningAdapter]
    #: The module of its simulated far side, whose ``simulate(…)`` starts it for the
    #: demo and the contract tests (see :mod:`hub.adapters.signing.simulator`). A module
    #: name, not an import: production code never loads a simulator.
    simulator: str
    #: The provider's user name for a personal ID (MySign: ``CMT_<id>``).
    user_id: Callable[[str], str] = _as_is
    signs: Signs = Signs.PEOPLE
    #: Reached over the network (False: a token plugged into the hub's own machine), so
    #: it can be down, slow or answer 5xx — and its contract checks include those faults.
    remote: bool = True
    #: Ways of reaching the same provider that the contract tests each go through
    #: (SmartCA: its SP769 API and its gateway); the first is the demo's.
    variants: tuple[str, ...] = ("",)
    #: The issuer the seeded certificates of this provider name, if the seed gives any.
    seed_issuer: str = ""

    @property
    def name(self) -> str:
        """The provider as people know it, for messages."""
        return self.provider.label


def signatures_of(
    provider: SigningProvider,
    values: Sequence[str] | None,
    count: int,
    *,
    credential_id: str = "",
) -> tuple[bytes, ...]:
    """The raw signature values of an answer, checked to be one per digest sent.

    An answer that fails the check is the provider's final word on the transaction
    (asking again gets the same one): SIGNING_FAILED, which ends the transaction
    (:func:`hub.signing.service.complete_signatures`), not PROVIDER_FAILURE, which is
    a provider failing now and answering later."""
    if values is None or len(values) != count:
        raise SigningError(
            Code.SIGNING_FAILED,
            provider,
            f"{len(values or ())} signatures for {count} hashes",
            credential=credential_id,
        )
    try:
        return tuple(raw_signature(value) for value in values)
    except ValueError as error:
        raise SigningError(
            Code.SIGNING_FAILED,
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


def with_redirect_uri(authorize_url: str, redirect_uri: str) -> str:
    """A provider's OAuth 2 ``authorize_url`` sending the signer back to ``redirect_uri``
    (RFC 6749 §4.1.1), which the provider registered for the hub's client: an adapter
    cannot know the hub's address; the code's exchange repeats the same URI."""
    return authorize_url + "&" + urlencode({"redirect_uri": redirect_uri})
