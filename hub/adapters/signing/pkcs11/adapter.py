"""The school seal on a USB token, reached through the token vendor's PKCS#11 module.

:class:`Pkcs11Adapter` is one school's token; :class:`SealTokens`, the adapter the
registry holds (built by :func:`from_config`), sends each call to the token of the
school it names.

Unlike the remote providers, nobody confirms on a phone: the school configures
the token's user PIN once and the hub seals unattended (PROVIDERS.md). So
``sign_hashes`` signs at once and the transaction it returns already carries
the signatures; ``poll`` only unpacks them. The token does the RSA — CKM_RSA_PKCS
over a DigestInfo(SHA-256, digest) built here — so the key never leaves it.

Three properties of PKCS#11 shape the code:

- Every call blocks (a USB round trip), so each runs in a worker thread and the
  event loop keeps serving.
- python-pkcs11 initialises a module without locking callbacks, which by the
  standard promises the module that no two threads call it at once (SoftHSM2
  answers concurrent calls with CKR_GENERAL_ERROR); and login belongs to the
  process, not to a session, so closing a logged-in session logs every session
  of the process out. All work on one module is therefore serialised by a
  process-wide lock, one short session per operation, which also copes with a
  token pulled out and plugged in again between calls. (pyHanko, when it uses
  the same module in the same process, does not take this lock.)
- Real tokens lock themselves after a few wrong PINs, and a retrying job would
  burn them all. The adapter never logs in once the token says the PIN is
  locked or the next wrong PIN is the last try; the school must fix the PIN.
"""

from __future__ import annotations

import asyncio
import base64
import fcntl
import hashlib
import os
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pkcs11
from asn1crypto import algos, core
from cryptography import x509
from pkcs11 import Attribute, CertificateType, KeyType, Mechanism, ObjectClass, TokenFlag

from hub.adapters.signing.base import (
    Credential,
    ErrorTable,
    Health,
    HealthStatus,
    SigningAdapter,
    SigningError,
    Stopwatch,
    Transaction,
    TransactionResult,
    TransactionState,
    check_batch,
    utcnow,
)
from hub.adapters.signing.certificates import school_code_of
from hub.domain.enums import SigningProvider
from hub.domain.problems import Code

if TYPE_CHECKING:
    # What pkcs11.lib() returns: the name pkcs11.lib itself is that function.
    from pkcs11._pkcs11 import lib as Pkcs11Library

T = TypeVar("T")

#: No phone to confirm on, so one transaction may carry a whole class's transcripts.
MAX_BATCH = 1000

#: PKCS#11's refusals (python-pkcs11's exception classes) in the hub's terms: the
#: token, its slot or the module not there (unplugged, driver gone) is unavailable;
#: a PIN that does not open the token is the school's configuration; the token failing
#: anything else is a failed signing.
ERRORS: ErrorTable[type[pkcs11.PKCS11Error]] = ErrorTable(
    codes={
        **dict.fromkeys(
            (
                pkcs11.NoSuchToken,
                pkcs11.TokenNotPresent,
                pkcs11.TokenNotRecognised,
                pkcs11.DeviceRemoved,
                pkcs11.DeviceError,
                pkcs11.SlotIDInvalid,
                pkcs11.SessionClosed,
                pkcs11.SessionHandleInvalid,
            ),
            Code.PROVIDER_UNAVAILABLE,
        ),
        **dict.fromkeys(
            (
                pkcs11.PinIncorrect,
                pkcs11.PinInvalid,
                pkcs11.PinLenRange,
                pkcs11.PinLocked,
                pkcs11.PinExpired,
                pkcs11.UserPinNotInitialized,
            ),
            Code.PROVIDER_BAD_CREDENTIALS,
        ),
    }
)

#: Held while python-pkcs11 loads a module. Loading reads process-wide state —
#: python-pkcs11's cache of one instance per path, and whatever environment the
#: module reads in C_Initialize (SoftHSM2's SOFTHSM2_CONF) — so loads take turns.
MODULE_LOADING = threading.Lock()
_module_locks: dict[str, threading.Lock] = {}


def load_module(module_path: str, environment: Mapping[str, str] | None = None) -> Pkcs11Library:
    """python-pkcs11's instance of a module, loaded with ``environment`` set if it is new.

    A module reads its configuration from the environment once, when it is first
    loaded (SoftHSM2: ``SOFTHSM2_CONF``); the variables are set for that moment only,
    so modules needing different values can live in one process.
    """
    with MODULE_LOADING:
        previous = {name: os.environ.get(name) for name in environment or {}}
        os.environ.update(environment or {})
        try:
            return pkcs11.lib(module_path)
        finally:
            for name, value in previous.items():
                if value is None:
                    del os.environ[name]
                else:
                    os.environ[name] = value


def _module_lock(module_path: str) -> threading.Lock:
    with MODULE_LOADING:
        return _module_locks.setdefault(module_path, threading.Lock())


@contextmanager
def _token_lock(module_path: str, token_label: str | None) -> Iterator[None]:
    """Hold the token for this process while a session is open on it.

    Several worker processes on one host reach the same token; a token's module
    does not always keep their sessions apart (SoftHSM2, two processes signing
    at once: CKR_GENERAL_ERROR now and then), and a USB token serves one
    session at a time anyway. An advisory lock file per module and token makes
    the processes take turns; a session lasts a fraction of a second.
    """
    name = hashlib.sha256(f"{module_path}\0{token_label}".encode()).hexdigest()[:24]
    path = Path(tempfile.gettempdir()) / f"hub-pkcs11-{name}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def digest_info(digest: bytes) -> bytes:
    """DER DigestInfo(SHA-256, ``digest``), which CKM_RSA_PKCS pads and signs.

    Signing this with the raw mechanism gives exactly the RSA PKCS#1 v1.5
    signature of sha256WithRSAEncryption, without the token hashing anything:
    the hub hashed the document itself. The NULL parameters are what RFC 8017
    prescribes and what verifiers compare byte for byte.
    """
    return algos.DigestInfo(
        {
            "digest_algorithm": {"algorithm": "sha256", "parameters": core.Null()},
            "digest": digest,
        }
    ).dump()


class Pkcs11Adapter(SigningAdapter):
    """A school seal token: ``module_path`` (the vendor's PKCS#11 library), a token label, a PIN.

    ``user_id`` in the interface is the school's ministry code (matched against
    ``UID=MNS:…`` in the seal certificate) or the token label itself.
    ``key_label`` picks one key when a token holds several.
    """

    provider = SigningProvider.PKCS11

    def __init__(
        self,
        *,
        module_path: str,
        token_label: str,
        user_pin: str,
        key_label: str | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self.module_path = module_path
        self.environment = dict(environment or {})
        self.token_label = token_label
        self.key_label = key_label
        self._user_pin = user_pin

    # --- the interface ----------------------------------------------------------------------

    async def list_credentials(self, user_id: str) -> list[Credential]:
        return await self._on_token(lambda session: self._credentials(session, user_id))

    async def credential(self, user_id: str, credential_id: str) -> Credential:
        for credential in await self.list_credentials(user_id):
            if credential.credential_id == credential_id:
                return credential
        raise SigningError(
            Code.CREDENTIAL_NOT_FOUND,
            self.provider,
            f"no seal key {credential_id} for {user_id} on token {self.token_label!r}",
            credential=credential_id,
            user=user_id,
        )

    async def sign_hashes(
        self, credential: Credential, digests: Sequence[bytes], descriptions: Sequence[str]
    ) -> Transaction:
        """Sign on the token now; ``descriptions`` have no screen to go to and are unused."""
        check_batch(credential, digests, descriptions, descriptions_required=False)
        signatures = await self._on_token(
            lambda session: self._sign(session, credential.credential_id, digests)
        )
        signed_at = utcnow()
        return Transaction(
            provider=self.provider,
            transaction_id=uuid.uuid4().hex,
            credential_id=credential.credential_id,
            count=len(signatures),
            # Already signed: the signatures travel inside the transaction and
            # nothing waits at the token, so there is nothing left to expire.
            expires_at=signed_at,
            data={"signatures": " ".join(base64.b64encode(s).decode() for s in signatures)},
        )

    async def poll(self, transaction: Transaction) -> TransactionResult:
        encoded = transaction.data.get("signatures")
        if transaction.provider != self.provider or encoded is None:
            error = SigningError(
                Code.SIGNING_FAILED,
                self.provider,
                f"transaction {transaction.transaction_id} was not made by a PKCS#11 token",
            )
            return TransactionResult(TransactionState.FAILED, error=error)
        signatures = tuple(base64.b64decode(value) for value in encoded.split())
        return TransactionResult(TransactionState.SIGNED, signatures)

    async def health(self) -> Health:
        """Open a session without logging in: cheap, and spends no PIN attempt.

        A token that answers but whose PIN the adapter will not try (locked, or
        one try left) is DEGRADED, so signing still reaches it and is refused
        with PROVIDER_BAD_CREDENTIALS, which tells the school what to fix.
        """
        watch = Stopwatch()
        try:
            problem = await self._on_token(
                lambda session: self._pin_problem(session.token), login=False
            )
        except SigningError as error:
            return Health(self.provider, HealthStatus.DOWN, None, error.detail, utcnow())
        status = HealthStatus.DEGRADED if problem else HealthStatus.UP
        return Health(self.provider, status, watch.ms, problem, utcnow())

    # --- on the token (worker thread) -------------------------------------------------------

    async def _on_token(self, work: Callable[[pkcs11.Session], T], *, login: bool = True) -> T:
        return await asyncio.to_thread(self._in_session, work, login)

    def _in_session(self, work: Callable[[pkcs11.Session], T], login: bool) -> T:
        """Run ``work`` in a fresh session on the token, with PKCS#11 errors in the hub's terms."""
        try:
            with _module_lock(self.module_path), _token_lock(self.module_path, self.token_label):
                token = self._token()
                problem = self._pin_problem(token) if login else None
                if problem:
                    raise self._error(Code.PROVIDER_BAD_CREDENTIALS, problem)
                session = token.open(user_pin=self._user_pin if login else None)
                try:
                    return work(session)
                finally:
                    session.close()
        except pkcs11.PKCS11Error as error:
            code = ERRORS.code(type(error)) or Code.SIGNING_FAILED
            raise self._error(code, error) from error

    def _token(self) -> pkcs11.Token:
        try:
            library = load_module(self.module_path, self.environment)
        except pkcs11.PKCS11Error as error:
            raise SigningError(
                Code.PROVIDER_UNAVAILABLE,
                self.provider,
                f"cannot load PKCS#11 module {self.module_path}: {error}",
            ) from error
        return library.get_token(token_label=self.token_label)

    @staticmethod
    def _pin_problem(token: pkcs11.Token) -> str | None:
        """Why the adapter will not log in to ``token``, if it will not."""
        if token.flags & TokenFlag.USER_PIN_LOCKED:
            return "user PIN locked"
        if token.flags & TokenFlag.USER_PIN_FINAL_TRY:
            return "one PIN try left, not spent automatically"
        return None

    def _credentials(self, session: pkcs11.Session, user_id: str) -> list[Credential]:
        """Each RSA key with its certificate (same CKA_ID) and the CA certificates above it."""
        certificates = _certificates(session)
        query: dict[Attribute, Any] = {
            Attribute.CLASS: ObjectClass.PRIVATE_KEY,
            Attribute.KEY_TYPE: KeyType.RSA,
        }
        if self.key_label is not None:
            query[Attribute.LABEL] = self.key_label
        credentials = []
        now = utcnow()
        for key in session.get_objects(query):
            key_id = key[Attribute.ID]
            certificate = certificates.get(key_id)
            if certificate is None or (
                user_id != self.token_label and school_code_of(certificate) != user_id
            ):
                continue
            credentials.append(
                Credential(
                    provider=self.provider,
                    credential_id=key_id.hex(),
                    user_id=user_id,
                    certificate=certificate,
                    chain=_chain_of(certificate, list(certificates.values())),
                    max_batch=MAX_BATCH,
                    status="EXPIRED" if certificate.not_valid_after_utc < now else "ACTIVE",
                )
            )
        return credentials

    def _sign(
        self, session: pkcs11.Session, credential_id: str, digests: Sequence[bytes]
    ) -> list[bytes]:
        """Sign with the key ``credential_id`` names, if its certificate is valid now."""
        try:
            key_id = bytes.fromhex(credential_id)
            certificate = _certificates(session)[key_id]
            key = session.get_key(
                object_class=ObjectClass.PRIVATE_KEY,
                key_type=KeyType.RSA,
                label=self.key_label,
                id=key_id,
            )
        except (ValueError, KeyError, pkcs11.NoSuchKey) as error:
            raise self._error(
                Code.CREDENTIAL_NOT_FOUND,
                f"no seal key with a certificate under ID {credential_id!r}",
                credential=credential_id,
            ) from error
        self._refuse_outside_validity(certificate, credential_id)
        return [
            # python-pkcs11 types get_key() as Key; a private key's class has sign().
            key.sign(digest_info(digest), mechanism=Mechanism.RSA_PKCS)  # type: ignore[attr-defined]
            for digest in digests
        ]

    def _refuse_outside_validity(self, certificate: x509.Certificate, credential_id: str) -> None:
        """A token signs with any key it holds; the validity period is the hub's to check."""
        now = utcnow()
        if now > certificate.not_valid_after_utc:
            raise SigningError(
                Code.CERTIFICATE_EXPIRED,
                self.provider,
                f"seal certificate expired at {certificate.not_valid_after_utc.isoformat()}",
                credential=credential_id,
            )
        if now < certificate.not_valid_before_utc:
            raise SigningError(
                Code.SIGNING_FAILED,
                self.provider,
                "chứng thư số con dấu chưa đến ngày có hiệu lực "
                f"({certificate.not_valid_before_utc:%d/%m/%Y})",
                credential=credential_id,
            )

    def _error(self, code: Code, cause: Exception | str, *, credential: str = "") -> SigningError:
        detail = cause if isinstance(cause, str) else f"{type(cause).__name__}: {cause}"
        return SigningError(
            code, self.provider, f"token {self.token_label!r}: {detail}", credential=credential
        )


def _certificates(session: pkcs11.Session) -> dict[bytes, x509.Certificate]:
    """The token's X.509 certificates by CKA_ID (public objects, readable without login)."""
    query = {
        Attribute.CLASS: ObjectClass.CERTIFICATE,
        Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
    }
    return {
        found[Attribute.ID]: x509.load_der_x509_certificate(found[Attribute.VALUE])
        for found in session.get_objects(query)
    }


def _chain_of(
    certificate: x509.Certificate, candidates: list[x509.Certificate]
) -> tuple[x509.Certificate, ...]:
    """The issuing CA first, up to the root or the last CA the token holds."""
    chain: list[x509.Certificate] = []
    current = certificate
    while current.issuer != current.subject:
        issuer = next(
            (c for c in candidates if c.subject == current.issuer and c not in chain),
            None,
        )
        if issuer is None:
            break
        chain.append(issuer)
        current = issuer
    return tuple(chain)


# --- every school's token behind one adapter ---------------------------------------------


class SealTokens(SigningAdapter):
    """Every school's seal token behind one adapter: school code → that school's token.

    Each school has its own token (its own module path, label and PIN) and the
    provider registry holds one adapter per provider, so this one sends each call to
    the token of the school named by ``user_id`` (the ministry school code, as in
    ``UID=MNS:…``).
    """

    provider = SigningProvider.PKCS11

    def __init__(self, *, tokens: Mapping[str, Pkcs11Adapter]) -> None:
        self.tokens = dict(tokens)

    def _token(self, school_code: str) -> Pkcs11Adapter:
        token = self.tokens.get(school_code)
        if token is None:
            raise SigningError(
                Code.PROVIDER_UNAVAILABLE,
                self.provider,
                f"no seal token is connected for school {school_code}",
            )
        return token

    async def list_credentials(self, user_id: str) -> list[Credential]:
        return await self._token(user_id).list_credentials(user_id)

    async def credential(self, user_id: str, credential_id: str) -> Credential:
        return await self._token(user_id).credential(user_id, credential_id)

    async def sign_hashes(
        self, credential: Credential, digests: Sequence[bytes], descriptions: Sequence[str]
    ) -> Transaction:
        return await self._token(credential.user_id).sign_hashes(credential, digests, descriptions)

    async def poll(self, transaction: Transaction) -> TransactionResult:
        # A token signs at once: the signatures travel in the transaction itself.
        token = next(iter(self.tokens.values()), None)
        if token is None:
            raise SigningError(Code.PROVIDER_UNAVAILABLE, self.provider, "no seal token")
        return await token.poll(transaction)

    async def health(self) -> Health:
        """UP when every token answers; DOWN when none does; DEGRADED in between."""
        if not self.tokens:
            return Health(self.provider, HealthStatus.DOWN, None, "no seal token", utcnow())
        answers = [await token.health() for token in self.tokens.values()]
        up = [a for a in answers if a.status is HealthStatus.UP]
        status = (
            HealthStatus.UP
            if len(up) == len(answers)
            else HealthStatus.DOWN
            if not up
            else HealthStatus.DEGRADED
        )
        errors = [a.last_error for a in answers if a.last_error]
        latency = max((a.latency_ms or 0.0) for a in answers)
        return Health(self.provider, status, latency, "; ".join(errors) or None, utcnow())


def from_config(table: Mapping[str, Any]) -> SealTokens:
    """Every school's seal token from the providers file: one sub-table per school,
    by ministry code, with ``module`` (the vendor's PKCS#11 library), ``token_label``,
    ``pin``, and optionally ``key_label`` and ``environment`` (variables the module
    reads when it is loaded)."""
    return SealTokens(
        tokens={
            school: Pkcs11Adapter(
                module_path=entry["module"],
                token_label=entry["token_label"],
                user_pin=entry["pin"],
                key_label=entry.get("key_label"),
                environment=entry.get("environment"),
            )
            for school, entry in table.items()
        }
    )
