"""The far sides a national sync run talks to, as one bundle of clients.

The ministry's sector database and the national transcript store (this package) and
the population database's identity checks (:mod:`hub.adapters.population`).
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.adapters.national.client import SectorDatabaseClient, TranscriptStoreClient
from hub.adapters.population.client import PopulationClient
from hub.config import Settings


@dataclass
class SyncServices:
    """The clients of the far sides a run talks to."""

    sector: SectorDatabaseClient
    store: TranscriptStoreClient
    population: PopulationClient

    @classmethod
    def connect(
        cls,
        *,
        sector_url: str,
        store_url: str,
        population_url: str,
        token: str | None = None,
    ) -> SyncServices:
        return cls(
            SectorDatabaseClient(sector_url, token=token),
            TranscriptStoreClient(store_url, token=token),
            PopulationClient(population_url, token=token),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> SyncServices | None:
        """From ``HUB_NATIONAL_SECTOR_URL``, ``HUB_NATIONAL_STORE_URL``, ``HUB_POPULATION_URL``
        (and ``HUB_NATIONAL_TOKEN``); None while any URL is unset."""
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
        )

    async def aclose(self) -> None:
        await self.sector.aclose()
        await self.store.aclose()
        await self.population.aclose()
