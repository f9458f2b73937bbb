"""A consent receipt as a printable one-page A4 PDF (issue 11).

The person who gave a consent (or the pupil, or another verified guardian) keeps it:
the letterhead of the department that controls the data, the terms, the full text of
the version shown, who consented and when, the pupil's agreement and any withdrawal.
It is drawn with the transcript's fonts and styles (:mod:`.layout`); the JSON receipt
(:meth:`hub.domain.consent.Receipt.as_json`) says the same for programs.
"""

import io
from datetime import datetime
from xml.sax.saxutils import escape

from reportlab.lib.units import mm
from reportlab.platypus import (
    HRFlowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from hub.documents.pdf import layout
from hub.documents.pdf.layout import CONTENT_WIDTH, STYLES, text
from hub.domain.consent import VIETNAM, Receipt, last_day, vietnamese_day


def _moment(value: datetime | None) -> str:
    """An instant as people in Vietnam read it: "14:05 ngày 12/01/2026"."""
    if value is None:
        return "—"
    local = value.astimezone(VIETNAM)
    return f"{local:%H:%M} ngày {vietnamese_day(local.date())}"


def _escaped(value: object) -> str:
    return escape(text(value))


def render_receipt(receipt: Receipt) -> bytes:
    """The receipt as PDF bytes (one A4 page)."""
    with layout.RENDERING:
        return _render(receipt)


def _render(receipt: Receipt) -> bytes:
    layout.register_fonts()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=layout.PAGE_SIZE,
        leftMargin=layout.MARGIN_LEFT,
        rightMargin=layout.MARGIN_RIGHT,
        topMargin=layout.MARGIN_TOP,
        bottomMargin=layout.MARGIN_TOP,
        title=text(f"Biên nhận sự đồng ý số {receipt.consent_id}"),
        author=text(receipt.controller),
        subject=text(f"Đồng ý cho {receipt.recipient_name} đọc học bạ"),
        creator="hub",
        producer="hub (ReportLab)",
        lang="vi",
        initialFontName=layout.REGULAR,
    )
    half = CONTENT_WIDTH / 2
    head = Table(
        [
            [
                [
                    Paragraph(_escaped(receipt.controller.upper()), STYLES.school),
                    HRFlowable(width="35%", thickness=0.6, color=layout.GRID, spaceBefore=2.5),
                ],
                [
                    Paragraph("CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", STYLES.state),
                    Paragraph("Độc lập - Tự do - Hạnh phúc", STYLES.state),
                    HRFlowable(width="50%", thickness=0.6, color=layout.GRID, spaceBefore=2.5),
                ],
            ]
        ],
        colWidths=[half - 10, half + 10],
    )
    head.setStyle(
        TableStyle(
            [("FONTNAME", (0, 0), (-1, -1), layout.REGULAR), ("VALIGN", (0, 0), (-1, -1), "TOP")]
        )
    )
    agreement = (
        _moment(receipt.pupil_agreed_at)
        if receipt.pupil_agreed_at is not None
        else ("chưa xác nhận" if receipt.pupil_agreement_required else "không cần")
    )
    revoked = (
        "—"
        if receipt.revoked_at is None
        else f"{_moment(receipt.revoked_at)}, bởi người có mã định danh {receipt.revoked_by}"
    )
    terms = [
        ("Số biên nhận", str(receipt.consent_id)),
        ("Học sinh", receipt.student_name),
        ("Bên nhận dữ liệu", f"{receipt.recipient_name} (mã ứng dụng {receipt.recipient_id})"),
        ("Mục đích", receipt.purpose),
        ("Dữ liệu", f"Học bạ số các năm học {', '.join(receipt.school_years)}"),
        (
            "Thời hạn",
            f"từ {_moment(receipt.valid_from)} đến hết ngày "
            f"{vietnamese_day(last_day(receipt.valid_until))}",
        ),
        ("Người đồng ý", f"mã định danh {receipt.given_by}, lúc {_moment(receipt.given_at)}"),
        ("Học sinh xác nhận", agreement),
        ("Rút lại", revoked),
        ("Tình trạng", receipt.status.label),
        ("Phiên bản nội dung", receipt.text_version),
    ]
    table = Table(
        [
            [Paragraph(_escaped(label), STYLES.cell), Paragraph(_escaped(value), STYLES.cell)]
            for label, value in terms
        ],
        colWidths=[38 * mm, CONTENT_WIDTH - 38 * mm],
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), layout.REGULAR),
                ("GRID", (0, 0), (-1, -1), 0.4, layout.GRID),
                ("BACKGROUND", (0, 0), (0, -1), layout.HEADER_FILL),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story = [
        head,
        Spacer(1, 10),
        Paragraph("BIÊN NHẬN SỰ ĐỒNG Ý", STYLES.subtitle),
        Paragraph("cung cấp dữ liệu cá nhân của học sinh", STYLES.centered),
        Spacer(1, 8),
        table,
        Spacer(1, 6),
        Paragraph("Nội dung đã hiển thị và được đồng ý", STYLES.section),
    ]
    story += [
        Paragraph(_escaped(line), STYLES.notice)
        for line in receipt.text.splitlines()
        if line.strip()
    ]
    story += [
        Spacer(1, 6),
        Paragraph(
            _escaped(
                f"Biên nhận lập lúc {_moment(receipt.issued_at)}. Bản điện tử: "
                f"{receipt.urls.get('json', '')}"
            ),
            STYLES.note,
        ),
    ]
    document.build(story)
    return buffer.getvalue()
