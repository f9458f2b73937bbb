"""The hub's client for Viettel-CA MySign (:class:`MySignAdapter`).

MySign tokens are per signer: the hub's API client logs in *for* a user (no
password; the user consents on the phone), so the adapter keeps one token per
user and logs in again when it lapses or a call answers 401. Everything a later
poll needs — the MySign user name for that login — travels in
``Transaction.data``, so a job can poll after a restart with a new adapter.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar

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
    final_state,
    outcome_of,
    signatures_of,
    utcnow,
)
from hub.adapters.signing.http import DEFAULT_TIMEOUT, ProviderHttp, UserTokens, probe_health
from hub.adapters.signing.mysign.protocol import (
    AsyncMode,
    CertificatesInfoRequest,
    CredentialInfo,
    Document,
    LoginAnswer,
    LoginCode,
    LoginRequest,
    Refusal,
    RequestStatus,
    SignHashAnswer,
    SignHashRequest,
    StatusAnswer,
    StatusRequest,
    display,
)
from hub.domain.enums import SigningProvider
from hub.domain.problems import Code

#: How long the signer has to confirm (Viettel holds a blocking signHash about 120 s).
CONFIRMATION_WINDOW = timedelta(minutes=2)
#: MySign answers "multisign": "2147483647" for "no limit"; the hub asks for at most this many.
MAX_BATCH = 50
#: A MySign user name no one has, for the health probe's login.
PROBE_USER = "CMT_hub-health-check"

#: MySign's numbers (login refusals, request statuses) in the hub's terms.
#: 13004 (expired *or* revoked) reads as revoked until the certificate's status says
#: expired (:meth:`MySignAdapter._certificate_code`).
ERRORS: ErrorTable[int] = ErrorTable(
    codes={
        LoginCode.UNKNOWN_CLIENT: Code.PROVIDER_BAD_CREDENTIALS,
        LoginCode.UNKNOWN_USER: Code.PROVIDER_USER_UNKNOWN,
        LoginCode.BAD_CREDENTIALS: Code.PROVIDER_BAD_CREDENTIALS,
        LoginCode.BAD_CLIENT_SECRET: Code.PROVIDER_BAD_CREDENTIALS,
        401: Code.PROVIDER_BAD_CREDENTIALS,  # a fresh token refused: the client is refused
        RequestStatus.TIMEOUT: Code.SIGNER_NOT_CONFIRMED,
        RequestStatus.REJECTED: Code.SIGNER_REJECTED,
        RequestStatus.FAILED: Code.SIGNING_FAILED,
        RequestStatus.OUT_OF_QUOTA: Code.QUOTA_EXHAUSTED,
        RequestStatus.CERTIFICATE_INVALID: Code.CERTIFICATE_REVOKED,
        RequestStatus.INTERNAL_ERROR: Code.PROVIDER_FAILURE,
    }
)

T = TypeVar("T")


def mysign_user_id(user_id: str) -> str:
    """MySign's user name for a hub user ID.

    MySign names subscribers ``<document>_<number>``: ``CMT_`` and the ID-card
    number for people (12-digit CCCD numbers included), ``MST_`` and the tax code
    for organisations. The hub knows people by personal ID, so a bare ID becomes
    ``CMT_<personal ID>``; a name that already has a prefix is used as it is.
    """
    return user_id if "_" in user_id else f"CMT_{user_id}"


class MySignAdapter(SigningAdapter):
    """Viettel MySign: per-user login, certificates, hashes signed after the phone confirms.

    ``client_id``/``client_secret``/``profile_id`` are the hub's API client at
    Viettel. User IDs may be personal IDs (see :func:`mysign_user_id`).
    """

    provider = SigningProvider.MYSIGN

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        profile_id: str,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.http = ProviderHttp(self.provider, base_url, timeout=timeout, transport=transport)
        self.client_id = client_id
        self.client_secret = client_secret
        self.profile_id = profile_id
        #: Access tokens by MySign user name.
        self._tokens = UserTokens(self.http, self._login)

    async def list_credentials(self, user_id: str) -> list[Credential]:
        user = mysign_user_id(user_id)
        infos = await self._call(
            user, "vtss/service/certificates/info", self._info_request(user), list[CredentialInfo]
        )
        return [self._credential(user_id, info) for info in infos]

    async def sign_hashes(
        self, credential: Credential, digests: Sequence[bytes], descriptions: Sequence[str]
    ) -> Transaction:
        check_batch(credential, digests, descriptions)
        user = mysign_user_id(credential.user_id)
        request = SignHashRequest(
            client_id=self.client_id,
            client_secret=self.client_secret,
            credentialID=credential.credential_id,
            numSignatures=len(digests),
            description=display("; ".join(descriptions)),
            documents=[
                Document(document_id=str(number), document_name=display(description))
                for number, description in enumerate(descriptions, 1)
            ],
            hash=[base64.b64encode(digest).decode() for digest in digests],
            async_mode=AsyncMode.POLL,
        )
        answer = await self._call(
            user,
            "vtss/service/signHash",
            request,
            SignHashAnswer,
            credential_id=credential.credential_id,
        )
        if not answer.transactionId:
            raise self._error(Code.PROVIDER_FAILURE, "signHash answered without a transactionId")
        return Transaction(
            provider=self.provider,
            transaction_id=answer.transactionId,
            credential_id=credential.credential_id,
            count=len(digests),
            expires_at=utcnow() + CONFIRMATION_WINDOW,
            data={"user_id": user},
        )

    async def poll(self, transaction: Transaction) -> TransactionResult:
        user = transaction.data["user_id"]
        try:
            answer = await self._call(
                user,
                "vtss/service/requests/status",
                StatusRequest(transactionId=transaction.transaction_id),
                StatusAnswer,
                credential_id=transaction.credential_id,
            )
        except SigningError as error:
            # Refused (13004, the hub's client refused at login): the end of the
            # transaction. Not reached, HTTP 5xx: the caller hears it and asks again.
            return outcome_of(error)
        if answer.status == RequestStatus.SUCCESS:
            return TransactionResult(
                TransactionState.SIGNED,
                signatures=signatures_of(self.provider, answer.signatures or [], transaction.count),
            )
        if answer.status in (RequestStatus.WAITING, RequestStatus.SIGNING):
            return TransactionResult(TransactionState.PENDING)
        code = await self._code(answer.status, user, transaction.credential_id)
        refusal = self._error(
            code, f"status {answer.status}", user=user, credential=transaction.credential_id
        )
        # 50000 on a request is Viettel failing that request: PROVIDER_FAILURE, and over.
        return TransactionResult(final_state(code), error=refusal)

    async def health(self) -> Health:
        return await probe_health(self.provider, self._probe)

    async def aclose(self) -> None:
        await self.http.aclose()

    # --- calls --------------------------------------------------------------------------------

    async def _call(
        self, user: str, path: str, body: BaseModel, kind: type[T], *, credential_id: str = ""
    ) -> T:
        """A call as ``user`` that must succeed; MySign's refusals raised as the hub's codes."""
        response = await self._tokens.post(user, path, json=body.model_dump(by_alias=True))
        if response.is_success:
            return self.http.decode(response, kind)
        refusal = self.http.decode(response, Refusal)
        code = await self._code(refusal.number, user, credential_id)
        raise self._error(
            code, f"{refusal.number}: {refusal.text}", user=user, credential=credential_id
        )

    async def _login(self, user: str) -> tuple[str, float]:
        response = await self.http.post(
            "vtss/service/ras/v1/login", json=self._login_request(user).model_dump()
        )
        if not response.is_success:
            refusal = self.http.decode(response, Refusal)
            # At login every refusal but an unknown user is the hub's own configuration.
            code = ERRORS.code(refusal.number)
            if code is not Code.PROVIDER_USER_UNKNOWN:
                code = Code.PROVIDER_BAD_CREDENTIALS
            raise self._error(
                code,
                f"login {refusal.number}: {refusal.text}",
                user=user,
            )
        login = self.http.decode(response, LoginAnswer)
        return login.access_token, login.expires_in

    async def _probe(self) -> str | None:
        """Log in as a user who does not exist: "unknown user" proves the client is accepted."""
        response = await self.http.post(
            "vtss/service/ras/v1/login", json=self._login_request(PROBE_USER).model_dump()
        )
        if response.is_success:
            return None
        refusal = self.http.decode(response, Refusal)
        if refusal.number == LoginCode.UNKNOWN_USER:
            return None
        return f"{refusal.number}: {refusal.text}"

    async def _code(self, number: int | None, user: str, credential_id: str) -> Code:
        code = ERRORS.code(number) or Code.SIGNING_FAILED
        if code is Code.CERTIFICATE_REVOKED:
            return await self._certificate_code(user, credential_id)
        return code

    async def _certificate_code(self, user: str, credential_id: str) -> Code:
        """Expired or revoked? 13004 does not say; the certificate listing does."""
        try:
            response = await self._tokens.post(
                user,
                "vtss/service/certificates/info",
                json=self._info_request(user).model_dump(by_alias=True),
            )
            for info in self.http.decode(response, list[CredentialInfo]):
                if info.credential_id == credential_id:
                    certificate = load_certificate(info.cert.certificates[0])
                    if certificate_status(info.cert.status, certificate) == "EXPIRED":
                        return Code.CERTIFICATE_EXPIRED
        except (SigningError, ValueError, IndexError):
            pass  # the refusal stands; "revoked or suspended" is then the safer reading
        return Code.CERTIFICATE_REVOKED

    # --- reading answers ------------------------------------------------------------------------

    def _credential(self, user_id: str, info: CredentialInfo) -> Credential:
        try:
            certificate, *chain = [load_certificate(c) for c in info.cert.certificates]
        except ValueError as error:
            raise self._error(
                Code.PROVIDER_FAILURE,
                f"unreadable certificate: {error}",
                credential=info.credential_id,
            ) from error
        return Credential(
            provider=self.provider,
            credential_id=info.credential_id,
            user_id=user_id,
            certificate=certificate,
            chain=tuple(chain),
            max_batch=max(1, min(info.multisign, MAX_BATCH)),
            status=certificate_status(info.cert.status, certificate),
        )

    def _login_request(self, user: str) -> LoginRequest:
        return LoginRequest(
            client_id=self.client_id,
            client_secret=self.client_secret,
            profile_id=self.profile_id,
            user_id=user,
        )

    def _info_request(self, user: str) -> CertificatesInfoRequest:
        return CertificatesInfoRequest(
            client_id=self.client_id,
            client_secret=self.client_secret,
            profile_id=self.profile_id,
            user_id=user,
        )

    def _error(
        self, code: Code, detail: str, *, user: str = "", credential: str = ""
    ) -> SigningError:
        return SigningError(code, self.provider, detail, user=user, credential=credential)


def load_certificate(text: str) -> x509.Certificate:
    return x509.load_der_x509_certificate(base64.b64decode("".join(text.split()), validate=True))


def certificate_status(status: str, certificate: x509.Certificate) -> str:
    """ACTIVE, EXPIRED or REVOKED from MySign's CSC words (anything not "valid" is unusable)."""
    word = status.strip().lower()
    if word == "valid":
        return "ACTIVE"
    if word == "expired" or certificate.not_valid_after_utc <= utcnow():
        return "EXPIRED"
    return "REVOKED"


def from_config(table: Mapping[str, Any]) -> MySignAdapter:
    """The adapter from its providers-file table: ``url`` and the hub's API client at
    Viettel, ``client_id``, ``client_secret``, ``profile_id``."""
    return MySignAdapter(
        base_url=table["url"],
        client_id=table["client_id"],
        client_secret=table["client_secret"],
        profile_id=table["profile_id"],
    )
