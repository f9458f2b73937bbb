"""A Cloud Signature Consortium server, v1 and v2, on a :class:`SimulatedProvider`.

One back office answers at ``/csc/v1`` (1.0.4.0) and ``/csc/v2`` (2.0.0.2), so the
same subscriber can be used through either version. :func:`create_server` chooses
the service authorizations it offers (``info.authType``): ``basic`` (``auth/login``
for the subscribers themselves and for service accounts), ``oauth2client``
(client-credentials grant at ``oauth2/token``), ``oauth2code`` (tokens that
:meth:`_CscService.grant_user_tokens` hands out as a browser flow would, renewed by
refresh-token grant), ``external`` (no token) and ``TLS`` (a client certificate,
served by :class:`TlsSimulatorServer`). A service acts for any user and must name
them (``userID``); a user's own authorization must not.

Each credential is authorised and signs as its :class:`KeySettings` say: ``implicit``,
``explicit`` with a PIN and/or an OTP (online: sent on ``credentials/sendOTP`` into
:attr:`CscBackOffice.otps_sent`; offline: TOTP), or ``oauth2code`` (a credential-scope
token instead of a SAD); a factor the credential does not ask for is refused, so the
hub's client is held to sending only what is asked. An ``oauth2code`` credential's
token comes from a configured one (:meth:`_CscService.grant_credential_token`) or from
the signer's consent: ``GET oauth2/authorize`` with ``scope=credential`` shows a page
where they approve (or :attr:`CscBackOffice.consent` answers for them), the browser
goes back to the client's registered ``redirect_uri`` (compared exactly, RFC 6749
§3.1.2) with a ``code``, and ``oauth2/token`` exchanges it, once and within
:data:`CODE_LIFETIME`, for a token that signs those hashes once. Keys are RSA (PKCS#1 v1.5 and/or
RSASSA-PSS) or P-256 ECDSA. SADs are bound to the hashes sent (SCAL 2). A
synchronous ``signHash`` signs at once; v2's asynchronous one (``operationMode: A``)
waits for the simulated phone, and ``signatures/signPolling`` tells how that stands.

The server-side pieces any CSC-shaped protocol needs (routes that turn
:class:`SimError` into ``{error, error_description}``, bearer tokens, the
certificate block of ``credentials/info``) are public here for Ban Cơ yếu's
simulator, which speaks an RSSP profile of the same API.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hmac
import html
import secrets
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa, utils
from cryptography.hazmat.primitives.serialization import Encoding
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from hub.adapters.signing.csc import PROVIDER
from hub.adapters.signing.csc.adapter import CscAccount, CscAdapter, OAuthClient
from hub.adapters.signing.csc.protocol import (
    RSA_OID,
    SHA256_OID,
    AuthInfo,
    AuthMode,
    AuthObject,
    AuthorizeRequestV1,
    AuthorizeRequestV2,
    AuthorizeResponse,
    CertInfo,
    CredentialsInfoRequest,
    CredentialsInfoResponse,
    CredentialsListRequest,
    CredentialsListResponse,
    Empty,
    ErrorResponse,
    InfoRequest,
    InfoResponse,
    KeyInfo,
    LoginRequest,
    LoginResponse,
    OtpInfo,
    PinInfo,
    SendOtpRequest,
    ServiceAuth,
    SignHashRequestV1,
    SignHashRequestV2,
    SignHashResponse,
    SignPollingRequest,
    SignPollingResponse,
    TokenResponse,
    Version,
    Wire,
    WireError,
    b64,
    totp,
)
from hub.adapters.signing.pki import CSC_DEMO, DemoPKI, Issued
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
    sign_digest,
)
from hub.signing import algorithms
from hub.signing.algorithms import SignatureAlgorithm

M = TypeVar("M", bound=Wire)

V1_PATH = "/csc/v1"
V2_PATH = "/csc/v2"

#: How long a SAD from ``credentials/authorize`` may be used.
SAD_LIFETIME = 300.0
#: How long the code a signer's consent gives may be exchanged (RFC 6749 §4.1.2: short).
CODE_LIFETIME = 60.0
#: How long the credential-scope token exchanged for it may sign.
CODE_TOKEN_LIFETIME = 120.0

#: :class:`SimError` faults as HTTP status and ``error`` code.
WIRE_ERRORS: dict[str, tuple[int, WireError]] = {
    "BAD_REQUEST": (400, WireError.INVALID_REQUEST),
    "BAD_SAD": (400, WireError.INVALID_REQUEST),
    "TRANSACTION_UNKNOWN": (400, WireError.INVALID_REQUEST),
    "BAD_PIN": (400, WireError.INVALID_PIN),
    "BAD_OTP": (400, WireError.INVALID_OTP),
    "BAD_PASSWORD": (401, WireError.INVALID_GRANT),
    "BAD_CODE": (400, WireError.INVALID_GRANT),
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
    if sign_algorithm not in (RSA_OID, algorithms.SHA256_WITH_RSA_OID):
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


#: A simulated credential's private key.
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass
class KeySettings:
    """How one simulated credential is authorised and signs.

    ``otp``: None, ``online`` (sent on ``credentials/sendOTP``, read back by a test from
    :attr:`CscBackOffice.otps_sent`) or ``offline`` (TOTP over ``totp_secret``).
    ``private_key`` None: the credential's own RSA key from the PKI.
    ``ecdsa_raw``: answer ECDSA as ``r || s`` instead of DER, as some servers do.
    """

    auth_mode: AuthMode = "explicit"
    pin: bool = True
    otp: Literal["online", "offline"] | None = None
    totp_secret: str = ""
    algorithms: tuple[SignatureAlgorithm, ...] = (SignatureAlgorithm.RSA_PKCS1_SHA256,)
    private_key: PrivateKey | None = None
    ecdsa_raw: bool = False


def sign_with(key: PrivateKey, algorithm: SignatureAlgorithm, digest: bytes) -> bytes:
    """The raw value of ``algorithm`` over a SHA-256 ``digest`` (ECDSA as DER)."""
    prehashed = utils.Prehashed(hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(digest, ec.ECDSA(prehashed))
    if algorithm is SignatureAlgorithm.RSA_PSS_SHA256:
        return key.sign(digest, algorithms.padding_for(algorithm), prehashed)
    return sign_digest(key, digest)


class CscBackOffice(SimulatedProvider):
    """The back office of a CSC server: keys of every kind, each authorised its own way."""

    def __init__(self, pki: DemoPKI, *, max_batch: int) -> None:
        super().__init__("CSC Cloud Signing (DEMO)", pki, CSC_DEMO, max_batch=max_batch)
        self.settings: dict[str, KeySettings] = {}
        #: The last OTP sent to each credential's owner (the simulated SMS inbox).
        self.otps_sent: dict[str, str] = {}
        #: The redirect URIs registered for each OAuth client (``client_id``), where a
        #: signer's browser may be sent back after ``oauth2/authorize``.
        self.redirect_uris: dict[str, set[str]] = {}
        #: How the signer answers ``oauth2/authorize``: on its page (``ask``), or at
        #: once, for tests that do not click through it.
        self.consent: Literal["ask", "approve", "deny"] = "ask"

    def register_redirect(self, uri: str) -> None:
        """Register ``uri`` for the hub's OAuth client, as a real server's administrator
        does when the hub is set up (the demo registers the hub's own callback)."""
        self.redirect_uris.setdefault(HUB_CLIENT.client_id, set()).add(uri)

    def enrol_key(
        self,
        user_id: str,
        *,
        full_name: str,
        password: str = "demo",
        key: Literal["rsa", "ec"] = "rsa",
        settings: KeySettings | None = None,
    ) -> SimCredential:
        """Enrol ``user_id`` with a key signing as ``settings`` say; ``key="ec"`` gives a
        P-256 key with its own certificate for the same subject."""
        credential = self.enrol(user_id, full_name=full_name, password=password)
        chosen = settings or KeySettings()
        if key == "ec":
            private_key = ec.generate_private_key(ec.SECP256R1())
            certificate = self.pki.certify(
                self.issuing_ca, private_key.public_key(), credential.certificate.subject
            )
            # The PKI's RSA key stays in ``issued`` unused: this back office signs with
            # the settings' key.
            credential.issued = Issued(credential.issued.key, certificate, credential.chain)
            chosen.private_key = private_key
            if chosen.algorithms == KeySettings().algorithms:
                chosen.algorithms = (SignatureAlgorithm.ECDSA_SHA256,)
        self.settings[credential.credential_id] = chosen
        return credential

    def settings_of(self, credential: SimCredential) -> KeySettings:
        return self.settings.setdefault(credential.credential_id, KeySettings())

    def sign_now(
        self,
        credential: SimCredential,
        digests: Sequence[bytes],
        algorithm: SignatureAlgorithm = SignatureAlgorithm.RSA_PKCS1_SHA256,
    ) -> list[bytes]:
        status = self.credential_status(credential)
        if status != "ACTIVE":
            raise SimError(f"CERTIFICATE_{status}")
        if self.faults.quota_exhausted:
            raise SimError("QUOTA_EXHAUSTED")
        settings = self.settings_of(credential)
        key = settings.private_key or credential.issued.key
        self.signatures_made += len(digests)
        values = [sign_with(key, algorithm, digest) for digest in digests]
        if settings.ecdsa_raw and isinstance(key, ec.EllipticCurvePrivateKey):
            values = [algorithms.ecdsa_to_xmldsig(value, key.public_key()) for value in values]
        return self.answered(values)

    def approve(self, transaction_id: str) -> SimTransaction:
        transaction = self.transactions[transaction_id]
        if transaction.state is SimState.PENDING:
            algorithm = SignatureAlgorithm(transaction.extra["algorithm"])
            try:
                transaction.signatures = self.sign_now(
                    transaction.credential, transaction.digests, algorithm
                )
                transaction.state = SimState.SIGNED
            except SimError as error:
                transaction.state = SimState.FAILED
                transaction.error = error.fault
        return transaction


#: ``signAlgo`` OIDs (and their ``signAlgoParams``) a key signing each way accepts.
_SIGN_ALGOS: dict[SignatureAlgorithm, frozenset[str]] = {
    SignatureAlgorithm.RSA_PKCS1_SHA256: frozenset({RSA_OID, algorithms.SHA256_WITH_RSA_OID}),
    SignatureAlgorithm.RSA_PSS_SHA256: frozenset({algorithms.RSASSA_PSS_OID}),
    SignatureAlgorithm.ECDSA_SHA256: frozenset({algorithms.ECDSA_WITH_SHA256_OID}),
}


def _requested_algorithm(
    settings: KeySettings, sign_algo: str, params: str | None
) -> SignatureAlgorithm:
    for algorithm in settings.algorithms:
        if sign_algo in _SIGN_ALGOS[algorithm]:
            if algorithm is SignatureAlgorithm.RSA_PSS_SHA256 and params != (
                algorithms.csc_sign_algo_params(algorithm)
            ):
                raise SimError("BAD_REQUEST", "signAlgoParams: SHA-256, MGF1-SHA-256, salt 32")
            return algorithm
    raise SimError("BAD_REQUEST", f"Unsupported signAlgo {sign_algo} for this key")


@dataclass
class _Grant:
    """What a SAD allows: these hashes (at most ``remaining`` of them) with one key."""

    credential_id: str
    hashes: frozenset[bytes]
    remaining: int
    expires: float
    description: str
    #: Used up by one signHash, whatever it signed (a signer's consent).
    once: bool = False


@dataclass(frozen=True)
class _Consent:
    """What a signer is asked to approve at ``oauth2/authorize``, and where to go next;
    once approved, what its code may be exchanged for (before ``expires``)."""

    client_id: str
    redirect_uri: str
    state: str
    credential_id: str
    hashes: frozenset[bytes]
    count: int
    expires: float = 0.0


#: A subject standing for a service that acts for any user (not user-specific).
_SERVICE = "service:"


class _CscService:
    """The CSC API over one back office: who is let in and how, and what each SAD allows.

    Subjects of tokens are users (user-specific: a subscriber's own ``auth/login`` or
    ``oauth2code`` token) or services (``_SERVICE`` + name: a service account, an OAuth
    client, an ``external`` caller), who must name the user in ``credentials/list``.
    """

    def __init__(
        self,
        provider: CscBackOffice,
        *,
        auth_types: Sequence[ServiceAuth],
        service_accounts: Mapping[str, str],
        oauth_clients: Mapping[str, str],
        token_lifetime: float,
    ) -> None:
        self.provider = provider
        self.auth_types = list(auth_types)
        self.service_accounts = dict(service_accounts)
        self.oauth_clients = dict(oauth_clients)
        self.tokens = TokenStore(token_lifetime)
        self.refresh_tokens: dict[str, str] = {}
        #: Credential-scope tokens (``oauth2code`` credential authorization) → credential.
        self.credential_tokens: dict[str, str] = {}
        #: What a SAD (or a token from a signer's consent) allows, by its value.
        self.grants: dict[str, _Grant] = {}
        #: Consents on their page, by the page's ticket; approved ones, by their code.
        self.consents: dict[str, _Consent] = {}
        self.codes: dict[str, _Consent] = {}

    def routes(self) -> list[BaseRoute]:
        return [
            Mount(V1_PATH, routes=self._routes("v1")),
            Mount(V2_PATH, routes=self._routes("v2")),
        ]

    def _routes(self, version: Version) -> list[BaseRoute]:
        authorize_model: type[AuthorizeRequestV1 | AuthorizeRequestV2]
        sign_model: type[SignHashRequestV1 | SignHashRequestV2]
        routes: list[BaseRoute] = [
            Route("/oauth2/token", self.oauth2_token, methods=["POST"]),
            Route("/oauth2/authorize", partial(self.oauth2_authorize, version), methods=["GET"]),
            Route("/oauth2/authorize", self.oauth2_consent, methods=["POST"]),
        ]
        if version == "v1":
            authorize_model, sign_model = AuthorizeRequestV1, SignHashRequestV1
        else:
            authorize_model, sign_model = AuthorizeRequestV2, SignHashRequestV2
            routes.append(
                protocol_route("/signatures/signPolling", SignPollingRequest, self.sign_polling)
            )
        if "basic" in self.auth_types:
            routes.append(protocol_route("/auth/login", LoginRequest, self.login))
        return [
            *routes,
            protocol_route("/info", InfoRequest, partial(self.info, version)),
            protocol_route("/credentials/list", CredentialsListRequest, self.credentials_list),
            protocol_route(
                "/credentials/info", CredentialsInfoRequest, partial(self.credentials_info, version)
            ),
            protocol_route("/credentials/sendOTP", SendOtpRequest, self.send_otp),
            protocol_route("/credentials/authorize", authorize_model, self.authorize),
            protocol_route("/signatures/signHash", sign_model, self.sign_hash),
        ]

    # --- tokens a person's browser would have obtained (oauth2code) ---------------------

    def grant_user_tokens(self, user_id: str) -> tuple[str, str]:
        """The access and refresh token an authorization-code flow gives ``user_id``."""
        self.provider.subscriber(user_id)
        refresh = secrets.token_urlsafe(24)
        self.refresh_tokens[refresh] = user_id
        return self.tokens.grant(user_id), refresh

    def grant_credential_token(self, credential_id: str) -> str:
        """A credential-scope token (``scope=credential``) for one credential."""
        credential = self.provider.credential(credential_id)
        token = self.tokens.grant(credential.user_id)
        self.credential_tokens[token] = credential_id
        return token

    # --- who may do what ---------------------------------------------------------------

    def _subject(self, request: Request) -> str:
        """Whom the request stands for; ``external`` callers carry no token, nor do
        ``TLS`` ones, whose client certificate the server's TLS handshake required."""
        if "authorization" not in request.headers:
            if "TLS" in self.auth_types and request.url.scheme == "https":
                return _SERVICE + "TLS"
            if "external" in self.auth_types:
                return _SERVICE + "external"
        return self.tokens.subject(request)

    def _may_act_for(self, subject: str, user_id: str) -> bool:
        return subject.startswith(_SERVICE) or subject == user_id

    def _credential(self, request: Request, credential_id: str) -> SimCredential:
        """The credential, if the caller's account may use it (else it does not exist)."""
        subject = self._subject(request)
        credential = self.provider.credential(credential_id)
        if not self._may_act_for(subject, credential.user_id):
            raise SimError("CREDENTIAL_UNKNOWN", "Invalid parameter credentialID")
        return credential

    # --- the API ----------------------------------------------------------------------

    async def info(self, version: Version, request: Request, payload: InfoRequest) -> InfoResponse:
        methods = [
            "credentials/list",
            "credentials/info",
            "credentials/authorize",
            "credentials/sendOTP",
            "signatures/signHash",
        ]
        if "basic" in self.auth_types:
            methods.insert(0, "auth/login")
        if version == "v2":
            methods.append("signatures/signPolling")
        return InfoResponse(
            specs="1.0.4.0" if version == "v1" else "2.0.0.2",
            name=self.provider.name,
            region="VN",
            lang="vi-VN",
            description="Máy chủ ký số CSC mô phỏng (DEMO)",
            authType=list(self.auth_types),
            oauth2=str(request.base_url).rstrip("/") + (V1_PATH if version == "v1" else V2_PATH)
            if {"oauth2client", "oauth2code"} & set(self.auth_types)
            else None,
            methods=methods,
        )

    async def login(self, request: Request, payload: LoginRequest) -> LoginResponse:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            raise SimError("BAD_PASSWORD", "HTTP Basic authentication required")
        try:
            username, _, password = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as error:
            raise SimError("BAD_PASSWORD", "Malformed Basic credentials") from error
        subject = username
        if username in self.service_accounts:
            expected, subject = self.service_accounts[username], _SERVICE + username
        else:
            expected = self.provider.subscriber(username).password
        if not hmac.compare_digest(expected.encode(), password.encode()):
            raise SimError("BAD_PASSWORD", "Wrong password")
        return self.tokens.issue(subject)

    async def oauth2_token(self, request: Request) -> Response:
        """RFC 6749 token endpoint: client credentials (``oauth2client``) and refresh
        tokens (``oauth2code``); form-encoded, or JSON as some CSC clients send."""
        if request.headers.get("content-type", "").startswith("application/json"):
            form: dict[str, Any] = await request.json()
        else:
            form = dict(await request.form())
        client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        client_known = client_id in self.oauth_clients and hmac.compare_digest(
            self.oauth_clients[client_id].encode(), secret.encode()
        )
        grant = form.get("grant_type")
        if grant == "authorization_code":
            if not client_known:
                return error_response(SimError("BAD_CLIENT", "Unknown client or wrong secret"))
            return self._exchange_code(client_id, form)
        if grant == "client_credentials" and "oauth2client" in self.auth_types:
            if not client_known:
                return error_response(SimError("BAD_CLIENT", "Unknown client or wrong secret"))
            access = self.tokens.grant(_SERVICE + client_id)
            answer = TokenResponse(access_token=access, expires_in=round(self.tokens.lifetime))
            return JSONResponse(answer.body())
        if grant == "refresh_token" and "oauth2code" in self.auth_types:
            user_id = self.refresh_tokens.pop(str(form.get("refresh_token", "")), None)
            if user_id is None or (client_id and not client_known):
                return error_response(SimError("BAD_PASSWORD", "Invalid refresh token"))
            access, refresh = self.grant_user_tokens(user_id)
            answer = TokenResponse(
                access_token=access, refresh_token=refresh, expires_in=round(self.tokens.lifetime)
            )
            return JSONResponse(answer.body())
        return error_response(SimError("BAD_REQUEST", f"Unsupported grant_type {grant}"))

    def _exchange_code(self, client_id: str, form: Mapping[str, Any]) -> Response:
        """A credential-scope token for an approved code: once, in time, by the client it
        was given to, with the redirect URI it was sent to (RFC 6749 §4.1.3)."""
        consent = self.codes.pop(str(form.get("code", "")), None)
        if (
            consent is None
            or time.monotonic() >= consent.expires
            or consent.client_id != client_id
            or consent.redirect_uri != form.get("redirect_uri")
        ):
            return error_response(SimError("BAD_CODE", "Invalid, used or expired code"))
        credential = self.provider.credential(consent.credential_id)
        token = self.tokens.grant(credential.user_id)
        self.grants[token] = _Grant(
            credential_id=consent.credential_id,
            hashes=consent.hashes,
            remaining=consent.count,
            expires=time.monotonic() + CODE_TOKEN_LIFETIME,
            description="",
            once=True,
        )
        answer = TokenResponse(access_token=token, expires_in=round(CODE_TOKEN_LIFETIME))
        return JSONResponse(answer.body())

    async def oauth2_authorize(self, version: Version, request: Request) -> Response:
        """``oauth2/authorize`` with ``scope=credential`` (v1.0.4 §8.3.2, v2 §8.4.2): the
        signer's page. An unknown client or unregistered ``redirect_uri`` is said here,
        never redirected to; anything else wrong goes back as ``error``."""
        query = request.query_params
        client_id, redirect_uri = query.get("client_id", ""), query.get("redirect_uri", "")
        state = query.get("state", "")
        if client_id not in self.oauth_clients or redirect_uri not in (
            self.provider.redirect_uris.get(client_id, set())
        ):
            return _consent_page("Ứng dụng hoặc redirect_uri chưa được đăng ký.", status=400)
        try:
            consent = self._consent_asked(version, query, client_id, redirect_uri, state)
        except (SimError, ValueError) as error:
            return _back(redirect_uri, error="invalid_request", state=state, why=str(error))
        if self.provider.consent == "approve":
            return self._approved(consent)
        if self.provider.consent == "deny":
            return _back(redirect_uri, error="access_denied", state=state)
        ticket = secrets.token_urlsafe(16)
        self.consents[ticket] = consent
        credential = self.provider.credential(consent.credential_id)
        return _consent_page(
            f"{html.escape(credential.certificate.subject.rfc4514_string())} ký "
            f"{consent.count} tài liệu?"
            f'<form method="post"><input type="hidden" name="ticket" value="{ticket}">'
            '<button name="decision" value="approve">Đồng ý</button> '
            '<button name="decision" value="deny">Từ chối</button></form>'
        )

    def _consent_asked(
        self,
        version: Version,
        query: Mapping[str, str],
        client_id: str,
        redirect_uri: str,
        state: str,
    ) -> _Consent:
        if query.get("response_type") != "code" or query.get("scope") != "credential":
            raise SimError("BAD_REQUEST", "response_type=code and scope=credential expected")
        credential = self.provider.credential(query.get("credentialID", ""))
        if self.provider.settings_of(credential).auth_mode != "oauth2code":
            raise SimError("BAD_REQUEST", "This credential is not authorised with OAuth 2.0")
        listed = query.get("hash" if version == "v1" else "hashes", "")
        algorithm = SHA256_OID if version == "v1" else query.get("hashAlgorithmOID")
        digests = decode_hashes(
            [b64(base64.urlsafe_b64decode(v + "=" * (-len(v) % 4))) for v in listed.split(",")],
            algorithm,
        )
        count = int(query.get("numSignatures", "0"))
        if count != len(digests) or count > self.provider.max_batch:
            raise SimError("BAD_REQUEST", "numSignatures must count the hashes (multisign)")
        return _Consent(
            client_id, redirect_uri, state, credential.credential_id, frozenset(digests), count
        )

    async def oauth2_consent(self, request: Request) -> Response:
        """The signer's answer on the consent page."""
        form = await request.form()
        consent = self.consents.pop(str(form.get("ticket", "")), None)
        if consent is None:
            return _consent_page("Yêu cầu không còn hiệu lực.", status=400)
        if form.get("decision") != "approve":
            return _back(consent.redirect_uri, error="access_denied", state=consent.state)
        return self._approved(consent)

    def _approved(self, consent: _Consent) -> Response:
        code = secrets.token_urlsafe(24)
        self.codes[code] = dataclasses.replace(consent, expires=time.monotonic() + CODE_LIFETIME)
        return _back(consent.redirect_uri, code=code, state=consent.state)

    async def credentials_list(
        self, request: Request, payload: CredentialsListRequest
    ) -> CredentialsListResponse:
        subject = self._subject(request)
        if subject.startswith(_SERVICE):
            if not payload.userID:
                raise SimError("BAD_REQUEST", "Invalid parameter userID: required for a service")
            user_id = payload.userID
        elif payload.userID is not None:
            # The spec: SHALL NOT be present when the authorization is user-specific.
            raise SimError("BAD_REQUEST", "A user-specific authorization must not name a user")
        else:
            user_id = subject
        subscriber = self.provider.subscriber(user_id)
        return CredentialsListResponse(
            credentialIDs=[c.credential_id for c in subscriber.credentials]
        )

    async def credentials_info(
        self, version: Version, request: Request, payload: CredentialsInfoRequest
    ) -> CredentialsInfoResponse:
        credential = self._credential(request, payload.credentialID)
        settings = self.provider.settings_of(credential)
        answer = CredentialsInfoResponse(
            key=_key_info(credential, settings),
            cert=cert_info(self.provider, credential, payload),
            SCAL="2",
            multisign=self.provider.max_batch,
        )
        if not payload.authInfo:
            return answer
        explicit = settings.auth_mode == "explicit"
        if version == "v1":
            answer.authMode = settings.auth_mode
            if explicit and settings.pin:
                answer.PIN = PinInfo(presence="true", format="N", label="PIN")
            if explicit and settings.otp:
                answer.OTP = OtpInfo(presence="true", type=settings.otp, format="N", label="OTP")
        else:
            objects = []
            if explicit and settings.pin:
                objects.append(AuthObject(type="Password", id="PIN", format="N"))
            if explicit and settings.otp:
                objects.append(AuthObject(type="OTP", id="OTP", format="N"))
            answer.auth = AuthInfo(mode=settings.auth_mode, objects=objects)
        return answer

    async def send_otp(self, request: Request, payload: SendOtpRequest) -> Empty:
        credential = self._credential(request, payload.credentialID)
        if self.provider.settings_of(credential).otp != "online":
            raise SimError("BAD_REQUEST", "This credential has no online OTP")
        self.provider.otps_sent[credential.credential_id] = f"{secrets.randbelow(10**6):06d}"
        return Empty()

    def _check_factors(self, credential: SimCredential, pin: str | None, otp: str | None) -> None:
        """The factors the credential asks for, and no others (implicit: none)."""
        settings = self.provider.settings_of(credential)
        explicit = settings.auth_mode == "explicit"
        if settings.auth_mode == "oauth2code":
            raise SimError("BAD_REQUEST", "This credential is authorised with OAuth 2.0")
        if pin is not None and not (explicit and settings.pin):
            raise SimError("BAD_REQUEST", "Invalid parameter PIN: this credential has none")
        if otp is not None and not (explicit and settings.otp):
            raise SimError("BAD_REQUEST", "Invalid parameter OTP: this credential has none")
        wrong_pin = pin is None or not hmac.compare_digest(pin.encode(), credential.pin.encode())
        if explicit and settings.pin and wrong_pin:
            raise SimError("BAD_PIN", "The PIN is invalid")
        if explicit and settings.otp:
            if settings.otp == "online":
                expected = self.provider.otps_sent.pop(credential.credential_id, None)
                valid = {expected} if expected else set()
            else:
                now = time.time()
                valid = {totp(settings.totp_secret, now + drift) for drift in (-30, 0, 30)}
            if otp is None or otp not in valid:
                raise SimError("BAD_OTP", "The OTP is invalid")

    async def authorize(
        self, request: Request, payload: AuthorizeRequestV1 | AuthorizeRequestV2
    ) -> AuthorizeResponse:
        credential = self._credential(request, payload.credentialID)
        require_active(self.provider, credential)
        hash_algorithm: str | None  # v2's may go unsaid
        pin: str | None
        otp: str | None
        if isinstance(payload, AuthorizeRequestV1):
            values, hash_algorithm, pin, otp = payload.hash, SHA256_OID, payload.PIN, payload.OTP
        else:
            values, hash_algorithm = payload.hashes, payload.hashAlgorithmOID
            factors = {a.id: a.value for a in payload.authData or ()}
            pin, otp = factors.get("PIN", payload.PIN), factors.get("OTP", payload.OTP)
        if not 1 <= payload.numSignatures <= self.provider.max_batch:
            raise SimError(
                "BAD_REQUEST", f"numSignatures must be 1 to {self.provider.max_batch} (multisign)"
            )
        if values is None or len(values) != payload.numSignatures:
            raise SimError("BAD_REQUEST", "SCAL 2: one hash per signature is required")
        digests = decode_hashes(values, hash_algorithm)
        self._check_factors(credential, pin, otp)
        sad = secrets.token_urlsafe(32)
        self.grants[sad] = _Grant(
            credential_id=credential.credential_id,
            hashes=frozenset(digests),
            remaining=payload.numSignatures,
            expires=time.monotonic() + SAD_LIFETIME,
            description=payload.description or "",
        )
        return AuthorizeResponse(SAD=sad, expiresIn=round(SAD_LIFETIME))

    def _consent(
        self, request: Request, credential: SimCredential, sad: str | None
    ) -> tuple[str, _Grant]:
        """What authorises this signHash, and its key in :attr:`grants`: a SAD, a token
        from the signer's consent (both bound to hashes), or a configured
        credential-scope token (not bound)."""
        if self.provider.settings_of(credential).auth_mode == "oauth2code":
            _, _, token = request.headers.get("authorization", "").partition(" ")
            if token in self.grants:
                sad = token
            elif self.credential_tokens.get(token) != credential.credential_id:
                raise SimError("BAD_TOKEN", "A credential-scope token is required")
            else:
                unbound = _Grant(
                    credential.credential_id, frozenset(), self.provider.max_batch, 0, ""
                )
                return "", unbound
        grant = self.grants.get(sad or "")
        if (
            grant is None
            or grant.credential_id != credential.credential_id
            or time.monotonic() >= grant.expires
        ):
            raise SimError("BAD_SAD", "Invalid or expired SAD")
        return sad or "", grant

    async def sign_hash(
        self, request: Request, payload: SignHashRequestV1 | SignHashRequestV2
    ) -> SignHashResponse:
        credential = self._credential(request, payload.credentialID)
        settings = self.provider.settings_of(credential)
        algorithm = _requested_algorithm(settings, payload.signAlgo, payload.signAlgoParams)
        if isinstance(payload, SignHashRequestV1):
            digests = decode_hashes(payload.hash, payload.hashAlgo)
            asynchronous = False
        else:
            digests = decode_hashes(payload.hashes, payload.hashAlgorithmOID)
            asynchronous = payload.operationMode == "A"
        key, grant = self._consent(request, credential, payload.SAD)
        bound = bool(grant.hashes)
        if len(digests) > grant.remaining or (bound and not grant.hashes.issuperset(digests)):
            raise SimError("BAD_SAD", "The SAD does not cover these hashes")
        if asynchronous:
            transaction = self.provider.open_transaction(credential, digests, [grant.description])
            transaction.extra["algorithm"] = algorithm.value
            answer = SignHashResponse(responseID=transaction.transaction_id)
        else:
            signatures = self.provider.sign_now(credential, digests, algorithm)
            answer = SignHashResponse(signatures=[b64(s) for s in signatures])
        if bound:
            grant.remaining -= len(digests)
            if grant.remaining == 0 or grant.once:
                del self.grants[key]
        return answer

    async def sign_polling(
        self, request: Request, payload: SignPollingRequest
    ) -> SignPollingResponse:
        subject = self._subject(request)
        transaction = self.provider.transaction(payload.responseID)
        if not self._may_act_for(subject, transaction.credential.user_id):
            raise SimError("TRANSACTION_UNKNOWN", "Invalid parameter responseID")
        raise_if_refused(transaction)
        if transaction.state is SimState.PENDING:
            return SignPollingResponse(status="PENDING")
        return SignPollingResponse(
            status="SIGNED", signatures=[b64(s) for s in transaction.signatures]
        )


def _back(redirect_uri: str, **answer: str) -> Response:
    """The signer's browser sent back to the client (302), with ``answer`` in the query."""
    separator = "&" if "?" in redirect_uri else "?"
    fields = {name: value for name, value in answer.items() if value and name != "why"}
    if answer.get("why"):
        fields["error_description"] = answer["why"]
    return RedirectResponse(redirect_uri + separator + urlencode(fields), status_code=302)


def _consent_page(body: str, *, status: int = 200) -> Response:
    """The simulator's one page: what the signer approves (``body`` is HTML)."""
    return HTMLResponse(
        '<!doctype html><html lang="vi"><meta charset="utf-8">'
        f"<title>Xác nhận ký số (DEMO)</title><p>{body}</p></html>",
        status_code=status,
    )


def _key_info(credential: SimCredential, settings: KeySettings) -> KeyInfo:
    """``key``: the OIDs of the algorithms the key signs with."""
    offered = [oid for a in settings.algorithms for oid in sorted(_SIGN_ALGOS[a])]
    public_key = credential.certificate.public_key()
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return KeyInfo(status="enabled", algo=offered, len=public_key.curve.key_size)
    return key_info(credential).model_copy(update={"algo": offered})


class TlsSimulatorServer(SimulatorServer):
    """A :class:`SimulatorServer` on HTTPS that requires a client certificate issued by
    ``client_ca`` (the ``TLS`` service authorization); PEM file paths."""

    def __init__(
        self, app: Starlette, *, certificate: str, key: str, client_ca: str, port: int = 0
    ) -> None:
        super().__init__(app, port=port)
        self.tls = {
            "ssl_certfile": certificate,
            "ssl_keyfile": key,
            "ssl_ca_certs": client_ca,
            "ssl_cert_reqs": ssl.CERT_REQUIRED,
        }

    scheme = "https"

    def uvicorn_options(self) -> dict[str, Any]:
        return dict(self.tls)


@dataclass
class CscServer:
    """A simulated CSC server: its back office and the service's own state (tokens)."""

    back_office: CscBackOffice
    service: _CscService
    app: Starlette


def create_server(
    pki: DemoPKI,
    *,
    auth_types: Sequence[ServiceAuth] = ("basic",),
    service_accounts: Mapping[str, str] | None = None,
    oauth_clients: Mapping[str, str] | None = None,
    max_batch: int = 50,
    token_lifetime: float = 3600.0,
) -> CscServer:
    """A CSC server offering ``auth_types``; serve its ``app`` with ``SimulatorServer``.

    ``service_accounts`` (``auth/login`` user name → password) and ``oauth_clients``
    (client ID → secret) act for any subscriber, who is then named by ``userID``;
    subscribers log in as themselves. ``max_batch`` is every credential's
    ``multisign``. Certificates come from the demo PKI's CSC CA.
    """
    back_office = CscBackOffice(pki, max_batch=max_batch)
    service = _CscService(
        back_office,
        auth_types=auth_types,
        service_accounts=service_accounts or {},
        oauth_clients=oauth_clients or {},
        token_lifetime=token_lifetime,
    )
    return CscServer(back_office, service, back_office.app(service.routes()))


def create_simulator(
    pki: DemoPKI,
    *,
    service_accounts: Mapping[str, str] | None = None,
    oauth_clients: Mapping[str, str] | None = None,
    max_batch: int = 50,
    token_lifetime: float = 3600.0,
) -> tuple[SimulatedProvider, Starlette]:
    """A ``basic`` CSC server's back office and its app (see :func:`create_server`)."""
    server = create_server(
        pki,
        service_accounts=service_accounts,
        oauth_clients=oauth_clients,
        max_batch=max_batch,
        token_lifetime=token_lifetime,
    )
    return server.back_office, server.app


#: The service account the demo and the contract tests log in with.
SERVICE_ACCOUNT = CscAccount(username="hub-demo", password="hub-demo-password")
#: The hub as the demo server's OAuth client, to which signers of ``oauth2code``
#: credentials give their consent; its redirect URIs are registered by whoever knows
#: the hub's address (:attr:`CscBackOffice.redirect_uris`).
HUB_CLIENT = OAuthClient(client_id="hub-demo", client_secret="hub-demo-secret")


def simulate(pki: DemoPKI, *, directory: Path, variant: str, confirm_delay: float) -> Simulation:
    """A CSC v2 server on loopback that asks the signer (operation mode ``A``); the hub
    logs in with :data:`SERVICE_ACCOUNT`, which acts for users, and sends each
    credential's PIN."""
    back_office, app = create_simulator(
        pki,
        service_accounts={SERVICE_ACCOUNT.username: SERVICE_ACCOUNT.password},
        oauth_clients={HUB_CLIENT.client_id: HUB_CLIENT.client_secret},
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
                "client": HUB_CLIENT,
                "acts_for_users": True,
                "pins": lambda _credential_id: SimCredential.pin,
                "operation_mode": "A",
                **options,
            }
        )

    def config(directory: Path) -> dict[str, Any]:
        return {
            "url": url,
            "auth": "basic",
            "username": SERVICE_ACCOUNT.username,
            "password": SERVICE_ACCOUNT.password,
            "client_id": HUB_CLIENT.client_id,
            "client_secret": HUB_CLIENT.client_secret,
            "acts_for_users": True,
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
