"""The CSC adapter with every authorization mode and key algorithm, against the CSC
simulator over real HTTP: service authorization (external, basic, oauth2client,
oauth2code), credential authorization (implicit, explicit PIN/OTP, oauth2code) and
keys signing RSA PKCS#1 v1.5, RSASSA-PSS and ECDSA."""

import base64
import dataclasses
import ipaddress
import ssl
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hub.adapters.signing.base import (
    Credential,
    HealthStatus,
    SigningAdapter,
    TransactionResult,
    TransactionState,
)
from hub.adapters.signing.csc import CscAccount, CscAdapter, OAuthClient, OAuthTokens
from hub.adapters.signing.csc.adapter import from_config
from hub.adapters.signing.csc.protocol import OperationMode, ServiceAuth, Version, totp
from hub.adapters.signing.csc.simulator import (
    CscServer,
    KeySettings,
    TlsSimulatorServer,
    create_server,
)
from hub.adapters.signing.pki import DemoPKI
from hub.adapters.signing.simulator import SimulatorServer
from hub.domain.enums import SigningProvider
from hub.domain.problems import Code
from hub.signing import algorithms
from hub.signing.algorithms import SignatureAlgorithm
from tests import signing_support as support

SERVICE = CscAccount("hub", "hub-secret")
CLIENT = OAuthClient("hub-client", "client-secret")
USER_ID = "079203001234"
USER_PASSWORD = "lan-2024"
PIN = "123456"
TOTP_SECRET = "JBSWY3DPEHPK3PXP"

opened = support.opened


def refused(call: object, code: Code) -> object:
    return support.refused(call, code, SigningProvider.CSC)  # type: ignore[arg-type]


@dataclass
class Served:
    csc: CscServer
    http: SimulatorServer
    #: PEM files of the TLS server's certificates and keys, by name.
    files: dict[str, str] = dataclasses.field(default_factory=dict)

    def url(self, version: Version = "v2") -> str:
        return f"{self.http.url}/csc/{version}"


def serve(pki: DemoPKI, auth_types: Sequence[ServiceAuth]) -> Iterator[Served]:
    csc = create_server(
        pki,
        auth_types=auth_types,
        service_accounts={SERVICE.username: SERVICE.password},
        oauth_clients={CLIENT.client_id: CLIENT.client_secret},
        max_batch=5,
    )
    with SimulatorServer(csc.app) as http:
        yield Served(csc, http)


@pytest.fixture(scope="module")
def every_auth(pki: DemoPKI) -> Iterator[Served]:
    """A server offering every service authorization but TLS."""
    yield from serve(pki, ("external", "basic", "oauth2client", "oauth2code"))


@pytest.fixture(scope="module")
def external_only(pki: DemoPKI) -> Iterator[Served]:
    """A server whose authorization is arranged outside the API, like many test servers."""
    yield from serve(pki, ("external",))


MakeAdapter = Callable[..., CscAdapter]


@pytest.fixture
def make_adapter(opened: list[SigningAdapter]) -> MakeAdapter:
    def make(served: Served, version: Version = "v2", **options: object) -> CscAdapter:
        adapter = CscAdapter(base_url=served.url(version), version=version, **options)  # type: ignore[arg-type]
        opened.append(adapter)
        return adapter

    return make


def verified(credential: Credential, result: TransactionResult, sent: list[bytes]) -> None:
    """Every digest signed by the credential's key with the credential's algorithm."""
    assert result.state is TransactionState.SIGNED, result.error
    assert len(result.signatures) == len(sent)
    public_key = credential.certificate.public_key()
    for signature, digest in zip(result.signatures, sent, strict=True):
        assert algorithms.verifies(credential.signature_algorithm, public_key, signature, digest)


async def sign(adapter: CscAdapter, user_id: str = USER_ID, count: int = 2) -> None:
    [credential] = await adapter.list_credentials(user_id)
    batch = support.digests(count)
    transaction = await adapter.sign_hashes(credential, batch, [f"HK{n}" for n in range(count)])
    verified(credential, await support.settle(adapter, transaction), batch)


def enrol(served: Served, user_id: str = USER_ID, **settings: object) -> str:
    key = settings.pop("key", "rsa")
    credential = served.csc.back_office.enrol_key(
        user_id,
        full_name="Nguyễn Thị Lan",
        password=USER_PASSWORD,
        key=key,  # type: ignore[arg-type]
        settings=KeySettings(**settings),  # type: ignore[arg-type]
    )
    return credential.credential_id


# --- service authorization --------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_external_sends_no_token_and_names_the_user(
    external_only: Served, make_adapter: MakeAdapter, version: Version
) -> None:
    user = f"0792030{version[-1]}0001"
    credential_id = enrol(external_only, user)
    adapter = make_adapter(external_only, version, pins={credential_id: PIN})

    assert await adapter.service_auth() == "external"
    await sign(adapter, user)


async def test_basic_with_the_signers_own_account_leaves_out_user_id(
    every_auth: Served, make_adapter: MakeAdapter
) -> None:
    """The simulator refuses userID with a user's own token, as the spec forbids it."""
    user = "079203000002"
    credential_id = enrol(every_auth, user)
    adapter = make_adapter(
        every_auth, auth="basic", account=CscAccount(user, USER_PASSWORD), pins={credential_id: PIN}
    )

    await sign(adapter, user)

    named = make_adapter(
        every_auth,
        auth="basic",
        account=CscAccount(user, USER_PASSWORD),
        acts_for_users=True,
        pins={credential_id: PIN},
    )
    await refused(named.list_credentials(user), Code.SIGNING_FAILED)


async def test_oauth2client_is_a_service_for_every_user(
    every_auth: Served, make_adapter: MakeAdapter
) -> None:
    user = "079203000003"
    credential_id = enrol(every_auth, user)
    adapter = make_adapter(
        every_auth, auth="oauth2client", client=CLIENT, pins={credential_id: PIN}
    )

    await sign(adapter, user)

    wrong = make_adapter(
        every_auth, auth="oauth2client", client=OAuthClient(CLIENT.client_id, "x"), pins={}
    )
    await refused(wrong.list_credentials(user), Code.PROVIDER_BAD_CREDENTIALS)


async def test_oauth2code_uses_the_stored_token_and_refreshes_it(
    every_auth: Served, make_adapter: MakeAdapter
) -> None:
    user = "079203000004"
    credential_id = enrol(every_auth, user)
    access, refresh = every_auth.csc.service.grant_user_tokens(user)
    adapter = make_adapter(
        every_auth,
        auth="oauth2code",
        tokens=OAuthTokens(access, refresh),
        client=CLIENT,
        pins={credential_id: PIN},
    )
    await sign(adapter, user)

    every_auth.csc.service.tokens.clear()  # the access token lapses

    await sign(adapter, user)  # renewed with the refresh token
    every_auth.csc.service.tokens.clear()
    await sign(adapter, user)  # and with the rotated one


async def test_the_configured_choice_wins_when_offered(
    every_auth: Served, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter(
        every_auth, auth=["oauth2client", "basic"], client=CLIENT, account=SERVICE, pins={}
    )
    assert await adapter.service_auth() == "oauth2client"
    automatic = make_adapter(every_auth, account=SERVICE, acts_for_users=True, pins={})
    assert await automatic.service_auth() == "basic"


async def test_nothing_offered_is_configured(
    external_only: Served, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter(external_only, auth="basic", account=SERVICE, pins={})

    error = await refused(adapter.list_credentials(USER_ID), Code.PROVIDER_AUTH_NOT_OFFERED)

    assert "offered external" in str(error.detail)  # type: ignore[attr-defined]
    health = await adapter.health()
    assert health.status is HealthStatus.DEGRADED
    assert "offered external" in (health.last_error or "")


async def test_health_checks_the_methods_the_hub_needs(
    every_auth: Served, external_only: Served, make_adapter: MakeAdapter
) -> None:
    assert (await make_adapter(every_auth, account=SERVICE).health()).status is HealthStatus.UP
    asynchronous = make_adapter(external_only, operation_mode="A")
    assert (await asynchronous.health()).status is HealthStatus.UP
    # v1 lists no signPolling; an adapter configured for it would never get a result.
    v1 = make_adapter(external_only, "v1")
    object.__setattr__(v1, "operation_mode", "A")
    health = await v1.health()
    assert health.status is HealthStatus.DEGRADED
    assert "signatures/signPolling" in (health.last_error or "")


# --- credential authorization ---------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_implicit_sends_no_pin_even_when_one_is_configured(
    external_only: Served, make_adapter: MakeAdapter, version: Version
) -> None:
    user = f"0792031{version[-1]}0001"
    credential_id = enrol(external_only, user, auth_mode="implicit", pin=False)
    # The simulator refuses a PIN for a credential that has none.
    adapter = make_adapter(external_only, version, pins={credential_id: PIN})

    await sign(adapter, user)


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_explicit_pin_and_online_otp(
    external_only: Served, make_adapter: MakeAdapter, version: Version
) -> None:
    user = f"0792032{version[-1]}0001"
    credential_id = enrol(external_only, user, otp="online")
    asked: list[str] = []

    async def otps(credential: str) -> str | None:
        asked.append(credential)
        return external_only.csc.back_office.otps_sent.get(credential)  # the signer's SMS

    adapter = make_adapter(external_only, version, pins={credential_id: PIN}, otps=otps)
    await sign(adapter, user)
    assert asked == [credential_id]


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_an_online_otp_the_signer_types_signs_on_the_poll_that_carries_it(
    external_only: Served, make_adapter: MakeAdapter, version: Version
) -> None:
    """No configured source: the OTP is sent, the transaction waits for the signer to
    type it (the signing page, completeTranscriptSignatures(otp:)); a wrong one ends it."""
    user = f"0792034{version[-1]}0001"
    credential_id = enrol(external_only, user, otp="online")
    adapter = make_adapter(external_only, version, pins={credential_id: PIN})
    [credential] = await adapter.list_credentials(user)
    batch = support.digests(2)
    waiting = await adapter.sign_hashes(credential, batch, ["HK1", "HK2"])
    assert waiting.data["awaiting"] == "otp"
    assert (await adapter.poll(waiting)).state is TransactionState.PENDING
    sms = external_only.csc.back_office.otps_sent[credential_id]
    typed = dataclasses.replace(waiting, data={**waiting.data, "otp": sms})
    result = await adapter.poll(typed)
    assert result.state is TransactionState.SIGNED
    verified(credential, result, batch)

    again = await adapter.sign_hashes(credential, batch, [])
    wrong = "000000" if external_only.csc.back_office.otps_sent[credential_id] != "000000" else "1"
    refused_otp = await adapter.poll(dataclasses.replace(again, data={**again.data, "otp": wrong}))
    assert refused_otp.state is TransactionState.FAILED
    assert refused_otp.error is not None


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_offline_otp_from_the_configured_totp_secret(
    external_only: Served, make_adapter: MakeAdapter, version: Version
) -> None:
    user = f"0792033{version[-1]}0001"
    credential_id = enrol(external_only, user, pin=False, otp="offline", totp_secret=TOTP_SECRET)
    adapter = from_config(
        {
            "url": external_only.url(version),
            "version": version,
            "totp_secrets": {credential_id: TOTP_SECRET},
            "pins": {credential_id: PIN},  # not asked for: never sent
        }
    )
    try:
        await sign(adapter, user)
    finally:
        await adapter.aclose()


async def test_rfc_6238_test_vector() -> None:
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp(secret, 59, digits=8) == "94287082"


async def test_a_missing_pin_is_named_before_anything_is_sent(
    external_only: Served, make_adapter: MakeAdapter
) -> None:
    user = "079203400001"
    enrol(external_only, user)
    adapter = make_adapter(external_only, pins={})
    [credential] = await adapter.list_credentials(user)

    error = await refused(
        adapter.sign_hashes(credential, support.digests(1), []),
        Code.CREDENTIAL_AUTHORIZATION_MISSING,
    )
    assert "PIN" in error.problem.message  # type: ignore[attr-defined]


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_oauth2code_credential_token(
    external_only: Served, make_adapter: MakeAdapter, version: Version
) -> None:
    user = f"0792035{version[-1]}0001"
    credential_id = enrol(external_only, user, auth_mode="oauth2code", pin=False)
    token = external_only.csc.service.grant_credential_token(credential_id)
    adapter = make_adapter(external_only, version, credential_tokens={credential_id: token})

    await sign(adapter, user)

    without = make_adapter(external_only, version)
    [credential] = await without.list_credentials(user)
    await refused(
        without.sign_hashes(credential, support.digests(1), []),
        Code.CREDENTIAL_AUTHORIZATION_MISSING,
    )


# --- key algorithms -------------------------------------------------------------------

KEYS: list[tuple[str, tuple[SignatureAlgorithm, ...], SignatureAlgorithm, bool]] = [
    ("rsa", (SignatureAlgorithm.RSA_PSS_SHA256,), SignatureAlgorithm.RSA_PSS_SHA256, False),
    ("ec", (SignatureAlgorithm.ECDSA_SHA256,), SignatureAlgorithm.ECDSA_SHA256, False),
    ("ec", (SignatureAlgorithm.ECDSA_SHA256,), SignatureAlgorithm.ECDSA_SHA256, True),
    (
        "rsa",
        (SignatureAlgorithm.RSA_PSS_SHA256, SignatureAlgorithm.RSA_PKCS1_SHA256),
        SignatureAlgorithm.RSA_PKCS1_SHA256,
        False,
    ),
]


@pytest.mark.parametrize(("key", "offered", "expected", "ecdsa_raw"), KEYS)
@pytest.mark.parametrize(("version", "operation_mode"), [("v1", "S"), ("v2", "S"), ("v2", "A")])
async def test_sign_algo_follows_the_key(
    external_only: Served,
    make_adapter: MakeAdapter,
    key: str,
    offered: tuple[SignatureAlgorithm, ...],
    expected: SignatureAlgorithm,
    ecdsa_raw: bool,
    version: Version,
    operation_mode: OperationMode,
) -> None:
    user = f"07920{len(KEYS)}{KEYS.index((key, offered, expected, ecdsa_raw))}{version[-1]}"
    user += f"{operation_mode}".replace("S", "10001").replace("A", "20001")
    enrol(external_only, user, key=key, algorithms=offered, pin=False, ecdsa_raw=ecdsa_raw)
    external_only.csc.back_office.phone.confirm_delay = 0.1
    adapter = make_adapter(external_only, version, operation_mode=operation_mode)

    [credential] = await adapter.list_credentials(user)
    assert credential.signature_algorithm is expected
    await sign(adapter, user)


async def test_a_key_offering_nothing_the_hub_signs_with(
    external_only: Served, make_adapter: MakeAdapter
) -> None:
    user = "079203600001"
    enrol(external_only, user, algorithms=(SignatureAlgorithm.RSA_PSS_SHA256,), pin=False)
    adapter = make_adapter(external_only, sign_algorithms=(SignatureAlgorithm.RSA_PKCS1_SHA256,))

    await refused(adapter.list_credentials(user), Code.SIGNATURE_ALGORITHM_UNSUPPORTED)


# --- TLS: a client certificate on the connection ---------------------------------------


def _tls_files(directory: Path) -> dict[str, str]:
    """A CA, the server's certificate for 127.0.0.1 and the hub's client certificate."""
    now = datetime.now(UTC)

    def certificate(
        name: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, signer: object, **kind: bool
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=kind.get("ca", False), path_length=None), True)
        )
        if kind.get("server"):
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                False,
            )
        return builder.sign(signer, hashes.SHA256())  # type: ignore[arg-type]

    ca_key, server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CSC TLS test CA")])
    ca = certificate("CSC TLS test CA", ca_key, ca_name, ca_key, ca=True)
    files = {
        "ca": ca,
        "server": certificate("127.0.0.1", server_key, ca_name, ca_key, server=True),
        "client": certificate("hub", client_key, ca_name, ca_key),
    }
    keys = {"server": server_key, "client": client_key}
    paths: dict[str, str] = {}
    for name, cert in files.items():
        path = directory / f"{name}.pem"
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        paths[name] = str(path)
    for name, key in keys.items():
        path = directory / f"{name}.key"
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        paths[f"{name}_key"] = str(path)
    return paths


@pytest.fixture(scope="module")
def tls_only(pki: DemoPKI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    files = _tls_files(tmp_path_factory.mktemp("csc-tls"))
    csc = create_server(pki, auth_types=("TLS",), max_batch=5)
    server = TlsSimulatorServer(
        csc.app, certificate=files["server"], key=files["server_key"], client_ca=files["ca"]
    )
    with server:
        yield Served(csc, server, files)


async def test_tls_client_certificate(tls_only: Served, opened: list[SigningAdapter]) -> None:
    files = tls_only.files
    user = "079203700001"
    credential_id = enrol(tls_only, user)
    adapter = from_config(
        {
            "url": tls_only.url(),
            "auth": "TLS",
            "client_certificate": files["client"],
            "client_key": files["client_key"],
            "ca_file": files["ca"],
            "acts_for_users": True,
            "pins": {credential_id: PIN},
        }
    )
    opened.append(adapter)
    assert (await adapter.health()).status is HealthStatus.UP
    await sign(adapter, user)

    # Without the client certificate the handshake fails: nothing reaches the API.
    anonymous = CscAdapter(
        base_url=tls_only.url(),
        transport=httpx.AsyncHTTPTransport(verify=ssl.create_default_context(cafile=files["ca"])),
    )
    opened.append(anonymous)
    await refused(anonymous.list_credentials(user), Code.PROVIDER_UNAVAILABLE)
