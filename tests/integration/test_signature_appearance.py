"""The signatures' stamps and placeholders (issue 13, part 3): one shared font for every
stamp, stamp text legible at 100 % zoom (7 pt at least) that fits its field, and a
``/Contents`` placeholder sized to the CMS it will hold — never too small in silence.

Signed with the demo PKI and its in-process TSA, read back with pyHanko's reader,
poppler's ``pdftotext`` (what a reader sees) and ``pdfsig`` (an independent verifier).
"""

import asyncio
import io
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import TimeStamper

from hub.adapters.signing.pki import GOV, DemoPKI, Issued
from hub.adapters.signing.simulator import sign_digest
from hub.documents import samples
from hub.documents.pdf import layout, render_pdf
from hub.documents.pdf.stamp_font import STAMP_FONT_RESOURCE, STAMP_REPERTOIRE, stamp_face
from hub.documents.xml.transcript import build_xml
from hub.domain.signers import SIGNING_ORDER, SignerRole
from hub.signing.pades import (
    TIMESTAMP_ALLOWANCE,
    PlaceholderTooSmallError,
    finish_pdf,
    prepare_pdf,
)
from tests import signing_support as support
from tests.integration.test_pades import nss_options, pdfsig
from tests.signing_support import SIGNED_AT, TEACHER_NAME, sign_all

signers = support.signers
nss_options = nss_options

#: What a sealed one-page transcript with three B-T signatures may weigh: long-term
#: validation adds 25–35 KB later, and the whole must stay within 150 KB.
SEALED_BT_BUDGET = 115 * 1024

#: A school's full name, longer than a field's line even at 7 pt (and within the 64
#: bytes a certificate's common name may hold).
LONG_SCHOOL = "Trường THPT chuyên Lê Hồng Phong, TP. Hồ Chí Minh"


@pytest.fixture(scope="module")
def unsigned() -> bytes:
    content = samples.secondary(3)
    return render_pdf(content, xml=build_xml(content))


async def seal(
    pdf: bytes,
    signers: list[Issued],
    timestamper: TimeStamper,
    *,
    tsa_known: bool = True,
) -> bytes:
    """Signed by the three in order, B-T, through the hub's two steps; with ``tsa_known``
    :func:`prepare_pdf` is given the timestamper that :func:`finish_pdf` uses."""
    return await sign_all(pdf, signers, timestamper, signed_at=SIGNED_AT, tsa_known=tsa_known)


@pytest.fixture(scope="module")
def sealed(unsigned: bytes, signers: list[Issued], pki: DemoPKI) -> bytes:
    return asyncio.run(seal(unsigned, signers, pki.timestamper))


def reader(pdf: bytes) -> PdfFileReader:
    return PdfFileReader(io.BytesIO(pdf))


def widgets(pdf: bytes) -> dict[str, generic.DictionaryObject]:
    fields = reader(pdf).root["/AcroForm"]["/Fields"]
    return {str(f.get_object()["/T"]): f.get_object() for f in fields}


def appearance(widget: generic.DictionaryObject) -> tuple[bytes, generic.DictionaryObject]:
    stream = widget["/AP"]["/N"].get_object()
    return stream.data, stream["/Resources"]


def stamp_lines(widget: generic.DictionaryObject) -> tuple[int, list[str]]:
    """The stamp's type size and its lines, decoded through its font's ``/ToUnicode``."""
    data, resources = appearance(widget)
    sizes = {int(size) for size in re.findall(rb"/F\d+ (\d+) Tf", data)}
    assert len(sizes) == 1, data
    (font,) = resources["/Font"].values()
    cmap = font.get_object()["/ToUnicode"].get_object().data
    glyphs = {
        int(g, 16): bytes.fromhex(t.decode()).decode("utf-16-be")
        for g, t in re.findall(rb"<([0-9A-F]{4})> <([0-9A-F]+)>", cmap)
    }
    lines = [
        "".join(glyphs[int(code[i : i + 4], 16)] for i in range(0, len(code), 4))
        for code in (c.decode() for c in re.findall(rb"<([0-9A-F]*)> Tj", data))
    ]
    return sizes.pop(), lines


def pdftotext(pdf: bytes, tmp_path: Path) -> str:
    assert shutil.which("pdftotext"), "poppler-utils is missing: run `make system-deps`"
    document = tmp_path / "document.pdf"
    document.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-raw", str(document), "-"], check=True, capture_output=True, text=True
    ).stdout


def revisions(pdf: bytes) -> list[bytes]:
    ends = [m.end() for m in re.finditer(rb"%%EOF\r?\n?", pdf)]
    return [pdf[start:end] for start, end in zip([0, *ends], ends, strict=False)]


def contents_room(pdf: bytes) -> list[tuple[int, int]]:
    """Each signature's (bytes its placeholder holds, bytes its CMS takes)."""
    rooms = []
    for signature in reader(pdf).embedded_signatures:
        byte_range = signature.sig_object["/ByteRange"]
        used = len(cms.ContentInfo.load(signature.pkcs7_content, strict=False).dump())
        rooms.append(((byte_range[2] - byte_range[1] - 2) // 2, used))
    return rooms


# --- One font for every stamp -------------------------------------------------------------


def test_every_stamp_uses_the_document_s_one_stamp_font(sealed: bytes) -> None:
    shared = reader(sealed).root["/AcroForm"]["/DR"]["/Font"].raw_get(f"/{STAMP_FONT_RESOURCE}")
    for role in SIGNING_ORDER:
        _, resources = appearance(widgets(sealed)[role.value])
        fonts = resources["/Font"]
        (name,) = fonts.keys()
        assert fonts.raw_get(name).idnum == shared.idnum, role
    # The signature revisions embed no font program of their own.
    for revision in revisions(sealed)[1:]:
        assert b"/FontFile" not in revision


def test_the_shared_font_has_every_vietnamese_letter(unsigned: bytes) -> None:
    font = reader(unsigned).root["/AcroForm"]["/DR"]["/Font"][f"/{STAMP_FONT_RESOURCE}"]
    cmap = font["/ToUnicode"].get_object().data
    shown = {
        bytes.fromhex(t.decode()).decode("utf-16-be")
        for t in re.findall(rb"<[0-9A-F]{4}> <([0-9A-F]+)>", cmap)
    }
    letters = "aăâbcdđeêghiklmnoôơpqrstuưvxy"
    tones = "\u0300\u0301\u0303\u0309\u0323"  # huyền, sắc, ngã, hỏi, nặng
    for letter in letters + letters.upper():
        assert letter in shown, letter
        if letter.lower() in "aăâeêioôơuưy":
            for tone in tones:
                composed = unicodedata.normalize("NFC", letter + tone)
                assert composed in shown, composed
    assert set(STAMP_REPERTOIRE) <= shown | {" "}


async def test_a_letter_the_shared_font_lacks_is_embedded_with_that_signature(
    unsigned: bytes, pki: DemoPKI, tmp_path: Path, nss_options: list[str]
) -> None:
    """A name with a letter outside the stamp repertoire (Ŋ, Latin Extended-A) still
    renders: that one stamp carries its own subset of the face."""
    name = "Nguyễn Thị Ŋa"
    assert not set(name) <= set(STAMP_REPERTOIRE)
    teacher = pki.issue_person(
        GOV, full_name=name, personal_id="001085099999", organisation=samples.SCHOOL.name
    )
    signed = await support.sign(
        unsigned, SignerRole.HOMEROOM_TEACHER, teacher, signing_time=SIGNED_AT
    )
    assert b"/FontFile2" in revisions(signed)[1]
    _, lines = stamp_lines(widgets(signed)[SignerRole.HOMEROOM_TEACHER.value])
    assert lines[0] == f"Ký bởi: {name}"
    assert f"Ký bởi: {name}" in pdftotext(signed, tmp_path)
    assert "Signature is Valid." in pdfsig(signed, nss_options, tmp_path)


# --- Legible text that fits ---------------------------------------------------------------


def test_the_stamp_names_signer_role_and_time_at_8_pt(sealed: bytes, tmp_path: Path) -> None:
    size, lines = stamp_lines(widgets(sealed)[SignerRole.HOMEROOM_TEACHER.value])
    assert size == 8
    assert lines == [
        f"Ký bởi: {TEACHER_NAME}",
        "Vai trò: Giáo viên chủ nhiệm",
        "Ngày ký: 31/05/2026 16:30:00 (GMT+7)",
    ]
    assert "Ngày ký: 31/05/2026 16:32:00 (GMT+7)" in pdftotext(sealed, tmp_path)


def test_every_line_fits_its_field(sealed: bytes) -> None:
    face = stamp_face()
    for role in SIGNING_ORDER:
        widget = widgets(sealed)[role.value]
        size, lines = stamp_lines(widget)
        x0, _, x1, _ = (float(v) for v in widget["/Rect"])
        assert size >= 7
        assert all(face.width(line, size) <= x1 - x0 - 6 for line in lines), lines
        # Drawn at its size: the appearance is never scaled down to fit.
        data, _ = appearance(widget)
        assert not re.search(rb"0?\.\d+ 0 0 0?\.\d+ \d+ \d+ cm", data), data


async def test_a_long_name_wraps_at_7_pt_and_stays_in_its_field(
    unsigned: bytes, pki: DemoPKI, tmp_path: Path
) -> None:
    seal_of = pki.issue_seal(GOV, school_name=LONG_SCHOOL, school_code="79000999")
    signed = await support.sign(unsigned, SignerRole.SCHOOL_SEAL, seal_of, signing_time=SIGNED_AT)
    widget = widgets(signed)[SignerRole.SCHOOL_SEAL.value]
    size, lines = stamp_lines(widget)
    x0, y0, x1, y1 = (float(v) for v in widget["/Rect"])
    assert size == 7
    assert len(lines) > 3
    assert (size + 2) * len(lines) - 2 <= y1 - y0 - 6
    assert all(stamp_face().width(line, size) <= x1 - x0 - 6 for line in lines), lines
    assert " ".join(line.strip() for line in lines[:-2]) == f"Ký bởi: {LONG_SCHOOL}"
    assert lines[-1].startswith("Ngày ký:")


def test_the_fields_hold_three_lines_at_8_pt() -> None:
    """The page's fields are sized for the stamp: three 8 pt lines of the longest
    fixed text (the date line) with the margins."""
    face = stamp_face()
    width, height = layout.SignatureRow.FIELD_WIDTH, layout.SignatureRow.FIELD_HEIGHT
    assert face.width("Ngày ký: 31/12/2026 23:59:59 (GMT+7)", 8) <= width - 6
    assert height >= 3 * 10 + 6


# --- The placeholder ----------------------------------------------------------------------


def test_placeholders_are_sized_to_their_cms(sealed: bytes) -> None:
    for room, used in contents_room(sealed):
        assert used <= room <= used + 1024, (room, used)


async def test_without_the_tsa_the_next_signatures_learn_from_the_first(
    unsigned: bytes, signers: list[Issued], pki: DemoPKI
) -> None:
    sealed = await seal(unsigned, signers, pki.timestamper, tsa_known=False)
    first, *later = contents_room(sealed)
    assert first[0] >= TIMESTAMP_ALLOWANCE  # nothing known: the default allowance
    for room, used in later:
        assert used <= room <= used + 1024, (room, used)


class LongChainTimeStamper(TimeStamper):
    """A real TSA answer with a longer certificate list, as a TSA that sends its whole
    chain and more does: the token still verifies (certificates are not signed)."""

    def __init__(self, inner: TimeStamper, extra: list[Issued]) -> None:
        super().__init__()
        self.inner = inner
        self.extra = extra

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        token = await self.inner.async_timestamp(message_digest, md_algorithm)
        token = cms.ContentInfo.load(token.dump())
        certificates = list(token["content"]["certificates"])
        for issued in self.extra:
            for certificate in (issued.certificate, *issued.chain):
                der = certificate.public_bytes(serialization.Encoding.DER)
                certificates.append(cms.CertificateChoices.load(der))
        token["content"]["certificates"] = certificates
        return cms.ContentInfo.load(token.dump(force=True))


async def test_a_placeholder_too_small_fails_clearly_and_writes_nothing(
    unsigned: bytes, signers: list[Issued], pki: DemoPKI
) -> None:
    long_chain = LongChainTimeStamper(pki.timestamper, signers * 2)
    teacher = signers[0]
    prepared = await support.prepare(unsigned, SignerRole.HOMEROOM_TEACHER, teacher)
    with pytest.raises(PlaceholderTooSmallError, match="does not fit"):
        await finish_pdf(
            prepared, sign_digest(teacher.key, prepared.digest), timestamper=long_chain
        )
    # Told the TSA at prepare, the room is learned from its own answer.
    prepared = await prepare_pdf(
        unsigned,
        role=SignerRole.HOMEROOM_TEACHER,
        certificate=teacher.certificate,
        chain=teacher.chain,
        timestamper=long_chain,
    )
    signed = await finish_pdf(
        prepared, sign_digest(teacher.key, prepared.digest), timestamper=long_chain
    )
    ((room, used),) = contents_room(signed)
    assert TIMESTAMP_ALLOWANCE < used <= room


# --- The size bar -------------------------------------------------------------------------


def test_a_sealed_transcript_is_within_budget(
    sealed: bytes, tmp_path: Path, nss_options: list[str]
) -> None:
    assert len(sealed) <= SEALED_BT_BUDGET, len(sealed)
    report = pdfsig(sealed, nss_options, tmp_path)
    assert report.count("Signature Validation: Signature is Valid.") == 3, report
    assert report.count("Certificate Validation: Certificate is Trusted.") == 3, report
