"""A standard OpenID provider: the hub's adapter against the simulator, over real HTTP.

The browser's part of a sign-in (following the provider's redirect back to the hub) is
played by httpx; the adapter does the rest as in production: discovery, the token
request with the PKCE verifier, the ID token checked against the JWKS, userinfo.
"""

import base64
import hashlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import date
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import lxml.html
import pytest

from hub.adapters.identity.base import IdentityError, Start
from hub.adapters.identity.oidc import OIDCProvider, from_settings
from hub.adapters.identity.oidc.simulator import Simulation, simulate
from hub.config import Settings
from hub.domain.problems import Code

REDIRECT = "http://127.0.0.1:8000/auth/callback"
RETURN_TO = "http://127.0.0.1:8000/"
TEACHER = ("001085012345", "Đỗ Thu Hà", date(1985, 3, 14))
PARENT = ("079190054321", "Trần Văn Bình", date(1990, 11, 2))
NO_PERSONAL_ID = ("12345", "Người Thiếu Số", date(2000, 1, 1))


@pytest.fixture(scope="module")
def provider() -> Iterator[Simulation]:
    started = simulate(redirect_uris=(REDIRECT,))
    for user in (TEACHER, PARENT, NO_PERSONAL_ID):
        started.add_user(*user)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(autouse=True)
def no_faults(provider: Simulation) -> Iterator[None]:
    yield
    provider.set_faults()
    provider.start()


@pytest.fixture
async def adapter(provider: Simulation) -> AsyncIterator[OIDCProvider]:
    connected = provider.connect(timeout=5.0)
    yield connected
    await connected.aclose()


async def browse(start: Start) -> str:
    """The browser at the provider: the callback's raw query string it comes back with."""
    async with httpx.AsyncClient() as browser:
        response = await browser.get(start.url)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return urlsplit(location).query


async def callback(
    provider: Simulation, adapter: OIDCProvider, user: tuple[str, ...]
) -> tuple[str, Start]:
    provider.next_login(user[0])
    start = await adapter.start(REDIRECT)
    return await browse(start), start


async def refused(code: Code, adapter: OIDCProvider, query: str, start: Start) -> IdentityError:
    with pytest.raises(IdentityError) as caught:
        await adapter.finish(query, start.pending)
    assert caught.value.code is code, caught.value.detail
    return caught.value


def s256(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


# --- signing in ----------------------------------------------------------------------------


async def test_sign_in(provider: Simulation, adapter: OIDCProvider) -> None:
    query, start = await callback(provider, adapter, TEACHER)

    identity = await adapter.finish(query, start.pending)

    assert identity.provider == "oidc"
    assert identity.subject == provider.simulator.users[TEACHER[0]].subject != TEACHER[0]
    assert (identity.personal_id, identity.full_name, identity.birth_date) == TEACHER
    assert identity.account_level is None
    assert identity.logout_hint is not None and identity.logout_hint.count(".") == 2


async def test_pkce_nonce_and_state_are_sent(provider: Simulation, adapter: OIDCProvider) -> None:
    query, start = await callback(provider, adapter, PARENT)
    await adapter.finish(query, start.pending)

    pending = start.pending
    assert pending.nonce and pending.code_verifier and len(pending.code_verifier) >= 43
    asked = provider.simulator.authorizations[-1]
    assert asked["code_challenge_method"] == "S256"
    assert asked["code_challenge"] == s256(pending.code_verifier)
    assert (asked["nonce"], asked["state"], asked["scope"]) == (
        pending.nonce,
        pending.state,
        "openid profile",
    )
    redeemed = provider.simulator.token_requests[-1]
    assert redeemed["auth"] == "client_secret_basic"
    assert redeemed["code_verifier"] == pending.code_verifier
    assert redeemed["redirect_uri"] == REDIRECT


async def test_two_sign_ins_differ(adapter: OIDCProvider) -> None:
    first, second = (await adapter.start(REDIRECT)).pending, (await adapter.start(REDIRECT)).pending
    assert first.state != second.state
    assert first.nonce != second.nonce
    assert first.code_verifier != second.code_verifier


async def test_the_person_chooses_on_the_providers_page(
    provider: Simulation, adapter: OIDCProvider
) -> None:
    start = await adapter.start(REDIRECT)
    async with httpx.AsyncClient(base_url=provider.base_url) as browser:
        page = await browser.get(start.url)
        assert page.status_code == 200
        assert 'lang="vi"' in page.text and "Đăng nhập" in page.text
        assert "<script" not in page.text and "http" not in page.text.split("<body>")[1]
        form = lxml.html.fromstring(page.text).forms[0]
        fields = dict(form.form_values()) | {"personal_id": PARENT[0]}
        answer = await browser.post(form.action, data=fields)
    assert answer.status_code == 302

    identity = await adapter.finish(urlsplit(answer.headers["location"]).query, start.pending)

    assert identity.personal_id == PARENT[0]


async def test_the_person_refuses_on_the_providers_page(
    provider: Simulation, adapter: OIDCProvider
) -> None:
    start = await adapter.start(REDIRECT)
    async with httpx.AsyncClient(base_url=provider.base_url) as browser:
        form = lxml.html.fromstring((await browser.get(start.url)).text).forms[0]
        answer = await browser.post(form.action, data=dict(form.form_values()) | {"deny": "1"})

    await refused(Code.LOGIN_CANCELLED, adapter, urlsplit(answer.headers["location"]).query, start)


async def test_the_personal_id_from_the_id_token_alone(
    provider: Simulation, adapter: OIDCProvider
) -> None:
    provider.simulator.claims_in_id_token = True
    try:
        query, start = await callback(provider, adapter, TEACHER)
        asked_before = provider.simulator.hits["/userinfo"]
        identity = await adapter.finish(query, start.pending)
    finally:
        provider.simulator.claims_in_id_token = False

    assert identity.personal_id == TEACHER[0]
    assert provider.simulator.hits["/userinfo"] == asked_before


async def test_client_secret_post_when_the_provider_takes_only_that(provider: Simulation) -> None:
    provider.simulator.token_auth_methods = ("client_secret_post",)
    adapter = provider.connect()
    try:
        query, start = await callback(provider, adapter, TEACHER)
        identity = await adapter.finish(query, start.pending)
    finally:
        provider.simulator.token_auth_methods = ("client_secret_basic", "client_secret_post")
        await adapter.aclose()

    assert identity.personal_id == TEACHER[0]
    assert provider.simulator.token_requests[-1]["auth"] == "client_secret_post"


async def test_from_settings(provider: Simulation) -> None:
    assert from_settings(Settings(_env_file=None, oidc_issuer=None)) is None
    adapter = from_settings(Settings(_env_file=None, **provider.settings))
    assert adapter is not None
    try:
        query, start = await callback(provider, adapter, PARENT)
        assert (await adapter.finish(query, start.pending)).personal_id == PARENT[0]
    finally:
        await adapter.aclose()
    with pytest.raises(RuntimeError, match="HUB_OIDC_CLIENT_SECRET"):
        from_settings(Settings(_env_file=None, oidc_issuer=provider.issuer, oidc_client_id="hub"))


async def test_logout_at_the_provider(provider: Simulation, adapter: OIDCProvider) -> None:
    query, start = await callback(provider, adapter, TEACHER)
    identity = await adapter.finish(query, start.pending)

    url = await adapter.logout_url(identity.logout_hint, RETURN_TO)

    assert url is not None and url.startswith(provider.issuer + "/logout?")
    asked = parse_qs(urlsplit(url).query)
    assert asked["id_token_hint"] == [identity.logout_hint]
    assert asked["post_logout_redirect_uri"] == [RETURN_TO]
    async with httpx.AsyncClient() as browser:
        response = await browser.get(url)
    assert (response.status_code, response.headers["location"]) == (302, RETURN_TO)


# --- refusals ------------------------------------------------------------------------------


async def test_tampered_state(provider: Simulation, adapter: OIDCProvider) -> None:
    query, start = await callback(provider, adapter, TEACHER)
    answer = parse_qs(query) | {"state": ["another-sign-in"]}

    await refused(Code.LOGIN_EXPIRED, adapter, urlencode(answer, doseq=True), start)
    await refused(
        Code.LOGIN_EXPIRED,
        adapter,
        query,
        replace(start, pending=replace(start.pending, state="x")),
    )


@pytest.mark.parametrize(
    "fault",
    [
        "drop_nonce",
        "wrong_audience",
        "wrong_issuer",
        "expired",
        "future_iat",
        "bad_signature",
        "unsigned",
        "garbage",
        "userinfo_wrong_sub",
    ],
)
async def test_a_bad_answer_is_refused(
    provider: Simulation, adapter: OIDCProvider, fault: str
) -> None:
    query, start = await callback(provider, adapter, TEACHER)
    provider.set_faults(**{fault: True})

    await refused(Code.IDENTITY_ANSWER_INVALID, adapter, query, start)


async def test_a_nonce_from_another_sign_in(provider: Simulation, adapter: OIDCProvider) -> None:
    query, start = await callback(provider, adapter, TEACHER)
    other = replace(start, pending=replace(start.pending, nonce="another-nonce"))

    error = await refused(Code.IDENTITY_ANSWER_INVALID, adapter, query, other)
    assert "nonce" in error.detail


async def test_a_replayed_code(provider: Simulation, adapter: OIDCProvider) -> None:
    query, start = await callback(provider, adapter, TEACHER)
    await adapter.finish(query, start.pending)

    error = await refused(Code.IDENTITY_ANSWER_INVALID, adapter, query, start)
    assert "invalid_grant" in error.detail


async def test_an_answer_from_another_issuer(provider: Simulation, adapter: OIDCProvider) -> None:
    query, start = await callback(provider, adapter, TEACHER)
    answer = parse_qs(query) | {"iss": ["https://attacker.example"]}

    await refused(Code.IDENTITY_ANSWER_INVALID, adapter, urlencode(answer, doseq=True), start)


async def test_no_twelve_digit_personal_id(provider: Simulation, adapter: OIDCProvider) -> None:
    query, start = await callback(provider, adapter, NO_PERSONAL_ID)

    await refused(Code.IDENTITY_ANSWER_INVALID, adapter, query, start)


async def test_the_person_says_no(provider: Simulation, adapter: OIDCProvider) -> None:
    provider.set_faults(deny=True)
    start = await adapter.start(REDIRECT)
    query = await browse(start)

    assert parse_qs(query)["error"] == ["access_denied"]
    await refused(Code.LOGIN_CANCELLED, adapter, query, start)


async def test_the_provider_answers_503(provider: Simulation, adapter: OIDCProvider) -> None:
    query, start = await callback(provider, adapter, TEACHER)
    provider.set_faults(server_error=503)

    await refused(Code.IDENTITY_PROVIDER_UNAVAILABLE, adapter, query, start)


async def test_the_provider_is_too_slow(provider: Simulation) -> None:
    adapter = provider.connect(timeout=0.3)
    try:
        query, start = await callback(provider, adapter, TEACHER)
        provider.set_faults(slow_seconds=1.0)
        await refused(Code.IDENTITY_PROVIDER_UNAVAILABLE, adapter, query, start)
    finally:
        await adapter.aclose()


async def test_the_provider_is_down(provider: Simulation, adapter: OIDCProvider) -> None:
    query, start = await callback(provider, adapter, TEACHER)
    provider.stop()

    await refused(Code.IDENTITY_PROVIDER_UNAVAILABLE, adapter, query, start)
    fresh = provider.connect()
    try:
        with pytest.raises(IdentityError) as caught:
            await fresh.start(REDIRECT)
        assert caught.value.code is Code.IDENTITY_PROVIDER_UNAVAILABLE
        assert await fresh.logout_url("token", RETURN_TO) is None
    finally:
        await fresh.aclose()


async def test_discovery_for_another_issuer(provider: Simulation) -> None:
    adapter = provider.connect(issuer=provider.issuer + "/")
    try:
        with pytest.raises(IdentityError) as caught:
            await adapter.start(REDIRECT)
    finally:
        await adapter.aclose()
    assert caught.value.code is Code.IDENTITY_ANSWER_INVALID
    assert "issuer" in caught.value.detail


# --- key rotation --------------------------------------------------------------------------


async def test_keys_rotated_between_two_sign_ins(
    provider: Simulation, adapter: OIDCProvider
) -> None:
    jwks = "/jwks"
    query, start = await callback(provider, adapter, TEACHER)
    await adapter.finish(query, start.pending)
    fetched = provider.simulator.hits[jwks]

    provider.rotate_keys()
    query, start = await callback(provider, adapter, PARENT)
    identity = await adapter.finish(query, start.pending)

    assert identity.personal_id == PARENT[0]
    assert provider.simulator.hits[jwks] == fetched + 1  # the new kid: the JWKS once more

    query, start = await callback(provider, adapter, TEACHER)
    provider.set_faults(retired_key=True)
    error = await refused(Code.IDENTITY_ANSWER_INVALID, adapter, query, start)

    assert "JWKS" in error.detail
    assert provider.simulator.hits[jwks] == fetched + 2  # once more, then refused
