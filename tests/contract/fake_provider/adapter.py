"""The hub's client for the test-only provider, built from the shared plumbing
(:mod:`hub.adapters.signing.base`, :mod:`hub.adapters.signing.http`) like a real one."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import timedelta
from enum import StrEnum
from typing import Any

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
from hub.adapters.signing.http import DEFAULT_TIMEOUT, ProviderHttp, probe_health
from hub.domain.problems import Code

#: The provider's refusal words in the hub's terms.
ERRORS: ErrorTable[str] = ErrorTable(
    codes={
        "UNAUTHORISED": Code.PROVIDER_BAD_CREDENTIALS,
        "USER_UNKNOWN": Code.PROVIDER_USER_UNKNOWN,
        "CREDENTIAL_UNKNOWN": Code.CREDENTIAL_NOT_FOUND,
        "CERTIFICATE_REVOKED": Code.CERTIFICATE_REVOKED,
        "CERTIFICATE_EXPIRED": Code.CERTIFICATE_EXPIRED,
        "QUOTA_EXHAUSTED": Code.QUOTA_EXHAUSTED,
        "REJECTED": Code.SIGNER_REJECTED,
        "EXPIRED": Code.SIGNER_NOT_CONFIRMED,
    }
)


class FakeCredential(BaseModel):
    id: str
    certificates: list[str]
    max_batch: int


class Credentials(BaseModel):
    credentials: list[FakeCredential]


class Opened(BaseModel):
    transaction: str


class Status(BaseModel):
    state: str
    signatures: list[str] = []
    error: str | None = None


class Refusal(BaseModel):
    error: str


def fake_user_id(personal_id: str) -> str:
    """The provider's user name for a person: their personal ID, prefixed."""
    return personal_id if personal_id.startswith("fake:") else f"fake:{personal_id}"


class FakeProvider(StrEnum):
    FAKE = "FAKE"

    @property
    def label(self) -> str:
        """As :attr:`hub.domain.enums.SigningProvider.label`: the name people know."""
        return "Nhà cung cấp thử nghiệm"


class FakeAdapter(SigningAdapter):
    provider = FakeProvider.FAKE  # type: ignore[assignment]  # not one the hub ships with

    def __init__(
        self,
        *,
        base_url: str,
        client_secret: str,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.http = ProviderHttp(self.provider, base_url, timeout=timeout)
        self.client_secret = client_secret

    async def list_credentials(self, user_id: str) -> list[Credential]:
        found = await self._call(
            "credentials", {"user": fake_user_id(user_id)}, Credentials, user=user_id
        )
        return [
            Credential(
                provider=self.provider,
                credential_id=c.id,
                user_id=user_id,
                certificate=_certificate(c.certificates[0]),
                chain=tuple(_certificate(s) for s in c.certificates[1:]),
                max_batch=c.max_batch,
            )
            for c in found.credentials
        ]

    async def sign_hashes(
        self, credential: Credential, digests: Sequence[bytes], descriptions: Sequence[str]
    ) -> Transaction:
        check_batch(credential, digests, descriptions)
        body = {
            "user": fake_user_id(credential.user_id),
            "credential": credential.credential_id,
            "digests": [base64.b64encode(d).decode() for d in digests],
            "descriptions": list(descriptions),
        }
        opened = await self._call("sign", body, Opened, user=credential.user_id)
        return Transaction(
            provider=self.provider,
            transaction_id=opened.transaction,
            credential_id=credential.credential_id,
            count=len(digests),
            expires_at=utcnow() + timedelta(minutes=5),
        )

    async def poll(self, transaction: Transaction) -> TransactionResult:
        try:
            status = await self._call("status", {"transaction": transaction.transaction_id}, Status)
        except SigningError as error:
            return outcome_of(error)
        if status.state == "PENDING":
            return TransactionResult(TransactionState.PENDING)
        if status.state == "SIGNED":
            values = signatures_of(self.provider, status.signatures, transaction.count)
            return TransactionResult(TransactionState.SIGNED, values)
        code = ERRORS.code(status.error or status.state) or Code.SIGNING_FAILED
        error = SigningError(code, self.provider, status.error or status.state)
        return TransactionResult(final_state(code), error=error)

    async def health(self) -> Health:
        return await probe_health(self.provider, self._probe)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _probe(self) -> str | None:
        await self._call("health", {}, dict)
        return None

    async def _call(self, path: str, body: dict[str, Any], kind: Any, *, user: str = "") -> Any:
        response = await self.http.post(
            path, json=body, headers={"X-Client-Secret": self.client_secret}
        )
        if response.is_success:
            return self.http.decode(response, kind)
        refusal = self.http.decode(response, Refusal)
        raise SigningError(ERRORS.code(refusal.error), self.provider, refusal.error, user=user)


def _certificate(text: str) -> x509.Certificate:
    return x509.load_der_x509_certificate(base64.b64decode(text))


def from_config(table: Mapping[str, Any]) -> FakeAdapter:
    return FakeAdapter(base_url=table["url"], client_secret=table["client_secret"])
