"""A Cloud Signature Consortium server, v1 and v2, on a :class:`SimulatedProvider`.

One back office answers at ``/csc/v1`` (1.0.4.0) and ``/csc/v2`` (2.0.0.2), so the
same subscriber can be used through either version. Accounts for ``auth/login``
are the subscribers themselves (user name and password, acting for themselves)
and the service accounts given to :func:`create_simulator` (acting for any user,
who is then named by ``userID``). Credentials need their PIN at
``credentials/authorize`` (SCAL 2: the SAD is bound to the hashes sent). A
synchronous ``signHash`` signs at once, as the PIN was the consent; v2's
asynchronous one (``operationMode: A``) waits for the simulated phone, and
``signatures/signPolling`` tells how that stands.

The server-side pieces any CSC-shaped protocol needs (routes that turn
:class:`SimError` into ``{error, error_description}``, bearer tokens, the
certificate block of ``credentials/info``) are public here for Ban Cơ yếu's
simulator, which speaks an RSSP profile of the same API.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives.serialization import Encoding
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from hub.adapters.signing.csc import PROVIDER
from hub.adapters.signing.csc.adapter import CscAccount, CscAdapter
from hub.adapters.signing.csc.protocol import (
    RSA_OID,
    SHA256_OID,
    SHA256_WITH_RSA_OID,
    AuthInfo,
    AuthObject,
    AuthorizeRequestV1,
    AuthorizeRequestV2,
    AuthorizeResponse,
    CertInfo,
    CredentialsInfoRequest,
    CredentialsInfoResponse,
    CredentialsListRequest,
    CredentialsListResponse,
    ErrorResponse,
    InfoRequest,
    InfoResponse,
    KeyInfo,
    LoginRequest,
    LoginResponse,
    PinInfo,
    SignHashRequestV1,
    SignHashRequestV2,
    SignHashResponse,
    SignPollingRequest,
    SignPollingResponse,
    Version,
    Wire,
    WireError,
    b64,
)
from hub.adapters.signing.pki import CSC_DEMO, DemoPKI
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
    person_enrolment,
)

M = TypeVar("M", bound=Wire)

V1_PATH = "/csc/v1"
V2_PATH = "/csc/v2"

#: How long a SAD from ``credentials/authorize`` may be used.
SAD_LIFETIME = 300.0

#: :class:`SimError` faults as HTTP status and ``error`` code.
WIRE_ERRORS: dict[str, tuple[int, WireError]] = {
    "BAD_REQUEST": (400, WireError.INVALID_REQUEST),
    "BAD_SAD": (400, WireError.INVALID_REQUEST),
    "TRANSACTION_UNKNOWN": (400, WireError.INVALID_REQUEST),
    "BAD_PIN": (400, WireError.INVALID_PIN),
    "BAD_PASSWORD": (401, WireError.INVALID_GRANT),
    "BAD_CLIENT": (401, WireError.INVALID_CLIENT),
    "BAD_TOKEN": (401, WireError.INVALID_TOKEN),
    "FORBIDDEN": (403, WireError.UNAUTHORIZED_CLIENT),
    "USER_UNKNOWN": (400, WireError.INVALID_USER),
    "CREDENTIAL_UNKNOWN": (400, WireError.INVALID_CREDENTIAL),
    "CERTIFICATE_REVOKED": (400, WireError.CERTIFICATE_REVOKED),
    "CERTIFICATE_EXPIRED": (400, WireError.CERTIFICATE_EXPIRED),
    "QUOTA_EXHAUSTED": (400, WireError.QUOTA_EXCEEDED),
    "REJECTED": (400, WireError.ACCESS_DENIED),
    "EXPIRED": (400, WireError.EXPIRED_TOKEN),
}


# --- what any CSC-shaped simulator needs --------------------------------------------------


def error_response(error: SimError) -> Response:
    status, code = WIRE_ERRORS.get(error.fault, (400, WireError.INVALID_REQUEST))
    answer = ErrorResponse(error=code, error_description=str(error))
    return JSONResponse(answer.body(), status_code=status)


def protocol_route(
    path: str, model: type[M], handler: Callable[[Request, M], Awaitable[Wire]]
) -> Route:
    """A ``POST`` route reading ``model``; a :class:`SimError` becomes the error JSON."""

    async def endpoint(request: Request) -> Response:
        try:
            payload = model.model_validate_json(await request.body() or b"{}")
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "body"
            return error_response(SimError("BAD_REQUEST", f"Invalid parameter {where}"))
        try:
            answer = await handler(request, payload)
        except SimError as error:
            return error_response(error)
        return JSONResponse(answer.body())

    return Route(path, endpoint, methods=["POST"])


class TokenStore(BearerTokens):
    """Bearer tokens handed out at ``auth/login``, and whom each stands for."""

    def __init__(self, lifetime: float) -> None:
        super().__init__(lifetime, "BAD_TOKEN", "The access token is missing, unknown or expired")

    def issue(self, subject: str) -> LoginResponse:
        return LoginResponse(access_token=self.grant(subject), expires_in=round(self.lifetime))


def _generalized_time(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%SZ")


def key_info(credential: SimCredential) -> KeyInfo:
    return KeyInfo(status="enabled", algo=[RSA_OID], len=credential.issued.key.key_size)


def cert_info(
    provider: SimulatedProvider, credential: SimCredential, request: CredentialsInfoRequest
) -> CertInfo:
    """The ``cert`` block of ``credentials/info``, as much of it as was asked for."""
    certificate = credential.certificate
    wanted = {
        "none": (),
        "single": (certificate,),
        "chain": (certificate, *credential.chain),
    }[request.certificates]
    status = provider.credential_status(credential)
    answer = CertInfo(
        status={"ACTIVE": "valid"}.get(status, status.lower()),
        certificates=[b64(c.public_bytes(Encoding.DER)) for c in wanted],
    )
    if request.certInfo:
        answer.issuerDN = certificate.issuer.rfc4514_string()
        answer.subjectDN = certificate.subject.rfc4514_string()
        answer.serialNumber = format(certificate.serial_number, "x")
        answer.validFrom = _generalized_time(certificate.not_valid_before_utc)
        answer.validTo = _generalized_time(certificate.not_valid_after_utc)
    return answer


def require_active(provider: SimulatedProvider, credential: SimCredential) -> None:
    """Refuse to authorise a key whose certificate is revoked or expired."""
    status = provider.credential_status(credential)
    if status != "ACTIVE":
        raise SimError(f"CERTIFICATE_{status}", f"The certificate is {status.lower()}")


def require_rsa(sign_algorithm: str) -> None:
    """The simulated keys are RSA and sign PKCS#1 v1.5 only."""
    if sign_algorithm not in (RSA_OID, SHA256_WITH_RSA_OID):
        raise SimError("BAD_REQUEST", f"Unsupported signAlgo {sign_algorithm}")


def decode_hashes(values: Sequence[str], hash_algorithm: str | None) -> list[bytes]:
    """The digests of a request, which must be SHA-256 (the algorithm may go unsaid)."""
    if hash_algorithm not in (None, SHA256_OID):
        raise SimError("BAD_REQUEST", f"Unsupported hash algorithm {hash_algorithm}")
    try:
        digests = [base64.b64decode(value, validate=True) for value in values]
    except binascii.Error as error:
        raise SimError("BAD_REQUEST", "Invalid parameter hashes: not base64") from error
    if not digests or any(len(digest) != 32 for digest in digests):
        raise SimError("BAD_REQUEST", "Invalid parameter hashes: SHA-256 digests expected")
    return digests


def raise_if_refused(transaction: SimTransaction) -> None:
    """A transaction the phone or the provider turned down, as the protocol's error."""
    if transaction.state is SimState.REJECTED:
        raise SimError("REJECTED", "The signer rejected the request")
    if transaction.state is SimState.EXPIRED:
        raise SimError("EXPIRED", "The signer did not confirm in time")
    if transaction.state is SimState.FAILED:
        raise SimError(transaction.error or "BAD_REQUEST", "Signing failed")


# --- the CSC server -----------------------------------------------------------------------


@dataclass
class _Grant:
    """What a SAD allows: these hashes (at most ``remaining`` of them) with one key."""

    credential_id: str
    hashes: frozenset[bytes]
    remaining: int
    expires: float
    description: str


class _CscService:
    """The CSC API over one back office: who logged in, and what each SAD allows."""

    def __init__(
        self,
        provider: SimulatedProvider,
        service_accounts: Mapping[str, str],
        token_lifetime: float,
    ) -> None:
        self.provider = provider
        self.service_accounts = dict(service_accounts)
        self.tokens = TokenStore(token_lifetime)
        self.grants: dict[str, _Grant] = {}

    def routes(self) -> list[BaseRoute]:
        return [
            Mount(V1_PATH, routes=self._routes("v1")),
            Mount(V2_PATH, routes=self._routes("v2")),
        ]

    def _routes(self, version: Version) -> list[BaseRoute]:
        authorize_model: type[AuthorizeRequestV1 | AuthorizeRequestV2]
        sign_model: type[SignHashRequestV1 | SignHashRequestV2]
        version_only: list[BaseRoute] = []
        if version == "v1":
            authorize_model, sign_model = AuthorizeRequestV1, SignHashRequestV1
        else:
            authorize_model, sign_model = AuthorizeRequestV2, SignHashRequestV2
            version_only.append(
                protocol_route("/signatures/signPolling", SignPollingRequest, self.sign_polling)
            )
        return [
            *version_only,
            protocol_route("/info", InfoRequest, partial(self.info, version)),
            protocol_route("/auth/login", LoginRequest, self.login),
            protocol_route("/credentials/list", CredentialsListRequest, self.credentials_list),
            protocol_route(
                "/credentials/info", CredentialsInfoRequest, partial(self.credentials_info, version)
            ),
            protocol_route("/credentials/authorize", authorize_model, self.authorize),
            protocol_route("/signatures/signHash", sign_model, self.sign_hash),
        ]

    # --- who may do what ---------------------------------------------------------------

    def _may_act_for(self, subject: str, user_id: str) -> bool:
        return subject in self.service_accounts or subject == user_id

    def _credential(self, request: Request, credential_id: str) -> SimCredential:
        """The credential, if the caller's account may use it (else it does not exist)."""
        subject = self.tokens.subject(request)
        credential = self.provider.credential(credential_id)
        if not self._may_act_for(subject, credential.user_id):
            raise SimError("CREDENTIAL_UNKNOWN", "Invalid parameter credentialID")
        return credential

    # --- the API ----------------------------------------------------------------------

    async def info(self, version: Version, request: Request, payload: InfoRequest) -> InfoResponse:
        methods = [
            "auth/login",
            "credentials/list",
            "credentials/info",
            "credentials/authorize",
            "signatures/signHash",
        ]
        return InfoResponse(
            specs="1.0.4.0" if version == "v1" else "2.0.0.2",
            name=self.provider.name,
            region="VN",
            lang="vi-VN",
            description="Máy chủ ký số CSC mô phỏng (DEMO)",
            authType=["basic"],
            methods=methods if version == "v1" else [*methods, "signatures/signPolling"],
        )

    async def login(self, request: Request, payload: LoginRequest) -> LoginResponse:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            raise SimError("BAD_PASSWORD", "HTTP Basic authentication required")
        try:
            username, _, password = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as error:
            raise SimError("BAD_PASSWORD", "Malformed Basic credentials") from error
        if username in self.service_accounts:
            expected = self.service_accounts[username]
        else:
            expected = self.provider.subscriber(username).password
        if not hmac.compare_digest(expected.encode(), password.encode()):
            raise SimError("BAD_PASSWORD", "Wrong password")
        return self.tokens.issue(username)

    async def credentials_list(
        self, request: Request, payload: CredentialsListRequest
    ) -> CredentialsListResponse:
        subject = self.tokens.subject(request)
        user_id = payload.userID or subject
        if not self._may_act_for(subject, user_id):
            raise SimError("FORBIDDEN", f"Account {subject} may not act for {user_id}")
        subscriber = self.provider.subscriber(user_id)
        return CredentialsListResponse(
            credentialIDs=[c.credential_id for c in subscriber.credentials]
        )

    async def credentials_info(
        self, version: Version, request: Request, payload: CredentialsInfoRequest
    ) -> CredentialsInfoResponse:
        credential = self._credential(request, payload.credentialID)
        answer = CredentialsInfoResponse(
            key=key_info(credential),
            cert=cert_info(self.provider, credential, payload),
            SCAL="2",
            multisign=self.provider.max_batch,
        )
        if not payload.authInfo:
            return answer
        if version == "v1":
            answer.authMode = "explicit"
            answer.PIN = PinInfo(presence="true", format="N", label="PIN")
        else:
            answer.auth = AuthInfo(
                mode="explicit", objects=[AuthObject(type="Password", id="PIN", format="N")]
            )
        return answer

    async def authorize(
        self, request: Request, payload: AuthorizeRequestV1 | AuthorizeRequestV2
    ) -> AuthorizeResponse:
        credential = self._credential(request, payload.credentialID)
        require_active(self.provider, credential)
        hash_algorithm: str | None  # v2's may go unsaid
        pin: str | None
        if isinstance(payload, AuthorizeRequestV1):
            values, hash_algorithm, pin = payload.hash, SHA256_OID, payload.PIN
        else:
            values, hash_algorithm = payload.hashes, payload.hashAlgorithmOID
            pin = next((a.value for a in payload.authData or () if a.id == "PIN"), payload.PIN)
        if not 1 <= payload.numSignatures <= self.provider.max_batch:
            raise SimError(
                "BAD_REQUEST", f"numSignatures must be 1 to {self.provider.max_batch} (multisign)"
            )
        if values is None or len(values) != payload.numSignatures:
            raise SimError("BAD_REQUEST", "SCAL 2: one hash per signature is required")
        digests = decode_hashes(values, hash_algorithm)
        if pin is None or not hmac.compare_digest(pin.encode(), credential.pin.encode()):
            raise SimError("BAD_PIN", "The PIN is invalid")
        sad = secrets.token_urlsafe(32)
        self.grants[sad] = _Grant(
            credential_id=credential.credential_id,
            hashes=frozenset(digests),
            remaining=payload.numSignatures,
            expires=time.monotonic() + SAD_LIFETIME,
            description=payload.description or "",
        )
        return AuthorizeResponse(SAD=sad, expiresIn=round(SAD_LIFETIME))

    async def sign_hash(
        self, request: Request, payload: SignHashRequestV1 | SignHashRequestV2
    ) -> SignHashResponse:
        credential = self._credential(request, payload.credentialID)
        require_rsa(payload.signAlgo)
        if isinstance(payload, SignHashRequestV1):
            digests = decode_hashes(payload.hash, payload.hashAlgo)
            asynchronous = False
        else:
            digests = decode_hashes(payload.hashes, payload.hashAlgorithmOID)
            asynchronous = payload.operationMode == "A"
        grant = self.grants.get(payload.SAD)
        if (
            grant is None
            or grant.credential_id != credential.credential_id
            or time.monotonic() >= grant.expires
        ):
            raise SimError("BAD_SAD", "Invalid or expired SAD")
        if len(digests) > grant.remaining or not grant.hashes.issuperset(digests):
            raise SimError("BAD_SAD", "The SAD does not cover these hashes")
        if asynchronous:
            transaction = self.provider.open_transaction(credential, digests, [grant.description])
            answer = SignHashResponse(responseID=transaction.transaction_id)
        else:
            signatures = self.provider.sign_now(credential, digests)
            answer = SignHashResponse(signatures=[b64(s) for s in signatures])
        grant.remaining -= len(digests)
        if grant.remaining == 0:
            del self.grants[payload.SAD]
        return answer

    async def sign_polling(
        self, request: Request, payload: SignPollingRequest
    ) -> SignPollingResponse:
        subject = self.tokens.subject(request)
        transaction = self.provider.transaction(payload.responseID)
        if not self._may_act_for(subject, transaction.credential.user_id):
            raise SimError("TRANSACTION_UNKNOWN", "Invalid parameter responseID")
        raise_if_refused(transaction)
        if transaction.state is SimState.PENDING:
            return SignPollingResponse(status="PENDING")
        return SignPollingResponse(
            status="SIGNED", signatures=[b64(s) for s in transaction.signatures]
        )


def create_simulator(
    pki: DemoPKI,
    *,
    service_accounts: Mapping[str, str] | None = None,
    max_batch: int = 50,
    token_lifetime: float = 3600.0,
) -> tuple[SimulatedProvider, Starlette]:
    """A CSC server's back office and its app; serve the app with ``SimulatorServer``.

    ``service_accounts`` (user name → password) may act for any subscriber;
    ``max_batch`` is every credential's ``multisign``. Certificates come from the
    demo PKI's CSC CA.
    """
    provider = SimulatedProvider("CSC Cloud Signing (DEMO)", pki, CSC_DEMO, max_batch=max_batch)
    service = _CscService(provider, service_accounts or {}, token_lifetime)
    return provider, provider.app(service.routes())


#: The service account the demo and the contract tests log in with.
SERVICE_ACCOUNT = CscAccount(username="hub-demo", password="hub-demo-password")


def simulate(pki: DemoPKI, *, directory: Path, variant: str, confirm_delay: float) -> Simulation:
    """A CSC v2 server on loopback that asks the signer (operation mode ``A``); the hub
    logs in with :data:`SERVICE_ACCOUNT` and sends each credential's PIN."""
    back_office, app = create_simulator(
        pki, service_accounts={SERVICE_ACCOUNT.username: SERVICE_ACCOUNT.password}
    )
    back_office.phone = Phone(confirm_delay=confirm_delay)
    server = SimulatorServer(app).start()
    url = server.url + V2_PATH

    def pins() -> dict[str, str]:
        return {
            credential.credential_id: credential.pin
            for subscriber in back_office.subscribers.values()
            for credential in subscriber.credentials
        }

    def connect(**options: Any) -> CscAdapter:
        return CscAdapter(
            **{
                "base_url": url,
                "account": SERVICE_ACCOUNT,
                "pins": lambda _credential_id: SimCredential.pin,
                "operation_mode": "A",
                **options,
            }
        )

    def config(directory: Path) -> dict[str, Any]:
        return {
            "url": url,
            "username": SERVICE_ACCOUNT.username,
            "password": SERVICE_ACCOUNT.password,
            "operation_mode": "A",
            "pins": pins(),
        }

    return Simulation(
        entry=PROVIDER,
        back_office=back_office,
        server=server,
        connect=connect,
        misconfigured={"account": CscAccount(username=SERVICE_ACCOUNT.username, password="x")},
        config=config,
        enrol=person_enrolment(PROVIDER, back_office),
    )
