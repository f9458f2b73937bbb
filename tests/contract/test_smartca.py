"""VNPT SmartCA: the hub's SP769 and gateway clients against the simulator, over real HTTP.

Each behaviour runs through both APIs where both have it; the simulator plays
VNPT's back office and the subscriber's phone (confirming after 0.2 s unless a
test says otherwise).
"""

import base64
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import httpx
import pytest

from hub.adapters.signing.base import HealthStatus, SigningAdapter, TransactionState, raw_signature
from hub.adapters.signing.certificates import personal_id_of
from hub.adapters.signing.pki import VNPT, DemoPKI
from hub.adapters.signing.simulator import Phone, PhoneAnswer, SimulatorServer
from hub.adapters.signing.smartca import AutomationAccount, SmartCaAdapter, SmartCaGatewayAdapter
from hub.adapters.signing.smartca.protocol import SP769_PREFIX, CertStatusForm
from hub.adapters.signing.smartca.simulator import SmartCaBackOffice, create_simulator
from hub.domain.enums import SigningProvider
from hub.domain.problems import Code
from tests import signing_support as support

SP_ID, SP_PASSWORD = "so-gddt-ha-noi", "sp-secret"
CLIENT_ID, CLIENT_SECRET = "hub-gateway", "gateway-secret"
TEACHER, TEACHER_PASSWORD = "001085012345", "mat-khau-cua-co-Hoa"
SEAL, SEAL_PASSWORD = "0101234567", "mat-khau-con-dau"  # the school's e-seal, by tax code
LAPSED = "001086054321"  # a teacher whose certificate ran out last year
STRANGER = "079199999999"
APIS = ["sp769", "gateway"]
DESCRIPTIONS = [
    "Học bạ 2025-2026 — Nguyễn Văn An, lớp 6A1",
    "Học bạ 2025-2026 — Trần Thị Bình, lớp 6A1",
    "Học bạ 2025-2026 — Lê Đức Cường, lớp 6A1",
]

refused = partial(support.refused, provider=SigningProvider.SMARTCA)


@dataclass
class SmartCa(support.Simulated[SmartCaBackOffice]):
    seal_totp_secret: str


@pytest.fixture(scope="module")
def smartca(pki: DemoPKI) -> Iterator[SmartCa]:
    back_office, app = create_simulator(
        pki,
        sp_id=SP_ID,
        sp_password=SP_PASSWORD,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    back_office.enrol(TEACHER, full_name="Nguyễn Thị Hoa", password=TEACHER_PASSWORD)
    back_office.enrol(
        SEAL, full_name="Trường THCS Dịch Vọng", seal_of_school="01004567", password=SEAL_PASSWORD
    )
    last_year = datetime.now(UTC) - timedelta(days=365)
    back_office.enrol(
        LAPSED,
        full_name="Phạm Văn Dũng",
        password="x",
        valid_from=last_year - timedelta(days=730),
        valid_to=last_year,
    )
    secret = back_office.enrol_automation(SEAL)
    with SimulatorServer(app) as server:
        yield SmartCa(back_office, server, secret)


@pytest.fixture(autouse=True)
def fresh_provider(smartca: SmartCa) -> None:
    """Every test starts with a healthy provider and a phone that approves after 0.2 s."""
    smartca.reset()
    smartca.back_office.cms_signatures = False
    smartca.back_office.cert_status_forms = tuple(CertStatusForm)


def sp769_adapter(smartca: SmartCa, **overrides: object) -> SmartCaAdapter:
    options: dict = {"sp_id": SP_ID, "sp_password": SP_PASSWORD, **overrides}
    return SmartCaAdapter(base_url=smartca.server.url + SP769_PREFIX, **options)


def gateway_adapter(smartca: SmartCa, **overrides: object) -> SmartCaGatewayAdapter:
    options: dict = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "user_passwords": {TEACHER: TEACHER_PASSWORD, LAPSED: "x"},
        **overrides,
    }
    return SmartCaGatewayAdapter(base_url=smartca.server.url, **options)


def make_adapter(api: str, smartca: SmartCa, **overrides: object) -> SigningAdapter:
    factory = sp769_adapter if api == "sp769" else gateway_adapter
    return factory(smartca, **overrides)


@pytest.fixture(params=APIS)
async def adapter(
    request: pytest.FixtureRequest, smartca: SmartCa
) -> AsyncIterator[SigningAdapter]:
    client = make_adapter(request.param, smartca)
    yield client
    await client.aclose()


# --- credentials -------------------------------------------------------------------------------


async def test_lists_the_teachers_credential_with_its_chain(
    adapter: SigningAdapter, pki: DemoPKI
) -> None:
    [credential] = await adapter.list_credentials(TEACHER)
    assert credential.status == "ACTIVE" and credential.max_batch >= 3
    assert personal_id_of(credential.certificate) == TEACHER
    issuing_ca = pki.authorities[VNPT].certificate
    assert credential.chain[0] == issuing_ca
    credential.certificate.verify_directly_issued_by(issuing_ca)
    again = await adapter.credential(TEACHER, credential.credential_id)
    assert again.certificate == credential.certificate


async def test_an_unknown_credential_is_credential_not_found(adapter: SigningAdapter) -> None:
    await refused(adapter.credential(TEACHER, "no-such-credential"), Code.CREDENTIAL_NOT_FOUND)


async def test_sp769_reads_every_form_of_cert_status_crlf_and_a_missing_root(
    smartca: SmartCa,
) -> None:
    adapter = sp769_adapter(smartca)
    listings = [(await adapter.list_credentials(TEACHER))[0] for _ in CertStatusForm]
    assert {c.status for c in listings} == {"ACTIVE"}
    assert {len(c.chain) for c in listings} == {1, 2}  # the root is left out every other time
    smartca.back_office.faults.certificate_revoked = True
    revoked = [(await adapter.list_credentials(TEACHER))[0] for _ in CertStatusForm]
    assert {c.status for c in revoked} == {"REVOKED"}
    lapsed = [(await adapter.list_credentials(LAPSED))[0] for _ in CertStatusForm]
    assert {c.status for c in lapsed} == {"EXPIRED"}  # "0" too: the dates tell
    await adapter.aclose()


# --- signing -----------------------------------------------------------------------------------


async def test_signs_three_digests_with_one_confirmation(
    adapter: SigningAdapter, smartca: SmartCa
) -> None:
    [credential] = await adapter.list_credentials(TEACHER)
    opened = len(smartca.back_office.transactions)
    sent = support.digests()
    transaction = await adapter.sign_hashes(credential, sent, DESCRIPTIONS)
    assert transaction.count == 3 and len(smartca.back_office.transactions) == opened + 1
    assert all(isinstance(v, str) for v in transaction.data.values())
    assert (await adapter.poll(transaction)).state is TransactionState.PENDING
    support.assert_signed_by(credential, await support.settle(adapter, transaction), sent)


@pytest.mark.parametrize("api", APIS)
async def test_a_restarted_worker_polls_with_a_new_adapter(api: str, smartca: SmartCa) -> None:
    first = make_adapter(api, smartca)
    [credential] = await first.list_credentials(TEACHER)
    sent = support.digests(2)
    transaction = await first.sign_hashes(credential, sent, DESCRIPTIONS[:2])
    await first.aclose()
    second = make_adapter(api, smartca)
    support.assert_signed_by(
        credential, await support.settle(second, support.stored(transaction)), sent
    )
    await second.aclose()


async def test_sp769_takes_the_signature_out_of_a_cms_answer(smartca: SmartCa) -> None:
    smartca.back_office.cms_signatures = True
    adapter = sp769_adapter(smartca)
    [credential] = await adapter.list_credentials(TEACHER)
    sent = support.digests()
    transaction = await adapter.sign_hashes(credential, sent, DESCRIPTIONS)
    result = await support.settle(adapter, transaction)
    support.assert_signed_by(credential, result, sent)
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{smartca.server.url}{SP769_PREFIX}/v1/signatures/sign/"
            f"{transaction.transaction_id}/status",
            json={"sp_id": SP_ID, "sp_password": SP_PASSWORD},
        )
    value = base64.b64decode(answer.json()["data"]["signatures"][0]["signature_value"])
    assert value[:1] == b"\x30" and len(value) > 256  # a whole SignedData on the wire
    assert raw_signature(value) == result.signatures[0]
    await adapter.aclose()


async def test_th_automation_signs_without_the_phone(smartca: SmartCa) -> None:
    smartca.back_office.phone = Phone(answer=PhoneAnswer.IGNORE)
    account = AutomationAccount(password=SEAL_PASSWORD, totp_secret=smartca.seal_totp_secret)
    adapter = sp769_adapter(smartca, automation={SEAL: account})
    [seal] = await adapter.list_credentials(SEAL)
    sent = support.digests()
    transaction = await adapter.sign_hashes(seal, sent, DESCRIPTIONS)
    assert transaction.data["flow"] == "automation" and transaction.data["sad"].count(".") == 2
    assert transaction.expires_at < datetime.now(UTC) + timedelta(seconds=300)
    support.assert_signed_by(seal, await adapter.poll(transaction), sent)
    await adapter.aclose()


async def test_th_with_a_wrong_password_is_bad_credentials(smartca: SmartCa) -> None:
    account = AutomationAccount(password="wrong", totp_secret=smartca.seal_totp_secret)
    adapter = sp769_adapter(smartca, automation={SEAL: account})
    [seal] = await adapter.list_credentials(SEAL)
    await refused(
        adapter.sign_hashes(seal, support.digests(1), DESCRIPTIONS[:1]),
        Code.PROVIDER_BAD_CREDENTIALS,
    )
    await adapter.aclose()


# --- what goes wrong ---------------------------------------------------------------------------


async def test_a_lapsed_certificate_is_expired_in_every_form(adapter: SigningAdapter) -> None:
    [credential] = await adapter.list_credentials(LAPSED)
    for _ in CertStatusForm:
        await refused(
            adapter.sign_hashes(credential, support.digests(1), DESCRIPTIONS[:1]),
            Code.CERTIFICATE_EXPIRED,
        )


async def test_a_certificate_revoked_before_the_confirmation_fails_the_transaction(
    adapter: SigningAdapter, smartca: SmartCa
) -> None:
    [credential] = await adapter.list_credentials(TEACHER)
    transaction = await adapter.sign_hashes(credential, support.digests(), DESCRIPTIONS)
    smartca.back_office.faults.certificate_revoked = True
    await support.assert_ends(
        adapter, transaction, TransactionState.FAILED, Code.CERTIFICATE_REVOKED
    )


async def test_sp769_with_a_wrong_sp_password_is_bad_credentials(smartca: SmartCa) -> None:
    adapter = sp769_adapter(smartca, sp_password="wrong")
    await refused(adapter.list_credentials(TEACHER), Code.PROVIDER_BAD_CREDENTIALS)
    health = await adapter.health()
    assert health.status is HealthStatus.DEGRADED and "SP_CREDENTIAL_INVALID" in str(
        health.last_error
    )
    await adapter.aclose()


async def test_gateway_with_a_wrong_client_secret_is_bad_credentials(smartca: SmartCa) -> None:
    adapter = gateway_adapter(smartca, client_secret="wrong")
    await refused(adapter.list_credentials(TEACHER), Code.PROVIDER_BAD_CREDENTIALS)
    assert (await adapter.health()).status is HealthStatus.DEGRADED
    await adapter.aclose()


async def test_gateway_logs_in_again_when_its_token_lapses(smartca: SmartCa) -> None:
    adapter = gateway_adapter(smartca)
    [credential] = await adapter.list_credentials(TEACHER)
    smartca.back_office.expire_gateway_tokens()
    assert (await adapter.credential(TEACHER, credential.credential_id)) == credential
    await adapter.aclose()
