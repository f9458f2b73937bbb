"""The hub's clients for VNPT SmartCA: SP769 (:class:`SmartCaAdapter`) and the older gateway.

SP769 is the API VNPT offers today: the hub signs in as a service provider
(``sp_id``/``sp_password``) and names the subscriber by personal ID, so it holds
no teacher's password. The CSC-style gateway (:class:`SmartCaGatewayAdapter`)
logs in *as the signer* with an OAuth2 password grant, so it needs each signer's
SmartCA password from the hub's secret store; it is here for schools still on it.

Both turn VNPT's answers into the hub's codes (PROVIDERS.md), and both read what
real answers vary: ``cert_status`` in Vietnamese, as "1"/"0" or as a word; a
``cert_data`` ending in ``\\r\\n``; a chain without its root; a CMS SignedData
where a raw signature value was expected.
"""

from __future__ import annotations

import base64
import uuid
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from cryptography import x509
from pydantic import BaseModel

from hub.adapters.signing.base import (
    Credential,
    ErrorTable,
    Health,
    SigningAdapter,
    SigningError,
    Transaction,
    TransactionResult,
    TransactionState,
    check_batch,
    outcome_of,
    signatures_of,
    utcnow,
)
from hub.adapters.signing.http import DEFAULT_TIMEOUT, ProviderHttp, UserTokens, probe_health
from hub.adapters.signing.smartca.protocol import (
    SAD_LIFETIME,
    AutomationSignRequest,
    ConfirmRequest,
    CredentialInfoRequest,
    GatewayAnswer,
    GatewayCode,
    GatewayCredential,
    GetCertificateRequest,
    HashToSign,
    OAuthError,
    SignAccepted,
    SignFile,
    SignHashAccepted,
    SignHashRequest,
    SignRequest,
    Sp769Answer,
    Sp769Message,
    Sp769Signed,
    SpAuth,
    TokenAnswer,
    TranInfo,
    TranInfoRequest,
    TranStatus,
    UserCertificate,
    UserCertificates,
    sp769_time_stamp,
    totp,
)
from hub.domain.enums import SigningProvider
from hub.domain.problems import Code
from hub.domain.text import fold

#: How long a subscriber has to confirm on the phone (PROVIDERS.md: about 5 minutes).
CONFIRMATION_WINDOW = timedelta(minutes=5)
#: SP769 states no batch limit; the hub asks for at most this many hashes per confirmation.
MAX_BATCH = 50
#: ``Transaction.data["api"]``: which of the two APIs opened the transaction.
SP769 = "sp769"
GATEWAY = "gateway"
#: ``Transaction.data["flow"]`` of an SP769 transaction.
PHONE = "phone"
AUTOMATION = "automation"

#: SP769's refusals in the hub's terms: by ``message``, by words in it, by HTTP status.
#: A 403 (CREDENTIAL_STATUS_INVALID) is the certificate expired or revoked: revoked,
#: until the certificate listing says expired (:meth:`SmartCaAdapter._certificate_code`).
SP769_ERRORS: ErrorTable[str | int] = ErrorTable(
    codes={
        Sp769Message.REJECTED: Code.SIGNER_REJECTED,
        Sp769Message.EXPIRED: Code.SIGNER_NOT_CONFIRMED,
        Sp769Message.FAILED: Code.SIGNING_FAILED,
        Sp769Message.SP_CREDENTIAL_INVALID: Code.PROVIDER_BAD_CREDENTIALS,
        401: Code.PROVIDER_BAD_CREDENTIALS,  # a TH password or OTP VNPT refused
        403: Code.CERTIFICATE_REVOKED,
    },
    hints=(
        (("user", "not exist"), Code.PROVIDER_USER_UNKNOWN),
        (("user", "not found"), Code.PROVIDER_USER_UNKNOWN),
        (("quota",), Code.QUOTA_EXHAUSTED),
    ),
)

#: The gateway's refusals (``code``) and transaction ends (``tranStatus``) in the
#: hub's terms; 4003 (the key may not sign) is settled by the certificate's status.
GATEWAY_ERRORS: ErrorTable[int] = ErrorTable(
    codes={
        GatewayCode.UNAUTHORISED: Code.PROVIDER_BAD_CREDENTIALS,
        GatewayCode.OUT_OF_QUOTA: Code.QUOTA_EXHAUSTED,
        GatewayCode.SIGNING_FAILED: Code.SIGNING_FAILED,
        TranStatus.EXPIRED: Code.SIGNER_NOT_CONFIRMED,
        TranStatus.REJECTED: Code.SIGNER_REJECTED,
        TranStatus.KEY_AUTHORISATION_FAILED: Code.CERTIFICATE_REVOKED,
    }
)

_ACTIVE = {"dang hoat dong", "hoat dong", "1", "active", "valid"}
_EXPIRED = {"het han", "da het han", "expired"}

M = TypeVar("M", bound=BaseModel)
C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class AutomationAccount:
    """A SmartCA "TH" (automation) account: signs without the phone.

    The user's SmartCA password and the base32 TOTP secret VNPT issued with the
    package. Meant for keys that sign unattended (a school's e-seal); a person's
    key should be confirmed on their phone, so most users have no such account.
    """

    password: str
    totp_secret: str


class _SmartCa(SigningAdapter):
    """What both SmartCA clients share: the HTTP client, reading credentials, and health."""

    provider = SigningProvider.SMARTCA

    def __init__(
        self,
        *,
        base_url: str,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.http = ProviderHttp(self.provider, base_url, timeout=timeout, transport=transport)

    async def health(self) -> Health:
        return await probe_health(self.provider, self._probe)

    @abstractmethod
    async def _probe(self) -> str | None:
        """A cheap call; the problem it reveals in the hub's configuration, if any."""

    async def aclose(self) -> None:
        await self.http.aclose()

    def _error(
        self, code: Code, detail: str, *, user: str = "", credential: str = ""
    ) -> SigningError:
        return SigningError(code, self.provider, detail, user=user, credential=credential)

    def _credential(
        self,
        user_id: str,
        credential_id: str,
        status: str,
        encoded: Sequence[str | None],
        *,
        max_batch: int,
    ) -> Credential:
        """A :class:`Credential` from base64 certificates, end-entity first."""
        try:
            certificate, *chain = [load_certificate(c) for c in encoded if c]
        except ValueError as error:
            raise self._error(
                Code.PROVIDER_FAILURE, f"unreadable certificate: {error}", credential=credential_id
            ) from error
        return Credential(
            provider=self.provider,
            credential_id=credential_id,
            user_id=user_id,
            certificate=certificate,
            chain=tuple(chain),
            max_batch=max_batch,
            status=certificate_status(status, certificate),
        )


class SmartCaAdapter(_SmartCa):
    """VNPT SmartCA through SP769, the phone confirming; TH automation where configured.

    ``base_url`` is SP769's root (``https://gwsca.vnpt.vn/sca/sp769``); ``sp_id`` and
    ``sp_password`` are the hub's service-provider account. ``automation`` maps a
    user ID to its TH account, for keys that sign without the phone.
    """

    def __init__(
        self,
        *,
        base_url: str,
        sp_id: str,
        sp_password: str,
        automation: Mapping[str, AutomationAccount] | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(base_url=base_url, timeout=timeout, transport=transport)
        self.auth = SpAuth(sp_id=sp_id, sp_password=sp_password)
        self.automation = dict(automation or {})

    async def list_credentials(self, user_id: str) -> list[Credential]:
        return [
            self._credential(
                user_id,
                c.cert_id,
                c.cert_status,
                [c.cert_data, c.chain_data.ca_cert, c.chain_data.root_cert],
                max_batch=MAX_BATCH,
            )
            for c in await self._user_certificates(user_id)
        ]

    async def sign_hashes(
        self, credential: Credential, digests: Sequence[bytes], descriptions: Sequence[str]
    ) -> Transaction:
        check_batch(credential, digests, descriptions)
        transaction_id = uuid.uuid4().hex
        request = SignRequest(
            **self.auth.model_dump(),
            user_id=credential.user_id,
            transaction_id=transaction_id,
            transaction_desc=summary(descriptions),
            serial_number=format(credential.certificate.serial_number, "x"),
            time_stamp=sp769_time_stamp(),
            sign_files=[
                SignFile(data_to_be_signed=digest.hex(), doc_id=str(number))
                for number, digest in enumerate(digests, 1)
            ],
        )
        account = self.automation.get(credential.user_id)
        if account is None:
            path, flow = "v1/signatures/sign", PHONE
        else:
            path, flow = "v2/signatures/sign", AUTOMATION
            request = AutomationSignRequest(
                **request.model_dump(), password=account.password, otp=totp(account.totp_secret)
            )
        accepted = await self._call(
            path,
            request,
            SignAccepted,
            user_id=credential.user_id,
            credential_id=credential.credential_id,
        )
        data = {
            "api": SP769,
            "flow": flow,
            "user_id": credential.user_id,
            "tran_code": accepted.tran_code,
        }
        window = CONFIRMATION_WINDOW
        if account is not None:
            if not accepted.sad:
                raise self._error(Code.PROVIDER_FAILURE, "TH sign answered without a sad")
            data["sad"] = accepted.sad
            window = timedelta(seconds=accepted.expired_in or SAD_LIFETIME)
        return Transaction(
            provider=self.provider,
            transaction_id=transaction_id,
            credential_id=credential.credential_id,
            count=len(digests),
            expires_at=utcnow() + window,
            data=data,
        )

    async def poll(self, transaction: Transaction) -> TransactionResult:
        check_api(transaction, SP769)
        try:
            if transaction.data["flow"] == AUTOMATION:
                return await self._confirm(transaction)
            return await self._status(transaction)
        except SigningError as error:
            return outcome_of(error)

    async def _status(self, transaction: Transaction) -> TransactionResult:
        # VNPT accepts its tran_code or the SP's transaction_id; the tran_code is its own.
        tran_id = transaction.data.get("tran_code") or transaction.transaction_id
        answer = await self._answer(
            f"v1/signatures/sign/{quote(tran_id, safe='')}/status",
            self.auth,
            Sp769Signed,
            user_id=transaction.data["user_id"],
            credential_id=transaction.credential_id,
        )
        if answer.message.strip().upper() == Sp769Message.SUCCESS:
            return self._signed(transaction, answer.data)
        code = SP769_ERRORS.codes.get(answer.message)
        if code is None:
            # Integrators only know "not SUCCESS yet"; past VNPT's window nobody will confirm.
            if utcnow() < transaction.expires_at:
                return TransactionResult(TransactionState.PENDING)
            code = Code.SIGNER_NOT_CONFIRMED
        raise self._error(
            code, answer.message or "no confirmation", user=transaction.data["user_id"]
        )

    async def _confirm(self, transaction: Transaction) -> TransactionResult:
        user_id = transaction.data["user_id"]
        account = self.automation.get(user_id)
        if account is None:
            raise self._error(
                Code.PROVIDER_BAD_CREDENTIALS, "no TH account configured for the user", user=user_id
            )
        if utcnow() >= transaction.expires_at:
            raise self._error(Code.SIGNER_NOT_CONFIRMED, "the sad expired", user=user_id)
        request = ConfirmRequest(
            **self.auth.model_dump(),
            user_id=user_id,
            password=account.password,
            transaction_id=transaction.transaction_id,
            sad=transaction.data["sad"],
        )
        signed = await self._call(
            "v2/signatures/confirm",
            request,
            Sp769Signed,
            user_id=user_id,
            credential_id=transaction.credential_id,
        )
        return self._signed(transaction, signed)

    def _signed(self, transaction: Transaction, signed: Sp769Signed | None) -> TransactionResult:
        """The signatures in the order the hashes were sent (``doc_id`` 1, 2, …)."""
        given = (signed.signatures if signed else None) or []
        by_doc = {s.doc_id: s for s in given}
        ordered = [by_doc.get(str(n)) for n in range(1, transaction.count + 1)]
        chosen = [s for s in ordered if s] if all(ordered) else given
        values = [s.signature_value for s in chosen]
        return TransactionResult(
            TransactionState.SIGNED,
            signatures=signatures_of(self.provider, values, transaction.count),
        )

    async def _user_certificates(self, user_id: str) -> list[UserCertificate]:
        request = GetCertificateRequest(
            **self.auth.model_dump(), user_id=user_id, transaction_id=uuid.uuid4().hex
        )
        found = await self._call(
            "v1/credentials/get_certificate", request, UserCertificates, user_id=user_id
        )
        return found.user_certificates

    async def _call(
        self, path: str, body: BaseModel, model: type[M], *, user_id: str, credential_id: str = ""
    ) -> M:
        """An SP769 call that must bring data back."""
        answer = await self._answer(path, body, model, user_id=user_id, credential_id=credential_id)
        if answer.data is None:
            raise self._error(Code.PROVIDER_FAILURE, f"{path}: no data in {answer.message!r}")
        return answer.data

    async def _answer(
        self, path: str, body: BaseModel, model: type[M], *, user_id: str, credential_id: str = ""
    ) -> Sp769Answer[M]:
        """An SP769 answer, or its refusal raised as the hub's code."""
        response = await self.http.post(path, json=body.model_dump(exclude_none=True))
        answer = self.http.decode(response, Sp769Answer[model])  # type: ignore[valid-type]
        if response.is_success and answer.status_code < 300:
            return answer
        code = (
            SP769_ERRORS.code(answer.message, text=answer.message, status=answer.status_code)
            or Code.SIGNING_FAILED
        )
        if code is Code.CERTIFICATE_REVOKED and credential_id:
            # Revoked or expired: only a call about one credential can say which.
            code = await self._certificate_code(user_id, credential_id)
        raise self._error(
            code,
            f"{answer.status_code} {answer.message}",
            user=user_id,
            credential=credential_id,
        )

    async def _certificate_code(self, user_id: str, credential_id: str) -> Code:
        """Expired or revoked? SP769's 403 does not say, the certificate listing does."""
        try:
            for found in await self._user_certificates(user_id):
                if found.cert_id == credential_id:
                    status = certificate_status(
                        found.cert_status, load_certificate(found.cert_data)
                    )
                    if status == "EXPIRED":
                        return Code.CERTIFICATE_EXPIRED
        except (SigningError, ValueError):
            pass  # the refusal stands; "revoked or suspended" is then the safer reading
        return Code.CERTIFICATE_REVOKED

    async def _probe(self) -> str | None:
        request = GetCertificateRequest(
            **self.auth.model_dump(), user_id="hub-health-check", transaction_id=uuid.uuid4().hex
        )
        response = await self.http.post(
            "v1/credentials/get_certificate", json=request.model_dump(exclude_none=True)
        )
        answer = self.http.decode(response, Sp769Answer[UserCertificates])
        if answer.message == Sp769Message.SP_CREDENTIAL_INVALID:
            return f"{answer.status_code} {answer.message}"
        return None


class SmartCaGatewayAdapter(_SmartCa):
    """VNPT SmartCA through the older CSC-style gateway (OAuth2 password grant).

    ``base_url`` is the gateway's root; ``client_id``/``client_secret`` the hub's
    OAuth2 client. The gateway logs in as the signer, so ``user_passwords`` maps a
    user ID (the SmartCA user name: the personal ID) to that user's password, from
    the hub's secret store; a user missing from it is PROVIDER_USER_UNKNOWN.
    """

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        user_passwords: Mapping[str, str],
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(base_url=base_url, timeout=timeout, transport=transport)
        self.client_id = client_id
        self.client_secret = client_secret
        self.user_passwords = user_passwords
        #: Bearer tokens by user ID.
        self._tokens = UserTokens(self.http, self._login)

    async def list_credentials(self, user_id: str) -> list[Credential]:
        ids = await self._call("csc/credentials/list", None, list[str], user_id=user_id)
        return [await self.credential(user_id, credential_id) for credential_id in ids]

    async def credential(self, user_id: str, credential_id: str) -> Credential:
        info = await self._info(user_id, credential_id)
        return self._credential(
            user_id,
            credential_id,
            info.cert.status,
            info.cert.certificates,
            max_batch=min(info.multisign, MAX_BATCH) if info.multisign > 0 else MAX_BATCH,
        )

    async def sign_hashes(
        self, credential: Credential, digests: Sequence[bytes], descriptions: Sequence[str]
    ) -> Transaction:
        check_batch(credential, digests, descriptions)
        ref_tran_id = uuid.uuid4().hex
        request = SignHashRequest(
            credentialId=credential.credential_id,
            refTranId=ref_tran_id,
            description=summary(descriptions),
            datas=[
                HashToSign(name=description, hash=base64.b64encode(digest).decode())
                for description, digest in zip(descriptions, digests, strict=True)
            ],
        )
        accepted = await self._call(
            "csc/signature/signhash",
            request,
            SignHashAccepted,
            user_id=credential.user_id,
            credential_id=credential.credential_id,
        )
        return Transaction(
            provider=self.provider,
            transaction_id=accepted.tranId,
            credential_id=credential.credential_id,
            count=len(digests),
            expires_at=utcnow() + CONFIRMATION_WINDOW,
            data={"api": GATEWAY, "user_id": credential.user_id, "ref_tran_id": ref_tran_id},
        )

    async def poll(self, transaction: Transaction) -> TransactionResult:
        check_api(transaction, GATEWAY)
        user_id = transaction.data["user_id"]
        try:
            info = await self._call(
                "csc/credentials/gettraninfo",
                TranInfoRequest(tranId=transaction.transaction_id),
                TranInfo,
                user_id=user_id,
                credential_id=transaction.credential_id,
            )
            if info.tranStatus == TranStatus.SUCCESS:
                values = [document.sig for document in info.documents]
                return TransactionResult(
                    TransactionState.SIGNED,
                    signatures=signatures_of(self.provider, values, transaction.count),
                )
            if info.tranStatus == TranStatus.WAITING:
                return TransactionResult(TransactionState.PENDING)
            code = await self._gateway_code(info.tranStatus, user_id, transaction.credential_id)
            raise self._error(
                code,
                f"tranStatus {info.tranStatus}",
                user=user_id,
                credential=transaction.credential_id,
            )
        except SigningError as error:
            return outcome_of(error)

    async def _info(self, user_id: str, credential_id: str) -> GatewayCredential:
        return await self._call(
            "csc/credentials/info",
            CredentialInfoRequest(credentialId=credential_id),
            GatewayCredential,
            user_id=user_id,
            credential_id=credential_id,
            missing=Code.CREDENTIAL_NOT_FOUND,
        )

    async def _login(self, user_id: str) -> tuple[str, float]:
        """A bearer token for the user, with the user's password from the secret store."""
        password = self.user_passwords.get(user_id)
        if password is None:
            raise self._error(
                Code.PROVIDER_USER_UNKNOWN, "no SmartCA password on file", user=user_id
            )
        response = await self.http.post(
            "auth/token",
            data={
                "grant_type": "password",
                "username": user_id,
                "password": password,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            },
        )
        if not response.is_success:
            refusal = self.http.decode(response, OAuthError)
            raise self._error(
                Code.PROVIDER_BAD_CREDENTIALS,
                f"{refusal.error}: {refusal.error_description}",
                user=user_id,
            )
        token = self.http.decode(response, TokenAnswer)
        return token.access_token, token.expires_in

    async def _call(
        self,
        path: str,
        body: BaseModel | None,
        content: type[C],
        *,
        user_id: str,
        credential_id: str = "",
        missing: Code = Code.SIGNING_FAILED,
    ) -> C:
        """A gateway call that must succeed; ``missing`` is what NOT_FOUND means for it."""
        answer = await self._answer(path, body, content, user_id=user_id)
        if answer.code == GatewayCode.OK and answer.content is not None:
            return answer.content
        if answer.code == GatewayCode.NOT_FOUND:
            code = missing
        else:
            code = await self._gateway_code(answer.code, user_id, credential_id)
        raise self._error(
            code, f"code {answer.code}: {answer.message}", user=user_id, credential=credential_id
        )

    async def _answer(
        self, path: str, body: BaseModel | None, content: type[C], *, user_id: str
    ) -> GatewayAnswer[C]:
        """A gateway answer to a call as ``user_id``; an expired token is renewed once."""
        payload = body.model_dump() if body else {}
        response = await self._tokens.post(user_id, path, json=payload)
        return self.http.decode(response, GatewayAnswer[content])  # type: ignore[valid-type]

    async def _gateway_code(self, number: int, user_id: str, credential_id: str) -> Code:
        """The hub's code for a gateway ``code`` or ``tranStatus`` (:data:`GATEWAY_ERRORS`)."""
        code = GATEWAY_ERRORS.code(number) or Code.SIGNING_FAILED
        if code is Code.CERTIFICATE_REVOKED:
            return await self._certificate_code(user_id, credential_id)
        return code

    async def _certificate_code(self, user_id: str, credential_id: str) -> Code:
        """Why the key may not sign, from the certificate's status (4003 does not say)."""
        try:
            answer = await self._answer(
                "csc/credentials/info",
                CredentialInfoRequest(credentialId=credential_id),
                GatewayCredential,
                user_id=user_id,
            )
            if answer.content is None:
                return Code.SIGNING_FAILED
            cert = answer.content.cert
            status = certificate_status(cert.status, load_certificate(cert.certificates[0]))
        except (SigningError, ValueError, IndexError):
            return Code.SIGNING_FAILED
        return {
            "EXPIRED": Code.CERTIFICATE_EXPIRED,
            "REVOKED": Code.CERTIFICATE_REVOKED,
        }.get(status, Code.SIGNING_FAILED)

    async def _probe(self) -> str | None:
        # A client-credentials grant the gateway does not offer: it still checks the client.
        response = await self.http.post(
            "auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            },
        )
        if response.status_code == 401:
            refusal = self.http.decode(response, OAuthError)
            return f"{refusal.error}: {refusal.error_description}"
        return None


# --- rules both clients follow ----------------------------------------------------------------


def load_certificate(text: str) -> x509.Certificate:
    """A certificate from base64 DER (line breaks tolerated: SP769 adds ``\\r\\n``) or PEM."""
    if "-----BEGIN" in text:
        return x509.load_pem_x509_certificate(text.encode())
    return x509.load_der_x509_certificate(base64.b64decode("".join(text.split()), validate=True))


def certificate_status(text: str, certificate: x509.Certificate) -> str:
    """ACTIVE, EXPIRED or REVOKED from any way SmartCA writes it.

    SP769 writes "Đang hoạt động", "1"/"0" or "ACTIVE"/"REVOKED"; the gateway
    the CSC words "valid"/"expired"/"revoked"/"suspended". Anything not clearly
    active counts as not usable; a bare "0" is EXPIRED when the certificate's
    dates say so, otherwise REVOKED (revoked or suspended, both need VNPT).
    """
    folded = fold(text)
    if folded in _ACTIVE:
        return "ACTIVE"
    if folded in _EXPIRED or certificate.not_valid_after_utc <= utcnow():
        return "EXPIRED"
    return "REVOKED"


def check_api(transaction: Transaction, api: str) -> None:
    if transaction.data.get("api") != api:
        raise ValueError(f"transaction {transaction.transaction_id} was not opened through {api}")


def summary(descriptions: Sequence[str], limit: int = 250) -> str:
    """What the signer's phone shows for the whole batch."""
    text = "; ".join(descriptions)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def from_config(table: Mapping[str, Any]) -> SmartCaAdapter | SmartCaGatewayAdapter:
    """The adapter from its providers-file table.

    ``api = "sp769"`` (the default): ``url`` (SP769's root), ``sp_id``, ``sp_password``,
    and optionally ``automation``, a table of user ID → ``{password, totp_secret}`` for
    keys that sign without the phone. ``api = "gateway"``: ``url`` (the gateway's
    root), ``client_id``, ``client_secret`` and ``user_passwords``, a table of user ID
    → SmartCA password (the gateway logs in as the signer).
    """
    api = table.get("api", SP769)
    if api == GATEWAY:
        return SmartCaGatewayAdapter(
            base_url=table["url"],
            client_id=table["client_id"],
            client_secret=table["client_secret"],
            user_passwords=dict(table.get("user_passwords", {})),
        )
    if api != SP769:
        raise ValueError(f"SmartCA api must be {SP769!r} or {GATEWAY!r}, not {api!r}")
    return SmartCaAdapter(
        base_url=table["url"],
        sp_id=table["sp_id"],
        sp_password=table["sp_password"],
        automation={
            user: AutomationAccount(
                password=account["password"], totp_secret=account["totp_secret"]
            )
            for user, account in table.get("automation", {}).items()
        },
    )
