"""The CSC adapter against a CSC server the hub's authors did not write.

certomancer-csc-dummy (PyPI, pinned in the ``dev`` extra) is the CSC v1.0.4 test
server isolated from pyHanko's integration tests: it runs here as its own process
(``python -m csc_dummy``) over real HTTP, on keys and certificates this module
generates into a Certomancer configuration. It offers what it offers, and the test
signs with each of it: service authorization ``external`` (no ``auth/login``; it
answers 404), credentials authorised ``implicit`` (no PIN), SCAL 2 (SAD bound to the
hashes), ``credentials/info`` without ``certInfo`` (it answers 501 to that), and
RSA PKCS#1 v1.5, RSASSA-PSS and ECDSA keys.
"""

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from hub.adapters.signing.base import HealthStatus, SigningAdapter, TransactionState
from hub.adapters.signing.csc import CscAccount, CscAdapter
from hub.adapters.signing.csc.session import signing_error
from hub.adapters.signing.simulator import free_port
from hub.documents import samples
from hub.documents.pdf import render_pdf
from hub.documents.xml.transcript import build_xml
from hub.domain.enums import SigningProvider
from hub.domain.problems import Code
from hub.domain.signers import SIGNING_ORDER
from hub.signing import algorithms
from hub.signing.algorithms import SignatureAlgorithm
from hub.signing.pades import finish_pdf, prepare_pdf
from hub.signing.verification.pdf_reader import read_pdf_signatures
from hub.signing.verification.xml_reader import read_xml_signatures
from hub.signing.xades import finish_xml, prepare_xml
from tests import signing_support as support

opened = support.opened

#: The Certomancer configuration: a root and two end-entity certificates under it.
CONFIG = """
external-url-prefix: "http://127.0.0.1"
keysets:
  hub:
    keys:
      root: {path: root.key.pem}
      signer-rsa: {path: signer-rsa.key.pem}
      signer-ec: {path: signer-ec.key.pem}
pki-architectures:
  hub:
    keyset: hub
    entity-defaults: {country-name: VN, organization-name: "So GD-DT (foreign CSC test)"}
    entities:
      root: {common-name: Foreign CSC Root}
      signer-rsa: {common-name: Nguyen Thi Lan}
      signer-ec: {common-name: Tran Van Minh}
    certs:
      root:
        subject: root
        issuer: root
        validity: {valid-from: "2020-01-01T00:00:00+0000", valid-to: "2100-01-01T00:00:00+0000"}
        extensions:
          - id: basic_constraints
            critical: true
            value: {ca: true}
          - id: key_usage
            critical: true
            smart-value: {schema: key-usage, params: [digital_signature, key_cert_sign, crl_sign]}
      signer-rsa:
        subject: signer-rsa
        issuer: root
        validity: {valid-from: "2020-01-01T00:00:00+0000", valid-to: "2100-01-01T00:00:00+0000"}
        extensions:
          - id: key_usage
            critical: true
            smart-value: {schema: key-usage, params: [digital_signature, non_repudiation]}
      signer-ec:
        template: signer-rsa
        subject: signer-ec
"""

RSA_CREDENTIAL = "hub/signer-rsa"
EC_CREDENTIAL = "hub/signer-ec"
#: The server does not know users: it lists every credential whatever the userID.
USER_ID = "079203001234"


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"certomancer-csc exited with {process.returncode}")
        try:
            socket.create_connection(("localhost", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("certomancer-csc did not start in 20 s")


@pytest.fixture(scope="module")
def foreign_csc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """certomancer-csc-dummy serving on loopback; its base URL (``…/csc/v1``)."""
    directory = tmp_path_factory.mktemp("certomancer-csc")
    (directory / "root.key.pem").write_bytes(_pem(rsa.generate_private_key(65537, 2048)))
    (directory / "signer-rsa.key.pem").write_bytes(_pem(rsa.generate_private_key(65537, 2048)))
    (directory / "signer-ec.key.pem").write_bytes(_pem(ec.generate_private_key(ec.SECP256R1())))
    config = directory / "certomancer.yml"
    config.write_text(CONFIG)
    port = free_port("127.0.0.1")
    log = (directory / "server.log").open("wb")
    # Arguments: configuration, port, SCAL (2: every SAD is bound to its hashes).
    process = subprocess.Popen(
        [sys.executable, "-m", "csc_dummy", str(config), str(port), "2"],
        cwd=directory,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(port, process)
        yield f"http://localhost:{port}/csc/v1"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _adapter(url: str, opened: list[SigningAdapter], **options: object) -> CscAdapter:
    adapter = CscAdapter(base_url=url, version="v1", **options)  # type: ignore[arg-type]
    opened.append(adapter)
    return adapter


CASES = [
    (RSA_CREDENTIAL, (SignatureAlgorithm.RSA_PKCS1_SHA256,), SignatureAlgorithm.RSA_PKCS1_SHA256),
    (RSA_CREDENTIAL, (SignatureAlgorithm.RSA_PSS_SHA256,), SignatureAlgorithm.RSA_PSS_SHA256),
    (EC_CREDENTIAL, algorithms.PREFERENCE, SignatureAlgorithm.ECDSA_SHA256),
]


@pytest.mark.parametrize(("credential_id", "preference", "expected"), CASES)
async def test_signs_through_the_foreign_server(
    foreign_csc: str,
    opened: list[SigningAdapter],
    credential_id: str,
    preference: tuple[SignatureAlgorithm, ...],
    expected: SignatureAlgorithm,
) -> None:
    # A PIN configured for an implicit credential is never sent.
    adapter = _adapter(
        foreign_csc, opened, sign_algorithms=preference, pins={credential_id: "123456"}
    )
    assert await adapter.service_auth() == "external"

    listed = {c.credential_id: c for c in await adapter.list_credentials(USER_ID)}
    credential = listed[credential_id]
    assert credential.signature_algorithm is expected
    assert credential.chain and credential.chain[-1].subject == credential.chain[-1].issuer
    batch = support.digests(3)
    transaction = await adapter.sign_hashes(credential, batch, ["HK1", "HK2", "Cả năm"])
    result = await adapter.poll(support.stored(transaction))

    assert result.state is TransactionState.SIGNED
    public_key = credential.certificate.public_key()
    for signature, digest in zip(result.signatures, batch, strict=True):
        assert algorithms.verifies(expected, public_key, signature, digest)


async def test_health_is_up_with_what_it_lists(
    foreign_csc: str, opened: list[SigningAdapter]
) -> None:
    health = await _adapter(foreign_csc, opened).health()

    assert health.status is HealthStatus.UP, health.last_error


async def test_basic_is_not_offered(foreign_csc: str, opened: list[SigningAdapter]) -> None:
    adapter = _adapter(foreign_csc, opened, auth="basic", account=CscAccount("hub", "x"))

    await support.refused(
        adapter.list_credentials(USER_ID), Code.PROVIDER_AUTH_NOT_OFFERED, SigningProvider.CSC
    )


async def test_its_auth_login_is_missing_not_a_bad_password(foreign_csc: str) -> None:
    """What the adapter used to call first: a 404 without the spec's body."""
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{foreign_csc}/auth/login", json={})
    error = signing_error(SigningProvider.CSC, response, login=True)
    assert response.status_code == 404
    assert error.problem.code is Code.PROVIDER_FAILURE


async def test_an_unknown_credential(foreign_csc: str, opened: list[SigningAdapter]) -> None:
    """It answers a bare 404 for a method it lists: the credential does not exist."""
    adapter = _adapter(foreign_csc, opened)

    await support.refused(
        adapter.credential(USER_ID, "hub/nobody"), Code.CREDENTIAL_NOT_FOUND, SigningProvider.CSC
    )


def test_the_foreign_server_is_installed() -> None:
    """It comes from the dev extra; a missing one fails here rather than skipping."""
    assert Path(__import__("csc_dummy").__file__).exists()


@pytest.mark.parametrize(
    ("credential_id", "preference"),
    [
        (EC_CREDENTIAL, algorithms.PREFERENCE),
        (RSA_CREDENTIAL, (SignatureAlgorithm.RSA_PSS_SHA256,)),
    ],
)
async def test_a_transcript_signed_through_it_reads_back_intact(
    foreign_csc: str,
    opened: list[SigningAdapter],
    credential_id: str,
    preference: tuple[SignatureAlgorithm, ...],
) -> None:
    """XAdES and PAdES prepared for the credential's algorithm, signed by the foreign
    server under one authorisation, finished and read back by the hub's readers."""
    adapter = _adapter(foreign_csc, opened, sign_algorithms=preference)
    credential = await adapter.credential(USER_ID, credential_id)
    transcript = samples.secondary(3)
    role = SIGNING_ORDER[0]
    xml = prepare_xml(
        build_xml(transcript),
        role=role,
        certificate=credential.certificate,
        chain=credential.chain,
        algorithm=credential.signature_algorithm,
    )
    pdf = await prepare_pdf(
        render_pdf(transcript),
        role=role,
        certificate=credential.certificate,
        chain=credential.chain,
        algorithm=credential.signature_algorithm,
    )

    transaction = await adapter.sign_hashes(credential, [xml.digest, pdf.digest], ["XML", "PDF"])
    result = await adapter.poll(transaction)

    signed_xml = await finish_xml(xml, result.signatures[0])
    signed_pdf = await finish_pdf(pdf, result.signatures[1])
    [read_xml], problems = read_xml_signatures(signed_xml)
    assert problems == [] and read_xml.problem is None
    [read_pdf], problems = await read_pdf_signatures(signed_pdf)
    assert problems == [] and read_pdf.intact and read_pdf.problem is None
