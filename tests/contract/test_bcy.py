"""The Ban Cơ yếu adapter against its simulator over real HTTP: SSL2 login, phone, faults."""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from hub.adapters.signing.base import SigningAdapter, TransactionState
from hub.adapters.signing.bcy import BcyAdapter
from hub.adapters.signing.bcy.protocol import ssl2_authorization
from hub.adapters.signing.bcy.simulator import BASE_PATH, create_simulator
from hub.adapters.signing.pki import DemoPKI, new_key
from hub.adapters.signing.simulator import (
    Faults,
    Phone,
    PhoneAnswer,
    SimulatedProvider,
    SimulatorServer,
)
from hub.domain.enums import SigningProvider
from hub.domain.problems import Code
from tests import signing_support as support

RP_ID = "so-gddt-ha-noi"
USER_ID = "001085004321"

refused = partial(support.refused, provider=SigningProvider.BCY)
opened = support.opened


@dataclass
class Bcy(support.Simulated[SimulatedProvider]):
    credential_id: str
    rp_key: rsa.RSAPrivateKey

    @property
    def url(self) -> str:
        return f"{self.server.url}{BASE_PATH}"


def pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.fixture(scope="module")
def bcy(pki: DemoPKI) -> Iterator[Bcy]:
    rp_key = new_key()
    provider, app = create_simulator(pki, relying_parties={RP_ID: rp_key.public_key()})
    enrolled = provider.enrol(
        USER_ID, full_name="Phạm Văn Hùng", organisation="Trường THPT Chu Văn An"
    )
    with SimulatorServer(app) as server:
        yield Bcy(provider, server, enrolled.credential_id, rp_key)


@pytest.fixture(autouse=True)
def well_behaved(bcy: Bcy) -> None:
    """Every test starts with a healthy provider and a signer who confirms quickly."""
    bcy.reset()


MakeAdapter = Callable[..., BcyAdapter]


@pytest.fixture
def make_adapter(bcy: Bcy, opened: list[SigningAdapter]) -> MakeAdapter:
    def make(**options: object) -> BcyAdapter:
        options.setdefault("rp_id", RP_ID)
        options.setdefault("rp_key_pem", pem(bcy.rp_key))
        adapter = BcyAdapter(base_url=bcy.url, **options)  # type: ignore[arg-type]
        opened.append(adapter)
        return adapter

    return make


async def test_signs_a_batch_after_the_signer_confirms(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()

    [credential] = await adapter.list_credentials(USER_ID)
    issuer = credential.chain[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert issuer == "CA phục vụ các cơ quan Nhà nước G2 (DEMO)"
    assert credential.certificate.issuer == credential.chain[0].subject
    assert credential.status == "ACTIVE"
    batch = support.digests(3)
    transaction = await adapter.sign_hashes(credential, batch, ["HK1", "HK2", "Cả năm"])
    assert transaction.data["user_id"] == USER_ID
    assert (await adapter.poll(transaction)).state is TransactionState.PENDING

    # A job polls with whatever adapter it has, e.g. a new one after a restart.
    result = await support.settle(make_adapter(), transaction)

    support.assert_signed_by(credential, result, batch)


@pytest.mark.parametrize(
    ("faults", "status", "code"),
    [
        (Faults(certificate_revoked=True), "REVOKED", Code.CERTIFICATE_REVOKED),
        (Faults(certificate_expired=True), "EXPIRED", Code.CERTIFICATE_EXPIRED),
        (Faults(quota_exhausted=True), "ACTIVE", Code.QUOTA_EXHAUSTED),
    ],
)
async def test_refused_before_asking_the_signer(
    bcy: Bcy, make_adapter: MakeAdapter, faults: Faults, status: str, code: Code
) -> None:
    adapter = make_adapter()
    bcy.back_office.faults = faults

    credential = await adapter.credential(USER_ID, bcy.credential_id)

    assert credential.status == status
    await refused(adapter.sign_hashes(credential, support.digests(2), []), code)


async def test_request_expired_by_the_provider(bcy: Bcy, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    bcy.back_office.phone = Phone(answer=PhoneAnswer.IGNORE)
    credential = await adapter.credential(USER_ID, bcy.credential_id)
    transaction = await adapter.sign_hashes(credential, support.digests(1), [])
    assert await bcy.steer(transaction, "expire") == {"state": "EXPIRED"}

    assert (await adapter.poll(transaction)).state is TransactionState.EXPIRED


async def test_relying_party_key_not_registered(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(rp_key_pem=pem(new_key()))

    await refused(adapter.list_credentials(USER_ID), Code.PROVIDER_BAD_CREDENTIALS)


async def test_unknown_relying_party(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(rp_id="truong-khong-dang-ky")

    await refused(adapter.list_credentials(USER_ID), Code.PROVIDER_BAD_CREDENTIALS)


async def test_stale_login_is_refused(bcy: Bcy) -> None:
    stale = ssl2_authorization(RP_ID, bcy.rp_key, int(time.time()) - 3600)
    fresh = ssl2_authorization(RP_ID, bcy.rp_key, int(time.time()))
    async with httpx.AsyncClient(base_url=bcy.url + "/") as client:
        refused_login = await client.post("auth/login", json={}, headers={"Authorization": stale})
        accepted = await client.post("auth/login", json={}, headers={"Authorization": fresh})

    assert refused_login.status_code == 401
    assert refused_login.json()["error"] == "invalid_client"
    assert "Stale" in refused_login.json()["error_description"]
    assert accepted.status_code == 200


async def test_unknown_credential(make_adapter: MakeAdapter) -> None:
    await refused(make_adapter().credential(USER_ID, "no-such-key"), Code.CREDENTIAL_NOT_FOUND)
