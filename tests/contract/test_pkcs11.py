"""The school seal adapter against real SoftHSM2 tokens: no mocks, real PKCS#11 calls.

Two tokens in two directories, in one process — the valid seal and an expired
one — also show that each token store keeps its own SoftHSM2 instance (see
``hub.adapters.signing.pkcs11.simulator``). Without SoftHSM2 these tests fail with
:class:`SoftHSMUnavailable` rather than skip: ``make system-deps`` installs it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from pkcs11 import Attribute, ObjectClass
from pyhanko.config.pkcs11 import TokenCriteria
from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

from hub.adapters.signing.base import HealthStatus, TransactionState
from hub.adapters.signing.pkcs11 import MAX_BATCH, Pkcs11Adapter
from hub.adapters.signing.pkcs11.simulator import SealToken, provision_seal_token
from hub.adapters.signing.pki import DemoPKI
from hub.domain.enums import SigningProvider
from hub.domain.problems import Code
from tests import signing_support as support
from tests.signing_support import verify_signatures

SCHOOL_CODE = "01LBA"
SCHOOL_NAME = "Trường THCS Thử nghiệm Long Biên (DEMO)"
USER_PIN = "246810"
SO_PIN = "13579111"

refused = partial(support.refused, provider=SigningProvider.PKCS11)


@pytest.fixture(scope="module")
def seal(pki: DemoPKI, tmp_path_factory: pytest.TempPathFactory) -> SealToken:
    return provision_seal_token(
        tmp_path_factory.mktemp("softhsm"),
        pki=pki,
        school_name=SCHOOL_NAME,
        school_code=SCHOOL_CODE,
        label="THCS Long Bien",
        user_pin=USER_PIN,
        so_pin=SO_PIN,
    )


@pytest.fixture(scope="module")
def expired_seal(pki: DemoPKI, tmp_path_factory: pytest.TempPathFactory) -> SealToken:
    """A second store in another directory, loaded in the same process as ``seal``."""
    now = datetime.now(UTC)
    return provision_seal_token(
        tmp_path_factory.mktemp("softhsm-expired"),
        pki=pki,
        school_name="Trường THCS Hết Hạn (DEMO)",
        school_code="01CGB",
        label="THCS Het Han",
        user_pin=USER_PIN,
        so_pin=SO_PIN,
        valid_from=now - timedelta(days=3 * 365),
        valid_to=now - timedelta(days=1),
    )


def adapter_for(token: SealToken, **overrides: str) -> Pkcs11Adapter:
    settings = {
        "module_path": token.module_path,
        "token_label": token.token_label,
        "user_pin": USER_PIN,
    }
    return Pkcs11Adapter(**(settings | overrides))


def public_key_of(certificate: x509.Certificate) -> rsa.RSAPublicKey:
    key = certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    return key


async def test_lists_the_seal_with_its_chain_read_from_the_token(seal: SealToken) -> None:
    adapter = adapter_for(seal)

    [credential] = await adapter.list_credentials(SCHOOL_CODE)

    uid = credential.certificate.subject.get_attributes_for_oid(NameOID.USER_ID)
    assert [a.value for a in uid] == [f"MNS:{SCHOOL_CODE}"]
    assert credential.provider is SigningProvider.PKCS11
    assert credential.credential_id == seal.key_id.hex()
    assert credential.certificate == seal.certificate
    assert credential.chain == seal.chain  # issuing CA, then the root
    assert (credential.max_batch, credential.status) == (MAX_BATCH, "ACTIVE")
    assert await adapter.list_credentials(seal.token_label) == [
        dataclasses.replace(credential, user_id=seal.token_label)
    ]
    assert await adapter.list_credentials("01XXX") == []
    assert await adapter.credential(SCHOOL_CODE, credential.credential_id) == credential


async def test_signs_digests_on_the_token(seal: SealToken) -> None:
    adapter = adapter_for(seal)
    credential = await adapter.credential(SCHOOL_CODE, seal.key_id.hex())
    digests = [hashlib.sha256(f"học bạ {n}".encode()).digest() for n in range(5)]

    transaction = await adapter.sign_hashes(credential, digests, ["học bạ"] * 5)
    result = await adapter.poll(transaction)

    assert (transaction.count, result.state) == (5, TransactionState.SIGNED)
    verify_signatures(seal.certificate, result.signatures, digests)


async def test_the_key_cannot_be_read_off_the_token(seal: SealToken) -> None:
    token = pkcs11.lib(seal.module_path).get_token(token_label=seal.token_label)
    with token.open(user_pin=USER_PIN) as session:
        key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=seal.key_id)
        assert key[Attribute.EXTRACTABLE] is False
        assert key[Attribute.SENSITIVE] is True
        assert key[Attribute.NEVER_EXTRACTABLE] is True
        with pytest.raises(pkcs11.AttributeSensitive):
            key[Attribute.PRIVATE_EXPONENT]


async def test_concurrent_calls_share_the_token_without_blocking_the_loop(
    seal: SealToken,
) -> None:
    adapter = adapter_for(seal)
    credential = await adapter.credential(SCHOOL_CODE, seal.key_id.hex())
    digests = [hashlib.sha256(bytes([n % 256, n // 256])).digest() for n in range(300)]
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        transactions = await asyncio.gather(
            *(adapter.sign_hashes(credential, digests, [""] * 300) for _ in range(3))
        )
    finally:
        ticker.cancel()

    assert ticks >= 3, "the event loop stood still while the token signed"
    for transaction in transactions:
        assert len((await adapter.poll(transaction)).signatures) == 300


async def test_wrong_pin_is_bad_credentials(seal: SealToken) -> None:
    adapter = adapter_for(seal, user_pin="000000")
    credential = (await adapter_for(seal).list_credentials(SCHOOL_CODE))[0]

    for attempt in (
        adapter.list_credentials(SCHOOL_CODE),
        adapter.sign_hashes(credential, [bytes(32)], ["x"]),
    ):
        await refused(attempt, Code.PROVIDER_BAD_CREDENTIALS)
    # SoftHSM2 never locks its PIN, so the right PIN still opens the token.
    assert await adapter_for(seal).list_credentials(SCHOOL_CODE)


async def test_absent_token_or_module_is_unavailable(seal: SealToken, tmp_path: Path) -> None:
    for adapter in (
        adapter_for(seal, token_label="not plugged in"),
        adapter_for(seal, module_path=str(tmp_path / "libvendor-p11.so")),
    ):
        await refused(adapter.list_credentials(SCHOOL_CODE), Code.PROVIDER_UNAVAILABLE)
        health = await adapter.health()
        assert (health.status, health.latency_ms) == (HealthStatus.DOWN, None)
        assert health.last_error


async def test_health_is_up_with_latency(seal: SealToken) -> None:
    health = await adapter_for(seal).health()

    assert health.status is HealthStatus.UP
    assert health.latency_ms is not None and health.latency_ms >= 0
    assert health.last_error is None


async def test_expired_seal_is_refused_before_the_token_signs(expired_seal: SealToken) -> None:
    adapter = adapter_for(expired_seal)
    [credential] = await adapter.list_credentials("01CGB")
    assert credential.status == "EXPIRED"

    await refused(adapter.sign_hashes(credential, [bytes(32)], ["x"]), Code.CERTIFICATE_EXPIRED)


async def test_unknown_credential_is_not_found(seal: SealToken) -> None:
    adapter = adapter_for(seal)
    [credential] = await adapter.list_credentials(SCHOOL_CODE)

    for attempt in (
        adapter.credential(SCHOOL_CODE, "00" * 20),
        adapter.sign_hashes(
            dataclasses.replace(credential, credential_id="00" * 20), [bytes(32)], []
        ),
        adapter.sign_hashes(
            dataclasses.replace(credential, credential_id="not-hex"), [bytes(32)], []
        ),
    ):
        await refused(attempt, Code.CREDENTIAL_NOT_FOUND)


async def test_pyhanko_signs_with_the_same_token(seal: SealToken) -> None:
    """Standard tooling sees an ordinary token: pyHanko's own PKCS#11 signer makes a CMS."""
    data = b"Hoc ba so - ban ky thu"
    session = open_pkcs11_session(
        seal.module_path, token_criteria=TokenCriteria(label=seal.token_label), user_pin=USER_PIN
    )
    try:
        signer = PKCS11Signer(session, key_label=seal.key_label, other_certs_to_pull=None)
        content_info = await signer.async_sign_general_data(data, "sha256")
    finally:
        session.close()

    signed_data = content_info["content"]
    signer_info = signed_data["signer_infos"][0]
    signed_attrs = signer_info["signed_attrs"]
    message_digest = next(
        a["values"][0].native for a in signed_attrs if a["type"].native == "message_digest"
    )
    assert message_digest == hashlib.sha256(data).digest()
    public_key_of(seal.certificate).verify(
        signer_info["signature"].native,
        signed_attrs.untag().dump(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    embedded = {c.chosen.dump() for c in signed_data["certificates"]}
    assert {c.public_bytes(Encoding.DER) for c in (seal.certificate, *seal.chain)} <= embedded


SIGN_IN_ANOTHER_PROCESS = """
import asyncio, hashlib, sys
from hub.adapters.signing.pkcs11 import Pkcs11Adapter
from hub.adapters.signing.base import SigningError

async def main():
    adapter = Pkcs11Adapter(module_path=sys.argv[1], token_label=sys.argv[2], user_pin=sys.argv[3])
    failures = 0
    for n in range(40):
        try:
            credential = await adapter.credential(sys.argv[4], sys.argv[5])
            digests = [hashlib.sha256(bytes([n, i])).digest() for i in range(10)]
            await adapter.sign_hashes(credential, digests, ["seal"] * 10)
        except SigningError as error:
            failures += 1
            print(error.detail, file=sys.stderr)
    print(failures)

asyncio.run(main())
"""


async def test_worker_processes_on_one_host_take_turns_at_the_token(seal: SealToken) -> None:
    """Two processes signing on one token at once (two `hub worker` processes): no failures.

    Without the lock, SoftHSM2 answered CKR_GENERAL_ERROR now and then, and a batch's
    seal chunk failed.
    """
    import subprocess
    import sys

    args = [
        sys.executable,
        "-c",
        SIGN_IN_ANOTHER_PROCESS,
        seal.module_path,
        seal.token_label,
        USER_PIN,
        SCHOOL_CODE,
        seal.key_id.hex(),
    ]
    processes = [
        await asyncio.create_subprocess_exec(
            *args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=Path(__file__).parents[2],
            env=os.environ | {"SOFTHSM2_CONF": str(seal.conf_path)},
        )
        for _ in range(2)
    ]
    outputs = [await process.communicate() for process in processes]
    for (out, err), process in zip(outputs, processes, strict=True):
        assert process.returncode == 0, err.decode()
        assert out.decode().strip() == "0", err.decode()
