"""The signing page (issue 12, part 2), through the ASGI app with every provider's
simulator (and the seal's SoftHSM2 token) on loopback.

A homeroom teacher signs in (a browser session), sees her own class's transcripts
waiting for her, signs them all with one confirmation on the phone and watches the
status reach SIGNED; a refusal on the phone comes back as a stable code with what to
do next in plain Vietnamese. The principal then signs them, and whoever may apply the
school's seal (the principal, :func:`hub.signing.service.seal_keeper_id`) seals them
with one press: the token signs with no phone.

Each test has a school of its own and its own browsers; a test that needs earlier
signatures gives them itself, through the page, as their signers would
(:func:`signed_on_page`).
"""

import asyncio
import dataclasses
import html
import itertools
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from hub.adapters.signing.csc.simulator import HUB_CLIENT
from hub.adapters.signing.simulator import Phone, PhoneAnswer
from hub.config import Settings
from hub.db import models
from hub.db.engine import Database
from hub.demo.signing import DemoSigning
from hub.domain.enums import CertificateStatus, SigningProvider, StaffRole
from hub.domain.problems import Code
from hub.domain.signers import SignerRole
from hub.signing import service as signing_service
from hub.web import i18n
from hub.web.app import create_app
from hub.web.sign_pages import NEXT_STEP, SEAL_NEXT_STEP, SEAL_STATES, next_step_key
from tests import signing_support as support
from tests.helpers import Visitor, signed_in_visitor
from tests.schools import SigningSchool, signing_school

demo = support.demo
_schools = itertools.count(1)
VI = i18n.catalogue("vi")


@pytest.fixture
async def school(db: Database, world: Any, demo: DemoSigning) -> SigningSchool:
    """The test's own school: two classes (teachers at MySign and Ban Cơ yếu) of three
    ready transcripts, the principal at a CSC server, the seal on a SoftHSM2 token."""
    return await signing_school(
        db,
        demo,
        code=f"01SIGNPG{next(_schools)}",
        school_year_id=world.current_year_id,
        teacher_providers=[SigningProvider.MYSIGN, SigningProvider.BCY],
        principal_provider=SigningProvider.CSC,
        per_class=3,
    )


@pytest.fixture(scope="module")
def hub(settings: Settings, db: Database, demo: DemoSigning) -> Any:
    return create_app(settings, db, signing=demo.signing)


@pytest.fixture
async def browsers(hub: Any) -> AsyncIterator[list[Visitor]]:
    """The browsers a test opens (it appends them); each is closed after the test."""
    opened: list[Visitor] = []
    yield opened
    for visitor in opened:
        await visitor.web.aclose()


@pytest.fixture
async def teacher(hub: Any, school: SigningSchool, browsers: list[Visitor]) -> Visitor:
    """The homeroom teacher of the first class, signed in."""
    browsers.append(await signed_in_visitor(hub, school.teachers[0], "?"))
    return browsers[-1]


@pytest.fixture
async def other_teacher(hub: Any, school: SigningSchool, browsers: list[Visitor]) -> Visitor:
    """The homeroom teacher of the second class, signed in."""
    browsers.append(await signed_in_visitor(hub, school.teachers[1], "?"))
    return browsers[-1]


@pytest.fixture
async def principal(hub: Any, school: SigningSchool, browsers: list[Visitor]) -> Visitor:
    """The principal, who also applies the school's seal, signed in."""
    browsers.append(await signed_in_visitor(hub, school.principal, "?"))
    return browsers[-1]


async def pupils_of(db: Database, transcript_ids: list[int]) -> set[str]:
    async with db.sessions() as session:
        return set(
            await session.scalars(
                select(models.Student.full_name)
                .join(models.Transcript, models.Transcript.student_id == models.Student.id)
                .where(models.Transcript.id.in_(transcript_ids))
            )
        )


async def states_of(db: Database, transcript_ids: list[int]) -> set[str]:
    async with db.sessions() as session:
        return set(
            await session.scalars(
                select(models.Transcript.state).where(models.Transcript.id.in_(transcript_ids))
            )
        )


async def requests_of(db: Database, school: SigningSchool) -> int:
    async with db.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(models.SigningRequest)
            .where(models.SigningRequest.school_id == school.id)
        )
        return int(count or 0)


def listed(page: httpx.Response) -> set[int]:
    """The transcripts a list page links a preview of."""
    return {int(link.split('"')[0]) for link in page.text.split('href="/sign/preview/')[1:]}


async def press_sign_all(browser: Visitor, role: str, school: SigningSchool) -> str:
    """Press "sign all" (or "seal all") of the school's group: the request page's address."""
    answer = await browser.web.post(
        "/sign", data={"csrf_token": browser.csrf, "role": role, "school_id": str(school.id)}
    )
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith("/sign/requests/"), location
    return location


async def until_finished(browser: Visitor, page: str) -> dict[str, Any]:
    """The status the page's script polls, until the provider has answered."""
    for _ in range(100):
        answer = await browser.web.get(f"{page}/status")
        assert answer.status_code == 200, answer.text
        status: dict[str, Any] = answer.json()
        if not status["pending"]:
            return status
        await asyncio.sleep(0.1)
    raise AssertionError("the provider never answered")


async def signed_on_page(browser: Visitor, role: str, school: SigningSchool) -> dict[str, Any]:
    """``role``'s signature on what waits for ``browser``'s person at the school, given
    on the page: the finished request's status, every transcript signed."""
    status = await until_finished(browser, await press_sign_all(browser, role, school))
    assert status["state"] == "SIGNED" and status["failures"] == [], status
    return status


# --- the homeroom teacher and the principal --------------------------------------------


async def test_the_teacher_sees_only_her_class_waiting(
    teacher: Visitor, principal: Visitor, school: SigningSchool, db: Database
) -> None:
    page = await teacher.web.get("/sign")
    assert page.status_code == 200
    assert listed(page) == set(school.transcripts[school.class_ids[0]])
    assert all(name in page.text for name in await pupils_of(db, list(listed(page))))
    assert "Ký tất cả (3 học bạ)" in page.text
    # Nothing waits for the principal, nor for the seal, before the teachers have signed.
    assert VI["sign.nothing_waiting"] in (await principal.web.get("/sign")).text


async def test_without_a_session_the_page_sends_to_sign_in(hub: Any) -> None:
    transport = httpx.ASGITransport(app=hub)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as anonymous:
        answer = await anonymous.get("/sign")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


async def test_the_preview_shows_the_pupil_and_the_content(
    teacher: Visitor, school: SigningSchool, db: Database
) -> None:
    transcript_id = school.transcripts[school.class_ids[0]][0]
    page = await teacher.web.get(f"/sign/preview/{transcript_id}")
    assert page.status_code == 200
    assert (await pupils_of(db, [transcript_id])).pop() in page.text
    assert VI["verify.content.subjects"] in page.text
    # A staff session may not download the file (it carries the full personal ID):
    # the page does not offer a link the download route would refuse.
    assert 'href="/transcripts/' not in page.text


async def test_signing_without_the_csrf_token_is_refused(
    teacher: Visitor, school: SigningSchool, db: Database
) -> None:
    answer = await teacher.web.post(
        "/sign", data={"role": "HOMEROOM_TEACHER", "school_id": str(school.id)}
    )
    assert answer.status_code == 403
    assert "CSRF_FAILED" in answer.text
    wrong = await teacher.web.post(
        "/sign",
        data={"csrf_token": "forged", "role": "HOMEROOM_TEACHER", "school_id": str(school.id)},
    )
    assert wrong.status_code == 403
    assert await requests_of(db, school) == 0


async def test_a_refusal_on_the_phone_says_why_and_what_to_do(
    other_teacher: Visitor, school: SigningSchool, demo: DemoSigning
) -> None:
    demo.set_phone(Phone(PhoneAnswer.REJECT, 0.2))
    try:
        page = await press_sign_all(other_teacher, "HOMEROOM_TEACHER", school)
        status = await until_finished(other_teacher, page)
    finally:
        demo.set_phone(Phone(confirm_delay=0.2))
    assert status["state"] == "REJECTED"
    assert status["signed"] == 0 and status["total"] == 3
    plain = VI["sign.reason.rejected"]
    assert [f["code"] for f in status["failures"]] == ["SIGNER_REJECTED"] * 3
    assert all(f["message"] == plain for f in status["failures"])
    shown = await other_teacher.web.get(page)
    assert "SIGNER_REJECTED" in shown.text and plain in shown.text
    # Still waiting for her: she can press "sign all" again.
    assert "Ký tất cả (3 học bạ)" in (await other_teacher.web.get("/sign")).text


async def test_sign_all_is_one_request_and_reaches_signed(
    teacher: Visitor, school: SigningSchool, db: Database
) -> None:
    page = await press_sign_all(teacher, "HOMEROOM_TEACHER", school)
    assert await requests_of(db, school) == 1
    pending = await teacher.web.get(page)
    assert pending.status_code == 200
    assert VI["sign.checklist.open_app"] in pending.text
    assert '<script src="/static/sign.js"' in pending.text
    status = await until_finished(teacher, page)
    assert status["state"] == "SIGNED" and status["role"] == "HOMEROOM_TEACHER"
    assert status["signed"] == status["total"] == 3
    assert status["failures"] == []
    assert await states_of(db, school.transcripts[school.class_ids[0]]) == {"SIGNED_BY_HOMEROOM"}
    assert VI["sign.nothing_waiting"] in (await teacher.web.get("/sign")).text


async def test_pressing_again_while_the_phone_waits_leads_to_the_same_request(
    teacher: Visitor, other_teacher: Visitor, school: SigningSchool, db: Database
) -> None:
    first = await press_sign_all(teacher, "HOMEROOM_TEACHER", school)
    # A double click, another tab, the page closed and opened again: nothing new is sent
    # to the phone while the request waits (it waits until the page asks the provider).
    assert await press_sign_all(teacher, "HOMEROOM_TEACHER", school) == first
    assert await requests_of(db, school) == 1
    # Her colleague's request is her own, not the one under way.
    assert await press_sign_all(other_teacher, "HOMEROOM_TEACHER", school) != first
    assert await requests_of(db, school) == 2
    status = await until_finished(teacher, first)
    assert status["state"] == "SIGNED" and status["signed"] == 3


async def test_another_persons_request_is_not_shown(
    teacher: Visitor, other_teacher: Visitor, principal: Visitor, school: SigningSchool
) -> None:
    page = await press_sign_all(teacher, "HOMEROOM_TEACHER", school)
    await until_finished(teacher, page)
    for someone_else in (other_teacher, principal):
        assert (await someone_else.web.get(f"{page}/status")).status_code == 404
        assert (await someone_else.web.get(page)).status_code == 404


async def test_the_principal_signs_what_the_teacher_signed(
    teacher: Visitor, principal: Visitor, school: SigningSchool, db: Database
) -> None:
    await signed_on_page(teacher, "HOMEROOM_TEACHER", school)
    page = await principal.web.get("/sign")
    assert "Ký tất cả (3 học bạ)" in page.text
    assert listed(page) == set(school.transcripts[school.class_ids[0]])
    status = await signed_on_page(principal, "PRINCIPAL", school)
    assert status["signed"] == 3
    assert await states_of(db, school.transcripts[school.class_ids[0]]) == {"SIGNED_BY_PRINCIPAL"}


# --- the school's seal -------------------------------------------------------------------


async def principal_signed(teacher: Visitor, principal: Visitor, school: SigningSchool) -> None:
    """The first class's transcripts signed by its homeroom teacher, then the principal."""
    await signed_on_page(teacher, "HOMEROOM_TEACHER", school)
    await signed_on_page(principal, "PRINCIPAL", school)


async def test_whoever_applies_the_seal_seals_what_the_principal_signed_with_one_press(
    teacher: Visitor, principal: Visitor, school: SigningSchool, db: Database
) -> None:
    await principal_signed(teacher, principal, school)
    sealed = school.transcripts[school.class_ids[0]]
    page = await principal.web.get("/sign")
    assert 'data-role="SCHOOL_SEAL"' in page.text
    assert "Đóng dấu tất cả (3 học bạ)" in page.text
    assert VI["sign.seal.no_phone"] in page.text
    assert listed(page) == set(sealed)
    assert "Seal all (3 transcripts)" in (await principal.web.get("/sign?lang=en")).text
    await principal.web.get("/sign?lang=vi")  # the choice is kept: back to Vietnamese

    request_page = await press_sign_all(principal, "SCHOOL_SEAL", school)
    # Pressed twice: the seal is asked once.
    assert await press_sign_all(principal, "SCHOOL_SEAL", school) == request_page
    # The token signed at once: the first look at the request finds it done.
    shown = await principal.web.get(request_page)
    assert shown.status_code == 200
    assert VI["sign.seal.title"] in shown.text and VI["sign.seal.state_signed"] in shown.text
    status = await until_finished(principal, request_page)
    assert status == status | {"state": "SIGNED", "role": "SCHOOL_SEAL", "seal": True}
    assert status["signed"] == status["total"] == 3
    assert status["progressText"] == "Đã đóng dấu 3/3 học bạ"
    assert await states_of(db, sealed) == {"SEALED"}
    async with db.sessions() as session:
        request = await session.scalar(
            select(models.SigningRequest).where(
                models.SigningRequest.request_id == request_page.rsplit("/", 1)[1]
            )
        )
    assert request is not None
    assert (request.role, request.staff_id, request.provider) == (
        "SCHOOL_SEAL",
        None,  # the school's signature, not a person's
        SigningProvider.PKCS11,
    )
    assert VI["sign.nothing_waiting"] in (await principal.web.get("/sign")).text


async def test_only_whoever_applies_the_seal_is_offered_it(
    teacher: Visitor, principal: Visitor, school: SigningSchool, db: Database
) -> None:
    await principal_signed(teacher, principal, school)
    before = await requests_of(db, school)
    page = await teacher.web.get("/sign")
    assert "SCHOOL_SEAL" not in page.text and VI["sign.nothing_waiting"] in page.text
    # Asking anyway gives nothing to seal: back to the list, nothing sent to the token.
    answer = await teacher.web.post(
        "/sign",
        data={"csrf_token": teacher.csrf, "role": "SCHOOL_SEAL", "school_id": str(school.id)},
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/sign")
    assert await requests_of(db, school) == before
    # Nor may she follow the school's seal request.
    sealing = await press_sign_all(principal, "SCHOOL_SEAL", school)
    assert (await teacher.web.get(f"{sealing}/status")).status_code == 404


async def test_the_seal_moves_with_the_principal(
    hub: Any,
    teacher: Visitor,
    principal: Visitor,
    school: SigningSchool,
    db: Database,
    browsers: list[Visitor],
) -> None:
    await principal_signed(teacher, principal, school)
    # A new principal is recorded (the one recorded last is the principal).
    async with db.unit_of_work() as session:
        newcomer = await session.scalar(
            select(models.Staff).where(models.Staff.personal_id == school.teachers[1])
        )
        assert newcomer is not None
        session.add(
            models.StaffAssignment(
                school_id=school.id, staff_id=newcomer.id, role=StaffRole.PRINCIPAL
            )
        )
    browsers.append(await signed_in_visitor(hub, school.teachers[1], "?"))
    new_principal = browsers[-1]
    assert "Đóng dấu tất cả (3 học bạ)" in (await new_principal.web.get("/sign")).text
    assert "SCHOOL_SEAL" not in (await principal.web.get("/sign")).text
    status = await signed_on_page(new_principal, "SCHOOL_SEAL", school)
    assert status["signed"] == 3


async def test_a_transcript_changed_while_sealing_says_so_and_the_others_are_sealed(
    teacher: Visitor, principal: Visitor, school: SigningSchool, db: Database
) -> None:
    await principal_signed(teacher, principal, school)
    changed, *others = school.transcripts[school.class_ids[0]]
    request_page = await press_sign_all(principal, "SCHOOL_SEAL", school)
    # Between the token's signature and the documents being finished, one transcript's
    # document is no longer the one the token signed.
    async with db.unit_of_work() as session:
        await session.execute(
            update(models.Transcript)
            .where(models.Transcript.id == changed)
            .values(xml_sha256="0" * 64)
        )
    status = await until_finished(principal, request_page)
    assert (status["signed"], status["total"]) == (2, 3)
    [failure] = status["failures"]
    plain = VI["sign.seal_reason.changed"]
    assert failure == failure | {"transcriptId": changed, "code": "TRANSCRIPT_STATE"}
    assert failure["message"] == plain
    shown = await principal.web.get(request_page)
    assert "TRANSCRIPT_STATE" in shown.text and plain in shown.text
    assert await states_of(db, others) == {"SEALED"}
    assert await states_of(db, [changed]) == {"SIGNED_BY_PRINCIPAL"}


async def test_without_the_timestamp_service_the_seal_waits_and_says_so(
    teacher: Visitor, principal: Visitor, school: SigningSchool, db: Database, demo: DemoSigning
) -> None:
    await principal_signed(teacher, principal, school)
    sealed = school.transcripts[school.class_ids[0]]
    demo.pki_server.stop()  # the TSA (and the demo CA's OCSP and CRLs)
    try:
        request_page = await press_sign_all(principal, "SCHOOL_SEAL", school)
        answer = await principal.web.get(f"{request_page}/status")
        waiting = answer.json()
        shown = await principal.web.get(request_page)
    finally:
        demo.pki_server.start()
    plain = VI["sign.seal_reason.timestamp"]
    assert waiting == waiting | {
        "state": "PENDING",
        "pending": True,
        "trouble": "TIMESTAMP_UNAVAILABLE",
        "troubleText": plain,
        "stateText": VI["sign.seal.state_pending"],
    }
    assert plain in shown.text and VI["sign.seal.checklist_no_phone"] in shown.text
    assert VI["sign.checklist.open_app"] not in shown.text  # no phone to open
    assert await states_of(db, sealed) == {"SIGNED_BY_PRINCIPAL"}
    # The service is back: the next look finishes the seal, without sealing again.
    status = await until_finished(principal, request_page)
    assert status["state"] == "SIGNED" and status["signed"] == 3
    assert await states_of(db, sealed) == {"SEALED"}


async def test_a_refused_seal_says_what_to_do_not_the_token_s_words(
    teacher: Visitor, principal: Visitor, school: SigningSchool, db: Database
) -> None:
    await principal_signed(teacher, principal, school)
    before = await requests_of(db, school)
    # The school's seal certificate recorded revoked: the records name no seal to sign with.
    async with db.unit_of_work() as session:
        await session.execute(
            update(models.SigningCertificate)
            .where(models.SigningCertificate.school_id == school.id)
            .values(status=CertificateStatus.REVOKED)
        )
    answer = await principal.web.post(
        "/sign",
        data={"csrf_token": principal.csrf, "role": "SCHOOL_SEAL", "school_id": str(school.id)},
    )
    assert answer.status_code == 409
    assert "CREDENTIAL_NOT_FOUND" in answer.text
    assert VI["sign.seal_reason.certificate"] in answer.text
    assert await requests_of(db, school) == before


# --- the words -----------------------------------------------------------------------------


def test_every_next_step_and_state_is_in_both_catalogues() -> None:
    keys = {
        *NEXT_STEP.values(),
        *SEAL_NEXT_STEP.values(),
        *SEAL_STATES.values(),
        "sign.reason.other",
        "sign.seal_reason.other",
        *(
            f"sign.state.{state.lower()}"
            for state in (
                signing_service.PENDING,
                signing_service.SIGNED,
                signing_service.REJECTED,
                signing_service.EXPIRED,
                signing_service.FAILED,
            )
        ),
    }
    for language in i18n.LANGUAGES:
        assert keys <= set(i18n.catalogue(language)), language
    assert next_step_key("NO_SUCH_CODE", SignerRole.PRINCIPAL) == "sign.reason.other"
    assert next_step_key(None, SignerRole.SCHOOL_SEAL) == "sign.seal_reason.other"
    assert next_step_key(Code.SIGNER_REJECTED.value, SignerRole.SCHOOL_SEAL) == (
        "sign.seal_reason.other"
    )


async def test_a_principal_whose_credential_asks_an_otp_types_it_on_the_page(
    teacher: Visitor,
    other_teacher: Visitor,
    principal: Visitor,
    school: SigningSchool,
    demo: DemoSigning,
    db: Database,
) -> None:
    """The CSC server sends an OTP: the page asks for it (no clock refresh over the form),
    a wrong one says what to do, the right one signs."""
    back_office = demo.back_offices[SigningProvider.CSC]
    (credential,) = back_office.subscribers[school.principal].credentials
    back_office.settings[credential.credential_id] = dataclasses.replace(
        back_office.settings_of(credential), otp="online"
    )
    await signed_on_page(teacher, "HOMEROOM_TEACHER", school)
    await signed_on_page(other_teacher, "HOMEROOM_TEACHER", school)

    page = await press_sign_all(principal, "PRINCIPAL", school)
    shown = await principal.web.get(page)
    assert VI["sign.otp.heading"] in shown.text and 'autocomplete="one-time-code"' in shown.text
    assert "data-awaiting-otp" in shown.text
    wrong = "1" * 6 if back_office.otps_sent[credential.credential_id] != "1" * 6 else "2" * 6
    refused = await principal.web.post(
        f"{page}/otp", data={"csrf_token": principal.csrf, "otp": wrong}
    )
    assert refused.status_code == 303
    failed = (await principal.web.get(f"{page}/status")).json()
    assert failed["state"] == "FAILED"
    assert {f["code"] for f in failed["failures"]} == {"SIGNER_OTP_WRONG"}
    assert VI["sign.reason.otp_wrong"] in {f["message"] for f in failed["failures"]}

    page = await press_sign_all(principal, "PRINCIPAL", school)
    sent = back_office.otps_sent[credential.credential_id]
    forged = await principal.web.post(f"{page}/otp", data={"csrf_token": "forged", "otp": sent})
    assert forged.status_code == 403
    given = await principal.web.post(
        f"{page}/otp", data={"csrf_token": principal.csrf, "otp": sent}
    )
    assert given.status_code == 303 and given.headers["location"] == page
    status = (await principal.web.get(f"{page}/status")).json()
    assert status["state"] == "SIGNED" and status["signed"] == len(school.all_transcripts)
    assert await states_of(db, school.all_transcripts) == {"SIGNED_BY_PRINCIPAL"}


async def test_a_principal_whose_credential_asks_consent_gives_it_at_the_provider(
    teacher: Visitor,
    other_teacher: Visitor,
    principal: Visitor,
    school: SigningSchool,
    demo: DemoSigning,
    db: Database,
    hub: Any,
) -> None:
    """An oauth2code credential: the page links to the CSC server's consent page; the
    browser, following real redirects, goes there, says no or yes, and is sent back to
    the hub's callback, which polls with what it brought and shows the request."""
    back_office = demo.back_offices[SigningProvider.CSC]
    back_office.redirect_uris.setdefault(HUB_CLIENT.client_id, set()).add(
        "http://hub.test/sign/authorized"
    )
    (credential,) = back_office.subscribers[school.principal].credentials
    back_office.settings[credential.credential_id] = dataclasses.replace(
        back_office.settings_of(credential), auth_mode="oauth2code", pin=False
    )
    await signed_on_page(teacher, "HOMEROOM_TEACHER", school)
    await signed_on_page(other_teacher, "HOMEROOM_TEACHER", school)
    # The principal's browser: the hub through ASGI, the CSC server over HTTP.
    browser = httpx.AsyncClient(
        mounts={"http://hub.test": httpx.ASGITransport(app=hub)},
        cookies=principal.web.cookies,
        follow_redirects=True,
    )

    async def answer_at_the_provider(page: str, decision: str) -> httpx.Response:
        shown = await principal.web.get(page)
        assert VI["sign.consent.go"] in shown.text and "data-awaiting-consent" in shown.text
        link = html.unescape(shown.text.split('id="sign-consent-link" href="')[1].split('"')[0])
        consent_page = await browser.get(link)
        assert consent_page.status_code == 200 and "Đồng ý" in consent_page.text
        ticket = consent_page.text.split('name="ticket" value="')[1].split('"')[0]
        return await browser.post(link.split("?")[0], data={"ticket": ticket, "decision": decision})

    async with browser:
        page = await press_sign_all(principal, "PRINCIPAL", school)
        refused = await answer_at_the_provider(page, "deny")
        assert refused.status_code == 200 and refused.url == f"http://hub.test{page}"
        assert [r.status_code for r in refused.history] == [302, 303]
        status = (await principal.web.get(f"{page}/status")).json()
        assert status["state"] == "REJECTED" and status["authorizeUrl"] is None

        page = await press_sign_all(principal, "PRINCIPAL", school)
        given = await answer_at_the_provider(page, "approve")
        assert given.status_code == 200 and given.url == f"http://hub.test{page}"
        callback = given.history[1].url
        assert callback.path == "/sign/authorized" and "code" in callback.params
        status = (await principal.web.get(f"{page}/status")).json()
        assert status["state"] == "SIGNED" and status["signed"] == len(school.all_transcripts)
        assert await states_of(db, school.all_transcripts) == {"SIGNED_BY_PRINCIPAL"}
        # The same redirect again names no pending request: nothing is signed twice.
        replayed = await browser.get(str(callback))
        assert replayed.status_code == 404
