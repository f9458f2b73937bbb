"""Benchmark: transcript documents per second on one core.

In one run, one after the other on the same core:

(a) XML documents/s — ``hub.documents.xml.transcript.build_xml`` (skipped with a
    message while that module does not exist);
(b) PDF documents/s — ``render_pdf(samples.secondary(i), xml=...)``, the XML
    attached (the built XML when (a) ran, a same-sized stand-in otherwise);
(c) the floor — a bare reportlab page: A4, the same shipped fonts registered,
    the same lines of text drawn with ``drawString`` in a loop, no tables, no
    paragraphs, no signature fields, no QR code, no attachment. What reportlab
    itself costs for this much text, so the renderer's own overhead shows as the
    ratio to it.

The project's bar is ≥ 20 PDF/s on one core. The script pins itself to one CPU;
run it under ``taskset`` as well so the pinning is visible from outside:

    taskset -c 0 .venv/bin/python bench/documents.py [--seconds 5]
"""

import argparse
import io
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.pdfgen.canvas import Canvas  # noqa: E402

from hub.documents import samples  # noqa: E402
from hub.documents.content import TranscriptContent  # noqa: E402
from hub.documents.pdf import layout, render_pdf  # noqa: E402

#: Distinct students rendered in turn, so no run reuses the previous one's bytes.
VARIANTS = 64

BAR_PDF_PER_SECOND = 20.0


def pin_to_one_core() -> str:
    """Pin this process to the first CPU it may use; return that CPU for the report."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"CPU {cpu}"


def rate(work: Callable[[int], object], seconds: float) -> tuple[float, int]:
    """Calls per second of ``work(i)`` sustained for ``seconds``, after a warm-up."""
    for i in range(3):
        work(i)
    done = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        work(done)
        done += 1
    return done / elapsed, done


def floor_lines(content: TranscriptContent) -> list[tuple[str, str]]:
    """About the lines the transcript prints, in the faces it prints them in."""
    results = content.secondary
    assert results is not None
    student, school = content.student, content.school
    lines = [
        (layout.REGULAR, school.department.upper()),
        (layout.BOLD, school.name.upper()),
        (layout.BOLD, "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
        (layout.BOLD, "Độc lập - Tự do - Hạnh phúc"),
        (layout.BOLD, "HỌC BẠ"),
        (layout.BOLD, "TRUNG HỌC CƠ SỞ"),
        (layout.REGULAR, f"Lớp {content.class_name} · Năm học {content.school_year}"),
        (layout.BOLD, "THÔNG TIN HỌC SINH"),
        (layout.REGULAR, f"Họ và tên: {student.full_name}   Giới tính: Nam"),
        (layout.REGULAR, f"Ngày sinh: {student.birth_date}   Dân tộc: {student.ethnicity}"),
        (layout.REGULAR, f"Mã định danh cá nhân: {student.personal_id}"),
        (layout.REGULAR, f"Mã học sinh: {student.ministry_code}"),
        (layout.REGULAR, f"Trường: {school.name}   Mã trường: {school.moet_code}"),
        (layout.REGULAR, f"Quận/Huyện: {school.district}   Tỉnh/Thành phố: {school.province}"),
        (layout.BOLD, "KẾT QUẢ HỌC TẬP CÁC MÔN HỌC"),
        (layout.BOLD, "TT  Môn học, hoạt động giáo dục  Học kì I  Học kì II  Cả năm  Kiểm tra lại"),
    ]
    for index, subject in enumerate(results.subjects, start=1):
        values = (subject.first_semester, subject.second_semester, subject.year)
        shown = "  ".join(getattr(v, "abbreviation", str(v)) for v in values)
        lines.append((layout.REGULAR, f"{index}  {subject.name}  {shown}"))
    lines += [
        (layout.ITALIC, "Điểm trung bình môn theo thang điểm 10; Đ – Đạt, CĐ – Chưa đạt."),
        (layout.BOLD, "KẾT QUẢ HỌC TẬP VÀ RÈN LUYỆN"),
        (layout.REGULAR, "Kết quả học tập  Tốt  Tốt  Tốt"),
        (layout.REGULAR, "Kết quả rèn luyện  Tốt  Tốt  Tốt"),
        (layout.REGULAR, "Tổng số buổi nghỉ học cả năm: 2  Kết quả cuối năm: Lên lớp"),
        (layout.REGULAR, "Danh hiệu: Học sinh Xuất sắc"),
        (layout.BOLD, "NHẬN XÉT CỦA GIÁO VIÊN CHỦ NHIỆM"),
        (layout.REGULAR, content.homeroom_comment or ""),
        (layout.BOLD, "PHÊ DUYỆT CỦA HIỆU TRƯỞNG"),
        (layout.REGULAR, content.principal_approval or ""),
        (layout.ITALIC, "Hà Nội, ngày 31 tháng 05 năm 2026"),
        (layout.BOLD, "GIÁO VIÊN CHỦ NHIỆM   HIỆU TRƯỞNG   CON DẤU CỦA TRƯỜNG"),
        (layout.BOLD, f"{content.homeroom_teacher}   {content.principal}   {school.name}"),
        (layout.BOLD, "Xác thực học bạ số: quét mã QR hoặc truy cập"),
        (layout.REGULAR, content.verification_url),
        (layout.REGULAR, f"Mã học bạ: {content.document_id} · phiên bản 1 · lập ngày 31/05/2026"),
        (layout.REGULAR, "Học bạ chỉ có giá trị khi có đủ chữ ký số của giáo viên chủ nhiệm."),
    ]
    return lines


def floor_page(lines: Sequence[tuple[str, str]]) -> bytes:
    """The floor: one A4 page of ``drawString`` calls in the shipped fonts."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1, initialFontName=layout.REGULAR)
    y = A4[1] - 40
    for font, line in lines:
        canvas.setFont(font, 9.5)
        canvas.drawString(50, y, line)
        y -= 15
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    args = parser.parse_args(argv)

    where = pin_to_one_core()
    layout.register_fonts()
    contents = [samples.secondary(i) for i in range(VARIANTS)]
    rows: list[tuple[str, float, int]] = []

    try:
        from hub.documents.xml.transcript import build_xml
    except ImportError as error:
        print(f"(a) XML skipped: hub.documents.xml.transcript.build_xml not available ({error})")
        stand_in = (
            b'<?xml version="1.0" encoding="UTF-8"?>\n<transcript>' + b" " * 6000 + b"</transcript>"
        )
        xmls = [stand_in] * VARIANTS
    else:
        xmls = [build_xml(content) for content in contents]
        per_second, count = rate(lambda i: build_xml(contents[i % VARIANTS]), args.seconds)
        rows.append(("(a) XML   build_xml", per_second, count))

    per_second, count = rate(
        lambda i: render_pdf(contents[i % VARIANTS], xml=xmls[i % VARIANTS]), args.seconds
    )
    rows.append(("(b) PDF   render_pdf, XML attached", per_second, count))
    pdf_rate = per_second

    lines = [floor_lines(content) for content in contents]
    per_second, count = rate(lambda i: floor_page(lines[i % VARIANTS]), args.seconds)
    rows.append(("(c) floor reportlab page, drawString", per_second, count))
    floor_rate = per_second

    pdf_size = len(render_pdf(contents[0], xml=xmls[0]))
    print(f"\nOne core ({where}), {args.seconds:g} s per line, Python {sys.version.split()[0]}")
    print(f"{'':40} {'docs/s':>9} {'ms/doc':>8} {'runs':>7}")
    for name, per_second, count in rows:
        print(f"{name:40} {per_second:9.1f} {1000 / per_second:8.2f} {count:7d}")
    print(
        f"\nPDF / floor: {pdf_rate / floor_rate:.2f} (the renderer's share of a bare page's rate)"
    )
    print(f"PDF size: {pdf_size:,} bytes, XML size: {len(xmls[0]):,} bytes")
    verdict = "met" if pdf_rate >= BAR_PDF_PER_SECOND else "NOT met"
    print(f"Bar ≥ {BAR_PDF_PER_SECOND:g} PDF/s on one core: {verdict} ({pdf_rate:.1f} PDF/s)")


if __name__ == "__main__":
    main()
