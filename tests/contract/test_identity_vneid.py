"""VNeID-style sign-in: the hub's adapter against the simulated SSO, over real HTTP.

The browser's part is played by hand: the test asks the simulator to sign the next
visitor in as a citizen (``next_login``), fetches the authorization URL without
following redirects and hands the callback's raw query string to ``finish``, as
the web layer does with ``request.url.query``.
"""

from collections.abc import AsyncIterator, Awaitable, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from hub.adapters.identity.base import Identity, IdentityError, Pending
from hub.adapters.identity.providers import configured
from hub.adapters.identity.vneid import VNeIDProvider, from_settings, load_rp_key
from hub.adapters.identity.vneid.protocol import AesMode
from hub.adapters.identity.vneid.simulator import VNeIDSimulation, simulate
from hub.config import Mode, Settings
from hub.domain.problems import Code

REDIRECT_URI = "http://127.0.0.1:8000/auth/callback"
CLIENT_ID = "so-gddt-hub"
HOA = "001185012345"  # a teacher, level 2
AN = "001212034567"  # a pupil of 13, level 1
MALFORMED = "0011850123"  # ten digits: VNeID never sends this, the hub must not take it


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vneid") / "rp-key.pem"


@pytest.fixture(scope="module")
def sso(key_file: Path) -> Iterator[VNeIDSimulation]:
    rp_key = load_rp_key(Settings(_env_file=None, mode=Mode.DEMO, vneid_key_file=key_file))
    started = simulate(rp_key.public_key(), redirect_uris=[REDIRECT_URI], client_id=CLIENT_ID)
    started.add_citizen(HOA, "Nguyễn Thị Hoa", date(1985, 3, 14), account_level=2)
    started.add_citizen(AN, "Trần Văn An", date(2012, 9, 5), account_level=1)
    started.add_citizen(MALFORMED, "Lê Văn Sai", date(1990, 1, 1))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(autouse=True)
def all_well(sso: VNeIDSimulation) -> Iterator[None]:
    """Every test starts with the SSO up, no faults and plain codes in ECB."""
    sso.start()
    sso.reset()
    yield
    sso.start()
    sso.reset()


def settings_for(sso: VNeIDSimulation, key_file: Path, **overrides: Any) -> Settings:
    fields: dict[str, Any] = {**sso.settings, "vneid_key_file": key_file, **overrides}
    return Settings(_env_file=None, mode=Mode.DEMO, **fields)


@pytest.fixture
async def vneid(sso: VNeIDSimulation, key_file: Path) -> AsyncIterator[VNeIDProvider]:
    provider = from_settings(settings_for(sso, key_file, identity_timeout_seconds=2.0))
    assert provider is not None
    yield provider
    await provider.aclose()


async def browse(url: str) -> str:
    """The raw query string of the callback the SSO redirects the browser to."""
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(url)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(f"{REDIRECT_URI}?")
    return location.partition("?")[2]


async def callback(
    sso: VNeIDSimulation, provider: VNeIDProvider, personal_id: str = HOA
) -> tuple[Pending, str]:
    """A sign-in started by the hub and approved at the SSO as ``personal_id``."""
    start = await provider.start(REDIRECT_URI)
    sso.next_login(personal_id)
    return start.pending, await browse(start.url)


def param(raw_query: str, name: str) -> str:
    """One parameter of a raw query as it stands on the wire (nothing decoded)."""
    values = [p.partition("=")[2] for p in raw_query.split("&") if p.startswith(f"{name}=")]
    assert len(values) == 1
    return values[0]


async def refused(code: Code, finishing: Awaitable[Identity]) -> IdentityError:
    with pytest.raises(IdentityError) as caught:
        await finishing
    assert caught.value.code is code
    return caught.value


# --- signing in --------------------------------------------------------------------------------


async def test_a_citizen_signs_in(sso: VNeIDSimulation, vneid: VNeIDProvider) -> None:
    start = await vneid.start(REDIRECT_URI)
    asked = parse_qs(urlsplit(start.url).query)
    assert {name: values[0] for name, values in asked.items()} == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": start.pending.state,
    }  # no PKCE, no nonce: VNeID knows neither
    assert start.pending.nonce is None and start.pending.code_verifier is None
    sso.next_login(HOA)

    identity = await vneid.finish(await browse(start.url), start.pending)

    assert identity == Identity(
        provider="vneid",
        subject=HOA,
        personal_id=HOA,
        full_name="Nguyễn Thị Hoa",
        birth_date=date(1985, 3, 14),
        account_level=2,
    )


async def test_the_account_level_is_the_citizens(
    sso: VNeIDSimulation, vneid: VNeIDProvider
) -> None:
    pending, raw_query = await callback(sso, vneid, AN)
    identity = await vneid.finish(raw_query, pending)
    assert (identity.personal_id, identity.account_level) == (AN, 1)


async def test_a_code_with_plus_survives(sso: VNeIDSimulation, vneid: VNeIDProvider) -> None:
    pending, raw_query = await callback(sso, vneid)
    code = param(raw_query, "code")
    assert "+" in code
    # What a form decoder would have handed on: the code broken by spaces.
    assert " " in parse_qs(raw_query)["code"][0]

    identity = await vneid.finish(raw_query, pending)
    assert identity.personal_id == HOA


async def test_an_encrypted_code_comes_with_its_key(
    sso: VNeIDSimulation, vneid: VNeIDProvider
) -> None:
    sso.set_options(encrypt_codes=True)
    pending, raw_query = await callback(sso, vneid)
    assert "+" in param(raw_query, "code")
    assert param(raw_query, "encrypt_key")

    identity = await vneid.finish(raw_query, pending)
    assert identity.personal_id == HOA


async def test_an_encrypted_code_without_its_key_is_refused(
    sso: VNeIDSimulation, vneid: VNeIDProvider
) -> None:
    sso.set_options(encrypt_codes=True)
    pending, raw_query = await callback(sso, vneid)
    without_key = "&".join(p for p in raw_query.split("&") if not p.startswith("encrypt_key="))
    await refused(Code.IDENTITY_ANSWER_INVALID, vneid.finish(without_key, pending))


@pytest.mark.parametrize("encrypt_codes", [False, True], ids=["plain-code", "encrypted-code"])
@pytest.mark.parametrize("mode", list(AesMode))
async def test_both_aes_modes(
    sso: VNeIDSimulation, key_file: Path, mode: AesMode, encrypt_codes: bool
) -> None:
    sso.set_options(aes_mode=mode, encrypt_codes=encrypt_codes)
    provider = from_settings(settings_for(sso, key_file, vneid_aes_mode=mode.value.lower()))
    assert provider is not None and provider.aes_mode is mode
    try:
        pending, raw_query = await callback(sso, provider)
        identity = await provider.finish(raw_query, pending)
    finally:
        await provider.aclose()
    assert identity.personal_id == HOA


async def test_the_wrong_aes_mode_is_an_invalid_answer(
    sso: VNeIDSimulation, vneid: VNeIDProvider
) -> None:
    sso.set_options(aes_mode=AesMode.CBC)
    assert vneid.aes_mode is AesMode.ECB
    pending, raw_query = await callback(sso, vneid)
    await refused(Code.IDENTITY_ANSWER_INVALID, vneid.finish(raw_query, pending))


async def test_a_citizen_chosen_on_the_page_signs_in(
    sso: VNeIDSimulation, vneid: VNeIDProvider
) -> None:
    start = await vneid.start(REDIRECT_URI)
    async with httpx.AsyncClient() as browser:
        page = await browser.get(start.url)
        assert page.status_code == 200
        assert "Nguyễn Thị Hoa" in page.text and "Trần Văn An" in page.text
        chosen = await browser.post(
            f"{sso.base_url}/authorize/choose",
            data={
                "client_id": CLIENT_ID,
                "redirect_uri": REDIRECT_URI,
                "state": start.pending.state,
                "response_type": "code",
                "personalId": AN,
            },
        )
    assert chosen.status_code == 303
    identity = await vneid.finish(chosen.headers["location"].partition("?")[2], start.pending)
    assert identity.personal_id == AN


# --- refusals ----------------------------------------------------------------------------------


async def test_declining_is_login_cancelled(sso: VNeIDSimulation, vneid: VNeIDProvider) -> None:
    sso.set_faults(deny=True)
    start = await vneid.start(REDIRECT_URI)
    raw_query = await browse(start.url)
    assert param(raw_query, "error") == "access_denied"
    await refused(Code.LOGIN_CANCELLED, vneid.finish(raw_query, start.pending))


async def test_declining_on_the_page_is_login_cancelled(
    sso: VNeIDSimulation, vneid: VNeIDProvider
) -> None:
    start = await vneid.start(REDIRECT_URI)
    async with httpx.AsyncClient() as browser:
        declined = await browser.post(
            f"{sso.base_url}/authorize/choose",
            data={
                "client_id": CLIENT_ID,
                "redirect_uri": REDIRECT_URI,
                "state": start.pending.state,
                "response_type": "code",
                "deny": "1",
            },
        )
    raw_query = declined.headers["location"].partition("?")[2]
    await refused(Code.LOGIN_CANCELLED, vneid.finish(raw_query, start.pending))


async def test_a_tampered_state_is_login_expired(
    sso: VNeIDSimulation, vneid: VNeIDProvider
) -> None:
    pending, raw_query = await callback(sso, vneid)
    state = param(raw_query, "state")
    changed = "B" if state.endswith("A") else "A"  # a state that really differs
    tampered = raw_query.replace(f"state={state}", f"state={state[:-1]}{changed}")
    await refused(Code.LOGIN_EXPIRED, vneid.finish(tampered, pending))
    other = (await vneid.start(REDIRECT_URI)).pending
    await refused(Code.LOGIN_EXPIRED, vneid.finish(raw_query, other))
    missing = "&".join(p for p in raw_query.split("&") if not p.startswith("state="))
    await refused(Code.LOGIN_EXPIRED, vneid.finish(missing, pending))


async def test_a_replayed_code_is_an_invalid_answer(
    sso: VNeIDSimulation, vneid: VNeIDProvider
) -> None:
    pending, raw_query = await callback(sso, vneid)
    await vneid.finish(raw_query, pending)
    error = await refused(Code.IDENTITY_ANSWER_INVALID, vneid.finish(raw_query, pending))
    assert "invalid_grant" in error.detail


async def test_garbage_is_an_invalid_answer(sso: VNeIDSimulation, vneid: VNeIDProvider) -> None:
    pending, raw_query = await callback(sso, vneid)
    sso.set_faults(garbage=True)
    await refused(Code.IDENTITY_ANSWER_INVALID, vneid.finish(raw_query, pending))


async def test_a_server_error_is_unavailable(sso: VNeIDSimulation, vneid: VNeIDProvider) -> None:
    pending, raw_query = await callback(sso, vneid)
    sso.set_faults(server_error=503)
    await refused(Code.IDENTITY_PROVIDER_UNAVAILABLE, vneid.finish(raw_query, pending))


async def test_down_is_unavailable_and_back_is_fine(
    sso: VNeIDSimulation, vneid: VNeIDProvider
) -> None:
    pending, raw_query = await callback(sso, vneid)
    sso.stop()
    await refused(Code.IDENTITY_PROVIDER_UNAVAILABLE, vneid.finish(raw_query, pending))
    sso.start()
    identity = await vneid.finish(raw_query, pending)  # the code was never used
    assert identity.personal_id == HOA


async def test_too_slow_is_unavailable(sso: VNeIDSimulation, key_file: Path) -> None:
    provider = from_settings(settings_for(sso, key_file, identity_timeout_seconds=0.3))
    assert provider is not None
    try:
        pending, raw_query = await callback(sso, provider)
        sso.set_faults(slow_seconds=1.0)
        await refused(Code.IDENTITY_PROVIDER_UNAVAILABLE, provider.finish(raw_query, pending))
    finally:
        await provider.aclose()


async def test_a_personal_id_not_of_12_digits_is_an_invalid_answer(
    sso: VNeIDSimulation, vneid: VNeIDProvider
) -> None:
    pending, raw_query = await callback(sso, vneid, MALFORMED)
    error = await refused(Code.IDENTITY_ANSWER_INVALID, vneid.finish(raw_query, pending))
    assert MALFORMED not in error.detail  # personal data stays out of the log line


async def test_the_token_endpoint_refuses_json(sso: VNeIDSimulation, vneid: VNeIDProvider) -> None:
    pending, raw_query = await callback(sso, vneid)
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{sso.base_url}/token",
            json={
                "grant_type": "authorization_code",
                "client_id": CLIENT_ID,
                "client_secret": sso.simulator.relying_party.client_secret,
                "redirect_uri": REDIRECT_URI,
                "code": param(raw_query, "code"),
            },
        )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    assert (await vneid.finish(raw_query, pending)).personal_id == HOA  # the form still works


# --- configuration -----------------------------------------------------------------------------


async def test_configuration(sso: VNeIDSimulation, key_file: Path, tmp_path: Path) -> None:
    assert from_settings(Settings(_env_file=None, vneid_key_file=key_file)) is None
    with pytest.raises(RuntimeError, match="HUB_VNEID_CLIENT_SECRET"):
        from_settings(settings_for(sso, key_file, vneid_client_secret=None))
    with pytest.raises(RuntimeError, match="HUB_VNEID_AES_MODE"):
        from_settings(settings_for(sso, key_file, vneid_aes_mode="GCM"))
    with pytest.raises(RuntimeError, match="HUB_VNEID_KEY_FILE"):
        load_rp_key(Settings(_env_file=None, mode=Mode.PRODUCTION, vneid_key_file=tmp_path / "k"))

    providers = configured(settings_for(sso, key_file))
    try:
        assert isinstance(providers["vneid"], VNeIDProvider)
        logout = await providers["vneid"].logout_url(None, "http://127.0.0.1:8000/")
        assert logout == f"{sso.base_url}/logout?redirect_uri=http%3A%2F%2F127.0.0.1%3A8000%2F"
    finally:
        for each in providers.values():
            await each.aclose()
    unconfigured = settings_for(sso, key_file, vneid_logout_url=None)
    provider = from_settings(unconfigured)
    assert provider is not None
    assert await provider.logout_url(None, "http://127.0.0.1:8000/") is None
    await provider.aclose()
