"""The Ban Cơ yếu adapter against its simulator over real HTTP: SSL2 login, phone, faults."""

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.x509.oid import NameOID

from hub.adapters.signing.base import (
    PROVIDER_NAMES,
    Credential,
    HealthStatus,
    SigningError,
    Transaction,
    TransactionResult,
    TransactionState,
)
from hub.adapters.signing.bcy import BcyAdapter, create_simulator
from hub.adapters.signing.bcy.protocol import ssl2_authorization
from hub.adapters.signing.bcy.simulator import BASE_PATH
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

RP_ID = "so-gddt-ha-noi"
USER_ID = "001085004321"
BCY = PROVIDER_NAMES[SigningProvider.BCY]


@dataclass
class Bcy:
    provider: SimulatedProvider
    server: SimulatorServer
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
    bcy.provider.faults = Faults()
    bcy.provider.phone = Phone(confirm_delay=0.2)


MakeAdapter = Callable[..., BcyAdapter]


@pytest.fixture
async def make_adapter(bcy: Bcy) -> AsyncIterator[MakeAdapter]:
    made: list[BcyAdapter] = []

    def make(**options: object) -> BcyAdapter:
        options.setdefault("rp_id", RP_ID)
        options.setdefault("rp_key_pem", pem(bcy.rp_key))
        adapter = BcyAdapter(bcy.url, **options)  # type: ignore[arg-type]
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        await adapter.aclose()


def digests(count: int) -> list[bytes]:
    return [hashlib.sha256(f"học bạ {i}".encode()).digest() for i in range(count)]


async def settle(adapter: BcyAdapter, transaction: Transaction) -> TransactionResult:
    """Poll as a job would, until the transaction is no longer pending."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        result = await adapter.poll(transaction)
        if result.state is not TransactionState.PENDING:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError("still pending after 5 s")


async def refused(call: Awaitable[object], code: Code) -> SigningError:
    with pytest.raises(SigningError) as caught:
        await call
    assert caught.value.problem.code is code, caught.value.detail
    assert BCY in caught.value.problem.message
    return caught.value


def verify(credential: Credential, signature: bytes, digest: bytes) -> None:
    public_key = credential.certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(signature, digest, padding.PKCS1v15(), utils.Prehashed(SHA256()))


async def test_signs_a_batch_after_the_signer_confirms(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()

    [credential] = await adapter.list_credentials(USER_ID)
    issuer = credential.chain[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert issuer == "CA phục vụ các cơ quan Nhà nước G2 (DEMO)"
    assert credential.certificate.issuer == credential.chain[0].subject
    assert credential.status == "ACTIVE"
    batch = digests(3)
    transaction = await adapter.sign_hashes(credential, batch, ["HK1", "HK2", "Cả năm"])
    assert transaction.data["user_id"] == USER_ID
    assert (await adapter.poll(transaction)).state is TransactionState.PENDING

    # A job polls with whatever adapter it has, e.g. a new one after a restart.
    result = await settle(make_adapter(), transaction)

    assert result.state is TransactionState.SIGNED
    for signature, digest in zip(result.signatures, batch, strict=True):
        verify(credential, signature, digest)


async def test_a_poll_while_the_provider_is_down_changes_nothing(
    bcy: Bcy, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter()
    credential = await adapter.credential(USER_ID, bcy.credential_id)
    transaction = await adapter.sign_hashes(credential, digests(2), [])
    bcy.server.stop()
    try:
        await refused(adapter.poll(transaction), Code.PROVIDER_UNAVAILABLE)
    finally:
        bcy.server.start()

    assert (await settle(adapter, transaction)).state is TransactionState.SIGNED


async def test_server_down_fails_fast_and_health_says_down(
    bcy: Bcy, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter()
    assert (await adapter.health()).status is HealthStatus.UP
    bcy.server.stop()
    try:
        started = time.monotonic()
        await refused(adapter.list_credentials(USER_ID), Code.PROVIDER_UNAVAILABLE)
        assert time.monotonic() - started < 3
        health = await adapter.health()
        assert health.status is HealthStatus.DOWN
        assert health.last_error
    finally:
        bcy.server.start()
    assert (await adapter.health()).status is HealthStatus.UP


async def test_server_error(bcy: Bcy, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    bcy.provider.faults = Faults(server_error=500)

    await refused(adapter.list_credentials(USER_ID), Code.PROVIDER_FAILURE)

    assert (await adapter.health()).status is HealthStatus.DEGRADED


async def test_answer_slower_than_the_timeout(bcy: Bcy, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(timeout=httpx.Timeout(0.3, connect=2.0))
    bcy.provider.faults = Faults(slow_seconds=1.0)

    started = time.monotonic()
    await refused(adapter.list_credentials(USER_ID), Code.PROVIDER_UNAVAILABLE)
    assert time.monotonic() - started < 1.0


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
    bcy.provider.faults = faults

    credential = await adapter.credential(USER_ID, bcy.credential_id)

    assert credential.status == status
    await refused(adapter.sign_hashes(credential, digests(2), []), code)


async def test_certificate_revoked_while_waiting_for_the_signer(
    bcy: Bcy, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter()
    credential = await adapter.credential(USER_ID, bcy.credential_id)
    transaction = await adapter.sign_hashes(credential, digests(2), [])
    bcy.provider.faults = Faults(certificate_revoked=True)

    result = await settle(adapter, transaction)

    assert result.state is TransactionState.FAILED
    assert result.error is not None
    assert result.error.problem.code is Code.CERTIFICATE_REVOKED


async def test_signer_rejects_on_the_phone(bcy: Bcy, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    bcy.provider.phone = Phone(answer=PhoneAnswer.REJECT, confirm_delay=0.1)
    credential = await adapter.credential(USER_ID, bcy.credential_id)

    result = await settle(adapter, await adapter.sign_hashes(credential, digests(2), []))

    assert result.state is TransactionState.REJECTED
    assert result.error is not None
    assert result.error.problem.code is Code.SIGNER_REJECTED
    assert BCY in result.error.problem.message


async def test_signer_never_answers(bcy: Bcy, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    bcy.provider.phone = Phone(answer=PhoneAnswer.IGNORE, expires_after=0.3)
    credential = await adapter.credential(USER_ID, bcy.credential_id)

    result = await settle(adapter, await adapter.sign_hashes(credential, digests(2), []))

    assert result.state is TransactionState.EXPIRED
    assert result.error is not None
    assert result.error.problem.code is Code.SIGNER_NOT_CONFIRMED
    assert BCY in result.error.problem.message


async def test_request_expired_by_the_provider(bcy: Bcy, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    bcy.provider.phone = Phone(answer=PhoneAnswer.IGNORE)
    credential = await adapter.credential(USER_ID, bcy.credential_id)
    transaction = await adapter.sign_hashes(credential, digests(1), [])
    async with httpx.AsyncClient(base_url=bcy.server.url) as control:
        steered = await control.post(f"/_sim/transactions/{transaction.transaction_id}/expire")
        assert steered.json() == {"state": "EXPIRED"}

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


async def test_unknown_user(make_adapter: MakeAdapter) -> None:
    error = await refused(
        make_adapter().list_credentials("001099000000"), Code.PROVIDER_USER_UNKNOWN
    )

    assert "001099000000" in error.problem.message


async def test_unknown_credential(make_adapter: MakeAdapter) -> None:
    await refused(make_adapter().credential(USER_ID, "no-such-key"), Code.CREDENTIAL_NOT_FOUND)
