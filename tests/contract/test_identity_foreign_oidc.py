"""The hub's OpenID adapter against an OpenID provider the hub's authors did not write:
panva's node-oidc-provider (OpenID Certified), run by ``tests/foreign/oidc-provider``
(started by :mod:`tests.foreign_oidc`).

The provider runs as ``node server.mjs`` on loopback with one client (the hub) and two
accounts. The browser's part — the provider's own login and consent forms — is played
by httpx, which keeps the provider's cookies, fills in the forms and follows the
redirects until the provider sends the browser back to the hub.

Node and the npm packages are required: CI installs them (``npm ci --prefix
tests/foreign/oidc-provider``); without them these tests fail, never skip.
"""

import base64
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import date
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from hub.adapters.identity.base import Identity, IdentityError, Start
from hub.adapters.identity.oidc import OIDCProvider
from hub.domain.problems import Code
from tests.foreign_oidc import SCOPE, Foreign, foreign_provider
from tests.foreign_oidc import sign_in_at_provider as browse

REDIRECT = "http://127.0.0.1:8000/auth/callback"
RETURN_TO = "http://127.0.0.1:8000/"
CLIENT_ID = "hub-so-gddt"
#: accountId → the claims node-oidc-provider holds for it.
ACCOUNTS = {
    "teacher-1": {"personal_id": "001085012345", "name": "Đỗ Thu Hà", "birthdate": "1985-03-14"},
    "parent-7": {
        "personal_id": "079190054321",
        "family_name": "Trần",
        "given_name": "Bình",
        "birthdate": "1990-11-02",
    },
}


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Foreign]:
    with foreign_provider(
        client_id=CLIENT_ID,
        redirect_uris=[REDIRECT],
        post_logout_redirect_uris=[RETURN_TO],
        accounts=ACCOUNTS,
        log_dir=tmp_path_factory.mktemp("oidc-provider"),
    ) as started:
        yield started


@pytest.fixture
async def adapter(foreign: Foreign) -> AsyncIterator[OIDCProvider]:
    connected = OIDCProvider(
        issuer=foreign.issuer,
        client_id=CLIENT_ID,
        client_secret=foreign.client_secret,
        personal_id_claim="personal_id",
        scope=SCOPE,
        timeout=5.0,
    )
    yield connected
    await connected.aclose()


async def sign_in_at_provider(start: Start, account: str) -> str:
    """The person at node-oidc-provider's own pages: the callback's raw query string."""
    return urlsplit(await browse(start.url, account, REDIRECT)).query


async def signed_in(adapter: OIDCProvider, account: str) -> tuple[Identity, str, Start]:
    start = await adapter.start(REDIRECT)
    query = await sign_in_at_provider(start, account)
    return await adapter.finish(query, start.pending), query, start


async def test_sign_in(adapter: OIDCProvider) -> None:
    identity, _, _ = await signed_in(adapter, "teacher-1")

    assert identity.provider == "oidc"
    assert identity.subject == "teacher-1"
    assert identity.personal_id == "001085012345"
    assert identity.full_name == "Đỗ Thu Hà"
    assert identity.birth_date == date(1985, 3, 14)
    assert identity.logout_hint is not None
    # The provider's ID token carries no profile claims: the personal ID came from userinfo.
    payload = identity.logout_hint.split(".")[1]
    assert "personal_id" not in json.loads(base64.urlsafe_b64decode(payload + "=="))


async def test_sign_in_with_the_name_in_parts(adapter: OIDCProvider) -> None:
    identity, _, _ = await signed_in(adapter, "parent-7")

    assert (identity.personal_id, identity.full_name) == ("079190054321", "Trần Bình")
    assert identity.birth_date == date(1990, 11, 2)


async def test_a_replayed_code_is_refused(adapter: OIDCProvider) -> None:
    _, query, start = await signed_in(adapter, "teacher-1")

    with pytest.raises(IdentityError) as caught:
        await adapter.finish(query, start.pending)
    assert caught.value.code is Code.IDENTITY_ANSWER_INVALID
    assert "invalid_grant" in caught.value.detail


async def test_a_nonce_of_another_sign_in_is_refused(adapter: OIDCProvider) -> None:
    start = await adapter.start(REDIRECT)
    query = await sign_in_at_provider(start, "teacher-1")
    other = (await adapter.start(REDIRECT)).pending

    with pytest.raises(IdentityError) as caught:
        await adapter.finish(query, replace(start.pending, nonce=other.nonce))
    assert caught.value.code is Code.IDENTITY_ANSWER_INVALID
    assert "nonce" in caught.value.detail


async def test_a_tampered_state_is_refused(adapter: OIDCProvider) -> None:
    start = await adapter.start(REDIRECT)
    query = await sign_in_at_provider(start, "teacher-1")

    with pytest.raises(IdentityError) as caught:
        await adapter.finish(query.replace("state=", "state=x"), start.pending)
    assert caught.value.code is Code.LOGIN_EXPIRED


async def test_logout_url(foreign: Foreign, adapter: OIDCProvider) -> None:
    identity, _, _ = await signed_in(adapter, "teacher-1")

    url = await adapter.logout_url(identity.logout_hint, RETURN_TO)

    assert url is not None and url.startswith(foreign.issuer + "/session/end?")
    asked = parse_qs(urlsplit(url).query)
    assert asked["id_token_hint"] == [identity.logout_hint]
    assert asked["post_logout_redirect_uri"] == [RETURN_TO]
    async with httpx.AsyncClient() as browser:
        page = await browser.get(url)
    assert page.status_code == 200  # the provider asks the person to confirm
