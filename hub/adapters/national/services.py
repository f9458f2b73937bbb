"""The far sides a national sync run talks to, as one bundle of clients.

The ministry's sector database and the national transcript store (this package) and
the population database's identity checks (:mod:`hub.adapters.population`). The
batches sent to the first two carry the department's transport signature, made by
its :class:`~hub.signing.transport.BatchSigner`; the population database is asked,
not written to, and its lookups go unsigned.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.adapters.national.client import SectorDatabaseClient, TranscriptStoreClient
from hub.adapters.population.client import PopulationClient
from hub.config import Settings
from hub.signing.transport import BatchSigner, department_signer


@dataclass
class SyncServices:
    """The clients of the far sides a run talks to."""

    sector: SectorDatabaseClient
    store: TranscriptStoreClient
    population: PopulationClient
    #: Signs every batch; None sends them unsigned (a far side that asks refuses them).
    signer: BatchSigner | None = None

    @classmethod
    def connect(
        cls,
        *,
        sector_url: str,
        store_url: str,
        population_url: str,
        token: str | None = None,
        signer: BatchSigner | None = None,
    ) -> SyncServices:
        sign = signer.sign if signer is not None else None
        return cls(
            SectorDatabaseClient(sector_url, token=token, sign=sign),
            TranscriptStoreClient(store_url, token=token, sign=sign),
            PopulationClient(population_url, token=token),
            signer,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> SyncServices | None:
        """From ``HUB_NATIONAL_SECTOR_URL``, ``HUB_NATIONAL_STORE_URL``, ``HUB_POPULATION_URL``
        (and ``HUB_NATIONAL_TOKEN``), signing with ``HUB_NATIONAL_SIGNER_*``
        (:func:`~hub.signing.transport.department_signer`); None while any URL is unset."""
        sector_url = settings.national_sector_url
        store_url = settings.national_store_url
        population_url = settings.population_url
        if not (sector_url and store_url and population_url):
            return None
        return cls.connect(
            sector_url=sector_url,
            store_url=store_url,
            population_url=population_url,
            token=settings.national_token,
            signer=department_signer(settings),
        )

    async def aclose(self) -> None:
        await self.sector.aclose()
        await self.store.aclose()
        await self.population.aclose()
        if self.signer is not None:
            await self.signer.aclose()
