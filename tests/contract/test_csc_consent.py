"""A CSC credential authorised by its signer (``oauth2code``, v1.0.4 §8.3, v2 §8.4),
against the CSC simulator over real HTTP: the adapter's transaction waits for the
signer, the signer approves on the server's page in a browser (httpx), the browser
comes back to the hub's registered redirect URI with a code, and the poll that
carries it signs. A wrong, replayed or expired code, a refusal at the page and a
redirect URI the server does not know are each refused as a real server would."""

import dataclasses
import os
import re
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from hub.adapters.signing.base import (
    SigningAdapter,
    Transaction,
    TransactionState,
    with_redirect_uri,
)
from hub.adapters.signing.csc import CscAdapter, OAuthClient
from hub.adapters.signing.csc.protocol import Version, b64
from hub.adapters.signing.csc.simulator import KeySettings, create_server
from hub.adapters.signing.pki import DemoPKI
from hub.adapters.signing.simulator import SimulatorServer
from hub.domain.problems import Code
from hub.signing import algorithms
from tests import signing_support as support

CLIENT = OAuthClient("hub-client", "client-secret")
#: The hub's callback, as registered for its client at the server.
REDIRECT = "https://hub.example.vn/sign/authorized"

opened = support.opened


@pytest.fixture(scope="module")
def served(pki: DemoPKI) -> Iterator[tuple[object, str]]:
    """A CSC server (external service authorization) with the hub's client registered."""
    csc = create_server(
        pki, auth_types=("external",), oauth_clients={CLIENT.client_id: CLIENT.client_secret}
    )
    csc.back_office.redirect_uris[CLIENT.client_id] = {REDIRECT}
    with SimulatorServer(csc.app) as http:
        yield csc, http.url


_users = iter(range(1000, 9999))


async def waiting(
    served: tuple[object, str], opened: list[SigningAdapter], version: Version, count: int = 2
) -> tuple[CscAdapter, Transaction, list[bytes]]:
    """A fresh signer's oauth2code credential and the transaction waiting for them."""
    csc, url = served
    user = f"07920{version[-1]}{next(_users):06d}"
    csc.back_office.enrol_key(  # type: ignore[attr-defined]
        user, full_name="Nguyễn Thị Lan", settings=KeySettings(auth_mode="oauth2code", pin=False)
    )
    adapter = CscAdapter(base_url=f"{url}/csc/{version}", version=version, client=CLIENT)
    opened.append(adapter)
    [credential] = await adapter.list_credentials(user)
    batch = support.digests(count)
    transaction = await adapter.sign_hashes(credential, batch, ["HK1"] * count)
    return adapter, transaction, batch


async def consent(transaction: Transaction, decision: str = "approve") -> dict[str, str]:
    """The signer's browser: the server's page, the button, and where it is sent back."""
    url = with_redirect_uri(transaction.data["authorize_url"], REDIRECT)
    async with httpx.AsyncClient() as browser:
        page = await browser.get(url)
        assert page.status_code == 200 and "Đồng ý" in page.text
        ticket = re.search(r'name="ticket" value="([^"]+)"', page.text)
        assert ticket is not None
        back = await browser.post(
            url.split("?")[0], data={"ticket": ticket[1], "decision": decision}
        )
    assert back.status_code == 302
    location = back.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return dict(parse_qsl(urlsplit(location).query))


def with_code(transaction: Transaction, code: str) -> Transaction:
    data = {**transaction.data, "oauth2_code": code, "redirect_uri": REDIRECT}
    return dataclasses.replace(transaction, data=data)


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_the_signer_approves_at_the_provider_and_the_code_signs(
    served: tuple[object, str], opened: list[SigningAdapter], version: Version
) -> None:
    adapter, transaction, batch = await waiting(served, opened, version)
    assert transaction.data["awaiting"] == "oauth2code"
    assert "redirect_uri" not in transaction.data["authorize_url"]
    query = dict(parse_qsl(urlsplit(transaction.data["authorize_url"]).query))
    assert query["scope"] == "credential" and query["numSignatures"] == "2"
    assert (await adapter.poll(transaction)).state is TransactionState.PENDING

    back = await consent(transaction)
    assert back["state"] == transaction.data["state"]
    result = await adapter.poll(with_code(transaction, back["code"]))

    assert result.state is TransactionState.SIGNED, result.error
    [credential] = await adapter.list_credentials(transaction.data["user_id"])
    public_key = credential.certificate.public_key()
    for signature, digest in zip(result.signatures, batch, strict=True):
        assert algorithms.verifies(credential.signature_algorithm, public_key, signature, digest)
    replayed = await adapter.poll(with_code(transaction, back["code"]))
    assert replayed.state is TransactionState.FAILED
    assert replayed.error is not None
    assert replayed.error.problem.code is Code.SIGNER_AUTHORIZATION_REFUSED


async def test_a_wrong_or_expired_code_is_refused(
    served: tuple[object, str], opened: list[SigningAdapter]
) -> None:
    adapter, transaction, _ = await waiting(served, opened, "v2")
    wrong = await adapter.poll(with_code(transaction, "not-a-code"))
    assert wrong.state is TransactionState.FAILED and wrong.error is not None
    assert wrong.error.problem.code is Code.SIGNER_AUTHORIZATION_REFUSED

    adapter, transaction, _ = await waiting(served, opened, "v2")
    code = (await consent(transaction))["code"]
    service = served[0].service  # type: ignore[attr-defined]
    service.codes[code] = dataclasses.replace(service.codes[code], expires=0.0)
    expired = await adapter.poll(with_code(transaction, code))
    assert expired.error is not None
    assert expired.error.problem.code is Code.SIGNER_AUTHORIZATION_REFUSED


async def test_the_signer_saying_no_ends_it_as_rejected(
    served: tuple[object, str], opened: list[SigningAdapter]
) -> None:
    adapter, transaction, _ = await waiting(served, opened, "v1")
    back = await consent(transaction, decision="deny")
    assert back["error"] == "access_denied" and back["state"] == transaction.data["state"]
    data = {**transaction.data, "oauth2_error": back["error"]}
    result = await adapter.poll(dataclasses.replace(transaction, data=data))
    assert result.state is TransactionState.REJECTED


async def test_the_token_signs_only_those_hashes_and_once(
    served: tuple[object, str], opened: list[SigningAdapter]
) -> None:
    """What the signer consented to, exactly: the server binds the token to the hashes."""
    _, transaction, batch = await waiting(served, opened, "v2")
    code = (await consent(transaction))["code"]
    url = transaction.data["authorize_url"].split("/oauth2/")[0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": CLIENT.client_id,
        "client_secret": CLIENT.client_secret,
    }
    async with httpx.AsyncClient() as hub:
        token = (await hub.post(f"{url}/oauth2/token", data=form)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        body = {
            "credentialID": transaction.credential_id,
            "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1",
            "signAlgo": "1.2.840.113549.1.1.1",
        }
        other = await hub.post(
            f"{url}/signatures/signHash",
            json=body | {"hashes": [b64(os.urandom(32)) for _ in batch]},
            headers=headers,
        )
        assert other.status_code == 400, other.text
        right = body | {"hashes": [b64(d) for d in batch]}
        signed = await hub.post(f"{url}/signatures/signHash", json=right, headers=headers)
        assert signed.status_code == 200 and len(signed.json()["signatures"]) == 2
        again = await hub.post(f"{url}/signatures/signHash", json=right, headers=headers)
        assert again.status_code in (400, 401)


async def test_an_unregistered_redirect_uri_is_never_followed(
    served: tuple[object, str], opened: list[SigningAdapter]
) -> None:
    _, transaction, _ = await waiting(served, opened, "v2")
    elsewhere = with_redirect_uri(transaction.data["authorize_url"], "https://evil.example/cb")
    async with httpx.AsyncClient() as browser:
        page = await browser.get(elsewhere)
    assert page.status_code == 400 and "location" not in page.headers


def test_hub_demo_registers_its_own_callback_with_the_demo_csc_server(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``hub demo`` (hub.cli.demo) lets the demo CSC server send signers back to it."""
    from hub.adapters.signing.csc.simulator import HUB_CLIENT
    from hub.demo.signing import start_demo_signing
    from hub.domain.enums import SigningProvider
    from hub.signing.service import authorization_callback

    suite = start_demo_signing(tmp_path / "signing")
    try:
        suite.accept_hub_callback("http://127.0.0.1:8000")
        registered = suite.back_offices[SigningProvider.CSC].redirect_uris  # type: ignore[attr-defined]
        assert registered[HUB_CLIENT.client_id] == {authorization_callback("http://127.0.0.1:8000")}
    finally:
        for server in suite.servers.values():
            server.stop()
