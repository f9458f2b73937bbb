"""The national side of ``hub demo``: the sector database, the national transcript store and
the population database simulated on loopback, and the department's organisation key.

The department signs every batch it sends with its organisation certificate
(:mod:`hub.signing.transport`); the demo keeps that key on a SoftHSM2 token of its own,
certified by the demo PKI, at the PKCS#11 provider the seals use — the configuration a
department with a USB token has. The far sides check each batch's signature against
the demo roots and that certificate. The population database knows the demo
province's pupils as they are recorded, so identity checks come back verified.

Without SoftHSM2 there is no token for the key: the far sides then take unsigned
batches and the demo says so (:data:`UNSIGNED`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hub.adapters.national.simulator import (
    SectorDatabaseSimulator,
    SignatureCheck,
    TranscriptStoreSimulator,
)
from hub.adapters.population.simulator import PopulationSimulator
from hub.adapters.signing.pkcs11.simulator import SoftHSMUnavailable
from hub.adapters.signing.simulator import SimulatorServer
from hub.db import models
from hub.db.engine import Database
from hub.demo.signing import DemoSigning
from hub.domain.enums import SigningProvider

#: What the demo prints when the department's key has no token to live on.
UNSIGNED = (
    "SoftHSM2 is not installed, so the department has no organisation key: the simulated "
    "national systems take unsigned batches. Install softhsm2 and run the demo again to see "
    "every batch signed."
)


@dataclass
class DemoNational:
    """The national systems' simulators running, and how the hub reaches them."""

    sector: SectorDatabaseSimulator
    store: TranscriptStoreSimulator
    population: PopulationSimulator
    servers: dict[str, SimulatorServer]
    #: ``HUB_*`` settings (as names of :class:`~hub.config.Settings` fields) for the hub.
    settings: dict[str, Any] = field(default_factory=dict)
    signed: bool = False

    def environment(self) -> dict[str, str]:
        """The same settings as environment variables, for ``hub sync national`` elsewhere."""
        return {f"HUB_{name.upper()}": str(value) for name, value in self.settings.items()}

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


async def start_national(
    db: Database, suite: DemoSigning, *, directory: Path, department_user: str
) -> DemoNational:
    """Start the three far sides; give the department its key when a token can hold it.

    ``department_user`` is how the PKCS#11 provider knows the department's token (its
    sub-table of the providers file, written under ``directory``).
    """
    async with db.sessions() as session:
        department = await session.scalar(select(models.Department).limit(1))
        pupils = (
            await session.execute(
                select(
                    models.Student.personal_id,
                    models.Student.full_name,
                    models.Student.birth_date,
                ).where(models.Student.personal_id.is_not(None))
            )
        ).all()
    name = department.name if department is not None else "Sở Giáo dục và Đào tạo"
    tokens = suite.simulations.get(SigningProvider.PKCS11)
    signer: dict[str, Any] = {}
    check = None
    try:
        enrolled = tokens.enrol(name=name, school_code=department_user) if tokens else None
    except SoftHSMUnavailable:
        enrolled = None
    if enrolled is not None:
        check = SignatureCheck(roots=suite.pki.roots, registered=[enrolled.certificate])
        providers = suite.worker_environment(directory)["HUB_SIGNING_PROVIDERS_FILE"]
        signer = {
            "signing_providers_file": Path(providers),
            "national_signer_provider": SigningProvider.PKCS11.value,
            "national_signer_user": enrolled.user_id,
            "national_signer_credential": enrolled.credential_id,
        }
    sector, store = SectorDatabaseSimulator(check), TranscriptStoreSimulator(check)
    population = PopulationSimulator()
    for personal_id, full_name, birth_date in pupils:
        if personal_id is not None and birth_date is not None:
            population.add_citizen(personal_id, full_name, birth_date)
    servers = {
        "sector": SimulatorServer(sector.app()).start(),
        "store": SimulatorServer(store.app()).start(),
        "population": SimulatorServer(population.app()).start(),
    }
    settings = {
        "national_sector_url": servers["sector"].url,
        "national_store_url": servers["store"].url,
        "population_url": servers["population"].url,
        **signer,
    }
    return DemoNational(sector, store, population, servers, settings, signed=bool(signer))
