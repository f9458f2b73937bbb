"""Production signing configuration: the providers file and the trust store."""

from pathlib import Path

from cryptography.hazmat.primitives import serialization

from hub.adapters.signing.bcy import BcyAdapter
from hub.adapters.signing.csc import CscAdapter
from hub.adapters.signing.mysign import MySignAdapter
from hub.adapters.signing.pkcs11.tokens import SealTokens
from hub.adapters.signing.pki import DemoPKI, new_key
from hub.adapters.signing.smartca import SmartCaAdapter
from hub.config import Mode, Settings
from hub.domain.enums import SigningProvider
from hub.signing.setup import signing_services, trust_store


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
