"""Production signing configuration: the providers file and the trust store."""

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from hub.adapters.signing.bcy import BcyAdapter
from hub.adapters.signing.csc import CscAdapter
from hub.adapters.signing.mysign import MySignAdapter
from hub.adapters.signing.pkcs11 import SealTokens
from hub.adapters.signing.pki import DemoPKI, new_key
from hub.adapters.signing.providers import registered
from hub.adapters.signing.smartca import AutomationAccount, SmartCaAdapter, SmartCaGatewayAdapter
from hub.config import Mode, Settings
from hub.domain.enums import SigningProvider
from hub.signing.setup import signing_services
from hub.signing.trust import trust_store


def test_no_providers_file_means_no_signing(tmp_path: Path) -> None:
    assert signing_services(Settings(mode=Mode.PRODUCTION, demo_pki_dir=tmp_path)) is None


def test_every_provider_is_built_from_the_providers_file(tmp_path: Path) -> None:
    key = tmp_path / "rp.pem"
    key.write_bytes(
        new_key().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pki = DemoPKI.create("http://127.0.0.1:9")
    roots = tmp_path / "roots.pem"
    roots.write_bytes(pki.roots_pem())
    config = tmp_path / "providers.toml"
    config.write_text(
        f"""
[bcy]
url = "https://rssp.example.vn/rssp/v1"
rp_id = "sgddt"
rp_key_file = "{key}"

[smartca]
url = "https://sca.example.vn/sca/sp769"
sp_id = "sp"
sp_password = "secret"

[mysign]
url = "https://mysign.example.vn"
client_id = "c"
client_secret = "s"
profile_id = "adss:ras:profile:001"

[csc]
url = "https://csc.example.vn/csc/v2"
username = "u"
password = "p"
operation_mode = "A"

[pkcs11.01LB0101]
module = "/usr/lib/softhsm/libsofthsm2.so"
token_label = "SEAL-01LB0101"
pin = "1234"
environment = {{ SOFTHSM2_CONF = "/etc/softhsm/school.conf" }}
"""
    )
    settings = Settings(
        mode=Mode.PRODUCTION,
        signing_providers_file=config,
        trust_roots=[roots],
        tsa_url="https://tsa.example.vn",
        demo_pki_dir=tmp_path,
    )
    services = signing_services(settings)
    assert services is not None
    adapters = services.providers.adapters
    assert isinstance(adapters[SigningProvider.BCY], BcyAdapter)
    assert isinstance(adapters[SigningProvider.SMARTCA], SmartCaAdapter)
    assert isinstance(adapters[SigningProvider.MYSIGN], MySignAdapter)
    assert isinstance(adapters[SigningProvider.CSC], CscAdapter)
    seals = adapters[SigningProvider.PKCS11]
    assert isinstance(seals, SealTokens) and set(seals.tokens) == {"01LB0101"}
    assert seals.tokens["01LB0101"].environment == {"SOFTHSM2_CONF": "/etc/softhsm/school.conf"}
    assert services.timestamper is not None
    assert {r.subject for r in services.trust.roots} == {r.subject for r in pki.roots}


def test_demo_mode_trusts_the_saved_demo_roots(tmp_path: Path) -> None:
    pki = DemoPKI.create("http://127.0.0.1:9")
    pki.save(tmp_path)
    assert trust_store(Settings(mode=Mode.PRODUCTION, demo_pki_dir=tmp_path)).roots == []
    demo = trust_store(Settings(mode=Mode.DEMO, demo_pki_dir=tmp_path))
    assert {r.serial_number for r in demo.roots} == {r.serial_number for r in pki.roots}


def settings_with(tmp_path: Path, providers: str) -> Settings:
    config = tmp_path / "providers.toml"
    config.write_text(providers)
    return Settings(mode=Mode.PRODUCTION, signing_providers_file=config, demo_pki_dir=tmp_path)


def test_the_smartca_gateway_is_configured_by_its_api(tmp_path: Path) -> None:
    services = signing_services(
        settings_with(
            tmp_path,
            """
[smartca]
api = "gateway"
url = "https://gwsca.example.vn"
client_id = "hub"
client_secret = "s"
user_passwords = { "001085012345" = "mat-khau" }
""",
        )
    )
    assert services is not None
    gateway = services.providers.adapters[SigningProvider.SMARTCA]
    assert isinstance(gateway, SmartCaGatewayAdapter)
    assert gateway.client_id == "hub" and dict(gateway.user_passwords) == {
        "001085012345": "mat-khau"
    }


def test_smartca_automation_accounts_come_from_the_file(tmp_path: Path) -> None:
    services = signing_services(
        settings_with(
            tmp_path,
            """
[smartca]
url = "https://sca.example.vn/sca/sp769"
sp_id = "sp"
sp_password = "secret"
automation = { "0101234567" = { password = "p", totp_secret = "JBSWY3DPEHPK3PXP" } }
""",
        )
    )
    assert services is not None
    sp769 = services.providers.adapters[SigningProvider.SMARTCA]
    assert isinstance(sp769, SmartCaAdapter)
    assert sp769.automation == {"0101234567": AutomationAccount("p", "JBSWY3DPEHPK3PXP")}


def test_a_table_no_provider_claims_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="smart_ca"):
        signing_services(settings_with(tmp_path, '[smart_ca]\nurl = "https://x"\n'))


def test_every_registered_provider_has_its_own_table() -> None:
    tables = [entry.table for entry in registered()]
    assert len(set(tables)) == len(tables)
    assert {entry.provider for entry in registered()} == set(SigningProvider)
