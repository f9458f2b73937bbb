"""The hub's clients for the sector database and the national transcript store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from hub.adapters.national import protocol
from hub.adapters.national.errors import FarSideCode, FarSideError, System
from hub.adapters.national.http import DEFAULT_TIMEOUT, FarSideHttp, Sign
from hub.adapters.national.protocol import STUDENT_FIELDS, BatchAnswer, TranscriptSubmission


class _BatchClient:
    system: System
    path: str

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        sign: Sign | None = None,
    ) -> None:
        """``sign``: the department's transport signature on every batch (the far side
        refuses batches without one)."""
        self.http = FarSideHttp(
            self.system, base_url, token=token, timeout=timeout, transport=transport, sign=sign
        )

    async def _send(self, key: str, batch: dict[str, Any]) -> BatchAnswer:
        response, body = await self.http.post_json(
            self.path, batch, {protocol.IDEMPOTENCY_KEY: key}
        )
        try:
            return BatchAnswer.decode(
                body, replayed=response.headers.get(protocol.REPLAYED) == "true"
            )
        except (KeyError, TypeError, ValueError) as error:
            raise FarSideError(
                FarSideCode.FAILURE, self.system, f"unexpected answer {response.text[:200]!r}"
            ) from error

    async def aclose(self) -> None:
        await self.http.aclose()


class SectorDatabaseClient(_BatchClient):
    """The ministry's sector database (csdl.moet.gov.vn): student records by personal ID."""

    system = System.SECTOR_DATABASE
    path = protocol.STUDENTS_PATH

    async def upsert_students(self, key: str, rows: Sequence[Sequence[Any]]) -> BatchAnswer:
        """Create or update the records ``rows`` (fields in :data:`STUDENT_FIELDS` order; any
        sequence, a database row as it is) as one batch named ``key``."""
        return await self._send(key, {"fields": STUDENT_FIELDS, "rows": rows})


class TranscriptStoreClient(_BatchClient):
    """The national transcript store (kho học bạ số): sealed transcripts and their documents."""

    system = System.TRANSCRIPT_STORE
    path = protocol.TRANSCRIPTS_PATH

    async def submit_transcripts(
        self, key: str, transcripts: Sequence[TranscriptSubmission]
    ) -> BatchAnswer:
        """Hand over ``transcripts`` as one batch named ``key``; each answer is a receipt."""
        return await self._send(key, {"items": transcripts})
