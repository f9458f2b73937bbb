"""The signing side of ``hub demo`` and of the tests: every provider simulated on loopback.

:func:`start_demo_signing` starts the demo PKI (CRL, OCSP, TSA) and one simulator
per provider protocol, each a real HTTP service on its own port, and points the
hub's adapters at them; :meth:`DemoSigning.enrol_school` gives a school's staff
keys and certificates at the providers their certificate rows name (and the
school a seal token), and writes the issued certificates back to those rows, so
the records and the providers agree as they would in production.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.adapters.signing import bcy, csc, mysign, smartca
from hub.adapters.signing.base import SigningAdapter
from hub.adapters.signing.csc import CscAccount
from hub.adapters.signing.pkcs11 import Pkcs11Adapter
from hub.adapters.signing.pkcs11.token import SealToken, provision_seal_token
from hub.adapters.signing.pkcs11.tokens import SealTokens
from hub.adapters.signing.pki import DemoPKI, new_key
from hub.adapters.signing.registry import SigningProviders
from hub.adapters.signing.simulator import (
    Phone,
    SimCredential,
    SimulatedProvider,
    SimulatorServer,
    free_port,
)
from hub.db import models
from hub.domain.enums import CertificateStatus, SigningProvider
from hub.signing.service import SigningServices
from hub.signing.setup import timestamper
from hub.signing.trust import TrustStore

RELYING_PARTY = "hub-demo"
CSC_SERVICE_ACCOUNT = ("hub-demo", "hub-demo-password")
SEAL_PIN, SEAL_SO_PIN = "246810", "13579"


@dataclass
class DemoSigning:
    pki: DemoPKI
    servers: dict[str, SimulatorServer]
    back_offices: dict[SigningProvider, SimulatedProvider]
    seals: SealTokens
    signing: SigningServices
    token_dir: Path
    relying_party_key: bytes
    enrolled_schools: set[int] = field(default_factory=set)
    seal_tokens: dict[str, SealToken] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return self.servers[name].url

    def set_phone(self, phone: Phone) -> None:
        """How every simulated signer answers from now on."""
        for back_office in self.back_offices.values():
            back_office.phone = phone

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
            self._provision_seal(row, school)
        self.enrolled_schools.add(school_id)
        await session.flush()
        return len(rows) + len(seals)

    def _enrol_person(
        self, row: models.SigningCertificate, staff: models.Staff, school: models.School
    ) -> None:
        back_office = self.back_offices.get(row.provider)
        if back_office is None:
            return
        user_id = staff.personal_id
        if row.provider is SigningProvider.MYSIGN:
            user_id = mysign.adapter.mysign_user_id(user_id)
        credential = back_office.enrol(
            user_id,
            full_name=staff.full_name,
            personal_id=staff.personal_id,
            organisation=school.name,
            credential_id=row.credential_id,
            valid_from=_utc(row.valid_from),
            valid_to=_utc(row.valid_to),
        )
        if row.status is CertificateStatus.REVOKED:
            self.pki.revoke(credential.certificate)
        _set_certificate(row, credential.certificate)

    def _provision_seal(self, row: models.SigningCertificate, school: models.School) -> None:
        token = provision_seal_token(
            self.token_dir,
            pki=self.pki,
            school_name=school.name[:64],
            school_code=school.moet_code,
            label=f"seal-{school.moet_code}"[:32],
            user_pin=SEAL_PIN,
            so_pin=SEAL_SO_PIN,
            valid_from=_utc(row.valid_from),
            valid_to=_utc(row.valid_to),
        )
        self.seal_tokens[school.moet_code] = token
        self.seals.tokens[school.moet_code] = Pkcs11Adapter(
            module_path=token.module_path,
            token_label=token.token_label,
            user_pin=SEAL_PIN,
            environment=token.environment,
        )
        row.provider = SigningProvider.PKCS11
        row.credential_id = token.key_id.hex()
        _set_certificate(row, token.certificate)

    def worker_environment(self, directory: Path) -> dict[str, str]:
        """``HUB_*`` settings for another process (a ``hub worker``) to reach these providers.

        Writes the providers file (see :func:`hub.signing.setup.signing_services`), the
        relying party's key and the demo roots under ``directory``.
        """
        directory.mkdir(parents=True, exist_ok=True)
        key_file, roots_file = directory / "bcy-relying-party.pem", directory / "roots.pem"
        key_file.write_bytes(self.relying_party_key)
        key_file.chmod(0o600)
        roots_file.write_bytes(self.pki.roots_pem())
        csc_pins = {
            credential.credential_id: credential.pin
            for subscriber in self.back_offices[SigningProvider.CSC].subscribers.values()
            for credential in subscriber.credentials
        }
        lines = [
            "[bcy]",
            f'url = "{self.url("bcy")}{bcy.simulator.BASE_PATH}"',
            f'rp_id = "{RELYING_PARTY}"',
            f'rp_key_file = "{key_file}"',
            "[smartca]",
            f'url = "{self.url("smartca")}{smartca.protocol.SP769_PREFIX}"',
            'sp_id = "hub-demo-sp"',
            'sp_password = "hub-demo-sp-password"',
            "[mysign]",
            f'url = "{self.url("mysign")}"',
            'client_id = "hub-demo"',
            'client_secret = "hub-demo-secret"',
            'profile_id = "adss:ras:profile:001"',
            "[csc]",
            f'url = "{self.url("csc")}/csc/v2"',
            f'username = "{CSC_SERVICE_ACCOUNT[0]}"',
            f'password = "{CSC_SERVICE_ACCOUNT[1]}"',
            'operation_mode = "A"',
            "[csc.pins]",
            *(f'"{credential}" = "{pin}"' for credential, pin in csc_pins.items()),
        ]
        for school, token in self.seal_tokens.items():
            lines += [
                f'[pkcs11."{school}"]',
                f'module = "{token.module_path}"',
                f'token_label = "{token.token_label}"',
                f'pin = "{SEAL_PIN}"',
                f'environment = {{ SOFTHSM2_CONF = "{token.conf_path}" }}',
            ]
        providers = directory / "providers.toml"
        providers.write_text("\n".join(lines) + "\n")
        providers.chmod(0o600)
        return {
            "HUB_SIGNING_PROVIDERS_FILE": str(providers),
            "HUB_TSA_URL": self.pki.tsa_url,
            "HUB_TRUST_ROOTS": json.dumps([str(roots_file)]),
        }

    async def aclose(self) -> None:
        await self.signing.aclose()
        for server in self.servers.values():
            server.stop()


def start_demo_signing(
    directory: Path, *, confirm_delay: float = 3.0, pki_dir: Path | None = None
) -> DemoSigning:
    """Start the PKI and every simulator; ``pki_dir`` keeps the demo roots across restarts."""
    directory.mkdir(parents=True, exist_ok=True)
    pki = _pki(pki_dir)
    servers = {"pki": SimulatorServer(pki.app(), port=_port_of(pki.base_url)).start()}

    relying_party_key = new_key()
    bcy_office, bcy_app = bcy.create_simulator(
        pki, relying_parties={RELYING_PARTY: relying_party_key.public_key()}
    )
    smartca_office, smartca_app = smartca.create_simulator(pki)
    mysign_office, mysign_app = mysign.create_simulator(pki)
    csc_office, csc_app = csc.create_simulator(
        pki, service_accounts={CSC_SERVICE_ACCOUNT[0]: CSC_SERVICE_ACCOUNT[1]}
    )
    back_offices: dict[SigningProvider, SimulatedProvider] = {
        SigningProvider.BCY: bcy_office,
        SigningProvider.SMARTCA: smartca_office,
        SigningProvider.MYSIGN: mysign_office,
        SigningProvider.CSC: csc_office,
    }
    for name, app in (
        ("bcy", bcy_app),
        ("smartca", smartca_app),
        ("mysign", mysign_app),
        ("csc", csc_app),
    ):
        servers[name] = SimulatorServer(app).start()
    for back_office in back_offices.values():
        back_office.phone = Phone(confirm_delay=confirm_delay)

    seals = SealTokens({})
    adapters: dict[SigningProvider, SigningAdapter] = {
        SigningProvider.BCY: bcy.BcyAdapter(
            servers["bcy"].url + bcy.simulator.BASE_PATH,
            rp_id=RELYING_PARTY,
            rp_key_pem=relying_party_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        ),
        SigningProvider.SMARTCA: smartca.SmartCaAdapter(
            servers["smartca"].url + smartca.protocol.SP769_PREFIX,
            "hub-demo-sp",
            "hub-demo-sp-password",
        ),
        SigningProvider.MYSIGN: mysign.MySignAdapter(
            servers["mysign"].url, "hub-demo", "hub-demo-secret", "adss:ras:profile:001"
        ),
        SigningProvider.CSC: csc.CscAdapter(
            servers["csc"].url + "/csc/v2",
            account=CscAccount(*CSC_SERVICE_ACCOUNT),
            pins=lambda _credential_id: SimCredential.pin,
            operation_mode="A",
        ),
        SigningProvider.PKCS11: seals,
    }
    signing = SigningServices(
        providers=SigningProviders(adapters),
        trust=TrustStore(pki.roots),
        timestamper=timestamper(pki.tsa_url),
    )
    key_pem = relying_party_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return DemoSigning(pki, servers, back_offices, seals, signing, directory / "tokens", key_pem)


def _pki(directory: Path | None) -> DemoPKI:
    if directory is not None and (directory / "pki.json").exists():
        with contextlib.suppress(OSError):
            pki = DemoPKI.load(directory)
            if _port_free(_port_of(pki.base_url)):
                return pki
    pki = DemoPKI.create(f"http://127.0.0.1:{free_port('127.0.0.1')}")
    if directory is not None:
        pki.save(directory)
    return pki


def _port_of(url: str) -> int:
    return int(urlsplit(url).port or 80)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _set_certificate(row: models.SigningCertificate, certificate) -> None:  # type: ignore[no-untyped-def]
    row.serial_number = format(certificate.serial_number, "x")
    row.subject_dn = certificate.subject.rfc4514_string()[:500]
    row.issuer_dn = certificate.issuer.rfc4514_string()[:500]
    row.valid_from = certificate.not_valid_before_utc
    row.valid_to = certificate.not_valid_after_utc


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
