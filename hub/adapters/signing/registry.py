"""The configured signing providers and how each is doing.

A periodic health check (:meth:`SigningProviders.check`, run by the web app through
:meth:`hub.signing.outages.Outages.watch`, which also records and tells people) asks
every provider a cheap question and keeps the answer: status, latency and the last
error. A signing request to a provider known to be down fails at once with
PROVIDER_UNAVAILABLE and the reason, instead of hanging until a timeout — the
seeds' main complaint was an error with no cause after minutes of waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta

import structlog

from hub.adapters.signing.base import (
    Health,
    HealthStatus,
    SigningAdapter,
    SigningError,
    utcnow,
)
from hub.domain.enums import SigningProvider
from hub.domain.problems import Code

log = structlog.get_logger(__name__)

#: How often providers are checked, and how old a "down" may be to still refuse at once.
CHECK_INTERVAL = timedelta(seconds=30)


class SigningProviders:
    """The adapters by provider, with the last health answer of each."""

    def __init__(self, adapters: Mapping[SigningProvider, SigningAdapter]) -> None:
        self.adapters = dict(adapters)
        self.health: dict[SigningProvider, Health] = {}

    def adapter(self, provider: SigningProvider) -> SigningAdapter:
        """The adapter for ``provider``; refuses at once if it is known to be down."""
        adapter = self.adapters.get(provider)
        if adapter is None:
            raise SigningError(
                Code.PROVIDER_UNAVAILABLE, provider, "this hub has no connection to the provider"
            )
        last = self.health.get(provider)
        if (
            last is not None
            and last.status is HealthStatus.DOWN
            and utcnow() - last.checked_at < 2 * CHECK_INTERVAL
        ):
            raise SigningError(Code.PROVIDER_UNAVAILABLE, provider, last.last_error or "down")
        return adapter

    def note_failure(self, error: SigningError) -> None:
        """A call just found the provider unreachable: remember it until the next check."""
        if error.problem.code is Code.PROVIDER_UNAVAILABLE:
            self.health[error.provider] = Health(
                error.provider, HealthStatus.DOWN, None, error.detail, utcnow()
            )

    async def check(self) -> list[Health]:
        """Ask every provider now, side by side."""
        providers = list(self.adapters)
        answers = await asyncio.gather(*(self.adapters[p].health() for p in providers))
        for provider, answer in zip(providers, answers, strict=True):
            before = self.health.get(provider)
            if before is None or before.status is not answer.status:
                log.info(
                    "signing_provider_health",
                    provider=provider.value,
                    status=answer.status.value,
                    latency_ms=answer.latency_ms,
                    error=answer.last_error,
                )
            self.health[provider] = answer
        return [self.health[p] for p in providers]

    async def aclose(self) -> None:
        for adapter in self.adapters.values():
            await adapter.aclose()
