"""The hub's client for Ban Cơ yếu Chính phủ's remote signing (official-duty certificates).

The hub logs in as a relying party with its own registered RSA key (the ``SSL2``
header, :mod:`hub.adapters.signing.bcy.protocol`), then acts for each signer by
``userID``. :meth:`BcyAdapter.sign_hashes` asks ``credentials/authorize`` for the
digests, which sends the request to the signer's phone and returns an
authorisation ID; :meth:`BcyAdapter.poll` asks how that stands and, once it is
authorised, spends the SAD on ``signatures/signHash`` in the same call.

``Transaction.data``: ``user_id`` and ``digests`` (base64, space-separated, in
order: signHash must send the very digests the signer approved). The
``transaction_id`` is the provider's ``authorizationID``. A poll from another
process, with a new adapter, has everything it needs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hub.adapters.signing.base import (
    Credential,
    SigningError,
    Transaction,
    TransactionResult,
    TransactionState,
    check_batch,
    outcome_of,
    utcnow,
)
from hub.adapters.signing.bcy.protocol import (
    AuthorizationStatus,
    AuthorizationStatusRequest,
    AuthorizeRequest,
    DocumentDigests,
    PendingAuthorization,
    SignHashRequest,
    UserCredentialsInfoRequest,
    UserCredentialsListRequest,
    ssl2_authorization,
)
from hub.adapters.signing.csc.adapter import CscSessionAdapter
from hub.adapters.signing.csc.protocol import (
    CredentialsListResponse,
    LoginResponse,
    SignHashResponse,
    b64,
)
from hub.adapters.signing.csc.session import parse, phone_text
from hub.adapters.signing.http import DEFAULT_TIMEOUT
from hub.domain.enums import SigningProvider


class BcyAdapter(CscSessionAdapter):
    """Signs through Ban Cơ yếu's RSSP service as relying party ``rp_id``.

    ``rp_key_pem`` is the relying party's private key (PEM, RSA) whose public half
    is registered with Ban Cơ yếu.
    """

    def __init__(
        self,
        *,
        base_url: str,
        rp_id: str,
        rp_key_pem: bytes,
        rp_key_password: bytes | None = None,
        provider: SigningProvider = SigningProvider.BCY,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        key = serialization.load_pem_private_key(rp_key_pem, rp_key_password)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the relying party's key must be RSA")
        self.rp_id = rp_id
        self._key = key
        super().__init__(provider=provider, base_url=base_url, timeout=timeout, transport=transport)

    async def _login(self) -> str:
        header = ssl2_authorization(self.rp_id, self._key, int(time.time()))
        response = await self._http.post("auth/login", json={}, headers={"Authorization": header})
        return parse(self.provider, response, LoginResponse, login=True).access_token

    async def list_credentials(self, user_id: str) -> list[Credential]:
        answer = await self._session.call(
            "credentials/list",
            UserCredentialsListRequest(userID=user_id),
            CredentialsListResponse,
            user_id=user_id,
        )
        return [await self.credential(user_id, c) for c in answer.credentialIDs]

    def _info_request(self, user_id: str, credential_id: str) -> UserCredentialsInfoRequest:
        return UserCredentialsInfoRequest(
            userID=user_id, credentialID=credential_id, certificates="chain", certInfo=True
        )

    async def sign_hashes(
        self, credential: Credential, digests: Sequence[bytes], descriptions: Sequence[str]
    ) -> Transaction:
        check_batch(credential, digests, descriptions, descriptions_required=False)
        hashes = [b64(digest) for digest in digests]
        pending = await self._session.call(
            "credentials/authorize",
            AuthorizeRequest(
                userID=credential.user_id,
                credentialID=credential.credential_id,
                numSignatures=len(digests),
                documentDigests=DocumentDigests(hashes=hashes),
                description=phone_text(descriptions) or None,
            ),
            PendingAuthorization,
            user_id=credential.user_id,
            credential_id=credential.credential_id,
        )
        expires_at = utcnow() + timedelta(seconds=pending.expiresIn)
        return self._opened(
            credential, pending.authorizationID, digests, expires_at, digests=" ".join(hashes)
        )

    async def poll(self, transaction: Transaction) -> TransactionResult:
        user_id = transaction.data["user_id"]
        try:
            status = await self._session.call(
                "credentials/authorize/status",
                AuthorizationStatusRequest(authorizationID=transaction.transaction_id),
                AuthorizationStatus,
                user_id=user_id,
                credential_id=transaction.credential_id,
            )
            if status.status == "PENDING" or not status.SAD:
                return TransactionResult(TransactionState.PENDING)
            signed = await self._session.call(
                "signatures/signHash",
                SignHashRequest(
                    credentialID=transaction.credential_id,
                    SAD=status.SAD,
                    documentDigests=DocumentDigests(hashes=transaction.data["digests"].split()),
                ),
                SignHashResponse,
                user_id=user_id,
                credential_id=transaction.credential_id,
            )
        except SigningError as error:
            return outcome_of(error)
        return self._signed(transaction, signed.signatures)


def from_config(table: Mapping[str, Any]) -> BcyAdapter:
    """The adapter from its providers-file table: ``url``, ``rp_id`` and ``rp_key_file``
    (the relying party's PEM key; ``rp_key_password`` if it is encrypted)."""
    password = table.get("rp_key_password")
    return BcyAdapter(
        base_url=table["url"],
        rp_id=table["rp_id"],
        rp_key_pem=Path(table["rp_key_file"]).read_bytes(),
        rp_key_password=password.encode() if password else None,
    )
