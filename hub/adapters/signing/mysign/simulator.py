"""Viettel's side of MySign for tests and the demo.

Subscribers are enrolled under their MySign user name (``CMT_<personal ID>``).
Logins are per user and lapse after ``tokens.lifetime``; ``signHash`` supports the
polling modes the hub uses and the blocking ``async=0``, which waits for the
phone at most ``sync_wait`` seconds. A signed request is reported once as 6000
("confirmed, signing") before 1, as Viettel's HSM takes a moment.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypedDict, TypeVar

from cryptography.hazmat.primitives import serialization
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from hub.adapters.signing.mysign import PROVIDER
from hub.adapters.signing.mysign.adapter import MySignAdapter
from hub.adapters.signing.mysign.protocol import (
    SHA256_OID,
    AsyncMode,
    CertificatesInfoRequest,
    CredentialInfo,
    LoginAnswer,
    LoginCode,
    LoginRequest,
    MySignCertificate,
    RequestStatus,
    SignHashAnswer,
    SignHashRequest,
    StatusAnswer,
    StatusRequest,
    read_display,
)
from hub.adapters.signing.pki import VIETTEL, DemoPKI
from hub.adapters.signing.simulator import (
    BearerTokens,
    Phone,
    SimCredential,
    SimError,
    SimState,
    SimTransaction,
    SimulatedProvider,
    Simulation,
    SimulatorServer,
    guarded_routes,
    person_enrolment,
)

M = TypeVar("M", bound=BaseModel)

#: Back-office refusal → (HTTP status, MySign error number).
REFUSALS: dict[str, tuple[int, int]] = {
    "BAD_REQUEST": (400, HTTPStatus.BAD_REQUEST),
    "UNAUTHORISED": (401, HTTPStatus.UNAUTHORIZED),
    "CREDENTIAL_UNKNOWN": (400, RequestStatus.FAILED),
    "TRANSACTION_UNKNOWN": (400, RequestStatus.FAILED),
    "CERTIFICATE_REVOKED": (400, RequestStatus.CERTIFICATE_INVALID),
    "CERTIFICATE_EXPIRED": (400, RequestStatus.CERTIFICATE_INVALID),
    "QUOTA_EXHAUSTED": (400, RequestStatus.OUT_OF_QUOTA),
    "REJECTED": (400, RequestStatus.REJECTED),
    "EXPIRED": (400, RequestStatus.TIMEOUT),
}

#: The back office's credential status as MySign (CSC) writes it.
CSC_STATUS = {"ACTIVE": "valid", "REVOKED": "revoked", "EXPIRED": "expired"}


class MySignBackOffice(SimulatedProvider):
    """Viettel MySign's back office: API clients, per-user tokens, the blocking signHash."""

    def __init__(
        self, pki: DemoPKI, *, clients: Mapping[str, tuple[str, str]], max_batch: int = 50
    ) -> None:
        super().__init__("Viettel MySign", pki, VIETTEL, max_batch=max_batch)
        #: client_id → (client_secret, profile_id)
        self.clients = dict(clients)
        self.tokens = BearerTokens(3600.0, message="the access token is missing or has expired")
        #: How long ``async=0`` waits for the phone (Viettel: about 120 s).
        self.sync_wait = 120.0
        self._reported_signing: set[str] = set()

    def expire_tokens(self) -> None:
        """Let every access token lapse, as an hour's wait would."""
        self.tokens.clear()

    def routes(self) -> list[BaseRoute]:
        async def login(request: Request) -> Response:
            body = await _read(request, LoginRequest)
            client = self.clients.get(body.client_id)
            if client is None:
                return _login_refusal(400, LoginCode.UNKNOWN_CLIENT, "Client ID does not exist")
            if client[0] != body.client_secret:
                return _login_refusal(401, LoginCode.BAD_CLIENT_SECRET, "Client secret is invalid")
            if client[1] != body.profile_id:
                return _login_refusal(
                    401, LoginCode.BAD_CREDENTIALS, "user ID or password is invalid"
                )
            if body.user_id not in self.subscribers:
                return _login_refusal(400, LoginCode.UNKNOWN_USER, "User ID does not exist")
            token = self.tokens.grant(body.user_id)
            answer = LoginAnswer(access_token=token, expires_in=int(self.tokens.lifetime))
            return JSONResponse(answer.model_dump())

        async def certificates_info(request: Request) -> Response:
            await _read(request, CertificatesInfoRequest)
            subscriber = self.subscriber(self.tokens.subject(request))
            return JSONResponse(
                TypeAdapter(list[CredentialInfo]).dump_python(
                    [self._credential_info(c) for c in subscriber.credentials]
                )
            )

        async def sign_hash(request: Request) -> Response:
            body = await _read(request, SignHashRequest)
            user_id = self.tokens.subject(request)
            if self.clients.get(body.client_id, ("",))[0] != body.client_secret:
                raise SimError("UNAUTHORISED", "client secret is invalid")
            credential = self.credential(body.credentialID, user_id)
            transaction = self.open_transaction(credential, _digests(body), _document_names(body))
            if body.async_mode is not AsyncMode.SYNC:
                return JSONResponse(
                    SignHashAnswer(transactionId=transaction.transaction_id).model_dump(
                        exclude_none=True
                    )
                )
            transaction = await self._wait_for_phone(transaction)
            if transaction.state is not SimState.SIGNED:
                raise SimError(transaction.error or transaction.state.value)
            signatures = [base64.b64encode(s).decode() for s in transaction.signatures]
            return JSONResponse(SignHashAnswer(signatures=signatures).model_dump(exclude_none=True))

        async def status(request: Request) -> Response:
            body = await _read(request, StatusRequest)
            user_id = self.tokens.subject(request)
            transaction = self.transaction(body.transactionId)
            if transaction.credential.user_id != user_id:
                raise SimError("TRANSACTION_UNKNOWN")
            answer = StatusAnswer(
                status=self._status(transaction), transactionId=transaction.transaction_id
            )
            if answer.status == RequestStatus.SUCCESS:
                answer.signatures = [base64.b64encode(s).decode() for s in transaction.signatures]
            return JSONResponse(answer.model_dump())

        routes = [
            ("/vtss/service/ras/v1/login", login),
            ("/vtss/service/certificates/info", certificates_info),
            ("/vtss/service/signHash", sign_hash),
            ("/vtss/service/requests/status", status),
        ]
        return guarded_routes(routes, _refusal)

    def _credential_info(self, credential: SimCredential) -> CredentialInfo:
        certificate = credential.certificate
        return CredentialInfo(
            credential_id=credential.credential_id,
            description="Go>Sign mobile based implicit credential authorization",
            cert=MySignCertificate(
                status=CSC_STATUS[self.credential_status(credential)],
                certificates=[
                    base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()
                    for c in (certificate, *credential.chain)
                ],
                subjectDN=certificate.subject.rfc4514_string(),
                issuerDN=certificate.issuer.rfc4514_string(),
                serialNumber=str(certificate.serial_number),
                validFrom=certificate.not_valid_before_utc.strftime("%Y%m%d%H%M%S+0000"),
                validTo=certificate.not_valid_after_utc.strftime("%Y%m%d%H%M%S+0000"),
            ),
            multisign=self.max_batch,
        )

    async def _wait_for_phone(self, transaction: SimTransaction) -> SimTransaction:
        """``async=0``: hold the answer until the signer decides, ``sync_wait`` at most."""
        deadline = time.monotonic() + self.sync_wait
        while self.transaction(transaction.transaction_id).state is SimState.PENDING:
            if time.monotonic() >= deadline:
                return self.expire(transaction.transaction_id)
            await asyncio.sleep(0.05)
        return transaction

    def _status(self, transaction: SimTransaction) -> RequestStatus:
        if transaction.state is SimState.SIGNED:
            if transaction.transaction_id not in self._reported_signing:
                self._reported_signing.add(transaction.transaction_id)
                return RequestStatus.SIGNING
            return RequestStatus.SUCCESS
        if transaction.state is SimState.FAILED:
            refusal = REFUSALS.get(transaction.error or "")
            return RequestStatus(refusal[1]) if refusal else RequestStatus.FAILED
        return {
            SimState.PENDING: RequestStatus.WAITING,
            SimState.REJECTED: RequestStatus.REJECTED,
            SimState.EXPIRED: RequestStatus.TIMEOUT,
        }[transaction.state]


def create_simulator(
    pki: DemoPKI,
    *,
    client_id: str = "hub-demo",
    client_secret: str = "hub-demo-secret",
    profile_id: str = "adss:ras:profile:001",
    max_batch: int = 50,
) -> tuple[MySignBackOffice, Starlette]:
    """A MySign back office with one API client, and the app serving ``/vtss/service/…``."""
    back_office = MySignBackOffice(
        pki, clients={client_id: (client_secret, profile_id)}, max_batch=max_batch
    )
    return back_office, back_office.app(back_office.routes())


def _digests(body: SignHashRequest) -> list[bytes]:
    if not body.numSignatures == len(body.hash) == len(body.documents):
        raise SimError("BAD_REQUEST", "numSignatures, hash and documents must agree")
    if body.hashAlgo != SHA256_OID:
        raise SimError("BAD_REQUEST", "only SHA-256")
    try:
        return [base64.b64decode(h, validate=True) for h in body.hash]
    except ValueError as error:
        raise SimError("BAD_REQUEST", "hash must be base64") from error


def _document_names(body: SignHashRequest) -> list[str]:
    """The phone's lines; Viettel refuses anything but short base64 ASCII."""
    try:
        read_display(body.description)
        return [read_display(d.document_name) for d in body.documents]
    except ValueError as error:
        raise SimError("BAD_REQUEST", f"description/document_name: {error}") from error


async def _read(request: Request, model: type[M]) -> M:
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as error:
        raise SimError("BAD_REQUEST", str(error.errors()[:1])) from error


def _refusal(error: SimError) -> Response:
    """A back-office refusal as MySign's ``{error, error_description}``."""
    status, number = REFUSALS.get(error.fault, (500, RequestStatus.INTERNAL_ERROR))
    return JSONResponse({"error": int(number), "error_description": str(error)}, status_code=status)


def _login_refusal(status: int, code: LoginCode, message: str) -> Response:
    return JSONResponse({"code": int(code), "message": message}, status_code=status)


class ApiClient(TypedDict):
    client_id: str
    client_secret: str
    profile_id: str


#: The hub's API client at the simulated Viettel (the :func:`create_simulator` defaults).
CLIENT: ApiClient = {
    "client_id": "hub-demo",
    "client_secret": "hub-demo-secret",
    "profile_id": "adss:ras:profile:001",
}


def simulate(pki: DemoPKI, *, directory: Path, variant: str, confirm_delay: float) -> Simulation:
    """Viettel's MySign service on loopback, with the hub's API client :data:`CLIENT`."""
    back_office, app = create_simulator(pki, **CLIENT)
    back_office.phone = Phone(confirm_delay=confirm_delay)
    server = SimulatorServer(app).start()

    def connect(**options: Any) -> MySignAdapter:
        return MySignAdapter(**{"base_url": server.url, **CLIENT, **options})

    return Simulation(
        entry=PROVIDER,
        back_office=back_office,
        server=server,
        connect=connect,
        misconfigured={"client_secret": "not-the-secret"},
        config=lambda _directory: {"url": server.url, **CLIENT},
        enrol=person_enrolment(PROVIDER, back_office),
    )
