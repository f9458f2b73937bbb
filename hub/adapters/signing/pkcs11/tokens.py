"""Every school's seal token behind one adapter, picked by the school's code.

Each school has its own token (its own module path, label and PIN); the hub's
provider registry has one adapter per provider. :class:`SealTokens` is that
adapter for PKCS#11: it sends each call to the token of the school named by
``user_id`` (the ministry school code, as in ``UID=MNS:…``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hub.adapters.signing.base import (
    Credential,
    Health,
    HealthStatus,
    SigningAdapter,
    SigningError,
    Transaction,
    TransactionResult,
    utcnow,
)
from hub.adapters.signing.pkcs11.adapter import Pkcs11Adapter
from hub.domain.enums import SigningProvider
from hub.domain.problems import Code


class SealTokens(SigningAdapter):
    """School code → that school's token adapter."""

    provider = SigningProvider.PKCS11

    def __init__(self, tokens: Mapping[str, Pkcs11Adapter]) -> None:
        self.tokens = dict(tokens)

    def _token(self, school_code: str) -> Pkcs11Adapter:
        token = self.tokens.get(school_code)
        if token is None:
            raise SigningError(
                Code.PROVIDER_UNAVAILABLE,
                self.provider,
                f"no seal token is connected for school {school_code}",
            )
        return token

    async def list_credentials(self, user_id: str) -> list[Credential]:
        return await self._token(user_id).list_credentials(user_id)

    async def credential(self, user_id: str, credential_id: str) -> Credential:
        return await self._token(user_id).credential(user_id, credential_id)

    async def sign_hashes(
        self, credential: Credential, digests: Sequence[bytes], descriptions: Sequence[str]
    ) -> Transaction:
        return await self._token(credential.user_id).sign_hashes(credential, digests, descriptions)

    async def poll(self, transaction: Transaction) -> TransactionResult:
        # A token signs at once: the signatures travel in the transaction itself.
        token = next(iter(self.tokens.values()), None)
        if token is None:
            raise SigningError(Code.PROVIDER_UNAVAILABLE, self.provider, "no seal token")
        return await token.poll(transaction)

    async def health(self) -> Health:
        """UP when every token answers; DOWN when none does; DEGRADED in between."""
        if not self.tokens:
            return Health(self.provider, HealthStatus.DOWN, None, "no seal token", utcnow())
        answers = [await token.health() for token in self.tokens.values()]
        up = [a for a in answers if a.status is HealthStatus.UP]
        status = (
            HealthStatus.UP
            if len(up) == len(answers)
            else HealthStatus.DOWN
            if not up
            else HealthStatus.DEGRADED
        )
        errors = [a.last_error for a in answers if a.last_error]
        latency = max((a.latency_ms or 0.0) for a in answers)
        return Health(self.provider, status, latency, "; ".join(errors) or None, utcnow())
