"""The hub's client for identity verification at the population database."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from hub.adapters.national.errors import FarSideCode, FarSideError, System
from hub.adapters.national.http import DEFAULT_TIMEOUT, FarSideHttp
from hub.adapters.population import protocol
from hub.adapters.population.protocol import IdentityQuery, IdentityResult


class PopulationClient:
    """Verify personal IDs, full names and birth dates in batches."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.http = FarSideHttp(
            System.POPULATION_DATABASE, base_url, token=token, timeout=timeout, transport=transport
        )

    async def verify(self, queries: Sequence[IdentityQuery]) -> dict[str, IdentityResult]:
        """The population database's answer for each query, by its ``ref``."""
        response, body = await self.http.post_json(
            protocol.VERIFY_PATH, {"requests": list(queries)}
        )
        try:
            results: dict[str, IdentityResult] = {r["ref"]: r for r in body["results"]}
        except (KeyError, TypeError) as error:
            raise FarSideError(
                FarSideCode.FAILURE,
                System.POPULATION_DATABASE,
                f"unexpected answer {response.text[:200]!r}",
            ) from error
        return results

    async def aclose(self) -> None:
        await self.http.aclose()
