"""What every signing-provider simulator shares: subscribers, the phone, faults, a server.

Each provider folder builds its protocol (its own routes and JSON shapes) on top
of :class:`SimulatedProvider`, which plays the provider's back office: it keeps
subscribers and their keys (issued by the :class:`~hub.adapters.signing.pki.DemoPKI`,
never handed out), opens signing transactions, and simulates the signer's phone —
by default it approves ``confirm_delay`` seconds after the request; the control
routes under ``/_sim`` approve, reject or expire a transaction by hand and inject
faults. :class:`SimulatorServer` runs any simulator as a real HTTP service on
loopback; stopping it is the "server down" fault.

Each provider folder's ``simulator`` module also offers ``simulate(pki, directory=…,
variant=…)``: its far side started on loopback as a :class:`Simulation`, which tells
the demo and the contract tests how to reach it, enrol someone at it, steer it and
write its table of the providers file. The registry names that module
(:attr:`~hub.adapters.signing.base.ProviderEntry.simulator`); :func:`simulate` finds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.adapters.signing.base import ProviderEntry, SigningAdapter
from hub.adapters.signing.pki import DemoPKI, Issued


class PhoneAnswer(StrEnum):
    """What the simulated signer does with a request when nobody intervenes."""

    APPROVE = "APPROVE"  # after ``confirm_delay`` seconds
    REJECT = "REJECT"  # after ``confirm_delay`` seconds
    IGNORE = "IGNORE"  # never answers: the request expires


class SimState(StrEnum):
    PENDING = "PENDING"
    SIGNED = "SIGNED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"


@dataclass
class Faults:
    server_error: int | None = None  # HTTP status to answer with, e.g. 500 or 503
    slow_seconds: float = 0.0
    certificate_revoked: bool = False
    certificate_expired: bool = False
    quota_exhausted: bool = False
    #: A confirmed transaction answered with one signature fewer than its digests (a
    #: provider's broken answer: final, and the same at every ask).
    signature_missing: bool = False


@dataclass
class Phone:
    answer: PhoneAnswer = PhoneAnswer.APPROVE
    confirm_delay: float = 1.0
    #: How long a request waits for the signer before it expires (SmartCA: ~5 min).
    expires_after: float = 300.0


@dataclass
class SimCredential:
    credential_id: str
    user_id: str
    issued: Issued
    #: PIN/password for authorize-style flows (BCY, CSC).
    pin: str = "123456"

    @property
    def certificate(self) -> x509.Certificate:
        return self.issued.certificate

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        return self.issued.chain


@dataclass
class Subscriber:
    user_id: str
    full_name: str
    personal_id: str | None
    password: str = "demo"
    credentials: list[SimCredential] = field(default_factory=list)


@dataclass
class SimTransaction:
    transaction_id: str
    credential: SimCredential
    digests: list[bytes]
    descriptions: list[str]
    created: float
    expires: float
    state: SimState = SimState.PENDING
    signatures: list[bytes] = field(default_factory=list)
    error: str | None = None
    #: Extra protocol data a simulator wants to keep (e.g. SmartCA's tran_code).
    extra: dict[str, str] = field(default_factory=dict)


class SimError(Exception):
    """A refusal the protocol layer turns into its provider's own error shape."""

    def __init__(self, fault: str, message: str = "") -> None:
        self.fault = fault
        super().__init__(message or fault)


#: A protocol route's endpoint.
Handler = Callable[[Request], Awaitable[Response]]


def sign_digest(key: rsa.RSAPrivateKey, digest: bytes) -> bytes:
    """RSA PKCS#1 v1.5 over DigestInfo(SHA-256, digest): what every provider returns."""
    return key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))


class SimulatedProvider:
    """A provider's back office: subscribers, keys, transactions and the phone."""

    def __init__(self, name: str, pki: DemoPKI, issuing_ca: str, *, max_batch: int = 50) -> None:
        self.name = name
        self.pki = pki
        self.issuing_ca = issuing_ca
        self.max_batch = max_batch
        self.faults = Faults()
        self.phone = Phone()
        self.subscribers: dict[str, Subscriber] = {}
        self.transactions: dict[str, SimTransaction] = {}
        self.signatures_made = 0

    # --- subscribers ------------------------------------------------------------------------

    def enrol(
        self,
        user_id: str,
        *,
        full_name: str,
        personal_id: str | None = None,
        organisation: str = "",
        seal_of_school: str | None = None,
        credential_id: str | None = None,
        password: str = "demo",
        valid_from: datetime | None = None,
        valid_to: datetime | None = None,
    ) -> SimCredential:
        """Give ``user_id`` a key and certificate (a person's, or a school seal's)."""
        if seal_of_school is not None:
            issued = self.pki.issue_seal(
                self.issuing_ca,
                school_name=full_name,
                school_code=seal_of_school,
                valid_from=valid_from,
                valid_to=valid_to,
            )
        else:
            issued = self.pki.issue_person(
                self.issuing_ca,
                full_name=full_name,
                personal_id=personal_id or user_id,
                organisation=organisation or self.name,
                valid_from=valid_from,
                valid_to=valid_to,
            )
        subscriber = self.subscribers.setdefault(
            user_id, Subscriber(user_id, full_name, personal_id, password)
        )
        credential = SimCredential(credential_id or uuid.uuid4().hex, user_id, issued)
        subscriber.credentials.append(credential)
        return credential

    def subscriber(self, user_id: str) -> Subscriber:
        subscriber = self.subscribers.get(user_id)
        if subscriber is None:
            raise SimError("USER_UNKNOWN", f"unknown user {user_id}")
        return subscriber

    def credential(self, credential_id: str, user_id: str | None = None) -> SimCredential:
        for subscriber in self.subscribers.values():
            if user_id is not None and subscriber.user_id != user_id:
                continue
            for credential in subscriber.credentials:
                if credential.credential_id == credential_id:
                    return credential
        raise SimError("CREDENTIAL_UNKNOWN", f"unknown credential {credential_id}")

    def credential_status(self, credential: SimCredential) -> str:
        """ACTIVE, REVOKED or EXPIRED, the faults included."""
        if self.faults.certificate_revoked or self.pki.revoked_at(credential.certificate):
            return "REVOKED"
        if (
            self.faults.certificate_expired
            or credential.certificate.not_valid_after_utc < datetime.now(UTC)
        ):
            return "EXPIRED"
        return "ACTIVE"

    # --- transactions -----------------------------------------------------------------------

    def open_transaction(
        self,
        credential: SimCredential,
        digests: Sequence[bytes],
        descriptions: Sequence[str] = (),
        *,
        transaction_id: str | None = None,
    ) -> SimTransaction:
        """Queue ``digests`` for the signer's confirmation, or refuse outright."""
        status = self.credential_status(credential)
        if status != "ACTIVE":
            raise SimError(f"CERTIFICATE_{status}")
        if self.faults.quota_exhausted:
            raise SimError("QUOTA_EXHAUSTED")
        if not digests or len(digests) > self.max_batch:
            raise SimError("BAD_REQUEST", f"between 1 and {self.max_batch} hashes per request")
        if any(len(d) != 32 for d in digests):
            raise SimError("BAD_REQUEST", "hashes must be SHA-256 digests (32 bytes)")
        now = time.monotonic()
        transaction = SimTransaction(
            transaction_id=transaction_id or uuid.uuid4().hex,
            credential=credential,
            digests=list(digests),
            descriptions=list(descriptions),
            created=now,
            expires=now + self.phone.expires_after,
        )
        self.transactions[transaction.transaction_id] = transaction
        return transaction

    def sign_now(self, credential: SimCredential, digests: Sequence[bytes]) -> list[bytes]:
        """Sign without a phone (authorize-then-sign flows: the SAD was the consent)."""
        status = self.credential_status(credential)
        if status != "ACTIVE":
            raise SimError(f"CERTIFICATE_{status}")
        if self.faults.quota_exhausted:
            raise SimError("QUOTA_EXHAUSTED")
        self.signatures_made += len(digests)
        return self.answered([sign_digest(credential.issued.key, d) for d in digests])

    def answered(self, signatures: list[bytes]) -> list[bytes]:
        """The signatures as the provider hands them back: all of them, or one too few
        (:attr:`Faults.signature_missing`)."""
        return signatures[:-1] if self.faults.signature_missing else signatures

    def transaction(self, transaction_id: str) -> SimTransaction:
        """The transaction as it stands now, the phone's default answer applied."""
        transaction = self.transactions.get(transaction_id)
        if transaction is None:
            for candidate in self.transactions.values():
                if transaction_id in candidate.extra.values():
                    transaction = candidate
                    break
        if transaction is None:
            raise SimError("TRANSACTION_UNKNOWN", f"unknown transaction {transaction_id}")
        if transaction.state is SimState.PENDING:
            now = time.monotonic()
            if now >= transaction.expires:
                transaction.state = SimState.EXPIRED
            elif now >= transaction.created + self.phone.confirm_delay:
                if self.phone.answer is PhoneAnswer.APPROVE:
                    self.approve(transaction.transaction_id)
                elif self.phone.answer is PhoneAnswer.REJECT:
                    transaction.state = SimState.REJECTED
        return transaction

    def approve(self, transaction_id: str) -> SimTransaction:
        transaction = self.transactions[transaction_id]
        if transaction.state is SimState.PENDING:
            try:
                transaction.signatures = self.sign_now(transaction.credential, transaction.digests)
                transaction.state = SimState.SIGNED
            except SimError as error:
                transaction.state = SimState.FAILED
                transaction.error = error.fault
        return transaction

    def reject(self, transaction_id: str) -> SimTransaction:
        transaction = self.transactions[transaction_id]
        if transaction.state is SimState.PENDING:
            transaction.state = SimState.REJECTED
        return transaction

    def expire(self, transaction_id: str) -> SimTransaction:
        transaction = self.transactions[transaction_id]
        if transaction.state is SimState.PENDING:
            transaction.state = SimState.EXPIRED
        return transaction

    # --- the HTTP control face: /_sim/… -------------------------------------------------------

    def control_routes(self) -> list[BaseRoute]:
        """Routes to enrol users, steer the phone and inject faults (not part of any protocol)."""

        async def enrol(request: Request) -> Response:
            body = await request.json()
            credential = self.enrol(
                body["user_id"],
                full_name=body["full_name"],
                personal_id=body.get("personal_id"),
                organisation=body.get("organisation", ""),
                seal_of_school=body.get("seal_of_school"),
                credential_id=body.get("credential_id"),
                password=body.get("password", "demo"),
            )
            return JSONResponse(
                {
                    "credential_id": credential.credential_id,
                    "serial_number": format(credential.certificate.serial_number, "x"),
                }
            )

        async def faults(request: Request) -> Response:
            if request.method == "POST":
                body = await request.json()
                self.faults = Faults(**body)
            return JSONResponse(asdict(self.faults))

        async def phone(request: Request) -> Response:
            if request.method == "POST":
                body = await request.json()
                self.phone = Phone(
                    answer=PhoneAnswer(body.get("answer", self.phone.answer)),
                    confirm_delay=float(body.get("confirm_delay", self.phone.confirm_delay)),
                    expires_after=float(body.get("expires_after", self.phone.expires_after)),
                )
            return JSONResponse(asdict(self.phone))

        async def steer(request: Request) -> Response:
            action = {"approve": self.approve, "reject": self.reject, "expire": self.expire}
            verb = request.path_params["action"]
            transaction_id = request.path_params["transaction_id"]
            if verb not in action or transaction_id not in self.transactions:
                return JSONResponse({"error": "not found"}, status_code=404)
            return JSONResponse({"state": action[verb](transaction_id).state.value})

        async def pending(request: Request) -> Response:
            return JSONResponse(
                [
                    {
                        "transaction_id": t.transaction_id,
                        "user_id": t.credential.user_id,
                        "count": len(t.digests),
                        "state": self.transaction(t.transaction_id).state.value,
                    }
                    for t in list(self.transactions.values())
                ]
            )

        return [
            Mount(
                "/_sim",
                routes=[
                    Route("/users", enrol, methods=["POST"]),
                    Route("/faults", faults, methods=["GET", "POST"]),
                    Route("/phone", phone, methods=["GET", "POST"]),
                    Route("/transactions", pending),
                    Route("/transactions/{transaction_id}/{action}", steer, methods=["POST"]),
                ],
            )
        ]

    def app(self, protocol_routes: list[BaseRoute]) -> Starlette:
        """A Starlette app: the protocol's routes (subject to faults) plus ``/_sim``."""
        app = Starlette(routes=[*self.control_routes(), *protocol_routes])
        app.add_middleware(_FaultMiddleware, provider=self)
        return app


class BearerTokens:
    """Access tokens a simulator hands out at login, each standing for one subject (a
    user or an account) until it lapses ``lifetime`` seconds later."""

    def __init__(self, lifetime: float, fault: str = "UNAUTHORISED", message: str = "") -> None:
        self.lifetime = lifetime
        #: The refusal of a request without a valid token.
        self.fault, self.message = fault, message
        self._tokens: dict[str, tuple[str, float]] = {}

    def grant(self, subject: str) -> str:
        """A new token standing for ``subject``."""
        token = secrets.token_urlsafe(24)
        self._tokens[token] = (subject, time.monotonic() + self.lifetime)
        return token

    def subject(self, request: Request) -> str:
        """Whom the request's ``Authorization: Bearer`` token stands for; a missing,
        unknown or lapsed token is refused."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        entry = self._tokens.get(token) if scheme.lower() == "bearer" else None
        if entry is None or time.monotonic() >= entry[1]:
            raise SimError(self.fault, self.message)
        return entry[0]

    def clear(self) -> None:
        """Let every token lapse at once."""
        self._tokens.clear()


def guarded_routes(
    routes: Iterable[tuple[str, Handler]], refusal: Callable[[SimError], Response]
) -> list[BaseRoute]:
    """``POST`` routes whose handlers' :class:`SimError` become the API's own error
    answer, ``refusal(error)``."""

    def guarded(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except SimError as error:
                return refusal(error)

        return endpoint

    return [Route(path, guarded(handler), methods=["POST"]) for path, handler in routes]


class _FaultMiddleware:
    """Make protocol calls slow or fail with 5xx, as told; ``/_sim`` is never affected."""

    def __init__(self, app: ASGIApp, provider: SimulatedProvider) -> None:
        self.app = app
        self.provider = provider

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sim"):
            await self.app(scope, receive, send)
            return
        faults = self.provider.faults
        if faults.slow_seconds:
            await asyncio.sleep(faults.slow_seconds)
        if faults.server_error:
            response = JSONResponse(
                {"error": "internal", "message": "simulated server error"},
                status_code=faults.server_error,
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class SimulatorServer:
    """Serve an ASGI app on 127.0.0.1 from a background thread, like a remote service.

    The port is chosen at construction and kept across :meth:`stop`/:meth:`start`,
    so a stopped server is exactly a provider that refuses connections.
    """

    def __init__(self, app: ASGIApp, port: int = 0, host: str = "127.0.0.1") -> None:
        self.app = app
        self.host = host
        self.port = port or free_port(host)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    #: ``https`` for a server that speaks TLS (:meth:`uvicorn_options` says how).
    scheme = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def uvicorn_options(self) -> dict[str, Any]:
        """More of uvicorn's settings (a TLS server's certificate and key)."""
        return {}

    def start(self) -> SimulatorServer:
        if self._server is not None:
            return self
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            log_level="warning",
            lifespan="off",
            access_log=False,
            **self.uvicorn_options(),
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name=f"simulator:{self.port}", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"simulator on port {self.port} did not start")
            time.sleep(0.01)
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


#: Where the kernel's ephemeral ports start where it does not say (Linux's default).
EPHEMERAL_PORTS_FROM = 32_768
#: The lowest port :func:`free_port` gives.
FIRST_SERVER_PORT = 10_000


def ephemeral_ports_from() -> int:
    """The first port the kernel hands to a socket that binds port 0 or connects."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return EPHEMERAL_PORTS_FROM


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host``:``port`` now (bound as servers bind)."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    """A port nothing listens on at ``host`` now, at random below the kernel's ephemeral
    range: a simulator stopped to play an outage starts again on the same port, and
    meanwhile its port is refused, as a provider that is down is. In the ephemeral range
    the kernel would hand the port to the next socket that binds port 0 or connects (the
    tests run in several processes side by side), and that socket's owner would answer
    for the provider, or keep the simulator from starting again."""
    ephemeral = ephemeral_ports_from()
    for _ in range(1_000):
        port = secrets.randbelow(max(1, ephemeral - FIRST_SERVER_PORT)) + FIRST_SERVER_PORT
        if port_free(host, port):
            return port
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind((host, 0))  # below the range nothing is free: the kernel's choice
        return int(probe.getsockname()[1])


# --- a provider's far side, started for the demo or the contract tests ---------------------


@dataclass(frozen=True, slots=True)
class Enrolled:
    """A key a simulated provider issued, and the user ID the hub asks its adapter by
    (a personal ID, or a seal's school code)."""

    user_id: str
    credential_id: str
    certificate: x509.Certificate


class Enrol(Protocol):
    def __call__(
        self,
        *,
        name: str,
        personal_id: str | None = None,
        school_code: str | None = None,
        organisation: str = "",
        credential_id: str | None = None,
        valid_from: datetime | None = None,
        valid_to: datetime | None = None,
    ) -> Enrolled:
        """Issue a key: a person's (``personal_id``) or a school seal's (``school_code``)."""
        ...


@dataclass(kw_only=True)
class Simulation:
    """One provider's far side running on loopback, and how the hub reaches it."""

    entry: ProviderEntry
    #: The simulated back office (faults, the phone, its subscribers); None for a
    #: hardware token, which has neither.
    back_office: SimulatedProvider | None
    #: The HTTP service, which a test may stop and start; None for a hardware token.
    server: SimulatorServer | None
    #: A new adapter pointing at it; keyword arguments override the adapter's options
    #: (``timeout=…``, or :attr:`misconfigured`).
    connect: Callable[..., SigningAdapter]
    #: Options that make :attr:`connect` give an adapter whose own account (client
    #: secret, relying-party key, PIN …) the provider refuses.
    misconfigured: dict[str, Any]
    #: Its table of the providers file (the files it names written under the directory).
    config: Callable[[Path], dict[str, Any]]
    enrol: Enrol

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


class Simulate(Protocol):
    def __call__(
        self, pki: DemoPKI, *, directory: Path, variant: str, confirm_delay: float
    ) -> Simulation: ...


def simulate(
    entry: ProviderEntry,
    pki: DemoPKI,
    *,
    directory: Path,
    variant: str | None = None,
    confirm_delay: float = 0.2,
) -> Simulation:
    """Start ``entry``'s simulator (its first variant unless told), its phone confirming
    after ``confirm_delay`` seconds; files it needs go under ``directory``."""
    start: Simulate = importlib.import_module(entry.simulator).simulate
    directory.mkdir(parents=True, exist_ok=True)
    return start(
        pki,
        directory=directory,
        variant=entry.variants[0] if variant is None else variant,
        confirm_delay=confirm_delay,
    )


def person_enrolment(entry: ProviderEntry, back_office: SimulatedProvider) -> Enrol:
    """Enrolment of people at ``back_office``, under the provider's own user names
    (:attr:`~hub.adapters.signing.base.ProviderEntry.user_id`)."""

    def enrol(
        *,
        name: str,
        personal_id: str | None = None,
        school_code: str | None = None,
        organisation: str = "",
        credential_id: str | None = None,
        valid_from: datetime | None = None,
        valid_to: datetime | None = None,
    ) -> Enrolled:
        if personal_id is None or school_code is not None:
            raise ValueError(f"{entry.name} holds people's keys: give a personal_id")
        credential = back_office.enrol(
            entry.user_id(personal_id),
            full_name=name,
            personal_id=personal_id,
            organisation=organisation,
            credential_id=credential_id,
            valid_from=valid_from,
            valid_to=valid_to,
        )
        return Enrolled(personal_id, credential.credential_id, credential.certificate)

    return enrol
