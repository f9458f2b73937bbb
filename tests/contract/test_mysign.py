"""Viettel MySign: the hub's client against the simulator, over real HTTP.

The simulator plays Viettel's back office and the signer's phone (confirming
after 0.2 s unless a test says otherwise).
"""

import base64
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial

import httpx
import pytest

from hub.adapters.signing.base import HealthStatus, TransactionState
from hub.adapters.signing.certificates import personal_id_of
from hub.adapters.signing.mysign import MySignAdapter, mysign_user_id
from hub.adapters.signing.mysign.protocol import RequestStatus, display
from hub.adapters.signing.mysign.simulator import MySignBackOffice, create_simulator
from hub.adapters.signing.pki import NATIONAL_ROOT, VIETTEL, DemoPKI
from hub.adapters.signing.simulator import Phone, PhoneAnswer, SimulatorServer
from hub.domain.enums import SigningProvider
from hub.domain.problems import Code
from tests import signing_support as support

CLIENT_ID, CLIENT_SECRET, PROFILE = "so-gddt-ha-noi", "mysign-secret", "adss:ras:profile:001"
TEACHER = "001085012345"
LAPSED = "001086054321"  # a teacher whose certificate ran out last year
STRANGER = "079199999999"
DESCRIPTIONS = [
    "Học bạ 2025-2026 — Nguyễn Văn An, lớp 1A2",
    "Học bạ 2025-2026 — Trần Thị Bình, lớp 1A2",
    "Học bạ 2025-2026 — Lê Đức Cường, lớp 1A2",
]

refused = partial(support.refused, provider=SigningProvider.MYSIGN)


MySign = support.Simulated[MySignBackOffice]


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
    mysign.reset()
    mysign.back_office.sync_wait = 120.0


def make_adapter(mysign: MySign, **overrides: object) -> MySignAdapter:
    options: dict = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "profile_id": PROFILE,
        **overrides,
    }
    return MySignAdapter(base_url=mysign.server.url, **options)


@pytest.fixture
async def adapter(mysign: MySign) -> AsyncIterator[MySignAdapter]:
    client = make_adapter(mysign)
    yield client
    await client.aclose()


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
    await refused(adapter.credential(TEACHER, "no-such-credential"), Code.CREDENTIAL_NOT_FOUND)


# --- signing -----------------------------------------------------------------------------------


async def test_signs_three_digests_with_one_confirmation(
    adapter: MySignAdapter, mysign: MySign
) -> None:
    [credential] = await adapter.list_credentials(TEACHER)
    sent = support.digests()
    transaction = await adapter.sign_hashes(credential, sent, DESCRIPTIONS)
    assert transaction.count == 3 and transaction.data == {"user_id": f"CMT_{TEACHER}"}
    on_the_phone = mysign.back_office.transactions[transaction.transaction_id].descriptions
    assert on_the_phone[0] == "hoc ba 2025-2026 nguyen van an lop 1a2"  # folded to ASCII
    assert (await adapter.poll(transaction)).state is TransactionState.PENDING
    support.assert_signed_by(credential, await support.settle(adapter, transaction), sent)


async def test_a_restarted_worker_polls_with_a_new_adapter_after_the_token_lapsed(
    mysign: MySign,
) -> None:
    first = make_adapter(mysign)
    [credential] = await first.list_credentials(TEACHER)
    sent = support.digests(2)
    transaction = await first.sign_hashes(credential, sent, DESCRIPTIONS[:2])
    await first.aclose()
    mysign.back_office.expire_tokens()
    second = make_adapter(mysign)
    support.assert_signed_by(
        credential, await support.settle(second, support.stored(transaction)), sent
    )
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
                    "hash": [base64.b64encode(support.digests(1)[0]).decode()],
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
        support.verify_signatures(
            credential.certificate, [base64.b64decode(signature)], support.digests(1)
        )

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


async def test_a_lapsed_certificate_is_expired(adapter: MySignAdapter) -> None:
    [credential] = await adapter.list_credentials(LAPSED)
    assert credential.status == "EXPIRED"
    await refused(
        adapter.sign_hashes(credential, support.digests(1), DESCRIPTIONS[:1]),
        Code.CERTIFICATE_EXPIRED,
    )


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
    transaction = await adapter.sign_hashes(credential, support.digests(), DESCRIPTIONS)
    setattr(mysign.back_office.faults, fault, True)
    await support.assert_ends(adapter, transaction, TransactionState.FAILED, code)


@pytest.mark.parametrize(
    "overrides",
    [{"client_secret": "wrong"}, {"client_id": "someone-else"}, {"profile_id": "other"}],
)
async def test_a_misconfigured_client_is_bad_credentials(mysign: MySign, overrides: dict) -> None:
    adapter = make_adapter(mysign, **overrides)
    await refused(adapter.list_credentials(TEACHER), Code.PROVIDER_BAD_CREDENTIALS)
    health = await adapter.health()
    assert health.status is HealthStatus.DEGRADED and health.last_error
    await adapter.aclose()
