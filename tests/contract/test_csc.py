"""The CSC adapter against the CSC simulator over real HTTP: v1, v2, v2 async, every fault."""

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

import pytest

from hub.adapters.signing.base import SigningAdapter, TransactionState
from hub.adapters.signing.csc import CscAccount, CscAdapter
from hub.adapters.signing.csc.protocol import OperationMode, Version
from hub.adapters.signing.csc.session import ERRORS
from hub.adapters.signing.csc.simulator import create_simulator
from hub.adapters.signing.pki import DemoPKI
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

SERVICE = CscAccount("hub", "hub-secret")
USER_ID = "079203001234"
USER_PASSWORD = "lan-2024"
PIN = "123456"  # the simulator's default credential PIN
MAX_BATCH = 5
MODES: list[tuple[Version, OperationMode]] = [("v1", "S"), ("v2", "S"), ("v2", "A")]

refused = partial(support.refused, provider=SigningProvider.CSC)
opened = support.opened


@dataclass
class Csc(support.Simulated[SimulatedProvider]):
    credential_id: str


@pytest.fixture(scope="module")
def csc(pki: DemoPKI) -> Iterator[Csc]:
    provider, app = create_simulator(
        pki, service_accounts={SERVICE.username: SERVICE.password}, max_batch=MAX_BATCH
    )
    enrolled = provider.enrol(USER_ID, full_name="Nguyễn Thị Lan", password=USER_PASSWORD)
    with SimulatorServer(app) as server:
        yield Csc(provider, server, enrolled.credential_id)


@pytest.fixture(autouse=True)
def well_behaved(csc: Csc) -> None:
    """Every test starts with a healthy provider and a signer who confirms quickly."""
    csc.reset()


MakeAdapter = Callable[..., CscAdapter]


@pytest.fixture
def make_adapter(csc: Csc, opened: list[SigningAdapter]) -> MakeAdapter:
    def make(
        version: Version = "v2", operation_mode: OperationMode = "S", **options: object
    ) -> CscAdapter:
        options.setdefault("account", SERVICE)
        # The hub's service account acts for every user, so it names them (userID).
        options.setdefault("acts_for_users", options["account"] == SERVICE)
        options.setdefault("pins", {csc.credential_id: PIN})
        adapter = CscAdapter(
            base_url=f"{csc.server.url}/csc/{version}",
            version=version,
            operation_mode=operation_mode,
            **options,  # type: ignore[arg-type]
        )
        opened.append(adapter)
        return adapter

    return make


@pytest.mark.parametrize(("version", "operation_mode"), MODES)
async def test_signs_a_batch_under_one_authorisation(
    csc: Csc, make_adapter: MakeAdapter, version: Version, operation_mode: OperationMode
) -> None:
    adapter = make_adapter(version, operation_mode)

    [credential] = await adapter.list_credentials(USER_ID)
    assert credential.credential_id == csc.credential_id
    assert credential.status == "ACTIVE"
    assert credential.max_batch == MAX_BATCH
    assert credential.certificate.issuer == credential.chain[0].subject
    assert credential.chain[-1].subject == credential.chain[-1].issuer  # the root
    batch = support.digests(3)
    transaction = await adapter.sign_hashes(credential, batch, ["HK1", "HK2", "Cả năm"])
    if operation_mode == "A":
        assert (await adapter.poll(transaction)).state is TransactionState.PENDING

    # A job polls with whatever adapter it has, e.g. a new one after a restart.
    result = await support.settle(make_adapter(version, operation_mode), transaction)

    support.assert_signed_by(credential, result, batch)


async def test_the_signer_may_log_in_with_their_own_account(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter("v1", account=CscAccount(USER_ID, USER_PASSWORD))

    [credential] = await adapter.list_credentials(USER_ID)

    result = await adapter.poll(await adapter.sign_hashes(credential, support.digests(1), ["HK1"]))
    assert result.state is TransactionState.SIGNED


async def test_logs_in_again_when_the_token_expires(pki: DemoPKI) -> None:
    provider, app = create_simulator(
        pki, service_accounts={SERVICE.username: SERVICE.password}, token_lifetime=0.2
    )
    provider.enrol(USER_ID, full_name="Nguyễn Thị Lan")
    with SimulatorServer(app) as server:
        adapter = CscAdapter(
            base_url=f"{server.url}/csc/v2", account=SERVICE, acts_for_users=True, pins={}
        )
        try:
            assert len(await adapter.list_credentials(USER_ID)) == 1
            await asyncio.sleep(0.3)
            assert len(await adapter.list_credentials(USER_ID)) == 1
        finally:
            await adapter.aclose()


async def test_more_digests_than_multisign_is_the_callers_mistake(
    make_adapter: MakeAdapter,
) -> None:
    adapter = make_adapter()
    [credential] = await adapter.list_credentials(USER_ID)

    with pytest.raises(ValueError, match="per authorisation"):
        await adapter.sign_hashes(credential, support.digests(MAX_BATCH + 1), [])


@pytest.mark.parametrize(
    ("faults", "status", "code"),
    [
        (Faults(certificate_revoked=True), "REVOKED", Code.CERTIFICATE_REVOKED),
        (Faults(certificate_expired=True), "EXPIRED", Code.CERTIFICATE_EXPIRED),
    ],
)
@pytest.mark.parametrize(("version", "operation_mode"), MODES)
async def test_certificate_no_longer_valid(
    csc: Csc,
    make_adapter: MakeAdapter,
    version: Version,
    operation_mode: OperationMode,
    faults: Faults,
    status: str,
    code: Code,
) -> None:
    adapter = make_adapter(version, operation_mode)
    csc.back_office.faults = faults

    credential = await adapter.credential(USER_ID, csc.credential_id)

    assert credential.status == status
    await refused(adapter.sign_hashes(credential, support.digests(2), []), code)


@pytest.mark.parametrize(("version", "operation_mode"), MODES)
async def test_quota_exhausted(
    csc: Csc, make_adapter: MakeAdapter, version: Version, operation_mode: OperationMode
) -> None:
    adapter = make_adapter(version, operation_mode)
    credential = await adapter.credential(USER_ID, csc.credential_id)
    csc.back_office.faults = Faults(quota_exhausted=True)

    await refused(adapter.sign_hashes(credential, support.digests(1), []), Code.QUOTA_EXHAUSTED)


async def test_request_expired_by_the_provider(csc: Csc, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter("v2", "A")
    csc.back_office.phone = Phone(answer=PhoneAnswer.IGNORE)
    credential = await adapter.credential(USER_ID, csc.credential_id)
    transaction = await adapter.sign_hashes(credential, support.digests(1), [])
    assert await csc.steer(transaction, "expire") == {"state": "EXPIRED"}

    result = await adapter.poll(transaction)

    assert result.state is TransactionState.EXPIRED


async def test_wrong_account_password(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(account=CscAccount(SERVICE.username, "wrong"))

    await refused(adapter.list_credentials(USER_ID), Code.PROVIDER_BAD_CREDENTIALS)


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_wrong_pin(csc: Csc, make_adapter: MakeAdapter, version: Version) -> None:
    adapter = make_adapter(version, pins=lambda credential_id: "000000")
    credential = await adapter.credential(USER_ID, csc.credential_id)

    await refused(
        adapter.sign_hashes(credential, support.digests(1), []), Code.PROVIDER_BAD_CREDENTIALS
    )


async def test_unknown_account(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(account=CscAccount("nobody", "x"))

    error = await refused(adapter.list_credentials(USER_ID), Code.PROVIDER_USER_UNKNOWN)

    assert "nobody" in error.problem.message


async def test_unknown_credential(make_adapter: MakeAdapter) -> None:
    await refused(make_adapter().credential(USER_ID, "no-such-key"), Code.CREDENTIAL_NOT_FOUND)


async def test_an_account_acts_only_for_itself(csc: Csc, make_adapter: MakeAdapter) -> None:
    csc.back_office.enrol("038190000777", full_name="Trần Văn Minh", password="minh")
    adapter = make_adapter(account=CscAccount("038190000777", "minh"))

    await refused(adapter.credential("038190000777", csc.credential_id), Code.CREDENTIAL_NOT_FOUND)


@pytest.mark.parametrize(
    ("error", "description", "code"),
    [
        ("invalid_request", "Invalid parameter credentialID", Code.CREDENTIAL_NOT_FOUND),
        ("invalid_request", "Invalid parameter userID", Code.PROVIDER_USER_UNKNOWN),
        ("invalid_request", "The certificate is revoked", Code.CERTIFICATE_REVOKED),
        ("invalid_request", "Certificate has expired", Code.CERTIFICATE_EXPIRED),
        ("invalid_request", "Signing quota reached", Code.QUOTA_EXHAUSTED),
        ("invalid_otp", "The OTP is invalid", Code.SIGNER_OTP_WRONG),
        ("invalid_request", "The SAD is expired", None),
    ],
)
def test_other_servers_words(error: str, description: str, code: Code | None) -> None:
    assert ERRORS.code(error, text=description) is code
