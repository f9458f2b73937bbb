"""The hub's client for any Cloud Signature Consortium server, v1 or v2.

Flow: ``auth/login`` (HTTP Basic, the hub's account) gives a bearer token;
``credentials/list`` and ``credentials/info`` (``certificates: chain``) give the
signer's keys; ``credentials/authorize`` with the credential's PIN and the hashes
gives a SAD bound to them; ``signatures/signHash`` signs them all under it, up to
the credential's ``multisign``.

With ``operation_mode="S"`` (v1, and v2's default) the PIN is the consent and the
signatures come back at once, so :meth:`CscAdapter.sign_hashes` returns a
transaction that is already signed: the signatures travel in its ``data``.
With v2's ``operation_mode="A"`` the server asks the signer to confirm and answers
with a ``responseID``, which :meth:`CscAdapter.poll` asks ``signatures/signPolling``
about. Either way everything a poll needs is in the :class:`Transaction`, so a job
may poll from another process with a new adapter.

``Transaction.data``: ``operation_mode`` (``S``/``A``), ``user_id``, and for ``S``
``signatures`` (the raw values, base64, space-separated, in digest order). For
``A`` the ``transaction_id`` is the server's ``responseID``.
"""

from __future__ import annotations

import uuid
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from hub.adapters.signing.base import (
    Credential,
    Health,
    SigningAdapter,
    SigningError,
    Transaction,
    TransactionResult,
    TransactionState,
    check_batch,
    outcome_of,
    raw_signature,
    signatures_of,
    utcnow,
)
from hub.adapters.signing.csc.protocol import (
    RSA_OID,
    SHA256_OID,
    AuthData,
    AuthorizeRequestV1,
    AuthorizeRequestV2,
    AuthorizeResponse,
    CredentialsInfoRequest,
    CredentialsInfoResponse,
    CredentialsListRequest,
    CredentialsListResponse,
    LoginRequest,
    LoginResponse,
    OperationMode,
    SignHashRequestV1,
    SignHashRequestV2,
    SignHashResponse,
    SignPollingRequest,
    SignPollingResponse,
    Version,
    b64,
)
from hub.adapters.signing.csc.session import (
    CONFIRMATION_WINDOW,
    ProtocolSession,
    credential_from_info,
    parse,
    phone_text,
)
from hub.adapters.signing.http import DEFAULT_TIMEOUT, ProviderHttp, probe_health
from hub.domain.enums import SigningProvider
from hub.domain.problems import Code

#: Where a credential's PIN comes from: a mapping by credential ID, or a function of it.
#: ``None`` (or a missing key) sends no PIN, for credentials authorised otherwise.
PinSource = Mapping[str, str] | Callable[[str], str | None]


class CscSessionAdapter(SigningAdapter):
    """What an adapter for the CSC API or a profile of it (Ban Cơ yếu's RSSP) shares:
    calls through a :class:`ProtocolSession` that logs in with :meth:`_login`, a
    credential read from ``credentials/info``, the signatures of an answer read for a
    transaction, and ``info`` as the health probe."""

    def __init__(
        self,
        *,
        provider: SigningProvider,
        base_url: str,
        timeout: httpx.Timeout,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.provider = provider
        self._http = ProviderHttp(provider, base_url, timeout=timeout, transport=transport)
        self._session = ProtocolSession(self._http, self._login)

    @abstractmethod
    async def _login(self) -> str:
        """A bearer token for the session's calls."""

    @abstractmethod
    def _info_request(self, user_id: str, credential_id: str) -> CredentialsInfoRequest:
        """The body of ``credentials/info`` for one credential, with its chain."""

    async def credential(self, user_id: str, credential_id: str) -> Credential:
        info = await self._session.call(
            "credentials/info",
            self._info_request(user_id, credential_id),
            CredentialsInfoResponse,
            user_id=user_id,
            credential_id=credential_id,
        )
        return credential_from_info(self.provider, user_id, credential_id, info)

    def _opened(
        self,
        credential: Credential,
        transaction_id: str,
        digests: Sequence[bytes],
        expires_at: datetime,
        /,
        **data: str,
    ) -> Transaction:
        """The transaction for ``digests`` with ``credential``; its ``data``, what a poll
        from any process needs, always names the signer (``user_id``)."""
        return Transaction(
            provider=self.provider,
            transaction_id=transaction_id,
            credential_id=credential.credential_id,
            count=len(digests),
            expires_at=expires_at,
            data={"user_id": credential.user_id, **data},
        )

    def _signed(self, transaction: Transaction, values: Sequence[str] | None) -> TransactionResult:
        """``transaction`` signed with the raw values of an answer, one per digest."""
        signatures = signatures_of(
            self.provider, values, transaction.count, credential_id=transaction.credential_id
        )
        return TransactionResult(TransactionState.SIGNED, signatures)

    async def health(self) -> Health:
        return await probe_health(self.provider, self._session.probe)

    async def aclose(self) -> None:
        await self._http.aclose()


@dataclass(frozen=True, slots=True)
class CscAccount:
    """The account the hub logs in with: a service account, or the signer's own."""

    username: str
    password: str


class CscAdapter(CscSessionAdapter):
    """Signs through a CSC server; ``base_url`` ends at the version, e.g. ``…/csc/v2``."""

    def __init__(
        self,
        *,
        base_url: str,
        account: CscAccount,
        pins: PinSource,
        version: Version = "v2",
        operation_mode: OperationMode = "S",
        provider: SigningProvider = SigningProvider.CSC,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if version == "v1" and operation_mode != "S":
            raise ValueError("CSC v1 has no asynchronous signHash")
        self.version = version
        self.operation_mode = operation_mode
        self.account = account
        self._pins = pins
        super().__init__(provider=provider, base_url=base_url, timeout=timeout, transport=transport)

    async def _login(self) -> str:
        response = await self._http.post(
            "auth/login",
            json=LoginRequest().body(),
            auth=httpx.BasicAuth(self.account.username, self.account.password),
        )
        answer = parse(
            self.provider, response, LoginResponse, user_id=self.account.username, login=True
        )
        return answer.access_token

    async def list_credentials(self, user_id: str) -> list[Credential]:
        credential_ids: list[str] = []
        page: str | None = None
        while True:
            answer = await self._session.call(
                "credentials/list",
                CredentialsListRequest(userID=user_id, pageToken=page),
                CredentialsListResponse,
                user_id=user_id,
            )
            credential_ids += answer.credentialIDs
            page = answer.nextPageToken
            if not page:
                break
        return [await self.credential(user_id, c) for c in credential_ids]

    def _info_request(self, user_id: str, credential_id: str) -> CredentialsInfoRequest:
        return CredentialsInfoRequest(
            credentialID=credential_id, certificates="chain", certInfo=True, authInfo=True
        )

    async def sign_hashes(
        self, credential: Credential, digests: Sequence[bytes], descriptions: Sequence[str]
    ) -> Transaction:
        check_batch(credential, digests, descriptions, descriptions_required=False)
        hashes = [b64(digest) for digest in digests]
        sad = await self._authorize(credential, hashes, phone_text(descriptions))
        request: SignHashRequestV1 | SignHashRequestV2
        if self.version == "v1":
            request = SignHashRequestV1(
                credentialID=credential.credential_id,
                SAD=sad,
                hash=hashes,
                hashAlgo=SHA256_OID,
                signAlgo=RSA_OID,
            )
        else:
            request = SignHashRequestV2(
                credentialID=credential.credential_id,
                SAD=sad,
                hashes=hashes,
                hashAlgorithmOID=SHA256_OID,
                signAlgo=RSA_OID,
                operationMode=self.operation_mode,
            )
        answer = await self._session.call(
            "signatures/signHash",
            request,
            SignHashResponse,
            user_id=credential.user_id,
            credential_id=credential.credential_id,
        )
        if self.operation_mode == "A":
            if not answer.responseID:
                raise SigningError(
                    Code.PROVIDER_FAILURE,
                    self.provider,
                    "asynchronous signHash answered without a responseID",
                    credential=credential.credential_id,
                )
            expires_at = utcnow() + CONFIRMATION_WINDOW
            return self._opened(
                credential, answer.responseID, digests, expires_at, operation_mode="A"
            )
        signatures = signatures_of(
            self.provider, answer.signatures, len(digests), credential_id=credential.credential_id
        )
        return self._opened(
            credential,
            uuid.uuid4().hex,
            digests,
            utcnow(),
            operation_mode="S",
            signatures=" ".join(b64(signature) for signature in signatures),
        )

    async def _authorize(self, credential: Credential, hashes: list[str], description: str) -> str:
        """The SAD for ``hashes``: the PIN is the signer's consent to exactly these."""
        pin = self._pin(credential.credential_id)
        request: AuthorizeRequestV1 | AuthorizeRequestV2
        if self.version == "v1":
            request = AuthorizeRequestV1(
                credentialID=credential.credential_id,
                numSignatures=len(hashes),
                hash=hashes,
                PIN=pin,
                description=description or None,
            )
        else:
            request = AuthorizeRequestV2(
                credentialID=credential.credential_id,
                numSignatures=len(hashes),
                hashes=hashes,
                hashAlgorithmOID=SHA256_OID,
                authData=[AuthData(id="PIN", value=pin)] if pin is not None else None,
                description=description or None,
            )
        answer = await self._session.call(
            "credentials/authorize",
            request,
            AuthorizeResponse,
            user_id=credential.user_id,
            credential_id=credential.credential_id,
        )
        return answer.SAD

    def _pin(self, credential_id: str) -> str | None:
        if isinstance(self._pins, Mapping):
            return self._pins.get(credential_id)
        return self._pins(credential_id)

    async def poll(self, transaction: Transaction) -> TransactionResult:
        if transaction.data["operation_mode"] == "S":
            signatures = transaction.data["signatures"].split()
            return TransactionResult(
                TransactionState.SIGNED, tuple(raw_signature(s) for s in signatures)
            )
        try:
            answer = await self._session.call(
                "signatures/signPolling",
                SignPollingRequest(responseID=transaction.transaction_id),
                SignPollingResponse,
                user_id=transaction.data["user_id"],
                credential_id=transaction.credential_id,
            )
        except SigningError as error:
            return outcome_of(error)
        if not answer.signatures:
            return TransactionResult(TransactionState.PENDING)
        return self._signed(transaction, answer.signatures)


def from_config(table: Mapping[str, Any]) -> CscAdapter:
    """The adapter from its providers-file table: ``url`` (ending at the version),
    ``username``/``password`` (the hub's account), ``pins`` (credential ID → PIN),
    ``version`` (``v1``/``v2``) and ``operation_mode`` (``S``/``A``)."""
    return CscAdapter(
        base_url=table["url"],
        account=CscAccount(username=table["username"], password=table["password"]),
        pins=dict(table.get("pins", {})),
        version=table.get("version", "v2"),
        operation_mode=table.get("operation_mode", "S"),
    )
