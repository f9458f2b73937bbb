"""The public verification pages (issue 12): what a holder of a transcript sees.

Real transcripts, rendered as the hub renders them and signed by the demo PKI's
homeroom teacher, principal and school seal of a school made here (its records name
the same people), are stored SEALED; a browser asks for a page, a program for JSON.
Also here: the page catalogues (issue 12, part 7) — both languages have the same
keys, and every key a template uses exists.
"""

import dataclasses
import hashlib
import re
import uuid

import httpx
import lxml.html
import pytest
from sqlalchemy import select

from hub.adapters.signing.pki import GOV, DemoPKI, Issued
from hub.db import models
from hub.documents import samples
from hub.domain.enums import Ownership, SchoolLevel, Sex, StaffRole
from hub.domain.personal_id import compose
from hub.transcripts.service import render
from hub.web import i18n
from hub.web.pages import TEMPLATES
from tests import signing_support as support
from tests.signing_support import SIGNED_AT, flip_a_content_byte, sign_all
from tests.world import writers_district

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
SCHOOL_CODE = "01LBVERI"
SCHOOL_NAME = f"Trường THCS Kiểm Tra {SCHOOL_CODE}"
TEACHER_NAME, PRINCIPAL_NAME = "Phạm Thị Chủ Nhiệm", "Đỗ Văn Hiệu Trưởng"
TEACHER_ID = compose("001", 1981, Sex.FEMALE, 731_001)
PRINCIPAL_ID = compose("001", 1970, Sex.MALE, 731_002)
PUPIL_ID = compose("001", 2012, Sex.MALE, 731_003)


@dataclasses.dataclass
class Stored:
    """The school's pupil's transcript in two versions: the first corrected by the second."""

    first: str  # document id of version 1 (superseded)
    current: str  # document id of version 2
    pdf: bytes  # version 2, signed
    xml: bytes


trust = support.trust
verifier = support.verifier


@pytest.fixture(scope="module")
def signers(pki: DemoPKI) -> list[Issued]:
    """The school's homeroom teacher, principal and seal, as its records name them."""
    return [
        pki.issue_person(
            GOV, full_name=TEACHER_NAME, personal_id=TEACHER_ID, organisation=SCHOOL_NAME
        ),
        pki.issue_person(
            GOV, full_name=PRINCIPAL_NAME, personal_id=PRINCIPAL_ID, organisation=SCHOOL_NAME
        ),
        pki.issue_seal(GOV, school_name=SCHOOL_NAME, school_code=SCHOOL_CODE),
    ]


@pytest.fixture(scope="module")
async def stored(db, world, pki, signers) -> Stored:  # type: ignore[no-untyped-def]
    first_id, current_id = str(uuid.uuid4()), str(uuid.uuid4())
    first = dataclasses.replace(
        samples.secondary(7),
        document_id=first_id,
        verification_url=f"https://hub.example/verify/{first_id}",
        class_name="8A1",
    )
    current = dataclasses.replace(
        first,
        document_id=current_id,
        version=2,
        replaces=first_id,
        correction_reason="Sửa điểm môn Toán nhập nhầm",
        verification_url=f"https://hub.example/verify/{current_id}",
    )
    async with db.unit_of_work() as session:
        department = await session.scalar(select(models.Department))
        district = await writers_district(session)
        school = models.School(
            department_id=department.id,
            district_id=district.id,
            moet_code=SCHOOL_CODE,
            name=SCHOOL_NAME,
            level=SchoolLevel.LOWER_SECONDARY,
            ownership=Ownership.PUBLIC,
        )
        session.add(school)
        await session.flush()

        def person(name: str, personal_id: str, role: StaffRole) -> models.Staff:
            return models.Staff(
                personal_id=personal_id,
                full_name=name,
                search_name=name.lower(),
                assignments=[models.StaffAssignment(school_id=school.id, role=role)],
            )

        teacher = person(TEACHER_NAME, TEACHER_ID, StaffRole.HOMEROOM)
        principal = person(PRINCIPAL_NAME, PRINCIPAL_ID, StaffRole.PRINCIPAL)
        session.add_all([teacher, principal])
        await session.flush()
        school_class = models.SchoolClass(
            school_id=school.id,
            school_year_id=world.current_year_id,
            name="8A1",
            grade=8,
            homeroom_teacher_id=teacher.id,
        )
        pupil = models.Student(
            personal_id=PUPIL_ID,
            full_name=first.student.full_name,
            search_name=first.student.full_name.lower(),
            birth_date=first.student.birth_date,
            sex=first.student.sex,
            school_id=school.id,
        )
        session.add_all([school_class, pupil])
        await session.flush()
        signed = {}
        for version, content in enumerate((first, current), start=1):
            xml, pdf = await render(content)
            xml = await sign_all(xml, signers, pki.timestamper, signed_at=SIGNED_AT)
            pdf = await sign_all(pdf, signers, pki.timestamper, signed_at=SIGNED_AT)
            signed[version] = (xml, pdf)
            session.add(
                models.Transcript(
                    document_id=content.document_id,
                    student_id=pupil.id,
                    school_year_id=world.current_year_id,
                    school_id=school.id,
                    class_id=school_class.id,
                    version=version,
                    is_current=version == 2,
                    state="SEALED",
                    xml=xml,
                    pdf=pdf,
                    xml_sha256=hashlib.sha256(xml).hexdigest(),
                )
            )
            await session.flush()
    xml, pdf = signed[2]
    return Stored(first=first_id, current=current_id, pdf=pdf, xml=xml)


def page(response: httpx.Response) -> lxml.html.HtmlElement:
    assert response.headers["content-type"].startswith("text/html"), response.text[:500]
    return lxml.html.fromstring(response.text)


def words(document: lxml.html.HtmlElement, selector: str) -> list[str]:
    return [" ".join(e.text_content().split()) for e in document.cssselect(selector)]


# --- The QR code's page --------------------------------------------------------------


async def test_programs_get_the_json_answer_unchanged(verifier, stored) -> None:  # type: ignore[no-untyped-def]
    for headers in ({}, {"Accept": "application/json"}, {"Accept": "*/*"}):
        answer = await verifier.get(f"/verify/{stored.current}", headers=headers)
        assert answer.headers["content-type"] == "application/json", headers
        found = answer.json()
        assert set(found) == {
            "document_id", "version", "current", "state", "school", "school_year", "xml", "pdf"
        }  # fmt: skip
        assert found["current"] is True and found["version"] == 2
        assert found["xml"]["verdict"] == found["pdf"]["verdict"] == "VALID", found
    missing = await verifier.get(f"/verify/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json()["code"] == "TRANSCRIPT_NOT_FOUND"


async def test_a_stored_copy_changed_after_its_verdict_is_judged_again(  # type: ignore[no-untyped-def]
    verifier, stored, db
) -> None:
    """The QR page keeps a stored document's verdict for a while (the trust store's
    ``stored_verdicts``); other bytes are other documents, never the kept verdict."""
    before = (await verifier.get(f"/verify/{stored.current}")).json()
    assert before["pdf"]["verdict"] == "VALID"
    async with db.unit_of_work() as session:
        row = await session.scalar(
            select(models.Transcript).where(models.Transcript.document_id == stored.current)
        )
        original = row.pdf
        row.pdf = flip_a_content_byte(original)
    try:
        after = (await verifier.get(f"/verify/{stored.current}")).json()
        assert after["pdf"]["verdict"] == "INVALID", after["pdf"]
        assert after["xml"]["verdict"] == "VALID"
    finally:
        async with db.unit_of_work() as session:
            row = await session.scalar(
                select(models.Transcript).where(models.Transcript.document_id == stored.current)
            )
            row.pdf = original
    again = (await verifier.get(f"/verify/{stored.current}")).json()
    assert again["pdf"]["verdict"] == "VALID"


async def test_a_valid_transcript_shows_valid_its_signers_and_its_content(verifier, stored) -> None:  # type: ignore[no-untyped-def]
    response = await verifier.get(f"/verify/{stored.current}", headers=BROWSER)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    html = page(response)
    assert html.get("lang") == "vi"
    assert words(html, ".verdict-word") == ["Hợp lệ"]
    assert html.cssselect(".verdict-valid")
    signers = words(html, ".signers li")
    assert len(signers) == 3
    for role, name in [
        ("Giáo viên chủ nhiệm", TEACHER_NAME),
        ("Hiệu trưởng", PRINCIPAL_NAME),
        ("Con dấu của trường", SCHOOL_NAME),
    ]:
        assert any(role in line and name in line for line in signers), signers
    # The timestamp's time (proven), in Vietnam's time; not the time the signer claims.
    signed_at = re.compile(r"Ký lúc \d\d/\d\d/\d{4} \d\d:\d\d \(UTC\+7\)")
    assert all(signed_at.search(line) and "Chữ ký: Hợp lệ" in line for line in signers)
    facts = dict(zip(words(html, "dt"), words(html, "dd"), strict=True))
    content = samples.secondary(7)
    assert facts["Lớp:"] == "8A1" and facts["Năm học:"] == content.school_year
    assert facts["Họ và tên học sinh:"] == content.student.full_name
    assert facts["Ngày sinh:"] == content.student.birth_date.strftime("%d/%m/%Y")
    assert facts["Trường:"] == content.school.name
    assert facts["Kết quả rèn luyện cả năm:"] and facts["Kết quả học tập cả năm:"] != "—"
    subjects = words(html, "tbody th")
    assert subjects == [s.name for s in content.secondary.subjects]
    # The personal ID is printed on the paper and signed, never shown here in full.
    assert content.student.personal_id not in response.text
    assert facts["Số định danh cá nhân:"].endswith(content.student.personal_id[-4:])
    assert "Đây là phiên bản hiện hành" in response.text
    assert html.cssselect(f'a[href="/verify/{stored.first}"]')  # the version it corrects
    # No script, no asset from elsewhere.
    assert not html.cssselect("script")
    assert [link.get("href") for link in html.cssselect("link")] == ["/static/hub.css"]


async def test_a_superseded_version_says_so_and_links_the_current_one(verifier, stored) -> None:  # type: ignore[no-untyped-def]
    html = page(await verifier.get(f"/verify/{stored.first}", headers=BROWSER))
    notice = words(html, ".notice")
    assert notice and "đã được đính chính" in notice[0]
    assert html.cssselect(f'.notice a[href="/verify/{stored.current}"]')


async def test_an_unknown_transcript_gets_a_vietnamese_404_page(verifier, world) -> None:  # type: ignore[no-untyped-def]
    response = await verifier.get(f"/verify/{uuid.uuid4()}", headers=BROWSER)
    assert response.status_code == 404
    html = page(response)
    assert html.get("lang") == "vi"
    assert "Không tìm thấy học bạ" in response.text and "TRANSCRIPT_NOT_FOUND" in response.text
    assert html.cssselect('a[href="/verify"]')


async def test_english_on_asking_and_kept_by_the_cookie(verifier, stored) -> None:  # type: ignore[no-untyped-def]
    try:
        await _english_then_back(verifier, f"/verify/{stored.current}")
    finally:
        verifier.cookies.clear()  # the module's other pages are read as a new visitor


async def _english_then_back(verifier: httpx.AsyncClient, path: str) -> None:
    response = await verifier.get(f"{path}?lang=en", headers=BROWSER)
    html = page(response)
    assert html.get("lang") == "en" and words(html, ".verdict-word") == ["Valid"]
    assert "Homeroom teacher" in response.text
    assert response.cookies.get(i18n.COOKIE) == "en"
    switch = {a.text_content(): a.get("href") for a in html.cssselect("nav.languages a")}
    assert switch == {"Tiếng Việt": f"{path}?lang=vi", "English": f"{path}?lang=en"}
    # The cookie keeps the choice; the switch goes back.
    assert page(await verifier.get(path, headers=BROWSER)).get("lang") == "en"
    missing = await verifier.get(f"/verify/{uuid.uuid4()}", headers=BROWSER)
    assert missing.status_code == 404 and "No transcript found" in missing.text
    back = await verifier.get(f"{path}?lang=vi", headers=BROWSER)
    assert page(back).get("lang") == "vi" and back.cookies.get(i18n.COOKIE) == "vi"
    # An unknown language changes nothing; with no cookie the page is Vietnamese.
    assert page(await verifier.get(f"{path}?lang=fr", headers=BROWSER)).get("lang") == "vi"
    verifier.cookies.clear()
    assert page(await verifier.get(path, headers=BROWSER)).get("lang") == "vi"


# --- Uploading a file -----------------------------------------------------------------


async def test_the_upload_form_needs_no_script(verifier, world) -> None:  # type: ignore[no-untyped-def]
    html = page(await verifier.get("/verify", headers=BROWSER))
    form = html.forms[0]
    assert form.get("action") == "/verify" and form.get("enctype") == "multipart/form-data"
    field = html.cssselect('input[type="file"]')[0]
    assert html.cssselect(f'label[for="{field.get("id")}"]')
    assert not html.cssselect("script")


async def test_an_uploaded_genuine_file_is_valid_and_links_the_hubs_copy(verifier, stored) -> None:  # type: ignore[no-untyped-def]
    for name, document in [("hoc-ba.pdf", stored.pdf), ("hoc-ba.xml", stored.xml)]:
        response = await verifier.post(
            "/verify", files={"file": (name, document, "application/octet-stream")}, headers=BROWSER
        )
        assert response.status_code == 200, response.text[:2000]
        html = page(response)
        assert words(html, ".verdict-word") == ["Hợp lệ"], name
        assert name in response.text
        assert html.cssselect(f'a[href="/verify/{stored.current}"]')
        assert len(html.cssselect(".signers li")) == 3


@pytest.mark.parametrize("kind", ["pdf", "xml"])
async def test_an_uploaded_tampered_file_is_not_valid_with_its_reasons(
    verifier, stored, kind
) -> None:  # type: ignore[no-untyped-def]
    if kind == "pdf":
        tampered = flip_a_content_byte(stored.pdf)
    else:
        tampered = stored.xml.replace(b"<ethnicity>Kinh<", b"<ethnicity>Kinn<", 1)
    assert tampered not in (stored.pdf, stored.xml)
    response = await verifier.post(
        "/verify", files={"file": (f"sua.{kind}", tampered, "application/octet-stream")},
        headers=BROWSER,
    )  # fmt: skip
    html = page(response)
    assert words(html, ".verdict-word") == ["Không hợp lệ"]
    codes = set(words(html, ".reason-code"))
    # What the JSON says is what the page explains, code by code, in both languages.
    expected = (await verifier.post("/verify", content=tampered)).json()
    assert expected["verdict"] == "INVALID"
    assert codes == {r["code"] for r in expected["reasons"]} and codes
    assert "DOCUMENT_MODIFIED" in codes or "SIGNATURE_INVALID" in codes, codes
    for reason in expected["reasons"]:
        assert reason["message"] in response.text or reason["message"] in html.text_content()
        assert reason["message_en"] in html.text_content()


async def test_the_raw_body_api_still_answers_json(verifier, stored) -> None:  # type: ignore[no-untyped-def]
    answer = await verifier.post("/verify", content=stored.pdf)
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["verdict"] == "VALID" and answer.json()["kind"] == "pdf"
    # A browser's form sent without a file: the form again, saying what is missing.
    empty = await verifier.post(
        "/verify", files={"file": ("", b"", "application/octet-stream")}, headers=BROWSER
    )
    assert empty.status_code == 400 and "chưa chọn tệp" in empty.text


# --- The catalogues -------------------------------------------------------------------

KEY = re.compile(r"""\bt\(\s*['"]([^'"]+)['"]""")


def test_every_language_has_the_same_keys() -> None:
    keys = {language: set(i18n.catalogue(language)) for language in i18n.LANGUAGES}
    vietnamese = keys[i18n.DEFAULT]
    for language, found in keys.items():
        assert found == vietnamese, (
            language,
            sorted(vietnamese - found),
            sorted(found - vietnamese),
        )
    assert all(text.strip() for lang in i18n.LANGUAGES for text in i18n.catalogue(lang).values())


def test_every_key_a_template_uses_exists() -> None:
    used = {key for path in TEMPLATES.glob("*.html") for key in KEY.findall(path.read_text())}
    assert "verify.verdict.valid" in used and "login.title" in used
    for language in i18n.LANGUAGES:
        missing = used - set(i18n.catalogue(language))
        assert not missing, (language, sorted(missing))
    # Keys the code passes to templates (the link under a problem).
    from hub.web import pages, verify

    for key in (verify.ANOTHER_FILE[1], "problem.sign_in_again", "authorize.unknown_client"):
        assert key in i18n.catalogue("vi"), key
    assert pages.problem_page.__kwdefaults__["link"][1] == "problem.sign_in_again"
