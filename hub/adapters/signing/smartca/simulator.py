"""VNPT's side of SmartCA for tests and the demo: SP769 and the CSC-style gateway in one app.

Both APIs serve the same subscribers, keys and phone (:class:`SimulatedProvider`);
faults and phone behaviour are turned into each API's own error shapes. The
simulator also varies what real answers vary — the three ways of writing
``cert_status``, a ``cert_data`` ending in ``\\r\\n``, a missing root certificate —
and can answer with a DER CMS SignedData instead of a raw signature value
(``cms_signatures``), so the adapter's coping is exercised against a real server.
"""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypedDict, TypeVar

from asn1crypto import algos, cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import OctKey
from joserfc.jwt import JWTClaimsRegistry
from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hub.adapters.signing.certificates import school_code_of
from hub.adapters.signing.pki import VNPT, DemoPKI
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
from hub.adapters.signing.smartca import PROVIDER
from hub.adapters.signing.smartca.adapter import GATEWAY, SmartCaAdapter, SmartCaGatewayAdapter
from hub.adapters.signing.smartca.protocol import (
    CERT_STATUS_TEXT,
    SAD_LIFETIME,
    SP769_PREFIX,
    AutomationSignRequest,
    CertStatusForm,
    ChainData,
    ConfirmRequest,
    CredentialInfoRequest,
    CscCertificate,
    GatewayAnswer,
    GatewayCode,
    GatewayCredential,
    GetCertificateRequest,
    OAuthError,
    SignAccepted,
    SignedDocument,
    SignHashAccepted,
    SignHashRequest,
    SignRequest,
    Sp769Answer,
    Sp769Message,
    Sp769Signature,
    Sp769Signed,
    SpAuth,
    TokenAnswer,
    TranInfo,
    TranInfoRequest,
    TranStatus,
    UserCertificate,
    UserCertificates,
    totp,
)

M = TypeVar("M", bound=BaseModel)

#: Back-office refusal → (HTTP status, SP769 message).
SP769_REFUSALS: dict[str, tuple[int, str]] = {
    "BAD_REQUEST": (400, Sp769Message.BAD_REQUEST),
    "CREDENTIAL_UNKNOWN": (400, Sp769Message.BAD_REQUEST),
    "TRANSACTION_UNKNOWN": (400, Sp769Message.BAD_REQUEST),
    "SAD_EXPIRED": (400, Sp769Message.EXPIRED),
    "SP_CREDENTIAL_INVALID": (401, Sp769Message.SP_CREDENTIAL_INVALID),
    "USER_UNKNOWN": (401, Sp769Message.USER_NOT_EXIST),
    # Integrators quote this for a wrong TH password or OTP.
    "AUTOMATION_DENIED": (401, "Phải xác thực OTP"),
    "CERTIFICATE_REVOKED": (403, Sp769Message.CREDENTIAL_STATUS_INVALID),
    "CERTIFICATE_EXPIRED": (403, Sp769Message.CREDENTIAL_STATUS_INVALID),
    "QUOTA_EXHAUSTED": (403, Sp769Message.QUOTA_EXCEEDED),
}

#: Back-office refusal → gateway ``code``.
GATEWAY_REFUSALS: dict[str, GatewayCode] = {
    "BAD_REQUEST": GatewayCode.BAD_REQUEST,
    "UNAUTHORISED": GatewayCode.UNAUTHORISED,
    "USER_UNKNOWN": GatewayCode.NOT_FOUND,
    "CREDENTIAL_UNKNOWN": GatewayCode.NOT_FOUND,
    "TRANSACTION_UNKNOWN": GatewayCode.NOT_FOUND,
    "CERTIFICATE_REVOKED": GatewayCode.KEY_AUTHORISATION_FAILED,
    "CERTIFICATE_EXPIRED": GatewayCode.KEY_AUTHORISATION_FAILED,
    "QUOTA_EXHAUSTED": GatewayCode.OUT_OF_QUOTA,
}

#: The back office's credential status as the gateway (CSC) writes it.
CSC_STATUS = {"ACTIVE": "valid", "REVOKED": "revoked", "EXPIRED": "expired"}


class SmartCaBackOffice(SimulatedProvider):
    """VNPT SmartCA's back office: SP accounts, gateway clients and TH automation accounts."""

    def __init__(
        self,
        pki: DemoPKI,
        *,
        sp_accounts: Mapping[str, str],
        gateway_clients: Mapping[str, str],
        max_batch: int = 50,
    ) -> None:
        super().__init__("VNPT SmartCA", pki, VNPT, max_batch=max_batch)
        self.sp_accounts = dict(sp_accounts)
        self.gateway_clients = dict(gateway_clients)
        #: user_id → base32 TOTP secret of a TH (automation) account.
        self.totp_secrets: dict[str, str] = {}
        #: Answer SP769 phone transactions with a DER CMS SignedData, as some integrators report.
        self.cms_signatures = False
        #: The ``cert_status`` forms used in turn, one per ``get_certificate`` answer.
        self.cert_status_forms: tuple[CertStatusForm, ...] = tuple(CertStatusForm)
        self.gateway_tokens = BearerTokens(3600.0)
        self._listings = 0
        self._sad_key = OctKey.generate_key(256)

    def enrol_automation(self, user_id: str) -> str:
        """Give an enrolled subscriber a TH automation account; returns its TOTP secret."""
        self.subscriber(user_id)
        secret = base64.b32encode(secrets.token_bytes(20)).decode()
        self.totp_secrets[user_id] = secret
        return secret

    def expire_gateway_tokens(self) -> None:
        """Forget every gateway bearer token, as a restart of VNPT's gateway would."""
        self.gateway_tokens.clear()

    def routes(self) -> list[BaseRoute]:
        return [*self._sp769_routes(), *self._gateway_routes()]

    # --- SP769 ------------------------------------------------------------------------------

    def _sp769_routes(self) -> list[BaseRoute]:
        async def get_certificate(request: Request) -> Response:
            body = await _read(request, GetCertificateRequest)
            self._check_sp(body)
            subscriber = self.subscriber(body.user_id)
            form, quirky = self._next_listing()
            certificates = [
                self._user_certificate(credential, form, quirky=quirky)
                for credential in subscriber.credentials
                if not body.serial_number or _same_serial(body.serial_number, credential)
            ]
            return _sp769(200, "Success", UserCertificates(user_certificates=certificates))

        async def sign(request: Request) -> Response:
            body = await _read(request, SignRequest)
            self._check_sp(body)
            transaction = self._open(body)
            accepted = SignAccepted(
                transaction_id=transaction.transaction_id,
                tran_code=transaction.extra["tran_code"],
            )
            return _sp769(200, Sp769Message.WAITING, accepted)

        async def status(request: Request) -> Response:
            # Integrators' samples send an empty body here, PROVIDERS.md the SP account
            # in every body: accept both, but a wrong SP account is still refused.
            raw = await _json_body(request)
            if raw:
                self._check_sp(_parse(raw, SpAuth))
            transaction = self.transaction(request.path_params["tran_id"])
            if transaction.state is SimState.SIGNED:
                return _sp769(200, Sp769Message.SUCCESS, self._sp769_signed(transaction))
            if transaction.error in SP769_REFUSALS:
                # A certificate revoked or a package emptied before the confirmation
                # is reported as the refusal the sign call would have given.
                raise SimError(transaction.error)
            message = {
                SimState.PENDING: Sp769Message.WAITING,
                SimState.REJECTED: Sp769Message.REJECTED,
                SimState.EXPIRED: Sp769Message.EXPIRED,
                SimState.FAILED: Sp769Message.FAILED,
            }[transaction.state]
            return _sp769(200, message, Sp769Signed(transaction_id=transaction.transaction_id))

        async def automation_sign(request: Request) -> Response:
            body = await _read(request, AutomationSignRequest)
            self._check_sp(body)
            self._check_automation(body.user_id, body.password, otp=body.otp)
            transaction = self._open(body)
            # The sad is the consent: the phone plays no part, only the sad's lifetime.
            transaction.expires = transaction.created + SAD_LIFETIME
            claims = {
                "sub": body.user_id,
                "tid": transaction.transaction_id,
                "exp": int(time.time()) + SAD_LIFETIME,
            }
            sad = jwt.encode({"alg": "HS256"}, claims, self._sad_key)
            accepted = SignAccepted(
                transaction_id=transaction.transaction_id,
                tran_code=transaction.extra["tran_code"],
                sad=sad,
                expired_in=SAD_LIFETIME,
            )
            return _sp769(200, Sp769Message.WAITING, accepted)

        async def automation_confirm(request: Request) -> Response:
            body = await _read(request, ConfirmRequest)
            self._check_sp(body)
            self._check_automation(body.user_id, body.password)
            claims = self._open_sad(body.sad)
            if claims.get("sub") != body.user_id or claims.get("tid") != body.transaction_id:
                raise SimError("BAD_REQUEST", "the sad belongs to another transaction")
            transaction = self.transactions.get(body.transaction_id)
            if transaction is None:
                raise SimError("TRANSACTION_UNKNOWN")
            self.approve(transaction.transaction_id)
            if transaction.state is not SimState.SIGNED:
                raise SimError(transaction.error or "SIGNING_FAILED")
            signed = self._sp769_signed(transaction, raw=True)
            signed.expired_in = max(0, int(transaction.expires - time.monotonic()))
            return _sp769(200, "Success", signed)

        routes = [
            ("/v1/credentials/get_certificate", get_certificate),
            ("/v1/signatures/sign", sign),
            ("/v1/signatures/sign/{tran_id}/status", status),
            ("/v2/signatures/sign", automation_sign),
            ("/v2/signatures/confirm", automation_confirm),
        ]
        return guarded_routes(
            [(SP769_PREFIX + path, handler) for path, handler in routes], _sp769_refusal
        )

    def _check_sp(self, body: SpAuth) -> None:
        if self.sp_accounts.get(body.sp_id) != body.sp_password:
            raise SimError("SP_CREDENTIAL_INVALID")

    def _check_automation(self, user_id: str, password: str, *, otp: str | None = None) -> None:
        subscriber = self.subscriber(user_id)
        secret = self.totp_secrets.get(user_id)
        if secret is None or subscriber.password != password:
            raise SimError("AUTOMATION_DENIED")
        now = time.time()
        if otp is not None and otp not in {totp(secret, now + drift) for drift in (-30, 0, 30)}:
            raise SimError("AUTOMATION_DENIED")

    def _open_sad(self, sad: str) -> dict[str, Any]:
        try:
            token = jwt.decode(sad, self._sad_key)
            JWTClaimsRegistry(exp={"essential": True}).validate(token.claims)
        except ExpiredTokenError as error:
            raise SimError("SAD_EXPIRED") from error
        except (JoseError, ValueError) as error:
            raise SimError("BAD_REQUEST", "the sad is not ours") from error
        return token.claims

    def _open(self, body: SignRequest) -> SimTransaction:
        """Queue a ``sign_files`` batch on the subscriber's credential with that serial."""
        if body.transaction_id in self.transactions:
            raise SimError("BAD_REQUEST", "transaction_id must be unique")
        subscriber = self.subscriber(body.user_id)
        credential = next(
            (c for c in subscriber.credentials if _same_serial(body.serial_number, c)), None
        )
        if credential is None:
            raise SimError("CREDENTIAL_UNKNOWN")
        try:
            digests = [bytes.fromhex(f.data_to_be_signed) for f in body.sign_files]
        except ValueError as error:
            raise SimError("BAD_REQUEST", "data_to_be_signed must be hex") from error
        transaction = self.open_transaction(
            credential,
            digests,
            [f.doc_id for f in body.sign_files],
            transaction_id=body.transaction_id,
        )
        transaction.extra["tran_code"] = str(uuid.uuid4())
        return transaction

    def _next_listing(self) -> tuple[CertStatusForm, bool]:
        """The ``cert_status`` form for this answer, and whether to add the other quirks."""
        index = self._listings
        self._listings += 1
        form = self.cert_status_forms[index % len(self.cert_status_forms)]
        if form is CertStatusForm.DIGIT and self.faults.certificate_expired:
            # "0" leaves expired-or-revoked to the certificate's dates, which the fault
            # cannot move: a certificate really expired would say so by its dates.
            form = CertStatusForm.WORD
        return form, index % 2 == 1

    def _user_certificate(
        self, credential: SimCredential, form: CertStatusForm, *, quirky: bool
    ) -> UserCertificate:
        certificate = credential.certificate
        issuing_ca, root = credential.chain[0], credential.chain[-1]
        return UserCertificate(
            service_type="ESEAL" if school_code_of(certificate) else "SMARTCA",
            cert_id=credential.credential_id,
            cert_status=CERT_STATUS_TEXT[form][self.credential_status(credential)],
            serial_number=format(certificate.serial_number, "x"),
            cert_subject=certificate.subject.rfc4514_string(),
            cert_valid_from=certificate.not_valid_before_utc.isoformat(),
            cert_valid_to=certificate.not_valid_after_utc.isoformat(),
            cert_data=_b64(certificate) + ("\r\n" if quirky else ""),
            chain_data=ChainData(
                ca_cert=_b64(issuing_ca), root_cert=None if quirky else _b64(root)
            ),
        )

    def _sp769_signed(self, transaction: SimTransaction, *, raw: bool = False) -> Sp769Signed:
        """The signatures in SP769's shape; CMS-wrapped when told, except for TH (``raw``)."""
        certificate = transaction.credential.certificate
        values = [
            cms_signed_data(signature, certificate)
            if self.cms_signatures and not raw
            else signature
            for signature in transaction.signatures
        ]
        return Sp769Signed(
            transaction_id=transaction.transaction_id,
            signatures=[
                Sp769Signature(doc_id=doc_id, signature_value=base64.b64encode(value).decode())
                for doc_id, value in zip(transaction.descriptions, values, strict=True)
            ],
        )

    # --- CSC-style gateway ----------------------------------------------------------------

    def _gateway_routes(self) -> list[BaseRoute]:
        async def token(request: Request) -> Response:
            form = await request.form()
            client_id = str(form.get("client_id", ""))
            if not client_id or self.gateway_clients.get(client_id) != form.get("client_secret"):
                return _oauth_error(401, "invalid_client", "unknown client or wrong secret")
            if form.get("grant_type") != "password":
                return _oauth_error(400, "unsupported_grant_type", "only the password grant")
            subscriber = self.subscribers.get(str(form.get("username", "")))
            if subscriber is None or subscriber.password != form.get("password"):
                return _oauth_error(400, "invalid_grant", "wrong user name or password")
            access_token = self.gateway_tokens.grant(subscriber.user_id)
            lifetime = int(self.gateway_tokens.lifetime)
            answer = TokenAnswer(access_token=access_token, expires_in=lifetime)
            return JSONResponse(answer.model_dump())

        async def credentials_list(request: Request) -> Response:
            subscriber = self.subscriber(self.gateway_tokens.subject(request))
            ids = [c.credential_id for c in subscriber.credentials]
            return _gateway(GatewayAnswer[list[str]](code=GatewayCode.OK, content=ids))

        async def credentials_info(request: Request) -> Response:
            body = await _read(request, CredentialInfoRequest)
            credential = self.credential(body.credentialId, self.gateway_tokens.subject(request))
            return _gateway(
                GatewayAnswer[GatewayCredential](
                    code=GatewayCode.OK, content=self._gateway_credential(credential)
                )
            )

        async def sign_hash(request: Request) -> Response:
            body = await _read(request, SignHashRequest)
            credential = self.credential(body.credentialId, self.gateway_tokens.subject(request))
            try:
                digests = [base64.b64decode(d.hash, validate=True) for d in body.datas]
            except ValueError as error:
                raise SimError("BAD_REQUEST", "hash must be base64") from error
            transaction = self.open_transaction(credential, digests, [d.name for d in body.datas])
            transaction.extra["ref_tran_id"] = body.refTranId
            accepted = SignHashAccepted(tranId=transaction.transaction_id)
            return _gateway(GatewayAnswer[SignHashAccepted](code=GatewayCode.OK, content=accepted))

        async def tran_info(request: Request) -> Response:
            body = await _read(request, TranInfoRequest)
            user_id = self.gateway_tokens.subject(request)
            transaction = self.transaction(body.tranId)
            if transaction.credential.user_id != user_id:
                raise SimError("TRANSACTION_UNKNOWN")
            info = TranInfo(tranId=transaction.transaction_id, tranStatus=_tran_status(transaction))
            if transaction.state is SimState.SIGNED:
                info.documents = [
                    SignedDocument(name=name, sig=base64.b64encode(signature).decode())
                    for name, signature in zip(
                        transaction.descriptions, transaction.signatures, strict=True
                    )
                ]
            return _gateway(GatewayAnswer[TranInfo](code=GatewayCode.OK, content=info))

        routes = [
            ("/csc/credentials/list", credentials_list),
            ("/csc/credentials/info", credentials_info),
            ("/csc/signature/signhash", sign_hash),
            ("/csc/credentials/gettraninfo", tran_info),
        ]
        return [
            Route("/auth/token", token, methods=["POST"]),
            *guarded_routes(routes, _gateway_refusal),
        ]

    def _gateway_credential(self, credential: SimCredential) -> GatewayCredential:
        certificate = credential.certificate
        return GatewayCredential(
            cert=CscCertificate(
                status=CSC_STATUS[self.credential_status(credential)],
                certificates=[_b64(c) for c in (certificate, *credential.chain)],
                subjectDN=certificate.subject.rfc4514_string(),
                issuerDN=certificate.issuer.rfc4514_string(),
                serialNumber=format(certificate.serial_number, "x"),
                validFrom=certificate.not_valid_before_utc.strftime("%Y%m%d%H%M%SZ"),
                validTo=certificate.not_valid_after_utc.strftime("%Y%m%d%H%M%SZ"),
            ),
            multisign=self.max_batch,
        )


def create_simulator(
    pki: DemoPKI,
    *,
    sp_id: str = "hub-demo-sp",
    sp_password: str = "hub-demo-sp-password",
    client_id: str = "hub-demo-gateway",
    client_secret: str = "hub-demo-gateway-secret",
    max_batch: int = 50,
) -> tuple[SmartCaBackOffice, Starlette]:
    """A SmartCA back office and the app serving SP769 (under ``/sca/sp769``) and the gateway.

    Point :class:`~hub.adapters.signing.smartca.adapter.SmartCaAdapter` at
    ``<url>/sca/sp769`` and ``SmartCaGatewayAdapter`` at ``<url>``.
    """
    back_office = SmartCaBackOffice(
        pki,
        sp_accounts={sp_id: sp_password},
        gateway_clients={client_id: client_secret},
        max_batch=max_batch,
    )
    return back_office, back_office.app(back_office.routes())


def cms_signed_data(signature: bytes, certificate: x509.Certificate) -> bytes:
    """A minimal detached CMS SignedData around a raw signature value (no signed attributes).

    What integrators describe as "PKCS#7 detached base64"; the signature inside is
    still the raw RSA value over the digest, which is all the hub takes from it.
    """
    cert = asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
    sha256 = algos.DigestAlgorithm({"algorithm": "sha256"})
    signer = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                        {"issuer": cert.issuer, "serial_number": cert.serial_number}
                    )
                }
            ),
            "digest_algorithm": sha256,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15"}),
            "signature": signature,
        }
    )
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [sha256],
            "encap_content_info": {"content_type": "data"},
            "certificates": [cert],
            "signer_infos": [signer],
        }
    )
    return cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()


def _tran_status(transaction: SimTransaction) -> TranStatus:
    if transaction.state is SimState.FAILED:
        if (transaction.error or "").startswith("CERTIFICATE_"):
            return TranStatus.KEY_AUTHORISATION_FAILED
        return TranStatus.SIGNING_FAILED
    return {
        SimState.PENDING: TranStatus.WAITING,
        SimState.SIGNED: TranStatus.SUCCESS,
        SimState.EXPIRED: TranStatus.EXPIRED,
        SimState.REJECTED: TranStatus.REJECTED,
    }[transaction.state]


def _same_serial(serial: str, credential: SimCredential) -> bool:
    try:
        return int(serial, 16) == credential.certificate.serial_number
    except ValueError:
        return False


def _b64(certificate: x509.Certificate) -> str:
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


async def _json_body(request: Request) -> Any:
    body = await request.body()
    if not body.strip():
        return {}
    try:
        return await request.json()
    except ValueError as error:
        raise SimError("BAD_REQUEST", "the body is not JSON") from error


def _parse(raw: Any, model: type[M]) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise SimError("BAD_REQUEST", str(error)) from error


async def _read(request: Request, model: type[M]) -> M:
    return _parse(await _json_body(request), model)


def _sp769(status: int, message: str, data: BaseModel | None = None) -> Response:
    answer = Sp769Answer[Any](status_code=status, message=message, data=data)
    return JSONResponse(answer.model_dump(), status_code=status)


def _sp769_refusal(error: SimError) -> Response:
    status, message = SP769_REFUSALS.get(error.fault, (500, Sp769Message.SERVER_INTERNAL_ERROR))
    return _sp769(status, message)


def _gateway(answer: GatewayAnswer[Any]) -> Response:
    return JSONResponse(answer.model_dump())


def _gateway_refusal(error: SimError) -> Response:
    code = GATEWAY_REFUSALS.get(error.fault)
    if code is None:
        return JSONResponse({"code": 500, "message": str(error)}, status_code=500)
    status = 401 if code is GatewayCode.UNAUTHORISED else 200
    return JSONResponse({"code": code, "message": str(error), "content": None}, status_code=status)


def _oauth_error(status: int, error: str, description: str) -> Response:
    return JSONResponse(
        OAuthError(error=error, error_description=description).model_dump(), status_code=status
    )


class SpAccount(TypedDict):
    sp_id: str
    sp_password: str


class GatewayClient(TypedDict):
    client_id: str
    client_secret: str


#: The hub's accounts at the simulated VNPT (the :func:`create_simulator` defaults).
SP_ACCOUNT: SpAccount = {"sp_id": "hub-demo-sp", "sp_password": "hub-demo-sp-password"}
GATEWAY_CLIENT: GatewayClient = {
    "client_id": "hub-demo-gateway",
    "client_secret": "hub-demo-gateway-secret",
}


class _Passwords(Mapping[str, str]):
    """The subscribers' SmartCA passwords as they stand, for the gateway adapter."""

    def __init__(self, back_office: SmartCaBackOffice) -> None:
        self.back_office = back_office

    def __getitem__(self, user_id: str) -> str:
        return self.back_office.subscribers[user_id].password

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.back_office.subscribers))

    def __len__(self) -> int:
        return len(self.back_office.subscribers)


def simulate(pki: DemoPKI, *, directory: Path, variant: str, confirm_delay: float) -> Simulation:
    """VNPT SmartCA on loopback, reached through SP769 (``variant="sp769"``) or the
    CSC-style gateway (``"gateway"``, logging in with each subscriber's password)."""
    back_office, app = create_simulator(pki, **SP_ACCOUNT, **GATEWAY_CLIENT)
    back_office.phone = Phone(confirm_delay=confirm_delay)
    server = SimulatorServer(app).start()
    passwords = _Passwords(back_office)
    misconfigured: dict[str, Any]
    if variant == GATEWAY:
        options: dict[str, Any] = {
            "base_url": server.url,
            **GATEWAY_CLIENT,
            "user_passwords": passwords,
        }
        adapter: type[SmartCaAdapter | SmartCaGatewayAdapter] = SmartCaGatewayAdapter
        misconfigured = {"client_secret": "not-the-secret"}
    else:
        options = {"base_url": server.url + SP769_PREFIX, **SP_ACCOUNT}
        adapter = SmartCaAdapter
        misconfigured = {"sp_password": "not-the-password"}

    def config(directory: Path) -> dict[str, Any]:
        if variant == GATEWAY:
            return {
                "api": GATEWAY,
                "url": server.url,
                **GATEWAY_CLIENT,
                "user_passwords": dict(passwords),
            }
        return {"url": options["base_url"], **SP_ACCOUNT}

    return Simulation(
        entry=PROVIDER,
        back_office=back_office,
        server=server,
        connect=lambda **overrides: adapter(**{**options, **overrides}),
        misconfigured=misconfigured,
        config=config,
        enrol=person_enrolment(PROVIDER, back_office),
    )
