"""A parent checks a sealed transcript in a real browser: the QR code printed in its PDF
leads to ``/verify/{documentId}``, which says Hợp lệ with what the paper says; a copy
of the PDF or the XML changed after signing, uploaded on ``/verify``, says Không hợp lệ
with each reason explained.

The transcript is the hub's own rendering signed by the demo PKI
(:func:`tests.e2e.test_admission_page.build_shared_school`), its QR code pointing at
the hub served here. The QR code is read from the printed page itself: poppler's
``pdftoppm`` draws the page, zxing-cpp decodes the code.
"""

import subprocess
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from hub.adapters.signing.pki import DemoPKI
from hub.config import Settings
from hub.db.engine import Database
from hub.web.app import create_app
from tests.browser.conftest import Hub, Offline, serving, verifying
from tests.e2e.test_admission_page import SharedSchool, build_shared_school
from tests.signing_support import flip_a_content_byte


@pytest.fixture(scope="module")
async def shared(db: Database, pki: DemoPKI, world: Any, port: int) -> SharedSchool:
    return await build_shared_school(
        db, pki, world, code="VERBR", base_url=f"http://127.0.0.1:{port}"
    )


@pytest.fixture(scope="module")
def verify_hub(settings: Settings, pki: DemoPKI, port: int, shared: SharedSchool) -> Iterator[Hub]:
    """The hub served on loopback, verifying against the demo PKI's roots."""
    with serving(partial(create_app, signing=verifying(pki)), settings, port=port) as hub:
        yield hub


def qr_codes_on_first_page(pdf: bytes, folder: Path) -> list[str]:
    """The text of every QR code on the PDF's first page, drawn at 300 dpi."""
    document = folder / "hoc-ba.pdf"
    document.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "300", "-f", "1", "-l", "1", "-singlefile", str(document),
         str(folder / "page")],
        check=True,
    )  # fmt: skip
    with Image.open(folder / "page.png") as drawn:
        found = zxingcpp.read_barcodes(drawn.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    return [code.text for code in found]


async def test_the_qr_code_printed_on_the_transcript_opens_the_hubs_check(
    verify_hub: Hub, offline: Offline, shared: SharedSchool, tmp_path: Path
) -> None:
    address = f"{verify_hub.url}/verify/{shared.document_id}"
    assert qr_codes_on_first_page(shared.pdf, tmp_path) == [address]

    page = offline.page
    await page.goto(address)
    assert await page.locator("html").get_attribute("lang") == "vi"
    assert (await page.locator(".verdict-word").inner_text()).strip() == "Hợp lệ"
    assert await page.locator(".signers li").count() == 3
    content = page.locator("#content").locator("xpath=..")
    pupil = shared.people.names[shared.people.pupil]
    assert pupil in await content.inner_text()
    assert await page.locator("table tbody tr").count() > 5  # the subjects' results
    # Printed on the paper and signed, but never shown here in full.
    assert shared.people.pupil not in await page.content()
    await offline.screenshots("verify-qr-valid")
    assert offline.aborted == [] and offline.console_errors == []


@pytest.mark.parametrize("kind", ["pdf", "xml"])
async def test_a_changed_copy_uploaded_is_not_valid_and_says_why(
    verify_hub: Hub, offline: Offline, shared: SharedSchool, kind: str
) -> None:
    if kind == "pdf":
        changed = flip_a_content_byte(shared.pdf)
    else:
        changed = shared.xml.replace(b"<ethnicity>Kinh<", b"<ethnicity>Kinn<", 1)
    assert changed not in (shared.pdf, shared.xml)
    page = offline.page
    await page.goto(f"{verify_hub.url}/verify")
    await offline.screenshots("verify-form")
    await page.get_by_label("Tệp học bạ (PDF hoặc XML)").set_input_files(
        files=[{"name": f"hoc-ba-da-sua.{kind}", "mimeType": "application/octet-stream",
                "buffer": changed}]
    )  # fmt: skip
    async with page.expect_navigation():
        await page.get_by_role("button", name="Kiểm tra").click()
    assert (await page.locator(".verdict-word").inner_text()).strip() == "Không hợp lệ"
    assert f"hoc-ba-da-sua.{kind}" in await page.locator("#file").locator("xpath=..").inner_text()
    codes = [code.strip() for code in await page.locator(".reason-code").all_inner_texts()]
    assert "DOCUMENT_MODIFIED" in codes or "SIGNATURE_INVALID" in codes, codes
    reasons = await page.locator(".reasons li").all()
    assert len(reasons) >= len(codes), codes
    for reason in reasons:
        said = await reason.locator('p[lang="vi"]').inner_text()
        assert said.strip(), "every reason is explained in Vietnamese"
    await offline.screenshots(f"verify-upload-tampered-{kind}")
    assert offline.aborted == [] and offline.console_errors == []
