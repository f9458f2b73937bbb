"""The signing side of ``hub demo`` and of the tests: every registered provider simulated
on loopback.

:func:`start_demo_signing` starts the demo PKI (CRL, OCSP, TSA) and each registered
provider's simulation (:func:`hub.adapters.signing.simulator.simulate`), and points
the hub's adapters at them; :meth:`DemoSigning.enrol_school` gives a school's staff
keys and certificates at the providers their certificate rows name (and the school
its seal), and writes the issued certificates back to those rows, so the records
and the providers agree as they would in production. Nothing here names a provider:
what differs between them is in their registry entries and simulators.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.adapters.signing.base import SigningError, Signs
from hub.adapters.signing.pki import DemoPKI
from hub.adapters.signing.providers import registered
from hub.adapters.signing.registry import SigningProviders
from hub.adapters.signing.simulator import (
    Phone,
    SimulatedProvider,
    Simulation,
    SimulatorServer,
    free_port,
    simulate,
)
from hub.db import models
from hub.domain.enums import CertificateStatus, SigningProvider
from hub.domain.problems import Code
from hub.signing.service import SigningServices, authorization_callback
from hub.signing.setup import timestamper
from hub.signing.trust import TrustStore


@dataclass
class DemoSigning:
    pki: DemoPKI
    pki_server: SimulatorServer
    simulations: dict[SigningProvider, Simulation]
    signing: SigningServices
    enrolled_schools: set[int] = field(default_factory=set)

    @property
    def servers(self) -> dict[str, SimulatorServer]:
        """The HTTP services by name: ``pki`` and each provider's table name."""
        return {
            "pki": self.pki_server,
            **{s.entry.table: s.server for s in self.simulations.values() if s.server},
        }

    @property
    def back_offices(self) -> dict[SigningProvider, SimulatedProvider]:
        """The simulated providers' back offices (faults, the phone, subscribers)."""
        return {p: s.back_office for p, s in self.simulations.items() if s.back_office}

    def url(self, name: str) -> str:
        return self.servers[name].url

    def set_phone(self, phone: Phone) -> None:
        """How every simulated signer answers from now on."""
        for back_office in self.back_offices.values():
            back_office.phone = phone

    def accept_hub_callback(self, issuer: str) -> None:
        """Let the providers whose signers consent in a browser (a CSC server's
        ``oauth2code`` credentials) send them back to the hub at ``issuer``."""
        callback = authorization_callback(issuer)
        for back_office in self.back_offices.values():
            register = getattr(back_office, "register_redirect", None)
            if register is not None:
                register(callback)

    async def enrol_school(self, session: AsyncSession, school_id: int) -> int:
        """Keys and certificates for the school's staff and seal; returns how many."""
        if school_id in self.enrolled_schools:
            return 0
        school = await session.get(models.School, school_id)
        assert school is not None
        rows = list(
            await session.scalars(
                select(models.SigningCertificate)
                .join(models.Staff, models.Staff.id == models.SigningCertificate.staff_id)
                .join(models.StaffAssignment, models.StaffAssignment.staff_id == models.Staff.id)
                .where(models.StaffAssignment.school_id == school_id)
                .distinct()
            )
        )
        seals = list(
            await session.scalars(
                select(models.SigningCertificate).where(
                    models.SigningCertificate.school_id == school_id
                )
            )
        )
        for row in rows:
            staff = await session.get(models.Staff, row.staff_id)
            assert staff is not None
            self._enrol_person(row, staff, school)
        for row in seals:
            self._enrol_seal(row, school)
        self.enrolled_schools.add(school_id)
        await session.flush()
        return len(rows) + len(seals)

    def _enrol_person(
        self, row: models.SigningCertificate, staff: models.Staff, school: models.School
    ) -> None:
        simulation = self.simulations.get(row.provider)
        if simulation is None or simulation.entry.signs is not Signs.PEOPLE:
            return
        enrolled = simulation.enrol(
            name=staff.full_name,
            personal_id=staff.personal_id,
            organisation=school.name,
            credential_id=row.credential_id,
            valid_from=_utc(row.valid_from),
            valid_to=_utc(row.valid_to),
        )
        if row.status is CertificateStatus.REVOKED:
            self.pki.revoke(enrolled.certificate)
        _set_certificate(row, enrolled.certificate)

    def _enrol_seal(self, row: models.SigningCertificate, school: models.School) -> None:
        """The school's seal at the (first) provider that holds seals, whatever the row said."""
        simulation = next(
            (s for s in self.simulations.values() if s.entry.signs is Signs.SEALS), None
        )
        if simulation is None:
            return
        enrolled = simulation.enrol(
            name=school.name,
            school_code=school.moet_code,
            valid_from=_utc(row.valid_from),
            valid_to=_utc(row.valid_to),
        )
        row.provider = simulation.entry.provider
        row.credential_id = enrolled.credential_id
        _set_certificate(row, enrolled.certificate)

    async def enrol_person(
        self, *, provider: SigningProvider, personal_id: str, full_name: str, organisation: str
    ) -> None:
        """Have ``provider``'s simulator issue a key to a person, under the provider's own
        user name: the demo's stand-in for a provider's registration (an identity check
        the hub cannot do), e.g. as the provider migration's enrolment."""
        simulation = self.simulations.get(provider)
        if simulation is None or simulation.entry.signs is not Signs.PEOPLE:
            raise SigningError(Code.PROVIDER_USER_UNKNOWN, provider, "no simulator to enrol at")
        await asyncio.to_thread(
            simulation.enrol, name=full_name, personal_id=personal_id, organisation=organisation
        )

    def worker_environment(self, directory: Path) -> dict[str, str]:
        """``HUB_*`` settings for another process (a ``hub worker``) to reach these providers.

        Writes the providers file (see :func:`hub.signing.setup.signing_services`), with
        each provider's table and the files it names, and the demo roots under ``directory``.
        """
        directory.mkdir(parents=True, exist_ok=True)
        roots_file = directory / "roots.pem"
        roots_file.write_bytes(self.pki.roots_pem())
        providers = directory / "providers.toml"
        providers.write_text(
            providers_toml({s.entry.table: s.config(directory) for s in self.simulations.values()})
        )
        providers.chmod(0o600)
        return {
            "HUB_SIGNING_PROVIDERS_FILE": str(providers),
            "HUB_TSA_URL": self.pki.tsa_url,
            "HUB_TRUST_ROOTS": json.dumps([str(roots_file)]),
        }

    async def aclose(self) -> None:
        await self.signing.aclose()
        for simulation in self.simulations.values():
            simulation.stop()
        self.pki_server.stop()


def start_demo_signing(
    directory: Path, *, confirm_delay: float = 3.0, pki_dir: Path | None = None
) -> DemoSigning:
    """Start the PKI and every registered provider's simulator; ``pki_dir`` keeps the
    demo roots across restarts."""
    directory.mkdir(parents=True, exist_ok=True)
    pki = _pki(pki_dir)
    pki_server = SimulatorServer(pki.app(), port=_port_of(pki.base_url)).start()
    simulations = {
        entry.provider: simulate(
            entry, pki, directory=directory / entry.table, confirm_delay=confirm_delay
        )
        for entry in registered()
    }
    signing = SigningServices(
        providers=SigningProviders({p: s.connect() for p, s in simulations.items()}),
        trust=TrustStore(pki.roots),
        timestamper=timestamper(pki.tsa_url),
    )
    return DemoSigning(pki, pki_server, simulations, signing)


def providers_toml(tables: Mapping[str, Mapping[str, Any]]) -> str:
    """The providers file: one table per provider; nested tables written inline."""
    lines: list[str] = []
    for name, table in tables.items():
        lines.append(f"[{json.dumps(name)}]")
        lines += [f"{json.dumps(key)} = {_toml_value(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    # A JSON string is a TOML basic string (the same escapes), and so is a JSON key.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        items = ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items())
        return f"{{ {items} }}"
    raise TypeError(f"no TOML for {type(value).__name__}")


def _pki(directory: Path | None) -> DemoPKI:
    if directory is not None and (directory / "pki.json").exists():
        with contextlib.suppress(OSError):
            pki = DemoPKI.load(directory)
            if _port_free(_port_of(pki.base_url)):
                pki.save(directory)  # and its roots, should an older demo not have written them
                return pki
    pki = DemoPKI.create(f"http://127.0.0.1:{free_port('127.0.0.1')}")
    if directory is not None:
        pki.save(directory)
    return pki


def _port_of(url: str) -> int:
    return int(urlsplit(url).port or 80)


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _set_certificate(row: models.SigningCertificate, certificate: x509.Certificate) -> None:
    row.serial_number = format(certificate.serial_number, "x")
    row.subject_dn = certificate.subject.rfc4514_string()[:500]
    row.issuer_dn = certificate.issuer.rfc4514_string()[:500]
    row.valid_from = certificate.not_valid_before_utc
    row.valid_to = certificate.not_valid_after_utc


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
