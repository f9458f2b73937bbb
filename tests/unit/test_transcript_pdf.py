"""The transcript PDF: what a reader sees, what the signing engine needs, what a verifier gets.

Text is read back through the fonts' ToUnicode maps with a small content-stream
reader below (pure Python, on pyHanko's PDF reader), so the checks need no
system package; where poppler's ``pdftotext`` is installed one test also reads
the page the way a real viewer does.
"""

import dataclasses
import datetime
import io
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from hub.documents import samples
from hub.documents.content import TranscriptContent
from hub.documents.pdf import ATTACHMENT_NAME, QR_FORM_NAME, layout, render_pdf
from hub.domain.grading.secondary import Level, PromotionOutcome
from hub.domain.signers import SIGNING_ORDER, SignerRole

XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<hocBa xmlns="urn:test"><hoTen>Nguyễn Thị Thuỳ Dương</hoTen></hocBa>\n'
).encode()


# --- Reading the PDF back -----------------------------------------------------------


def _reader(pdf: bytes) -> PdfFileReader:
    return PdfFileReader(io.BytesIO(pdf))


def _pages(reader: PdfFileReader) -> list[generic.DictionaryObject]:
    def walk(node: generic.DictionaryObject) -> list[generic.DictionaryObject]:
        if node.get("/Type") == "/Pages":
            return [page for kid in node["/Kids"] for page in walk(kid.get_object())]
        return [node]

    return walk(reader.root["/Pages"])


_DELIMITERS = b"()<>[]{}/%"


def _tokens(data: bytes) -> list[object]:
    """Content-stream tokens: bytes for strings, str for names and operators,
    float for numbers, list for arrays. Enough for what reportlab writes."""
    stack: list[list[object]] = [[]]
    i = 0
    while i < len(data):
        char = data[i : i + 1]
        if char.isspace():
            i += 1
        elif char == b"(":
            value, i = _literal_string(data, i + 1)
            stack[-1].append(value)
        elif char == b"<" and data[i : i + 2] != b"<<":
            end = data.index(b">", i)
            stack[-1].append(bytes.fromhex(data[i + 1 : end].decode()))
            i = end + 1
        elif char == b"[":
            stack.append([])
            i += 1
        elif char == b"]":
            array = stack.pop()
            stack[-1].append(array)
            i += 1
        elif data[i : i + 2] in (b"<<", b">>"):
            stack[-1].append(data[i : i + 2].decode())
            i += 2
        else:
            start = i + 1 if char == b"/" else i
            i = start
            while i < len(data) and not data[i : i + 1].isspace() and data[i] not in _DELIMITERS:
                i += 1
            word = data[start:i].decode("latin-1")
            if char == b"/":
                stack[-1].append("/" + word)
            else:
                try:
                    stack[-1].append(float(word))
                except ValueError:
                    stack[-1].append(word)
    return stack[0]


_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _literal_string(data: bytes, i: int) -> tuple[bytes, int]:
    out = bytearray()
    depth = 1
    while True:
        char = data[i : i + 1]
        if char == b"\\":
            following = data[i + 1 : i + 2]
            octal = re.match(rb"[0-7]{1,3}", data[i + 1 : i + 4])
            if octal:
                out.append(int(octal.group(), 8) & 0xFF)
                i += 1 + len(octal.group())
                continue
            out += _ESCAPES.get(following, following)
            i += 2
            continue
        if char == b"(":
            depth += 1
        elif char == b")":
            depth -= 1
            if depth == 0:
                return bytes(out), i + 1
        out += char
        i += 1


def _to_unicode(font: generic.DictionaryObject) -> dict[int, str]:
    cmap = font["/ToUnicode"].get_object().data.decode("latin-1")
    return {
        int(code, 16): chr(int(point, 16))
        for code, point in re.findall(r"<([0-9A-Fa-f]{2})>\s+<([0-9A-Fa-f]{4})>", cmap)
    }


def _operations(stream: generic.StreamObject) -> list[tuple[str, list[object]]]:
    operations: list[tuple[str, list[object]]] = []
    operands: list[object] = []
    for token in _tokens(stream.data):
        if isinstance(token, str) and not token.startswith("/") and token not in ("<<", ">>"):
            operations.append((token, operands))
            operands = []
        else:
            operands.append(token)
    return operations


def _page_text(page: generic.DictionaryObject) -> str:
    """The page's text, one line per text object, decoded through ToUnicode."""
    font_resources = page["/Resources"]["/Font"]
    maps = {name: _to_unicode(ref.get_object()) for name, ref in font_resources.items()}
    lines: list[str] = []
    current: list[str] = []
    font: dict[int, str] = {}
    for operator, operands in _operations(page["/Contents"].get_object()):
        if operator == "Tf":
            font = maps[str(operands[0])]
        elif operator in ("Tj", "'", '"'):
            current.append("".join(font[byte] for byte in operands[-1]))
        elif operator == "TJ":
            for item in operands[0]:
                if isinstance(item, bytes):
                    current.append("".join(font[byte] for byte in item))
        elif operator in ("ET", "T*", "Td", "TD") and current:
            lines.append("".join(current))
            current = []
    return "\n".join(lines)


def _text(pdf: bytes) -> str:
    return "\n".join(_page_text(page) for page in _pages(_reader(pdf)))


def _flat(pdf: bytes) -> str:
    """The text with every run of spaces and line breaks as one space, so a phrase
    is found whichever line a paragraph wrapped it onto."""
    return " ".join(_text(pdf).split())


# --- Fixtures -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def secondary_pdf() -> bytes:
    return render_pdf(samples.secondary(1), xml=XML)


@pytest.fixture(scope="module")
def primary_pdf() -> bytes:
    return render_pdf(samples.primary(0), xml=XML)


@dataclasses.dataclass(frozen=True)
class Signer:
    signer: signers.SimpleSigner
    certificate: asn1_x509.Certificate


@pytest.fixture(scope="module")
def throwaway_signer() -> Signer:
    """A self-signed EC key and certificate, made for this test run only."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test signer")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    cert = asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
    private_key = asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    signer = signers.SimpleSigner(
        signing_cert=cert,
        signing_key=private_key,
        cert_registry=SimpleCertificateStore.from_certs([cert]),
    )
    return Signer(signer, cert)


# --- What a reader sees -------------------------------------------------------------


def test_secondary_transcript_prints_identity_scores_and_results(secondary_pdf: bytes) -> None:
    text = _flat(secondary_pdf)
    assert "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert "SỞ GIÁO DỤC VÀ ĐÀO TẠO HÀ NỘI" in text
    assert "HỌC BẠ" in text and "TRUNG HỌC CƠ SỞ" in text
    assert "Nguyễn Thị Thuỳ Dương" in text
    assert "Trường THCS Gia Thụy" in text
    assert "2025-2026" in text and "8A3" in text
    assert "001212000001" in text and "14/03/2012" in text
    lines = _text(secondary_pdf).splitlines()
    toan = lines.index("Toán")
    assert lines[toan + 1 : toan + 4] == ["8.3", "8.9", "8.7"]
    assert "Đ" in lines  # comment-only subjects
    assert "Học sinh Xuất sắc" in text and "Lên lớp" in text
    assert "Em chăm chỉ, tự giác; tích cực phát biểu xây dựng bài. Cần rèn chữ viết." in text
    assert "Hà Nội, ngày 31 tháng 5 năm 2026" in text


def test_primary_transcript_prints_levels_tests_and_traits(primary_pdf: bytes) -> None:
    text = _flat(primary_pdf)
    assert "TIỂU HỌC" in text
    assert "Lê Hoàng Bảo Ngọc" in text
    assert "Trường Tiểu học Ngọc Thụy" in text
    lines = _text(primary_pdf).splitlines()
    tieng_viet = lines.index("Tiếng Việt")
    assert lines[tieng_viet + 1 : tieng_viet + 4] == ["T", "9", "Đọc diễn cảm, viết đẹp."]
    for trait in ("Yêu nước", "Trách nhiệm", "Giải quyết vấn đề và sáng tạo", "Thể chất"):
        assert trait in text
    assert "Hoàn thành tốt" in text and "Được lên lớp" in text


def test_signer_names_are_printed_under_their_roles(secondary_pdf: bytes) -> None:
    text = _text(secondary_pdf)
    for label in ("GIÁO VIÊN CHỦ NHIỆM", "HIỆU TRƯỞNG", "CON DẤU CỦA TRƯỜNG"):
        assert label in text
    assert "Phạm Thị Ngọc Ánh" in text and "Đỗ Quang Hưng" in text


@pytest.mark.parametrize(
    ("day", "printed"),
    [
        (datetime.date(2026, 5, 31), "ngày 31 tháng 5 năm 2026"),
        (datetime.date(2026, 1, 5), "ngày 05 tháng 01 năm 2026"),
        (datetime.date(2026, 2, 9), "ngày 09 tháng 02 năm 2026"),
        (datetime.date(2025, 12, 1), "ngày 01 tháng 12 năm 2025"),
    ],
)
def test_date_line_pads_as_administrative_documents_do(day: datetime.date, printed: str) -> None:
    assert layout.vietnamese_date(day) == printed


def test_decomposed_input_prints_composed_letters() -> None:
    """A name stored in NFD (as some keyboards type it) prints the precomposed glyphs."""
    content = samples.secondary(1)
    decomposed = unicodedata.normalize("NFD", content.student.full_name)
    assert decomposed != content.student.full_name
    student = dataclasses.replace(content.student, full_name=decomposed)
    text = _text(render_pdf(dataclasses.replace(content, student=student)))
    assert "Nguyễn Thị Thuỳ Dương" in text


def test_correction_names_the_version_it_replaces_and_why() -> None:
    content = dataclasses.replace(
        samples.secondary(1),
        version=2,
        replaces="0c8a4d52-6f0e-4b1e-9a57-000000000001",
        correction_reason="Sửa điểm Toán học kì II theo biên bản phúc khảo",
    )
    text = _flat(render_pdf(content))
    assert "Bản điều chỉnh lần 1" in text
    assert "thay thế bản 0c8a4d52-6f0e-4b1e-9a57-000000000001" in text
    assert "Sửa điểm Toán học kì II theo biên bản phúc khảo" in text
    assert "Bản điều chỉnh" not in _text(render_pdf(samples.secondary(1)))


def test_retest_and_summer_results_get_their_own_column() -> None:
    content = samples.secondary(0)
    results = content.secondary
    assert results is not None
    toan = dataclasses.replace(
        results.subjects[0], year=Decimal("4.6"), retest=Decimal("6"), final=Decimal("6")
    )
    results = dataclasses.replace(
        results,
        subjects=(toan, *results.subjects[1:]),
        learning_year=Level.FAIL,
        learning_after_retest=Level.PASS,
        outcome=PromotionOutcome.RETEST,
        award=None,
        half_days_absent=None,
    )
    pdf = render_pdf(dataclasses.replace(content, secondary=results))
    text, lines = _flat(pdf), _text(pdf).splitlines()
    toan_line = lines.index("Toán")
    assert lines[toan_line + 3 : toan_line + 5] == ["4.6", "6.0"]
    assert "Sau kiểm tra lại, rèn luyện hè" in text
    assert "Kiểm tra lại" in text


def test_long_content_flows_onto_a_second_page_with_the_fields_on_the_last() -> None:
    content = dataclasses.replace(
        samples.primary(0), homeroom_comment="Con ngoan, chăm học, giúp đỡ bạn bè. " * 120
    )
    reader = _reader(render_pdf(content))
    pages = _pages(reader)
    assert len(pages) == 2
    assert "Học bạ của Lê Hoàng Bảo Ngọc · lớp 4A1" in _page_text(pages[1])
    for page in pages:
        assert f"/FormXob.{QR_FORM_NAME}" in page["/Resources"]["/XObject"]
    last_annotations = [annot.get_object()["/T"] for annot in pages[-1]["/Annots"]]
    assert last_annotations == [role.value for role in SIGNING_ORDER]


def test_every_font_is_embedded_from_the_package(secondary_pdf: bytes) -> None:
    package_fonts = Path(layout.__file__).resolve().parents[1] / "fonts"
    assert package_fonts == layout.FONT_DIR
    assert (package_fonts / "LICENSE-DejaVu.txt").is_file()
    page = _pages(_reader(secondary_pdf))[0]
    fonts = [ref.get_object() for ref in page["/Resources"]["/Font"].values()]
    assert fonts
    for font in fonts:
        assert "DejaVuSerifCondensed" in font["/BaseFont"]
        assert "/FontFile2" in font["/FontDescriptor"]


def test_a_real_viewer_extracts_the_same_text(secondary_pdf: bytes, tmp_path: Path) -> None:
    """poppler's pdftotext, an independent reader (``make system-deps`` installs it)."""
    assert shutil.which("pdftotext"), "poppler-utils is missing: run `make system-deps`"
    path = tmp_path / "transcript.pdf"
    path.write_bytes(secondary_pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Nguyễn Thị Thuỳ Dương" in text
    assert "Trường THCS Gia Thụy" in text
    assert "8.7" in text


# --- What the signing engine needs -------------------------------------------------


def test_three_empty_signature_fields_named_by_role(secondary_pdf: bytes) -> None:
    reader = _reader(secondary_pdf)
    found = list(fields.enumerate_sig_fields(reader))
    assert [name for name, _, _ in found] == [role.value for role in SIGNING_ORDER]
    assert [name for name, _, _ in found] == ["HOMEROOM_TEACHER", "PRINCIPAL", "SCHOOL_SEAL"]
    assert all(value is None for _, value, _ in found)
    for _, _, ref in found:
        widget = ref.get_object()
        assert widget["/FT"] == "/Sig"
        x0, y0, x1, y1 = (float(v) for v in widget["/Rect"])
        assert x1 - x0 > 100 and y1 - y0 > 30  # room for a visible stamp


def test_fields_sign_in_order_one_revision_each_and_validate(
    secondary_pdf: bytes, throwaway_signer: Signer
) -> None:
    """What the signing engine will do: PAdES, one incremental revision per signer."""
    signed = secondary_pdf
    for role in SIGNING_ORDER:
        output = signers.sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(signed)),
            signers.PdfSignatureMetadata(field_name=role.value),
            signer=throwaway_signer.signer,
        )
        signed = output.getvalue()
    assert signed.startswith(secondary_pdf)
    reader = _reader(signed)
    context = ValidationContext(trust_roots=[throwaway_signer.certificate])
    signatures = reader.embedded_signatures
    assert [signature.field_name for signature in signatures] == [r.value for r in SIGNING_ORDER]
    for index, signature in enumerate(signatures):
        status = validate_pdf_signature(signature, context)
        assert status.intact and status.valid and status.trusted
        if index < len(signatures) - 1:
            assert status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
            assert status.modification_level <= ModificationLevel.FORM_FILLING
        else:
            assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    # The attachment is still there, inside the signed bytes.
    assert _attachment(reader) == XML


def test_one_signature_leaves_the_other_fields_empty(
    secondary_pdf: bytes, throwaway_signer: Signer
) -> None:
    output = signers.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(secondary_pdf)),
        signers.PdfSignatureMetadata(field_name=SignerRole.HOMEROOM_TEACHER.value),
        signer=throwaway_signer.signer,
    )
    reader = _reader(output.getvalue())
    empty = [name for name, value, _ in fields.enumerate_sig_fields(reader) if value is None]
    assert empty == ["PRINCIPAL", "SCHOOL_SEAL"]
    status = validate_pdf_signature(
        reader.embedded_signatures[0],
        ValidationContext(trust_roots=[throwaway_signer.certificate]),
    )
    assert status.bottom_line


# --- What a verifier gets ----------------------------------------------------------


def _attachment(reader: PdfFileReader) -> bytes | None:
    if "/Names" not in reader.root:
        return None
    names = reader.root["/Names"]
    if "/EmbeddedFiles" not in names:
        return None
    tree = names["/EmbeddedFiles"]["/Names"]
    assert tree[0] == ATTACHMENT_NAME
    filespec = tree[1].get_object()
    assert filespec["/UF"] == ATTACHMENT_NAME
    assert filespec["/AFRelationship"] == "/Alternative"
    assert [ref.get_object() for ref in reader.root["/AF"]] == [filespec]
    stream = filespec["/EF"]["/F"].get_object()
    assert stream["/Subtype"] == "/application/xml"
    assert stream["/Params"]["/Size"] == len(stream.data)
    return stream.data


def test_xml_is_attached_byte_for_byte(secondary_pdf: bytes, primary_pdf: bytes) -> None:
    assert _attachment(_reader(secondary_pdf)) == XML
    assert _attachment(_reader(primary_pdf)) == XML


def test_without_xml_there_is_no_attachment() -> None:
    reader = _reader(render_pdf(samples.secondary(1)))
    assert _attachment(reader) is None
    assert "/AF" not in reader.root


def _qr_matrix(pdf: bytes) -> list[list[bool]]:
    """The QR code's modules, read back from the rectangles of its form XObject."""
    page = _pages(_reader(pdf))[0]
    form = page["/Resources"]["/XObject"][f"/FormXob.{QR_FORM_NAME}"].get_object()
    size = float(form["/BBox"][2])
    rects = [operands for operator, operands in _operations(form) if operator == "re"]
    quiet = 2
    rows = 0
    cells: set[tuple[int, int]] = set()
    for x, y, width, height in rects:
        step = float(height)
        count = round(size / step) - 2 * quiet
        rows = count
        row = round((size - float(y)) / step) - quiet - 1
        start = round(float(x) / step) - quiet
        for column in range(start, start + round(float(width) / step)):
            cells.add((row, column))
    return [[(r, c) in cells for c in range(rows)] for r in range(rows)]


def test_qr_code_encodes_the_verification_url_which_is_also_printed(
    secondary_pdf: bytes,
) -> None:
    content = samples.secondary(1)
    assert _qr_matrix(secondary_pdf) == layout.qr_modules(content.verification_url)
    assert layout.qr_modules(content.verification_url) != layout.qr_modules(
        samples.secondary(2).verification_url
    )
    assert content.verification_url in _text(secondary_pdf)


# --- Determinism -----------------------------------------------------------------------


def _trailer_id(pdf: bytes) -> list[bytes]:
    return list(_reader(pdf).trailer["/ID"])


@pytest.mark.parametrize("make", [samples.secondary, samples.primary])
def test_same_content_renders_to_the_same_bytes(make: Callable[[int], TranscriptContent]) -> None:
    content = make(3)
    assert render_pdf(content, xml=XML) == render_pdf(content, xml=XML)


def test_different_documents_differ_in_bytes_and_id() -> None:
    first, second = render_pdf(samples.secondary(1)), render_pdf(samples.secondary(2))
    assert first != second
    assert _trailer_id(first) != _trailer_id(second)


def test_metadata_dates_come_from_the_content(secondary_pdf: bytes) -> None:
    info = _reader(secondary_pdf).trailer["/Info"]
    assert info["/CreationDate"] == "D:20260531000000+07'00'"
    assert "Nguyễn Thị Thuỳ Dương" in info["/Title"]
