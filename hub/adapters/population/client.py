"""The hub's client for identity and family-relationship verification at the population database."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import structlog

from hub.adapters.national.errors import FarSideCode, FarSideError, System
from hub.adapters.national.http import DEFAULT_TIMEOUT, FarSideHttp
from hub.adapters.population import protocol
from hub.adapters.population.protocol import IdentityQuery, IdentityResult, RelationshipQuery
from hub.domain.enums import RelationshipAnswer

log = structlog.get_logger(__name__)

#: The answers the database gives; anything else is an answer not understood.
_ANSWERS = {
    protocol.MATCHED: RelationshipAnswer.MATCHED,
    protocol.MISMATCHED: RelationshipAnswer.MISMATCHED,
    protocol.UNKNOWN: RelationshipAnswer.UNKNOWN,
}


class PopulationClient:
    """Verify personal IDs, full names and birth dates, and family relationships, in batches."""

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

    async def verify_relationships(
        self, queries: Sequence[RelationshipQuery]
    ) -> dict[str, RelationshipAnswer]:
        """The population database's answer for each relationship, by its ``ref``.

        Sent in batches of at most :data:`~protocol.MAX_REQUESTS`. Never raises for the
        far side: a batch that got no answer (unreachable, too slow, HTTP 5xx, refused,
        an answer not understood) is UNREACHABLE for each of its requests, and so is a
        request the answer leaves out — the caller asks again later. What went wrong is
        logged, never handed on as text.
        """
        answers: dict[str, RelationshipAnswer] = {}
        for start in range(0, len(queries), protocol.MAX_REQUESTS):
            batch = list(queries[start : start + protocol.MAX_REQUESTS])
            answers |= await self._relationships(batch)
        return answers

    async def _relationships(self, batch: list[RelationshipQuery]) -> dict[str, RelationshipAnswer]:
        refs = [query["ref"] for query in batch]
        unreachable = dict.fromkeys(refs, RelationshipAnswer.UNREACHABLE)
        try:
            _, body = await self.http.post_json(protocol.RELATIONSHIPS_PATH, {"requests": batch})
        except FarSideError as error:
            log.warning(
                "population.relationships_unanswered",
                code=error.code.value,
                detail=error.detail[:200],
                requests=len(batch),
            )
            return unreachable
        try:
            given = {str(r["ref"]): _ANSWERS.get(r["result"]) for r in body["results"]}
        except (KeyError, TypeError):
            log.warning("population.relationships_not_understood", requests=len(batch))
            return unreachable
        return {ref: given.get(ref) or RelationshipAnswer.UNREACHABLE for ref in refs}

    async def aclose(self) -> None:
        await self.http.aclose()
