"""People sign in at a standard OpenID provider (issue 11), through real HTTP: the hub
served by uvicorn on loopback, configured with both the VNeID-style simulator and the
OpenID simulator (whose personal ID claim is ``cccd``, not the default), and a
browser played by httpx. Then the same sign-in against an OpenID provider the hub's
authors did not write: node-oidc-provider (:mod:`tests.foreign_oidc`).

Every refusal is a page with the problem's stable code, sets no cookie and leaves
``GET /me`` answering 401.
"""

import base64
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import lxml.html
import pytest
from structlog.testing import capture_logs

from hub.adapters.identity.oidc.adapter import DEFAULT_LABEL
from hub.adapters.identity.oidc.simulator import Simulation, simulate
from hub.adapters.identity.vneid import load_rp_key
from hub.adapters.identity.vneid.simulator import VNeIDSimulation
from hub.adapters.identity.vneid.simulator import simulate as simulate_vneid
from hub.adapters.signing.simulator import SimulatorServer, free_port
from hub.config import Settings
from hub.db.engine import Database
from hub.domain.enums import (
    GuardianRelation,
    StaffRole,
)
from hub.web.app import create_app
from tests.foreign_oidc import SCOPE, Foreign, foreign_provider, sign_in_at_provider
from tests.people import People, people_school
from tests.world import World

#: The claim the province's SSO puts the personal ID in (not the default ``personal_id``).
CLAIM = "cccd"
VNEID_LABEL = "Đăng nhập bằng VNeID"


@pytest.fixture(scope="module")
async def people(db: Database, world: World) -> People:
    return await people_school(db, code="OIDC")


@contextmanager
def serving(settings: Settings, port: int) -> Iterator[str]:
    """The hub with ``settings``, served by uvicorn on ``port`` of 127.0.0.1."""
    server = SimulatorServer(create_app(settings), port=port).start()
    try:
        yield server.url
    finally:
        server.stop()


def oidc_settings(simulation: Simulation, **overrides: str) -> dict[str, str]:
    """The simulation's ``HUB_OIDC_*`` environment as :class:`Settings` fields."""
    return simulation.settings | overrides


@dataclass
class Hub:
    url: str
    settings: Settings
    vneid: VNeIDSimulation
    oidc: Simulation

    @property
    def callback(self) -> str:
        return f"{self.url}/auth/callback"


@pytest.fixture(scope="module")
def hub(settings: Settings, people: People) -> Iterator[Hub]:
    """The hub served by uvicorn, with both VNeID and the province's OpenID provider."""
    port = free_port("127.0.0.1")
    url = f"http://127.0.0.1:{port}"
    base = settings.model_copy(
        update={"public_url": url, "vneid_key_file": settings.token_key_file.parent / "vneid.pem"}
    )
    callback = f"{url}/auth/callback"
    vneid = simulate_vneid(load_rp_key(base).public_key(), redirect_uris=[callback])
    oidc = simulate(redirect_uris=[callback], personal_id_claim=CLAIM)
    try:
        for pid, name in people.names.items():
            vneid.add_citizen(pid, name, date(1980, 1, 1), account_level=2)
            oidc.add_user(pid, name, date(1980, 1, 1))
        served = base.model_copy(update=vneid.settings | oidc_settings(oidc))
        assert served.oidc_personal_id_claim == CLAIM
        with serving(served, port):
            yield Hub(url, served, vneid, oidc)
    finally:
        oidc.stop()
        vneid.stop()


@pytest.fixture(autouse=True)
def provider_well(hub: Hub) -> Iterator[None]:
    """Each test leaves the OpenID provider up and without faults."""
    yield
    hub.oidc.set_faults()
    hub.oidc.start()


async def at_provider(
    hub: Hub, browser: httpx.AsyncClient, personal_id: str, *, choose: bool = False
) -> str:
    """``/login?provider=oidc`` and the person at the provider: the callback address the
    provider sends the browser back to. ``choose``: the person picks themself on the
    provider's page; otherwise the provider is told who signs in next."""
    start = await browser.get("/login", params={"provider": "oidc"})
    assert start.status_code == 302, start.text
    location = start.headers["location"]
    assert location.startswith(f"{hub.oidc.issuer}/authorize?")
    asked = parse_qs(urlsplit(location).query)
    assert asked["code_challenge_method"] == ["S256"] and asked["nonce"][0]
    assert asked["redirect_uri"] == [hub.callback]
    if choose:
        page = await browser.get(location)
        assert page.status_code == 200 and "Đăng nhập" in page.text
        form = lxml.html.fromstring(page.text).forms[0]
        fields = dict(form.form_values()) | {"personal_id": personal_id}
        answer = await browser.post(f"{hub.oidc.issuer}{form.action}", data=fields)
    else:
        hub.oidc.next_login(personal_id)
        answer = await browser.get(location)
    assert answer.status_code == 302, answer.text
    callback = answer.headers["location"]
    assert callback.startswith(f"{hub.callback}?")
    return callback


@asynccontextmanager
async def signed_in(
    hub: Hub, personal_id: str, *, choose: bool = False
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in at the OpenID provider as ``personal_id``."""
    async with httpx.AsyncClient(base_url=hub.url, timeout=15) as browser:
        callback = await at_provider(hub, browser, personal_id, choose=choose)
        answer = await browser.get(callback)
        assert answer.status_code == 303, answer.text
        assert "hub_session=" in answer.headers["set-cookie"]
        yield browser


async def assert_refused(
    browser: httpx.AsyncClient, answer: httpx.Response, code: str, status: int
) -> None:
    """A page with the stable ``code``, no cookie, and no session behind it."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert code in answer.text
    assert "set-cookie" not in answer.headers
    assert "hub_session" not in browser.cookies
    me = await browser.get("/me")
    assert me.status_code == 401 and me.json()["code"] == "SESSION_REQUIRED"


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# --- choosing a provider ----------------------------------------------------------------


async def test_the_sign_in_page_offers_both_providers(hub: Hub) -> None:
    async with httpx.AsyncClient(base_url=hub.url) as browser:
        page = await browser.get("/login", params={"next": "/me"})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert 'lang="vi"' in page.text and "Chọn cách đăng nhập" in page.text
        links = {
            link.text_content().strip(): link.get("href")
            for link in lxml.html.fromstring(page.text).cssselect("ul.choices a")
        }
        assert links == {
            VNEID_LABEL: "/login?provider=vneid&next=/me",
            DEFAULT_LABEL: "/login?provider=oidc&next=/me",
        }
        unknown = await browser.get("/login", params={"provider": "facebook"})
        assert unknown.status_code == 404
        assert VNEID_LABEL in unknown.text and DEFAULT_LABEL in unknown.text


async def test_vneid_still_signs_in_beside_the_openid_provider(hub: Hub, people: People) -> None:
    async with httpx.AsyncClient(base_url=hub.url, timeout=15) as browser:
        start = await browser.get("/login", params={"provider": "vneid"})
        assert start.status_code == 302
        assert start.headers["location"].startswith(hub.vneid.base_url)
        hub.vneid.next_login(people.teacher)
        at_sso = await browser.get(start.headers["location"])
        answer = await browser.get(at_sso.headers["location"])
        assert answer.status_code == 303, answer.text
        me = (await browser.get("/me")).json()
        assert me["signedInWith"] == "vneid"
        assert [c["classId"] for c in me["roles"]["homeroomClasses"]] == [people.class_id]


# --- signing in at the OpenID provider ----------------------------------------------------


async def test_each_role_signs_in_and_me_shows_the_roles(hub: Hub, people: People) -> None:
    for personal_id, choose in [
        (people.teacher, False),
        (people.principal, False),
        # The guardian picks herself on the provider's own page.
        (people.guardian, True),
    ]:
        async with signed_in(hub, personal_id, choose=choose) as browser:
            answer = await browser.get("/me")
            assert answer.status_code == 200
            assert answer.headers["cache-control"] == "no-store"
            me = answer.json()
            assert me["signedInWith"] == "oidc"
            assert me["fullName"] == people.names[personal_id]
            assert me["personalId"].endswith(personal_id[-4:])
            assert personal_id not in answer.text  # masked
            assert me["csrfToken"]
            roles = me["roles"]
            if personal_id == people.teacher:
                assert [c["classId"] for c in roles["homeroomClasses"]] == [people.class_id]
                assert roles["principalOf"] == [] and me["guardianships"] == []
                assert {(s["schoolId"], s["role"]) for s in roles["schools"]} == {
                    (people.school_id, StaffRole.HOMEROOM.value)
                }
            elif personal_id == people.principal:
                assert roles["principalOf"] == [people.school_id]
                assert roles["homeroomClasses"] == [] and me["guardianships"] == []
            else:
                assert roles["schools"] == [] and roles["principalOf"] == []
                assert roles["departmentOfficer"] is False and roles["pupil"] is False
                assert [(g["studentId"], g["relation"]) for g in me["guardianships"]] == [
                    (people.student_id, GuardianRelation.MOTHER.value)
                ]


async def test_the_personal_id_is_read_from_the_configured_claim(
    hub: Hub, people: People, settings: Settings
) -> None:
    # The provider names the personal ID ``cccd``: there is no ``personal_id`` to read.
    async with httpx.AsyncClient() as client:
        discovery = (await client.get(f"{hub.oidc.issuer}/.well-known/openid-configuration")).json()
    assert CLAIM in discovery["claims_supported"]
    assert "personal_id" not in discovery["claims_supported"]
    async with signed_in(hub, people.teacher) as browser:
        assert (await browser.get("/me")).json()["personalId"].endswith(people.teacher[-4:])

    # A hub left with the default claim name finds no personal ID and signs no one in.
    port = free_port("127.0.0.1")
    url = f"http://127.0.0.1:{port}"
    default_claim = settings.model_copy(
        update={"public_url": url, **oidc_settings(hub.oidc, oidc_personal_id_claim="personal_id")}
    )
    registered = hub.oidc.simulator.redirect_uris
    hub.oidc.simulator.redirect_uris = (*registered, f"{url}/auth/callback")
    try:
        with serving(default_claim, port):
            async with httpx.AsyncClient(base_url=url, timeout=15) as browser:
                start = await browser.get("/login")  # one provider: no choice to make
                assert start.status_code == 302
                hub.oidc.next_login(people.teacher)
                at_provider = await browser.get(start.headers["location"])
                answer = await browser.get(at_provider.headers["location"])
                await assert_refused(browser, answer, "IDENTITY_ANSWER_INVALID", 502)
    finally:
        hub.oidc.simulator.redirect_uris = registered


# --- refusals -------------------------------------------------------------------------------


UNAVAILABLE, INVALID = "IDENTITY_PROVIDER_UNAVAILABLE", "IDENTITY_ANSWER_INVALID"


@pytest.mark.parametrize(
    ("fault", "code", "status", "why"),
    [
        pytest.param({"server_error": 503}, UNAVAILABLE, 503, "HTTP 503", id="http-503"),
        pytest.param(None, UNAVAILABLE, 503, "ConnectError", id="stopped"),
        pytest.param({"garbage": True}, INVALID, 502, "not JSON", id="garbage"),
        pytest.param({"wrong_audience": True}, INVALID, 502, "'aud'", id="audience"),
        pytest.param({"expired": True}, INVALID, 502, "expired", id="expired"),
        pytest.param({"drop_nonce": True}, INVALID, 502, "'nonce'", id="no-nonce"),
    ],
)
async def test_a_provider_failing_at_the_callback_gets_a_page_not_a_session(
    hub: Hub,
    people: People,
    fault: dict[str, Any] | None,
    code: str,
    status: int,
    why: str,
) -> None:
    async with httpx.AsyncClient(base_url=hub.url, timeout=15) as browser:
        callback = await at_provider(hub, browser, people.teacher)
        # The provider fails once the browser is on its way back to the hub.
        if fault is None:
            hub.oidc.stop()
        else:
            hub.oidc.set_faults(**fault)
        with capture_logs() as logs:
            answer = await browser.get(callback)
        await assert_refused(browser, answer, code, status)
        # Refused for the reason the fault gives (the log says; the page does not).
        [refused] = [entry for entry in logs if entry["event"] == "login.refused"]
        assert refused["code"] == code and why in refused["detail"], refused
        assert why not in answer.text
        assert not [entry for entry in logs if entry["event"] == "login.succeeded"]
        assert "Hệ thống đăng nhập" in answer.text
        # The attempt is spent: the provider back, the same callback does not sign in.
        hub.oidc.set_faults()
        hub.oidc.start()
        await assert_refused(browser, await browser.get(callback), "LOGIN_EXPIRED", 400)


async def test_a_provider_that_cannot_be_discovered_gets_a_page(
    settings: Settings, hub: Hub
) -> None:
    """A hub that has not yet read the provider's discovery document, the provider down."""
    port = free_port("127.0.0.1")
    nobody = f"http://127.0.0.1:{free_port('127.0.0.1')}"
    down = settings.model_copy(
        update={"public_url": f"http://127.0.0.1:{port}", **oidc_settings(hub.oidc)}
        | {"oidc_issuer": nobody}
    )
    with serving(down, port) as url:
        async with httpx.AsyncClient(base_url=url, timeout=15) as browser:
            answer = await browser.get("/login")
            await assert_refused(browser, answer, "IDENTITY_PROVIDER_UNAVAILABLE", 503)


async def test_a_tampered_state_is_refused(hub: Hub, people: People) -> None:
    async with httpx.AsyncClient(base_url=hub.url, timeout=15) as browser:
        callback = await at_provider(hub, browser, people.teacher)
        parts = urlsplit(callback)
        query = parse_qs(parts.query)
        state = query["state"][0]
        for forged in (state[:-1] + ("A" if state[-1] != "A" else "B"), "", state + state):
            tampered = urlunsplit(
                parts._replace(
                    query=urlencode({k: v[0] for k, v in query.items()} | {"state": forged})
                )
            )
            await assert_refused(browser, await browser.get(tampered), "LOGIN_EXPIRED", 400)
        missing = urlunsplit(parts._replace(query=f"code={query['code'][0]}"))
        await assert_refused(browser, await browser.get(missing), "LOGIN_EXPIRED", 400)
        # The forgeries did not spend the person's own attempt.
        assert (await browser.get(callback)).status_code == 303
        assert (await browser.get("/me")).status_code == 200


async def test_a_replayed_callback_is_refused(hub: Hub, people: People) -> None:
    async with httpx.AsyncClient(base_url=hub.url, timeout=15) as browser:
        callback = await at_provider(hub, browser, people.teacher)
        key = browser.cookies["hub_login"]
        assert (await browser.get(callback)).status_code == 303
        replay = await browser.get(callback)
        assert replay.status_code == 400 and "LOGIN_EXPIRED" in replay.text
        assert "set-cookie" not in replay.headers
    # Whoever holds the address and the browser's sign-in cookie gets nothing either.
    async with httpx.AsyncClient(
        base_url=hub.url, timeout=15, cookies={"hub_login": key}
    ) as replayer:
        await assert_refused(replayer, await replayer.get(callback), "LOGIN_EXPIRED", 400)


async def test_a_callback_carried_to_another_browser_is_refused(hub: Hub, people: People) -> None:
    """Someone signs in as themself and sends the callback's address to another person
    (RFC 6749 §10.12): that person's browser must not end up signed in as them."""
    async with httpx.AsyncClient(base_url=hub.url, timeout=15) as attacker:
        callback = await at_provider(hub, attacker, people.guardian)
        async with httpx.AsyncClient(base_url=hub.url, timeout=15) as victim:
            await assert_refused(victim, await victim.get(callback), "LOGIN_EXPIRED", 400)
            # A victim in the middle of a sign-in of their own: a key of theirs, not the one.
            started = await victim.get("/login", params={"provider": "oidc"})
            assert started.status_code == 302 and victim.cookies["hub_login"]
            await assert_refused(victim, await victim.get(callback), "LOGIN_EXPIRED", 400)
        # Refusing the others did not spend the attempt of the browser that started it.
        assert (await attacker.get(callback)).status_code == 303
        assert (await attacker.get("/me")).status_code == 200


# --- the provider's keys rotated -------------------------------------------------------------


async def test_keys_rotated_mid_session(hub: Hub, people: People) -> None:
    async with signed_in(hub, people.teacher) as browser:
        fetched = hub.oidc.simulator.hits["/jwks"]
        hub.oidc.rotate_keys()

        # The session is the hub's own: it does not hang on the provider's keys.
        me = await browser.get("/me")
        assert me.status_code == 200
        assert [c["classId"] for c in me.json()["roles"]["homeroomClasses"]] == [people.class_id]
        query = {"query": "{ students(first: 1) { totalCount } }"}
        csrf = {"X-CSRF-Token": me.json()["csrfToken"]}
        listed = await browser.post("/graphql", json=query, headers=csrf)
        assert listed.json()["data"]["students"]["totalCount"] == 1

        # A new sign-in is signed with the new key: the hub fetches the JWKS once more.
        async with signed_in(hub, people.principal) as other:
            assert (await other.get("/me")).json()["roles"]["principalOf"] == [people.school_id]
        assert hub.oidc.simulator.hits["/jwks"] == fetched + 1
        assert (await browser.get("/me")).status_code == 200


# --- signing out -----------------------------------------------------------------------------


async def test_logout_ends_the_session_here_and_at_the_provider(hub: Hub, people: People) -> None:
    async with signed_in(hub, people.teacher) as browser:
        token = browser.cookies["hub_session"]
        csrf = (await browser.get("/me")).json()["csrfToken"]

        refused = await browser.post("/logout", data={"csrf_token": "not-the-token"})
        assert refused.status_code == 403 and "CSRF_FAILED" in refused.text
        assert (await browser.get("/me")).status_code == 200

        out = await browser.post("/logout", data={"csrf_token": csrf})
        assert out.status_code == 303
        assert "max-age=0" in out.headers["set-cookie"].lower()
        location = out.headers["location"]
        assert location.startswith(f"{hub.oidc.issuer}/logout?")
        asked = parse_qs(urlsplit(location).query)
        assert asked["post_logout_redirect_uri"] == [f"{hub.url}/"]
        assert asked["client_id"] == [hub.oidc.simulator.client_id]
        hint = jwt_claims(asked["id_token_hint"][0])
        assert hint["iss"] == hub.oidc.issuer and hint["aud"] == hub.oidc.simulator.client_id
        assert hint["sub"] == hub.oidc.simulator.users[people.teacher].subject

        assert (await browser.get("/me")).status_code == 401
        # The provider ends its session and sends the browser back to the hub.
        at_provider = await browser.get(location)
        assert at_provider.status_code == 302
        assert at_provider.headers["location"] == f"{hub.url}/"
        assert hub.oidc.simulator.logouts[-1]["id_token_hint"] == asked["id_token_hint"][0]

    # The session is over in the hub's records, not only in the browser.
    async with httpx.AsyncClient(base_url=hub.url, cookies={"hub_session": token}) as stolen:
        assert (await stolen.get("/me")).status_code == 401


# --- against node-oidc-provider ----------------------------------------------------------------

#: The hub's client at node-oidc-provider, and its accounts: accountId → claims.
FOREIGN_CLIENT = "hub-so-gddt"


@dataclass
class ForeignHub:
    url: str
    provider: Foreign

    @property
    def callback(self) -> str:
        return f"{self.url}/auth/callback"


@pytest.fixture(scope="module")
def foreign_hub(
    settings: Settings, people: People, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ForeignHub]:
    """A hub whose only identity provider is node-oidc-provider (``HUB_OIDC_*``)."""
    port = free_port("127.0.0.1")
    url = f"http://127.0.0.1:{port}"
    accounts = {
        "gv-chu-nhiem": {
            "personal_id": people.teacher,
            "name": people.names[people.teacher],
            "birthdate": "1984-02-29",
        },
        "me-hoc-sinh": {
            "personal_id": people.guardian,
            "family_name": "Phan",
            "given_name": "Thị Phụ Huynh",
            "birthdate": "1987-10-20",
        },
    }
    with foreign_provider(
        client_id=FOREIGN_CLIENT,
        redirect_uris=[f"{url}/auth/callback"],
        post_logout_redirect_uris=[f"{url}/"],
        accounts=accounts,
        log_dir=tmp_path_factory.mktemp("oidc-provider"),
    ) as provider:
        served = settings.model_copy(
            update={
                "public_url": url,
                "oidc_issuer": provider.issuer,
                "oidc_client_id": provider.client_id,
                "oidc_client_secret": provider.client_secret,
                "oidc_scope": SCOPE,
                "oidc_personal_id_claim": "personal_id",
            }
        )
        with serving(served, port):
            yield ForeignHub(url, provider)


async def test_sign_in_through_node_oidc_provider(foreign_hub: ForeignHub, people: People) -> None:
    async with httpx.AsyncClient(base_url=foreign_hub.url, timeout=15) as browser:
        start = await browser.get("/login")  # its only provider: straight there
        assert start.status_code == 302, start.text
        location = start.headers["location"]
        assert location.startswith(f"{foreign_hub.provider.issuer}/")
        callback = await sign_in_at_provider(location, "gv-chu-nhiem", foreign_hub.callback)
        answer = await browser.get(callback)
        assert answer.status_code == 303, answer.text
        me = (await browser.get("/me")).json()
        assert me["signedInWith"] == "oidc"
        assert me["fullName"] == people.names[people.teacher]
        assert me["personalId"].endswith(people.teacher[-4:])
        assert [c["classId"] for c in me["roles"]["homeroomClasses"]] == [people.class_id]

        out = await browser.post("/logout", headers={"X-CSRF-Token": me["csrfToken"]})
        assert out.status_code == 303
        ending = out.headers["location"]
        assert ending.startswith(f"{foreign_hub.provider.issuer}/session/end?")
        asked = parse_qs(urlsplit(ending).query)
        assert asked["post_logout_redirect_uri"] == [f"{foreign_hub.url}/"]
        assert jwt_claims(asked["id_token_hint"][0])["sub"] == "gv-chu-nhiem"
        assert (await browser.get("/me")).status_code == 401


async def test_a_guardian_signs_in_through_node_oidc_provider(
    foreign_hub: ForeignHub, people: People
) -> None:
    async with httpx.AsyncClient(base_url=foreign_hub.url, timeout=15) as browser:
        start = await browser.get("/login")
        callback = await sign_in_at_provider(
            start.headers["location"], "me-hoc-sinh", foreign_hub.callback
        )
        assert (await browser.get(callback)).status_code == 303
        me = (await browser.get("/me")).json()
        assert me["fullName"] == people.names[people.guardian]  # family and given names
        assert [g["studentId"] for g in me["guardianships"]] == [people.student_id]
        # The same answer again is refused.
        await assert_refused_fresh(foreign_hub.url, callback)


async def assert_refused_fresh(url: str, callback: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=15) as replayer:
        await assert_refused(replayer, await replayer.get(callback), "LOGIN_EXPIRED", 400)
