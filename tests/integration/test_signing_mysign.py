"""Viettel MySign: the hub's client against the simulator, over real HTTP.

The simulator plays Viettel's back office and the signer's phone (confirming
after 0.2 s unless a test says otherwise).
"""

import asyncio
import base64
import hashlib
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.hashes import SHA256

from hub.adapters.signing.base import (
    Credential,
    HealthStatus,
    SigningError,
    Transaction,
    TransactionResult,
    TransactionState,
)
from hub.adapters.signing.mysign import (
    MySignAdapter,
    MySignBackOffice,
    create_simulator,
    mysign_user_id,
)
from hub.adapters.signing.mysign.protocol import RequestStatus, display
from hub.adapters.signing.pki import NATIONAL_ROOT, VIETTEL, DemoPKI, personal_id_of
from hub.adapters.signing.simulator import Faults, Phone, PhoneAnswer, SimulatorServer
from hub.domain.problems import Code

CLIENT_ID, CLIENT_SECRET, PROFILE = "so-gddt-ha-noi", "mysign-secret", "adss:ras:profile:001"
TEACHER = "001085012345"
LAPSED = "001086054321"  # a teacher whose certificate ran out last year
STRANGER = "079199999999"
DESCRIPTIONS = [
    "Học bạ 2025-2026 — Nguyễn Văn An, lớp 1A2",
    "Học bạ 2025-2026 — Trần Thị Bình, lớp 1A2",
    "Học bạ 2025-2026 — Lê Đức Cường, lớp 1A2",
]


@dataclass
class MySign:
    back_office: MySignBackOffice
    server: SimulatorServer


@pytest.fixture(scope="module")
def mysign(pki: DemoPKI) -> Iterator[MySign]:
    back_office, app = create_simulator(
        pki, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, profile_id=PROFILE
    )
    back_office.enrol(mysign_user_id(TEACHER), full_name="Đỗ Thu Hà", personal_id=TEACHER)
    last_year = datetime.now(UTC) - timedelta(days=365)
    back_office.enrol(
        mysign_user_id(LAPSED),
        full_name="Phạm Văn Dũng",
        personal_id=LAPSED,
        valid_from=last_year - timedelta(days=730),
        valid_to=last_year,
    )
    with SimulatorServer(app) as server:
        yield MySign(back_office, server)


@pytest.fixture(autouse=True)
def fresh_provider(mysign: MySign) -> None:
    """Every test starts with a healthy provider and a phone that approves after 0.2 s."""
    mysign.back_office.faults = Faults()
    mysign.back_office.phone = Phone(confirm_delay=0.2)
    mysign.back_office.sync_wait = 120.0
    mysign.server.start()


def make_adapter(mysign: MySign, **overrides: object) -> MySignAdapter:
    options: dict = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "profile_id": PROFILE,
        **overrides,
    }
    return MySignAdapter(mysign.server.url, **options)


@pytest.fixture
async def adapter(mysign: MySign) -> AsyncIterator[MySignAdapter]:
    client = make_adapter(mysign)
    yield client
    await client.aclose()


def digests(count: int = 3) -> list[bytes]:
    return [hashlib.sha256(f"học bạ số {n}".encode()).digest() for n in range(count)]


async def settle(adapter: MySignAdapter, transaction: Transaction) -> TransactionResult:
    """Poll as a job would, every 0.1 s, until the transaction ends (3 s at most)."""
    deadline = time.monotonic() + 3
    while True:
        result = await adapter.poll(transaction)
        if result.state is not TransactionState.PENDING or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.1)


def verify(credential: Credential, signatures: tuple[bytes, ...], sent: list[bytes]) -> None:
    assert len(signatures) == len(sent)
    public_key = credential.certificate.public_key()
    for signature, digest in zip(signatures, sent, strict=True):
        public_key.verify(signature, digest, PKCS1v15(), Prehashed(SHA256()))  # type: ignore[call-arg,union-attr]


def assert_refusal(error: SigningError, code: Code) -> None:
    assert error.problem.code is code, error.detail
    assert "Viettel MySign" in error.problem.message


# --- credentials -------------------------------------------------------------------------------


def test_a_personal_id_becomes_a_mysign_user_name() -> None:
    assert mysign_user_id(TEACHER) == f"CMT_{TEACHER}"
    assert mysign_user_id("MST_0101234567") == "MST_0101234567"
    assert mysign_user_id(f"CMT_{TEACHER}") == f"CMT_{TEACHER}"


async def test_lists_the_teachers_credential_with_its_chain(
    adapter: MySignAdapter, pki: DemoPKI
) -> None:
    [credential] = await adapter.list_credentials(TEACHER)
    assert credential.user_id == TEACHER and credential.status == "ACTIVE"
    assert credential.max_batch == 50  # from "multisign"
    assert personal_id_of(credential.certificate) == TEACHER
    assert credential.chain == (
        pki.authorities[VIETTEL].certificate,
        pki.authorities[NATIONAL_ROOT].certificate,
    )
    credential.certificate.verify_directly_issued_by(credential.chain[0])
    assert (await adapter.credential(TEACHER, credential.credential_id)) == credential
    with pytest.raises(SigningError) as caught:
        await adapter.credential(TEACHER, "no-such-credential")
    assert_refusal(caught.value, Code.CREDENTIAL_NOT_FOUND)


# --- signing -----------------------------------------------------------------------------------


async def test_signs_three_digests_with_one_confirmation(
    adapter: MySignAdapter, mysign: MySign
) -> None:
    [credential] = await adapter.list_credentials(TEACHER)
    sent = digests()
    transaction = await adapter.sign_hashes(credential, sent, DESCRIPTIONS)
    assert transaction.count == 3 and transaction.data == {"user_id": f"CMT_{TEACHER}"}
    on_the_phone = mysign.back_office.transactions[transaction.transaction_id].descriptions
    assert on_the_phone[0] == "hoc ba 2025-2026 nguyen van an lop 1a2"  # folded to ASCII
    assert (await adapter.poll(transaction)).state is TransactionState.PENDING
    result = await settle(adapter, transaction)
    assert result.state is TransactionState.SIGNED, result.error
    verify(credential, result.signatures, sent)


async def test_a_restarted_worker_polls_with_a_new_adapter_after_the_token_lapsed(
    mysign: MySign,
) -> None:
    first = make_adapter(mysign)
    [credential] = await first.list_credentials(TEACHER)
    sent = digests(2)
    transaction = await first.sign_hashes(credential, sent, DESCRIPTIONS[:2])
    await first.aclose()
    mysign.back_office.expire_tokens()
    stored = Transaction(  # as a job would read it back from the database
        provider=transaction.provider,
        transaction_id=transaction.transaction_id,
        credential_id=transaction.credential_id,
        count=transaction.count,
        expires_at=transaction.expires_at,
        data=dict(transaction.data),
    )
    second = make_adapter(mysign)
    result = await settle(second, stored)
    assert result.state is TransactionState.SIGNED, result.error
    verify(credential, result.signatures, sent)
    await second.aclose()


async def test_an_expired_token_is_renewed_transparently(
    adapter: MySignAdapter, mysign: MySign
) -> None:
    [credential] = await adapter.list_credentials(TEACHER)
    mysign.back_office.expire_tokens()
    assert (await adapter.list_credentials(TEACHER)) == [credential]


async def test_the_simulator_blocks_a_synchronous_sign_hash_until_the_phone_answers(
    mysign: MySign,
) -> None:
    """``async=0``, which the adapter does not use: answered once the signer decides."""
    async with httpx.AsyncClient(base_url=mysign.server.url + "/vtss/service/") as client:
        account = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "profile_id": PROFILE,
            "user_id": f"CMT_{TEACHER}",
        }
        login = await client.post("ras/v1/login", json=account)
        assert login.json()["expires_in"] == "3600"  # a number written as a string
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        [info] = (await client.post("certificates/info", json=account)).json()

        async def sign_hash(name: str) -> httpx.Response:
            return await client.post(
                "signHash",
                json={
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "credentialID": info["credential_id"],
                    "numSignatures": 1,
                    "description": display("Học bạ"),
                    "documents": [{"document_id": "1", "document_name": name}],
                    "hash": [base64.b64encode(digests(1)[0]).decode()],
                    "hashAlgo": "2.16.840.1.101.3.4.2.1",
                    "signAlgo": "1.2.840.113549.1.1.1",
                    "async": 0,
                },
            )

        started = time.monotonic()
        signed = await sign_hash(display("Học bạ Nguyễn Văn An"))
        assert signed.status_code == 200 and time.monotonic() - started >= 0.2
        [signature] = signed.json()["signatures"]
        [credential] = await make_adapter(mysign).list_credentials(TEACHER)
        verify(credential, (base64.b64decode(signature),), digests(1))

        vietnamese = base64.b64encode("Học bạ Nguyễn Văn An".encode()).decode()
        assert (await sign_hash(vietnamese)).status_code == 400

        mysign.back_office.phone = Phone(PhoneAnswer.REJECT, 0.1)
        refused = await sign_hash(display("Học bạ"))
        assert refused.json()["error"] == RequestStatus.REJECTED

        mysign.back_office.phone = Phone(PhoneAnswer.IGNORE)
        mysign.back_office.sync_wait = 0.3
        unanswered = await sign_hash(display("Học bạ"))
        assert unanswered.json()["error"] == RequestStatus.TIMEOUT


# --- what goes wrong ---------------------------------------------------------------------------


async def test_a_provider_that_is_down_fails_fast(adapter: MySignAdapter, mysign: MySign) -> None:
    mysign.server.stop()
    started = time.monotonic()
    with pytest.raises(SigningError) as caught:
        await adapter.list_credentials(TEACHER)
    assert time.monotonic() - started < 3
    assert_refusal(caught.value, Code.PROVIDER_UNAVAILABLE)
    health = await adapter.health()
    assert health.status is HealthStatus.DOWN and health.last_error
    mysign.server.start()
    health = await adapter.health()
    assert health.status is HealthStatus.UP and health.latency_ms is not None


async def test_a_server_error_is_provider_failure(adapter: MySignAdapter, mysign: MySign) -> None:
    mysign.back_office.faults.server_error = 503
    with pytest.raises(SigningError) as caught:
        await adapter.list_credentials(TEACHER)
    assert_refusal(caught.value, Code.PROVIDER_FAILURE)
    assert (await adapter.health()).status is HealthStatus.DEGRADED


async def test_a_provider_slower_than_the_timeout_is_unavailable(mysign: MySign) -> None:
    adapter = make_adapter(mysign, timeout=httpx.Timeout(0.3))
    mysign.back_office.faults.slow_seconds = 0.6
    with pytest.raises(SigningError) as caught:
        await adapter.list_credentials(TEACHER)
    assert_refusal(caught.value, Code.PROVIDER_UNAVAILABLE)
    await adapter.aclose()


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("certificate_revoked", Code.CERTIFICATE_REVOKED),
        ("certificate_expired", Code.CERTIFICATE_EXPIRED),
        ("quota_exhausted", Code.QUOTA_EXHAUSTED),
    ],
)
async def test_the_provider_refuses_to_sign(
    adapter: MySignAdapter, mysign: MySign, fault: str, code: Code
) -> None:
    [credential] = await adapter.list_credentials(TEACHER)
    setattr(mysign.back_office.faults, fault, True)
    with pytest.raises(SigningError) as caught:
        await adapter.sign_hashes(credential, digests(), DESCRIPTIONS)
    assert_refusal(caught.value, code)


async def test_a_lapsed_certificate_is_expired(adapter: MySignAdapter) -> None:
    [credential] = await adapter.list_credentials(LAPSED)
    assert credential.status == "EXPIRED"
    with pytest.raises(SigningError) as caught:
        await adapter.sign_hashes(credential, digests(1), DESCRIPTIONS[:1])
    assert_refusal(caught.value, Code.CERTIFICATE_EXPIRED)


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("certificate_revoked", Code.CERTIFICATE_REVOKED),
        ("quota_exhausted", Code.QUOTA_EXHAUSTED),
    ],
)
async def test_a_refusal_before_the_confirmation_fails_the_transaction(
    adapter: MySignAdapter, mysign: MySign, fault: str, code: Code
) -> None:
    [credential] = await adapter.list_credentials(TEACHER)
    transaction = await adapter.sign_hashes(credential, digests(), DESCRIPTIONS)
    setattr(mysign.back_office.faults, fault, True)
    result = await settle(adapter, transaction)
    assert result.state is TransactionState.FAILED and result.error is not None
    assert_refusal(result.error, code)


@pytest.mark.parametrize(
    ("phone", "state", "code"),
    [
        (Phone(PhoneAnswer.REJECT, 0.2), TransactionState.REJECTED, Code.SIGNER_REJECTED),
        (
            Phone(PhoneAnswer.IGNORE, expires_after=0.3),
            TransactionState.EXPIRED,
            Code.SIGNER_NOT_CONFIRMED,
        ),
    ],
)
async def test_the_signer_does_not_confirm(
    adapter: MySignAdapter,
    mysign: MySign,
    phone: Phone,
    state: TransactionState,
    code: Code,
) -> None:
    mysign.back_office.phone = phone
    [credential] = await adapter.list_credentials(TEACHER)
    transaction = await adapter.sign_hashes(credential, digests(), DESCRIPTIONS)
    result = await settle(adapter, transaction)
    assert result.state is state and result.error is not None
    assert_refusal(result.error, code)


@pytest.mark.parametrize(
    "overrides",
    [{"client_secret": "wrong"}, {"client_id": "someone-else"}, {"profile_id": "other"}],
)
async def test_a_misconfigured_client_is_bad_credentials(mysign: MySign, overrides: dict) -> None:
    adapter = make_adapter(mysign, **overrides)
    with pytest.raises(SigningError) as caught:
        await adapter.list_credentials(TEACHER)
    assert_refusal(caught.value, Code.PROVIDER_BAD_CREDENTIALS)
    health = await adapter.health()
    assert health.status is HealthStatus.DEGRADED and health.last_error
    await adapter.aclose()


async def test_an_unknown_user_is_named(adapter: MySignAdapter) -> None:
    with pytest.raises(SigningError) as caught:
        await adapter.list_credentials(STRANGER)
    assert_refusal(caught.value, Code.PROVIDER_USER_UNKNOWN)
    assert STRANGER in caught.value.problem.message
