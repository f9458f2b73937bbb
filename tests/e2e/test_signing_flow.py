"""A transcript signed by its three signers through their providers, end to end.

The homeroom teacher signs through Ban Cơ yếu (RSSP), the principal through
Viettel MySign, the seal through a SoftHSM2 token — every provider a real HTTP
simulator (or token) on loopback, the hub driven through GraphQL. The signed
documents then verify in the hub and in independent verifiers (xmlsec1, pdfsig).
Each test signs the transcripts of a school of its own.
"""

import asyncio
import dataclasses
import itertools
import json
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from hub.adapters.signing.csc.simulator import HUB_CLIENT
from hub.adapters.signing.simulator import Phone, PhoneAnswer
from hub.auth.access import Caller
from hub.db import models
from hub.demo.signing import DemoSigning
from hub.domain.enums import (
    OrgLevel,
    SigningProvider,
)
from hub.domain.signers import SignerRole
from hub.jobs import archive
from hub.signing import longterm
from hub.signing import service as signing_service
from hub.signing.trust import TrustStore
from hub.signing.verification import Verdict, verify_document
from hub.web.app import create_app
from tests import signing_support as support
from tests.helpers import data, error_codes, gql, register, token_for
from tests.schools import signing_school
from tests.signing_support import COMPLETE, REQUEST, gid, sign_through_hub, until_answered

VERIFY = """query($id: ID!) { verifyTranscript(id: $id) { verdict
  xml { verdict signatures { role signerName verdict timestampTime reasons { code } }
        reasons { code message messageEn } }
  pdf { verdict signatures { role signerName verdict reasons { code } }
        reasons { code message } } } }"""
PROVIDERS = "{ signingProviders(refresh: true) { name status latencyMs lastError } }"
TRANSCRIPT = "query($id: ID!) { node(id: $id) { ... on Transcript { state waitingFor } } }"


demo = support.demo
_schools = itertools.count(1)


@dataclasses.dataclass
class School:
    """The signing school of tests/schools.py, seen as one class of four transcripts."""

    id: int
    code: str
    teacher: str
    principal: str
    transcripts: list[int]


@pytest.fixture
async def school(db, world, demo) -> School:  # type: ignore[no-untyped-def]
    """The test's own school: teacher at Ban Cơ yếu, principal at MySign, the seal on a
    token; four transcripts ready."""
    built = await signing_school(
        db,
        demo,
        code=f"01LBSIGN{next(_schools)}",
        school_year_id=world.current_year_id,
        teacher_providers=[SigningProvider.BCY],
        principal_provider=SigningProvider.MYSIGN,
        per_class=4,
    )
    return School(built.id, built.code, built.teachers[0], built.principal, built.all_transcripts)


@pytest.fixture(scope="module")
async def hub(settings, db, demo) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    app = create_app(settings, db, signing=demo.signing)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


@pytest.fixture
async def vendor(db, hub, school) -> str:  # type: ignore[no-untyped-def]
    return await token_for(hub, *await register(db, org=OrgLevel.SCHOOL, schools=[school.code]))


async def signed_in_turn(hub, vendor, school: School, ids: list[int], *roles: str) -> None:  # type: ignore[no-untyped-def]
    """The transcripts signed by ``roles`` in turn (the story's earlier steps)."""
    signers = {"HOMEROOM_TEACHER": school.teacher, "PRINCIPAL": school.principal}
    for role in roles:
        result = await sign_through_hub(hub, vendor, ids, role, signers.get(role))
        assert result["state"] == "SIGNED", result


async def test_three_signers_sign_through_their_providers_and_everyone_can_verify(
    hub, vendor, school, demo, db, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    batch = school.transcripts[:2]
    teacher = await sign_through_hub(hub, vendor, batch, "HOMEROOM_TEACHER", school.teacher)
    assert teacher == teacher | {"state": "SIGNED", "signed": 2, "errorCode": None}
    principal = await sign_through_hub(hub, vendor, batch, "PRINCIPAL", school.principal)
    assert principal["state"] == "SIGNED"
    seal = await sign_through_hub(hub, vendor, batch, "SCHOOL_SEAL")
    assert seal["state"] == "SIGNED"
    # One phone confirmation each: both transcripts (XML + PDF) in one transaction.
    assert len(demo.back_offices[SigningProvider.BCY].transactions) >= 1

    state = data(await gql(hub, vendor, TRANSCRIPT, {"id": gid(batch[0])}))["node"]
    assert state == {"state": "SEALED", "waitingFor": None}
    verified = data(await gql(hub, vendor, VERIFY, {"id": gid(batch[0])}))["verifyTranscript"]
    assert verified["verdict"] == "VALID", verified
    for kind in ("xml", "pdf"):
        roles = [s["role"] for s in verified[kind]["signatures"]]
        assert roles == ["HOMEROOM_TEACHER", "PRINCIPAL", "SCHOOL_SEAL"]
        assert all(s["verdict"] == "VALID" for s in verified[kind]["signatures"])
    assert verified["xml"]["signatures"][0]["signerName"] == "Nguyễn Thị Chủ Nhiệm 1"
    assert verified["xml"]["signatures"][0]["timestampTime"]

    async with db.sessions() as session:
        stored = await session.get(models.Transcript, batch[0])
        signed_xml, signed_pdf = stored.xml, stored.pdf
    _independent_verifiers_accept(signed_xml, signed_pdf, demo, tmp_path)
    # Sealed is long-term at once: with the PKI offline, the documents prove themselves.
    offline = TrustStore(demo.pki.roots, fetch_revocation=False)
    for document in (signed_xml, signed_pdf):
        alone = await verify_document(document, trust=offline)
        assert alone.verdict is Verdict.VALID, alone.reasons

    # A tampered copy uploaded by an admission office is rejected, with the reason.
    tampered = signed_xml.replace(b"<ethnicity>Kinh<", b"<ethnicity>Kinn<", 1)
    assert tampered != signed_xml
    result = await _upload(hub, vendor, tampered, "hocba.xml")
    assert result["verdict"] == "INVALID"
    assert "DOCUMENT_MODIFIED" in {r["code"] for r in result["reasons"]}
    genuine = await _upload(hub, vendor, signed_pdf, "hocba.pdf")
    assert genuine["verdict"] == "VALID", genuine


async def test_a_seal_batch_leaves_long_term_to_the_archive_job(
    hub, vendor, school, demo, db
) -> None:  # type: ignore[no-untyped-def]
    """Bulk signing's seal (complete_batch_signatures) records the documents B-T; the
    archive job then finds them due and makes them long-term, as it does a seal made
    while the PKI did not answer."""
    batch = school.transcripts[:1]
    await signed_in_turn(hub, vendor, school, batch, "HOMEROOM_TEACHER", "PRINCIPAL")
    caller = Caller(
        "batch", frozenset({"transcripts:read", "transcripts:sign"}), OrgLevel.DEPARTMENT, None
    )
    async with db.unit_of_work() as session:
        request = await signing_service.request_signatures(
            session,
            caller=caller,
            signing=demo.signing,
            transcript_ids=batch,
            role=SignerRole.SCHOOL_SEAL,
        )
    for _ in range(100):
        async with db.unit_of_work() as session:
            done = await signing_service.complete_batch_signatures(
                session, caller=caller, signing=demo.signing, request_id=request.request_id
            )
        if done.state != signing_service.PENDING:
            break
        await asyncio.sleep(0.1)
    assert done.state == signing_service.SIGNED

    async def stored() -> longterm.Documents:
        async with db.sessions() as session:
            transcript = await session.get(models.Transcript, batch[0])
            assert transcript is not None and transcript.state == "SEALED"
            return longterm.Documents(transcript.xml, transcript.pdf)

    sealed = await stored()
    assert longterm.due(sealed, datetime.now(UTC))
    offline = TrustStore(demo.pki.roots, fetch_revocation=False)
    assert (await verify_document(sealed.pdf, trust=offline)).verdict is not Verdict.VALID

    async with db.unit_of_work() as session:
        job, work = await archive.start(session, client_id="test")
    for step in work:
        await archive.archive_batch(db, demo.signing, job_id=job.job_id, batch=step.args[1])
    made = await stored()
    assert not longterm.due(made, datetime.now(UTC))
    for document in (made.xml, made.pdf):
        alone = await verify_document(document, trust=offline)
        assert alone.verdict is Verdict.VALID, alone.reasons


async def test_anyone_can_check_a_transcript_without_an_account(hub, vendor, school, db) -> None:  # type: ignore[no-untyped-def]
    roles = ("HOMEROOM_TEACHER", "PRINCIPAL", "SCHOOL_SEAL")
    await signed_in_turn(hub, vendor, school, school.transcripts[:1], *roles)
    async with db.sessions() as session:
        sealed = await session.get(models.Transcript, school.transcripts[0])
        document_id, pdf = sealed.document_id, sealed.pdf
    answer = (await hub.get(f"/verify/{document_id}")).json()
    assert answer["current"] is True and answer["state"] == "SEALED"
    assert answer["school"] == f"Trường THCS Ký Số {school.code}"
    assert answer["xml"]["verdict"] == answer["pdf"]["verdict"] == "VALID"
    assert [s["role"] for s in answer["pdf"]["signatures"]] == [
        "HOMEROOM_TEACHER",
        "PRINCIPAL",
        "SCHOOL_SEAL",
    ]
    assert "personal_id" not in str(answer) and "student" not in answer
    assert (await hub.get(f"/verify/{uuid.uuid4()}")).status_code == 404
    uploaded = (await hub.post("/verify", content=pdf)).json()
    assert uploaded["verdict"] == "VALID"
    tampered = pdf.replace(b"/Reason", b"/Raison", 1)
    rejected = (await hub.post("/verify", content=tampered)).json()
    assert rejected["verdict"] == "INVALID", rejected


async def _upload(hub, token, content: bytes, name: str) -> dict:  # type: ignore[no-untyped-def]
    operations = {
        "query": "mutation($f: Upload!) { verifyDocument(file: $f) { kind verdict documentId "
        "signatures { role verdict } reasons { code message } } }",
        "variables": {"f": None},
    }
    response = await hub.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.f"]})},
        files={"0": (name, content, "application/octet-stream")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return data(response.json())["verifyDocument"]


def _independent_verifiers_accept(xml: bytes, pdf: bytes, demo: DemoSigning, tmp: Path) -> None:
    for tool in ("xmlsec1", "pdfsig"):
        assert shutil.which(tool), f"{tool} is missing: run `make system-deps`"
    (tmp / "signed.xml").write_bytes(xml)
    # xmlsec1 reads one certificate per --trusted-pem file.
    trusted = []
    for n, root in enumerate(demo.pki.roots):
        (tmp / f"root-{n}.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))
        trusted += ["--trusted-pem", str(tmp / f"root-{n}.pem")]
    for n in (1, 2, 3):
        run = subprocess.run(
            [
                "xmlsec1",
                "--verify",
                "--enabled-reference-uris",
                "same-doc",
                "--id-attr:Id",
                "urn:vn:hub:hocba:transcript:1.0:content",
                "--id-attr:Id",
                "http://www.w3.org/2000/09/xmldsig#:Signature",
                "--id-attr:Id",
                "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
                "--node-id",
                f"signature-{n}",
                *trusted,
                str(tmp / "signed.xml"),
            ],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
    (tmp / "signed.pdf").write_bytes(pdf)
    run = subprocess.run(["pdfsig", str(tmp / "signed.pdf")], capture_output=True, text=True)
    assert run.stdout.count("Signature Validation: Signature is Valid.") == 3, run.stdout


async def ready_and_signed_again(hub, vendor, school: School) -> None:  # type: ignore[no-untyped-def]
    """After a request that signed nothing, the school's last two transcripts wait for
    their teacher again; sent again, the teacher confirms and they are signed."""
    state = data(await gql(hub, vendor, TRANSCRIPT, {"id": gid(school.transcripts[2])}))["node"]
    assert state["state"] == "READY"
    again = await sign_through_hub(
        hub, vendor, school.transcripts[2:], "HOMEROOM_TEACHER", school.teacher
    )
    assert again["state"] == "SIGNED"


async def test_providers_report_health_and_a_provider_that_is_down_fails_fast(
    hub, vendor, school, demo
) -> None:  # type: ignore[no-untyped-def]
    providers = data(await gql(hub, vendor, PROVIDERS))["signingProviders"]
    assert {p["name"]: p["status"] for p in providers} == {
        "BCY": "UP",
        "SMARTCA": "UP",
        "MYSIGN": "UP",
        "CSC": "UP",
        "PKCS11": "UP",
    }
    demo.servers["bcy"].stop()
    try:
        started = datetime.now(UTC)
        variables = {
            "ids": [gid(school.transcripts[2])],
            "role": "HOMEROOM_TEACHER",
            "signer": school.teacher,
        }
        result = await gql(hub, vendor, REQUEST, variables)
        assert error_codes(result) == ["PROVIDER_UNAVAILABLE"]
        assert "Ban Cơ yếu" in result["errors"][0]["message"]
        assert datetime.now(UTC) - started < timedelta(seconds=3)
        providers = data(await gql(hub, vendor, PROVIDERS))["signingProviders"]
        bcy = next(p for p in providers if p["name"] == "BCY")
        assert bcy["status"] == "DOWN" and bcy["lastError"]
    finally:
        demo.servers["bcy"].start()
    data(await gql(hub, vendor, PROVIDERS))


async def test_a_rejection_on_the_phone_leaves_the_transcript_waiting(
    hub, vendor, school, demo
) -> None:  # type: ignore[no-untyped-def]
    demo.set_phone(Phone(answer=PhoneAnswer.REJECT, confirm_delay=0.1))
    try:
        result = await sign_through_hub(
            hub, vendor, school.transcripts[2:], "HOMEROOM_TEACHER", school.teacher
        )
    finally:
        demo.set_phone(Phone(confirm_delay=0.2))
    assert result["state"] == "REJECTED"
    assert result["errorCode"] == "SIGNER_REJECTED"
    assert "từ chối" in result["errorMessage"]
    await ready_and_signed_again(hub, vendor, school)


async def test_a_provider_answer_without_a_signature_for_every_digest_ends_the_request(
    hub, vendor, school, demo
) -> None:  # type: ignore[no-untyped-def]
    """The teacher confirmed, but Ban Cơ yếu answers with one signature too few: the
    request ends FAILED at the first ask (the same answer would come at every ask),
    nothing is signed, and the same transcripts can be sent again."""
    faults = demo.back_offices[SigningProvider.BCY].faults
    faults.signature_missing = True
    try:
        result = await sign_through_hub(
            hub, vendor, school.transcripts[2:], "HOMEROOM_TEACHER", school.teacher
        )
    finally:
        faults.signature_missing = False
    assert result["state"] == "FAILED"
    assert result["errorCode"] == "SIGNING_FAILED"
    assert "Ban Cơ yếu" in result["errorMessage"]
    await ready_and_signed_again(hub, vendor, school)


async def test_a_transcript_waiting_on_a_phone_is_not_sent_to_it_again(
    hub, vendor, school, demo
) -> None:  # type: ignore[no-untyped-def]
    """While the teacher has not answered one request, a second one for any of the same
    transcripts is refused with its own code before anything reaches the provider."""
    demo.set_phone(Phone(confirm_delay=30))
    back_office = demo.back_offices[SigningProvider.BCY]
    try:
        variables = {
            "ids": [gid(i) for i in school.transcripts[2:]],
            "role": "HOMEROOM_TEACHER",
            "signer": school.teacher,
        }
        first = data(await gql(hub, vendor, REQUEST, variables))["requestTranscriptSignatures"]
        assert first["state"] == "PENDING"
        sent = len(back_office.transactions)
        variables["ids"] = [gid(school.transcripts[3])]
        second = await gql(hub, vendor, REQUEST, variables)
        assert error_codes(second) == ["SIGNATURE_PENDING"]
        assert "1 học bạ" in second["errors"][0]["message"]
        assert len(back_office.transactions) == sent  # no second phone asked
        # The first request is untouched: once the teacher confirms, it signs.
        back_office.approve(list(back_office.transactions)[-1])
        done = data(await gql(hub, vendor, COMPLETE, {"r": first["requestId"]}))
        assert done["completeTranscriptSignatures"]["state"] == "SIGNED"
    finally:
        demo.set_phone(Phone(confirm_delay=0.2))


async def test_of_two_requests_sent_at_once_for_a_transcript_one_waits_and_one_is_refused(
    hub, vendor, school, demo, db
) -> None:  # type: ignore[no-untyped-def]
    """Two requests for the same transcript, side by side: each finds nothing pending,
    both reach the slow provider, and the second to record its items is refused with
    SIGNATURE_PENDING (not an internal error), leaving nothing of itself behind."""
    back_office = demo.back_offices[SigningProvider.BCY]
    back_office.faults.slow_seconds = 0.5  # both pass the check before either records
    asked = [
        {"ids": [gid(i) for i in ids], "role": "HOMEROOM_TEACHER", "signer": school.teacher}
        for ids in (school.transcripts[2:], school.transcripts[3:])
    ]
    try:
        answers = await asyncio.gather(*(gql(hub, vendor, REQUEST, one) for one in asked))
    finally:
        back_office.faults.slow_seconds = 0.0
    refused = [answer for answer in answers if answer.get("errors")]
    assert len(refused) == 1, answers
    assert error_codes(refused[0]) == ["SIGNATURE_PENDING"]
    (waiting,) = [answer for answer in answers if not answer.get("errors")]
    request = waiting["data"]["requestTranscriptSignatures"]
    assert request["state"] == "PENDING"
    # The refused one left no request behind; the one that got in signs.
    async with db.sessions() as session:
        requests = list(
            await session.scalars(
                select(models.SigningRequest.request_id).where(
                    models.SigningRequest.school_id == school.id
                )
            )
        )
    assert requests == [request["requestId"]]
    assert (await until_answered(hub, vendor, request["requestId"]))["state"] == "SIGNED"


async def test_only_the_role_holder_signs_and_only_in_order(hub, vendor, school) -> None:  # type: ignore[no-untyped-def]
    await signed_in_turn(hub, vendor, school, school.transcripts[2:], "HOMEROOM_TEACHER")
    ids = [gid(school.transcripts[2])]
    wrong_person = await gql(
        hub, vendor, REQUEST, {"ids": ids, "role": "PRINCIPAL", "signer": school.teacher}
    )
    assert error_codes(wrong_person) == ["SIGNER_NOT_ROLE_HOLDER"]
    early = {"ids": [gid(school.transcripts[3])], "role": "SCHOOL_SEAL"}
    assert error_codes(await gql(hub, vendor, REQUEST, early)) == ["SIGNING_ORDER"]


async def test_a_timestamp_authority_outage_loses_nothing(hub, vendor, school, demo) -> None:  # type: ignore[no-untyped-def]
    await signed_in_turn(hub, vendor, school, school.transcripts[2:], "HOMEROOM_TEACHER")
    ids = [gid(i) for i in school.transcripts[2:]]
    variables = {"ids": ids, "role": "PRINCIPAL", "signer": school.principal}
    request = data(await gql(hub, vendor, REQUEST, variables))["requestTranscriptSignatures"]
    await asyncio.sleep(0.4)  # the principal confirms on the phone
    demo.servers["pki"].stop()
    try:
        for _ in range(50):  # until the provider reports the signatures
            failed = await gql(hub, vendor, COMPLETE, {"r": request["requestId"]})
            if failed.get("errors"):
                break
            await asyncio.sleep(0.1)
        assert error_codes(failed) == ["TIMESTAMP_UNAVAILABLE"]
        assert "không cần ký lại" in failed["errors"][0]["message"]
        state = data(await gql(hub, vendor, TRANSCRIPT, {"id": ids[0]}))["node"]
        assert state["state"] == "SIGNED_BY_HOMEROOM"
    finally:
        demo.servers["pki"].start()
    done = data(await gql(hub, vendor, COMPLETE, {"r": request["requestId"]}))
    assert done["completeTranscriptSignatures"]["state"] == "SIGNED"
    assert done["completeTranscriptSignatures"]["signed"] == 2
    verified = data(await gql(hub, vendor, VERIFY, {"id": ids[0]}))["verifyTranscript"]
    assert verified["verdict"] == "VALID", verified


OTP_REQUEST = """mutation($ids: [ID!]!, $role: SignerRole!, $signer: String) {
  requestTranscriptSignatures(transcriptIds: $ids, role: $role, signerPersonalId: $signer) {
    requestId state awaitingOtp } }"""
OTP_COMPLETE = """mutation($r: String!, $otp: String) {
  completeTranscriptSignatures(requestId: $r, otp: $otp) { state signed awaitingOtp errorCode } }"""


async def test_a_csc_credential_with_an_online_otp_signs_with_the_code_the_signer_types(
    db, world, demo, hub
) -> None:  # type: ignore[no-untyped-def]
    """The CSC server sends the teacher an OTP (no configured source can know it): the
    request waits for it (awaitingOtp), the code goes with one completion and signs; a
    wrong code ends the request with SIGNER_OTP_WRONG and nothing signed."""
    built = await signing_school(
        db,
        demo,
        code=f"01LBOTP{next(_schools)}",
        school_year_id=world.current_year_id,
        teacher_providers=[SigningProvider.CSC],
        principal_provider=SigningProvider.MYSIGN,
        per_class=2,
    )
    back_office = demo.back_offices[SigningProvider.CSC]
    (credential,) = back_office.subscribers[built.teachers[0]].credentials
    back_office.settings[credential.credential_id] = dataclasses.replace(
        back_office.settings_of(credential), otp="online"
    )
    vendor = await token_for(hub, *await register(db, org=OrgLevel.SCHOOL, schools=[built.code]))
    ids = {"ids": [gid(i) for i in built.all_transcripts], "role": "HOMEROOM_TEACHER"}
    variables = ids | {"signer": built.teachers[0]}

    wrong = data(await gql(hub, vendor, OTP_REQUEST, variables))["requestTranscriptSignatures"]
    assert wrong["state"] == "PENDING" and wrong["awaitingOtp"] is True
    still = data(await gql(hub, vendor, OTP_COMPLETE, {"r": wrong["requestId"]}))
    assert still["completeTranscriptSignatures"]["awaitingOtp"] is True
    sent = back_office.otps_sent[credential.credential_id]
    bad = "1" * 6 if sent != "1" * 6 else "2" * 6
    refused = data(await gql(hub, vendor, OTP_COMPLETE, {"r": wrong["requestId"], "otp": bad}))
    assert refused["completeTranscriptSignatures"] == {
        "state": "FAILED",
        "signed": 0,
        "awaitingOtp": False,
        "errorCode": "SIGNER_OTP_WRONG",
    }

    right = data(await gql(hub, vendor, OTP_REQUEST, variables))["requestTranscriptSignatures"]
    sent = back_office.otps_sent[credential.credential_id]
    done = data(await gql(hub, vendor, OTP_COMPLETE, {"r": right["requestId"], "otp": sent}))
    assert done["completeTranscriptSignatures"] == {
        "state": "SIGNED",
        "signed": 2,
        "awaitingOtp": False,
        "errorCode": None,
    }
    stored = await _stored_transaction(db, right["requestId"])
    assert "otp" not in stored and sent not in json.dumps(stored)  # the code is kept nowhere


async def _stored_transaction(db, request_id: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    async with db.sessions() as session:
        return (  # type: ignore[no-any-return]
            await session.scalar(
                select(models.SigningRequest.transaction).where(
                    models.SigningRequest.request_id == request_id
                )
            )
        )["data"]


CONSENT_REQUEST = """mutation($ids: [ID!]!, $role: SignerRole!, $signer: String) {
  requestTranscriptSignatures(transcriptIds: $ids, role: $role, signerPersonalId: $signer) {
    requestId state authorizeUrl } }"""
CONSENT_COMPLETE = """mutation($r: String!, $code: String, $state: String) {
  completeTranscriptSignatures(requestId: $r, oauth2Code: $code, state: $state) {
    state signed authorizeUrl errorCode } }"""


async def _consent_at_the_provider(authorize_url: str) -> dict[str, str]:
    """The signer's browser at the CSC server: its page, the approve button, and the
    query of the redirect back to the hub (not followed: the vendor app reads it)."""
    async with httpx.AsyncClient() as browser:
        page = await browser.get(authorize_url)
        assert page.status_code == 200, page.text
        ticket = page.text.split('name="ticket" value="')[1].split('"')[0]
        back = await browser.post(
            authorize_url.split("?")[0], data={"ticket": ticket, "decision": "approve"}
        )
    assert back.status_code == 302
    location = httpx.URL(back.headers["location"])
    assert str(location).startswith("http://hub.test/sign/authorized?")
    return dict(location.params)


async def test_a_csc_credential_authorised_by_its_signer_signs_with_the_code_they_bring_back(
    db, world, demo, hub
) -> None:  # type: ignore[no-untyped-def]
    """An oauth2code credential with no configured token: the request waits for the
    signer (authorizeUrl, sending them back to the hub's registered callback); the code
    and state they come back with sign; a state of another flow is refused, and a code
    the server does not know ends the request with SIGNER_AUTHORIZATION_REFUSED."""
    built = await signing_school(
        db,
        demo,
        code=f"01LBOAC{next(_schools)}",
        school_year_id=world.current_year_id,
        teacher_providers=[SigningProvider.CSC],
        principal_provider=SigningProvider.MYSIGN,
        per_class=2,
    )
    back_office = demo.back_offices[SigningProvider.CSC]
    back_office.redirect_uris.setdefault(HUB_CLIENT.client_id, set()).add(
        "http://hub.test/sign/authorized"
    )
    (credential,) = back_office.subscribers[built.teachers[0]].credentials
    back_office.settings[credential.credential_id] = dataclasses.replace(
        back_office.settings_of(credential), auth_mode="oauth2code", pin=False
    )
    vendor = await token_for(hub, *await register(db, org=OrgLevel.SCHOOL, schools=[built.code]))
    ids = {"ids": [gid(i) for i in built.all_transcripts], "role": "HOMEROOM_TEACHER"}
    variables = ids | {"signer": built.teachers[0]}

    wrong = data(await gql(hub, vendor, CONSENT_REQUEST, variables))["requestTranscriptSignatures"]
    made_up = {"r": wrong["requestId"], "code": "made-up", "state": "x"}
    assert error_codes(await gql(hub, vendor, CONSENT_COMPLETE, made_up)) == ["INVALID_ARGUMENT"]
    state = dict(httpx.URL(wrong["authorizeUrl"]).params)["state"]
    refused = data(await gql(hub, vendor, CONSENT_COMPLETE, made_up | {"state": state}))
    assert refused["completeTranscriptSignatures"] == {
        "state": "FAILED",
        "signed": 0,
        "authorizeUrl": None,
        "errorCode": "SIGNER_AUTHORIZATION_REFUSED",
    }

    first = data(await gql(hub, vendor, CONSENT_REQUEST, variables))["requestTranscriptSignatures"]
    assert first["state"] == "PENDING"
    assert "redirect_uri=http%3A%2F%2Fhub.test%2Fsign%2Fauthorized" in first["authorizeUrl"]
    back = await _consent_at_the_provider(first["authorizeUrl"])
    forged = {"r": first["requestId"], "code": back["code"], "state": "another-flow"}
    assert error_codes(await gql(hub, vendor, CONSENT_COMPLETE, forged)) == ["INVALID_ARGUMENT"]
    given = {"r": first["requestId"], "code": back["code"], "state": back["state"]}
    done = data(await gql(hub, vendor, CONSENT_COMPLETE, given))
    assert done["completeTranscriptSignatures"] == {
        "state": "SIGNED",
        "signed": 2,
        "authorizeUrl": None,
        "errorCode": None,
    }
    stored = await _stored_transaction(db, first["requestId"])
    assert "oauth2_code" not in stored and back["code"] not in json.dumps(stored)
