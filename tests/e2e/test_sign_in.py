"""People sign in (issue 11): through the VNeID-style simulator, over real HTTP, to a hub
served by uvicorn on loopback; an app then acts for the person with a token bound
to them (authorization code with PKCE)."""

import base64
import hashlib
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import delete

from hub.adapters.identity.vneid import load_rp_key
from hub.adapters.identity.vneid.simulator import VNeIDSimulation, simulate
from hub.adapters.signing.simulator import SimulatorServer, free_port
from hub.auth.clients import create_client
from hub.auth.people import grant_officer, revoke_officer
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.domain.enums import (
    ClientKind,
    OrgLevel,
    StaffRole,
)
from hub.web.app import create_app
from tests.people import People, new_personal_id, people_school
from tests.world import World


@pytest.fixture(scope="module")
async def people(db: Database, world: World) -> People:
    return await people_school(db, code="SIGNIN")


@dataclass
class Hub:
    url: str
    settings: Settings
    sso: VNeIDSimulation


@pytest.fixture(scope="module")
def hub(settings: Settings, people: People) -> Iterator[Hub]:
    """The hub served by uvicorn, signing people in at the simulated VNeID."""
    port = free_port("127.0.0.1")
    url = f"http://127.0.0.1:{port}"
    base = settings.model_copy(
        update={"public_url": url, "vneid_key_file": settings.token_key_file.parent / "vneid.pem"}
    )
    rp_key = load_rp_key(base)
    sso = simulate(rp_key.public_key(), redirect_uris=[f"{url}/auth/callback"])
    # Polled on every request (no LISTEN without the lifespan): "at once" is exact here.
    served = base.model_copy(update=sso.settings | {"clients_poll_seconds": 0})
    for pid, name, level in [
        (people.teacher, "Lê Thị Chủ Nhiệm", 2),
        (people.principal, "Trần Văn Hiệu Trưởng", 2),
        (people.officer, "Đỗ Văn Cán Bộ Sở", 2),
        (people.guardian, "Nguyễn Thị Mẹ", 2),
        (people.unverified_guardian, "Vũ Văn Chưa Xác Thực", 2),
        (people.pupil, "Nguyễn Thị Học Trò", 1),
        (people.stranger, "Người Lạ", 2),
        (people.teacher_level_one, "Phạm Thị Mức Một", 1),
    ]:
        sso.add_citizen(pid, name, date(1980, 1, 1), account_level=level)
    server = SimulatorServer(create_app(served), port=port).start()
    try:
        yield Hub(url, served, sso)
    finally:
        server.stop()
        sso.stop()


@asynccontextmanager
async def signed_in(
    hub: Hub, personal_id: str
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.Response]]:
    """A browser that signed in as ``personal_id``: the client (with its cookies) and the
    callback's answer."""
    async with httpx.AsyncClient(base_url=hub.url, timeout=15) as browser:
        yield browser, await sign_in(hub, browser, personal_id)


async def sign_in(hub: Hub, browser: httpx.AsyncClient, personal_id: str) -> httpx.Response:
    start = await browser.get("/login")
    assert start.status_code == 302
    hub.sso.next_login(personal_id)
    at_sso = await browser.get(start.headers["location"])
    assert at_sso.status_code in (302, 303), at_sso.text
    callback = at_sso.headers["location"]
    assert callback.startswith(f"{hub.url}/auth/callback?")
    return await browser.get(callback)


@pytest.fixture
async def teacher_browser(hub: Hub, people: People) -> AsyncIterator[httpx.AsyncClient]:
    async with signed_in(hub, people.teacher) as (browser, answer):
        assert answer.status_code == 303
        yield browser


async def test_each_role_signs_in_and_me_shows_the_roles(hub: Hub, people: People) -> None:
    expectations = {
        people.teacher: lambda me: (
            [c["classId"] for c in me["roles"]["homeroomClasses"]] == [people.class_id]
        ),
        people.principal: lambda me: me["roles"]["principalOf"] == [people.school_id],
        people.officer: lambda me: me["roles"]["departmentOfficer"] is True,
        people.guardian: lambda me: (
            [g["studentId"] for g in me["guardianships"]] == [people.student_id]
        ),
        people.pupil: lambda me: me["roles"]["pupil"] is True and me["guardianships"] == [],
    }
    for personal_id, holds in expectations.items():
        async with signed_in(hub, personal_id) as (browser, answer):
            assert answer.status_code == 303, answer.text
            cookie = answer.headers["set-cookie"].lower()
            assert "httponly" in cookie and "samesite=lax" in cookie
            me = (await browser.get("/me")).json()
            assert me["personalId"].endswith(personal_id[-4:])
            assert personal_id not in str(me)  # masked everywhere
            assert holds(me), me


async def test_refusals_create_no_session(hub: Hub, people: People) -> None:
    for personal_id, code, status in [
        (people.stranger, "PERSON_UNKNOWN", 403),
        # A guardian whose link is not verified is nobody here.
        (people.unverified_guardian, "PERSON_UNKNOWN", 403),
        (people.teacher_level_one, "ACCOUNT_LEVEL_TOO_LOW", 403),
    ]:
        async with signed_in(hub, personal_id) as (browser, answer):
            assert answer.status_code == status
            assert code in answer.text
            assert "set-cookie" not in answer.headers
            assert (await browser.get("/me")).status_code == 401


async def test_a_replayed_or_forged_callback_is_refused(hub: Hub, people: People) -> None:
    async with signed_in(hub, people.teacher) as (browser, answer):
        assert answer.status_code == 303
        replay = await browser.get(str(answer.request.url))
        assert replay.status_code == 400 and "LOGIN_EXPIRED" in replay.text
        forged = await browser.get("/auth/callback?code=abc&state=forged")
        assert forged.status_code == 400 and "LOGIN_EXPIRED" in forged.text
        assert "set-cookie" not in forged.headers


async def test_a_provider_that_is_down_gets_a_page_not_a_session(hub: Hub, people: People) -> None:
    hub.sso.set_faults(server_error=503)
    try:
        async with signed_in(hub, people.teacher) as (_browser, answer):
            assert answer.status_code == 503
            assert "IDENTITY_PROVIDER_UNAVAILABLE" in answer.text
            assert "Hệ thống đăng nhập" in answer.text
            assert "set-cookie" not in answer.headers
    finally:
        hub.sso.reset()


async def test_state_changing_requests_with_a_session_need_the_csrf_token(
    hub: Hub, teacher_browser: httpx.AsyncClient
) -> None:
    query = {"query": "{ students(first: 1) { totalCount } }"}
    refused = await teacher_browser.post("/graphql", json=query)
    assert "UNAUTHENTICATED" in refused.text
    token = (await teacher_browser.get("/me")).json()["csrfToken"]
    allowed = await teacher_browser.post("/graphql", json=query, headers={"X-CSRF-Token": token})
    assert allowed.json()["data"]["students"]["totalCount"] == 1
    no_logout = await teacher_browser.post("/logout")
    assert no_logout.status_code == 403
    out = await teacher_browser.post("/logout", headers={"X-CSRF-Token": token})
    assert out.status_code == 303
    assert (await teacher_browser.get("/me")).status_code == 401


# --- An app acting for the person: authorization code with PKCE ---------------


@dataclass
class App:
    client_id: str
    secret: str
    redirect_uri: str


@pytest.fixture(scope="module")
async def vendor_app(db: Database, people: People) -> App:
    redirect_uri = "http://127.0.0.1:9/callback"
    async with db.unit_of_work() as session:
        school = await session.get(models.School, people.school_id)
        assert school is not None
        client = await create_client(
            session,
            name="Ứng dụng sổ điểm thử",
            kind=ClientKind.VENDOR,
            scopes=["students:read", "transcripts:read", "transcripts:sign"],
            org_level=OrgLevel.SCHOOL,
            school_codes=[school.moet_code],
            redirect_uris=[redirect_uri],
        )
    return App(client.client_id, client.client_secret, redirect_uri)


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


async def approve(
    browser: httpx.AsyncClient, app: App, challenge: str, decision: str = "allow"
) -> dict[str, list[str]]:
    """The person approves (or not) on the hub's page; the app's callback parameters."""
    query = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": app.redirect_uri,
        "scope": "students:read transcripts:sign",
        "state": "app-state-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = await browser.get(f"/oauth/authorize?{urlencode(query)}")
    assert page.status_code == 200, page.text
    assert "Ứng dụng sổ điểm thử" in page.text and "Cho phép" in page.text
    assert "form-action 'self' http://127.0.0.1:9" in page.headers["content-security-policy"]
    csrf = (await browser.get("/me")).json()["csrfToken"]
    answer = await browser.post(
        "/oauth/authorize", data=query | {"csrf_token": csrf, "decision": decision}
    )
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith(app.redirect_uri)
    return parse_qs(urlsplit(location).query)


async def tokens(hub: Hub, app: App, **form: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=hub.url) as client:
        return await client.post("/oauth/token", data=form, auth=(app.client_id, app.secret))


async def test_an_app_gets_a_token_bound_to_the_teacher(
    hub: Hub, people: People, vendor_app: App, teacher_browser: httpx.AsyncClient
) -> None:
    verifier, challenge = _pkce()
    back = await approve(teacher_browser, vendor_app, challenge)
    assert back["state"] == ["app-state-1"] and back["iss"] == [hub.url]
    code = back["code"][0]
    wrong = await tokens(
        hub,
        vendor_app,
        grant_type="authorization_code",
        code=code,
        redirect_uri=vendor_app.redirect_uri,
        code_verifier=_pkce()[0],
    )
    assert wrong.json()["error"] == "invalid_grant"
    # The code was spent by the wrong verifier: a second try is refused too.
    again = await tokens(
        hub,
        vendor_app,
        grant_type="authorization_code",
        code=code,
        redirect_uri=vendor_app.redirect_uri,
        code_verifier=verifier,
    )
    assert again.json()["error"] == "invalid_grant"

    verifier, challenge = _pkce()
    code = (await approve(teacher_browser, vendor_app, challenge))["code"][0]
    issued = await tokens(
        hub,
        vendor_app,
        grant_type="authorization_code",
        code=code,
        redirect_uri=vendor_app.redirect_uri,
        code_verifier=verifier,
    )
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert set(body["scope"].split()) == {"students:read", "transcripts:sign"}
    async with httpx.AsyncClient(base_url=hub.url) as client:
        headers = {"Authorization": f"Bearer {body['access_token']}"}
        me = (await client.get("/me", headers=headers)).json()
        assert me["fullName"] == "Lê Thị Chủ Nhiệm"
        # The token reads within the teacher's school only, as the teacher.
        read = await client.post(
            "/graphql", headers=headers, json={"query": "{ students(first: 5) { totalCount } }"}
        )
        assert read.json()["data"]["students"]["totalCount"] == 1
        introspected = await client.post(
            "/oauth/introspect",
            data={"token": body["access_token"]},
            auth=(vendor_app.client_id, vendor_app.secret),
        )
        assert introspected.json()["active"] is True
        assert introspected.json()["sub"].endswith(people.teacher[-4:])
        assert introspected.json()["sub"] != people.teacher

    # Refresh rotates; presenting the used refresh token again revokes the grant.
    refreshed = await tokens(
        hub, vendor_app, grant_type="refresh_token", refresh_token=body["refresh_token"]
    )
    assert refreshed.status_code == 200
    reused = await tokens(
        hub, vendor_app, grant_type="refresh_token", refresh_token=body["refresh_token"]
    )
    assert reused.json()["error"] == "invalid_grant"
    async with httpx.AsyncClient(base_url=hub.url) as client:
        stale = await client.get(
            "/me", headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"}
        )
        assert stale.status_code == 401


async def test_the_person_may_refuse_and_revoke(
    hub: Hub, vendor_app: App, teacher_browser: httpx.AsyncClient
) -> None:
    _, challenge = _pkce()
    refused = await approve(teacher_browser, vendor_app, challenge, decision="deny")
    assert refused["error"] == ["access_denied"] and "code" not in refused

    verifier, challenge = _pkce()
    code = (await approve(teacher_browser, vendor_app, challenge))["code"][0]
    body = (
        await tokens(
            hub,
            vendor_app,
            grant_type="authorization_code",
            code=code,
            redirect_uri=vendor_app.redirect_uri,
            code_verifier=verifier,
        )
    ).json()
    async with httpx.AsyncClient(base_url=hub.url) as client:
        revoked = await client.post(
            "/oauth/revoke",
            data={"token": body["refresh_token"]},
            auth=(vendor_app.client_id, vendor_app.secret),
        )
        assert revoked.status_code == 200
        me = await client.get("/me", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert me.status_code == 401


async def test_a_teacher_moved_away_stops_acting_for_the_school_at_once(
    hub: Hub, db: Database, people: People, vendor_app: App
) -> None:
    async with db.unit_of_work() as session:
        moved = models.Staff(
            personal_id=new_personal_id(1988),
            full_name="Hoàng Thị Chuyển Trường",
            search_name="hoang thi",
        )
        session.add(moved)
        await session.flush()
        session.add(
            models.StaffAssignment(
                staff_id=moved.id, school_id=people.school_id, role=StaffRole.TEACHER
            )
        )
        moved_id, moved_pid = moved.id, moved.personal_id
    hub.sso.add_citizen(moved_pid, "Hoàng Thị Chuyển Trường", date(1988, 1, 1), account_level=2)
    async with signed_in(hub, moved_pid) as (browser, answer):
        assert answer.status_code == 303
        verifier, challenge = _pkce()
        code = (await approve(browser, vendor_app, challenge))["code"][0]
    body = (
        await tokens(
            hub,
            vendor_app,
            grant_type="authorization_code",
            code=code,
            redirect_uri=vendor_app.redirect_uri,
            code_verifier=verifier,
        )
    ).json()
    query = {"query": "{ students(first: 5) { totalCount } }"}
    async with httpx.AsyncClient(base_url=hub.url) as client:
        headers = {"Authorization": f"Bearer {body['access_token']}"}
        before = (await client.post("/graphql", json=query, headers=headers)).json()
        assert before["data"]["students"]["totalCount"] == 1
        async with db.unit_of_work() as session:
            await session.execute(
                delete(models.StaffAssignment).where(models.StaffAssignment.staff_id == moved_id)
            )
        after = (await client.post("/graphql", json=query, headers=headers)).json()
        assert after["data"]["students"]["totalCount"] == 0


async def test_an_officer_whose_role_is_revoked_loses_it_at_once(
    hub: Hub, db: Database, people: People
) -> None:
    async with signed_in(hub, people.officer) as (browser, answer):
        assert answer.status_code == 303
        assert (await browser.get("/me")).json()["roles"]["departmentOfficer"] is True
        async with db.unit_of_work() as session:
            assert await revoke_officer(session, personal_id=people.officer)
        # The officer held no other role: the session no longer stands for anyone.
        assert (await browser.get("/me")).status_code == 401
        async with db.unit_of_work() as session:
            await grant_officer(
                session, personal_id=people.officer, full_name="Đỗ Văn Cán Bộ Sở", granted_by="t"
            )
        assert (await browser.get("/me")).json()["roles"]["departmentOfficer"] is True
