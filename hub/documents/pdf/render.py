"""The transcript as a PDF in the layout of the paper học bạ (RULES.md §4).

One A4 portrait page per transcript as a rule (a long primary comment may flow
onto a second): the state motto and the school at the top, the student, the
results the grading rules computed, the homeroom teacher's comment and the
principal's approval, then a row of three empty signature fields in signing
order. Every page's foot carries a QR code of the verification URL. The XML
rendering, when given, is attached as ``transcript.xml``.

The output is deterministic: reportlab's invariant mode takes the clock out (the
dates printed in the metadata are the content's generation date) and derives the
file ID from the metadata, which names the document id, so the same content and
XML always give the same bytes — the hash a signer approves is the hash of what
anyone re-rendering the content gets.
"""

import io
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    HRFlowable,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from hub.documents.content import (
    PrimaryResults,
    SchoolStage,
    SecondaryResults,
    TranscriptContent,
)
from hub.documents.pdf import layout
from hub.documents.pdf.layout import CONTENT_WIDTH, STYLES, text
from hub.domain.enums import Sex
from hub.domain.grading.primary import Completion, Quality
from hub.domain.grading.secondary import Level, Rating
from hub.domain.signers import SIGNING_ORDER, SignerRole

_SEX_LABELS = {Sex.MALE: "Nam", Sex.FEMALE: "Nữ"}

#: Cấp học printed under "HỌC BẠ", by grade.
_STAGE_NAMES = (
    (range(1, 6), "TIỂU HỌC"),
    (range(6, 10), "TRUNG HỌC CƠ SỞ"),
    (range(10, 13), "TRUNG HỌC PHỔ THÔNG"),
)


#: Every document the hub draws takes turns (:data:`hub.documents.pdf.layout.RENDERING`).
_REPORTLAB = layout.RENDERING


def render_pdf(content: TranscriptContent, *, xml: bytes | None = None) -> bytes:
    """The transcript as PDF bytes, with ``xml`` attached when given.

    The three signature fields are named by :class:`SignerRole` value
    (``HOMEROOM_TEACHER``, ``PRINCIPAL``, ``SCHOOL_SEAL``) and left empty for the
    signing engine, which signs them in that order, one incremental revision each.
    """
    with _REPORTLAB:
        return _render_pdf(content, xml=xml)


def _render_pdf(content: TranscriptContent, *, xml: bytes | None) -> bytes:
    layout.register_fonts()
    buffer = io.BytesIO()
    furniture = _furniture(content)

    def on_page(canvas: Canvas, doc: BaseDocTemplate) -> None:
        furniture.draw(canvas, doc.page)

    # No frame padding: the tables are exactly as wide as the text.
    frame = Frame(
        layout.MARGIN_LEFT,
        layout.MARGIN_BOTTOM,
        CONTENT_WIDTH,
        layout.PAGE_HEIGHT - layout.MARGIN_TOP - layout.MARGIN_BOTTOM,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    document = BaseDocTemplate(
        buffer,
        pagesize=layout.PAGE_SIZE,
        pageTemplates=[PageTemplate("transcript", frames=[frame], onPage=on_page)],
        title=text(f"Học bạ {content.student.full_name} — năm học {content.school_year}"),
        author=text(content.school.name),
        subject=text(f"Học bạ số, mã {content.document_id}, phiên bản {content.version}"),
        keywords=["học bạ", content.document_id],
        creator="hub",
        producer="hub (ReportLab)",
        lang="vi",
        invariant=1,
        # Every font embedded: without this the canvas starts in Helvetica.
        initialFontName=layout.REGULAR,
    )
    document.build(_story(content), canvasmaker=_canvas_maker(content, xml))
    return buffer.getvalue()


def _canvas_maker(content: TranscriptContent, xml: bytes | None) -> Callable[..., Canvas]:
    """A canvas factory that sets up what belongs to the document, not to a page:
    PDF 1.7 (signature fields and associated files), PDF/A-3b's metadata and output
    intent, the signature stamps' font, the QR form, the attachment."""

    def make(filename: Any, **kwargs: Any) -> Canvas:
        canvas = Canvas(filename, pdfVersion=(1, 7), **kwargs)
        # The creation date is the content's, not the clock's (nor invariant
        # mode's 2000-01-01), so a verifier sees when the transcript was issued.
        created = layout.pdf_date(content.generated_on)
        canvas.setDateFormatter(lambda *_: created)
        layout.declare_pdfa(canvas, modified=content.generated_on)
        layout.add_stamp_font(canvas)
        layout.define_qr_form(canvas, content.verification_url, layout.QR_SIZE)
        if xml is not None:
            layout.attach_xml(
                canvas,
                xml,
                description=text(f"Học bạ số {content.document_id} (XML)"),
                modified=content.generated_on,
            )
        return canvas

    return make


def _furniture(content: TranscriptContent) -> layout.PageFurniture:
    return layout.PageFurniture(
        verification_url=content.verification_url,
        lines=(
            f"Mã học bạ: {content.document_id} · phiên bản {content.version}"
            f" · lập ngày {layout.short_date(content.generated_on)}",
            "Học bạ chỉ có giá trị khi có đủ chữ ký số của giáo viên chủ nhiệm,"
            " hiệu trưởng và nhà trường.",
        ),
        running_head=f"Học bạ của {content.student.full_name} · lớp {content.class_name}"
        f" · năm học {content.school_year} (tiếp theo)",
    )


# --- The story, top to bottom ---------------------------------------------------


def _story(content: TranscriptContent) -> list[Flowable]:
    story: list[Flowable] = [_letterhead(content), *_title(content)]
    if content.version > 1:
        story += [Spacer(1, 4), _correction_notice(content)]
    story += _identity(content)
    if content.stage is SchoolStage.SECONDARY and content.secondary is not None:
        story += _secondary(content.secondary)
    elif content.stage is SchoolStage.PRIMARY and content.primary is not None:
        story += _primary(content.primary, grade=content.grade)
    story += _comments(content)
    story.append(_signatures(content))
    return story


def _paragraph(markup: str, style: ParagraphStyle = STYLES.body) -> Paragraph:
    return Paragraph(markup, style)


def _escaped(value: object | None) -> str:
    """Content as Paragraph markup: composed, with ``&``, ``<`` and ``>`` escaped."""
    return escape(text(value))


def _letterhead(content: TranscriptContent) -> Table:
    """The two-column head of every Vietnamese administrative document: the
    issuing body on the left, the state motto on the right, each underlined."""
    half = CONTENT_WIDTH / 2
    left = [
        _paragraph(_escaped(text(content.school.department).upper()), STYLES.authority),
        _paragraph(_escaped(text(content.school.name).upper()), STYLES.school),
        HRFlowable(width="35%", thickness=0.6, color=layout.GRID, spaceBefore=2.5),
    ]
    right = [
        _paragraph("CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM", STYLES.state),
        _paragraph("Độc lập - Tự do - Hạnh phúc", STYLES.state),
        HRFlowable(width="50%", thickness=0.6, color=layout.GRID, spaceBefore=2.5),
    ]
    return _table(
        [[left, right]],
        [half - 10, half + 10],
        [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("ALIGN", (0, 0), (-1, -1), "CENTER"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ],
    )


def _stage_name(content: TranscriptContent) -> str:
    for grades, name in _STAGE_NAMES:
        if content.grade in grades:
            return name
    return "TIỂU HỌC" if content.stage is SchoolStage.PRIMARY else "TRUNG HỌC"


def _title(content: TranscriptContent) -> list[Flowable]:
    return [
        Spacer(1, 6),
        _paragraph("HỌC BẠ", STYLES.title),
        _paragraph(_stage_name(content), STYLES.subtitle),
        _paragraph(
            f"Lớp <b>{_escaped(content.class_name)}</b> &nbsp;·&nbsp; "
            f"Năm học <b>{_escaped(content.school_year)}</b>",
            STYLES.centered,
        ),
    ]


def _correction_notice(content: TranscriptContent) -> Table:
    """Version 2 is the first correction: "Bản điều chỉnh lần 1 (phiên bản 2)"."""
    replaces = f", thay thế bản {_escaped(content.replaces)}" if content.replaces else ""
    reason = _escaped(content.correction_reason) or "không ghi"
    notice = _paragraph(
        f"<b>Bản điều chỉnh lần {content.version - 1}</b> (phiên bản {content.version})"
        f"{replaces}; lý do: {reason}.",
        STYLES.notice,
    )
    return _table(
        [[notice]],
        [CONTENT_WIDTH],
        [
            ("BOX", (0, 0), (-1, -1), 0.8, layout.GRID),
            ("BACKGROUND", (0, 0), (-1, -1), layout.HEADER_FILL),
        ],
    )


def _identity(content: TranscriptContent) -> list[Flowable]:
    student, school = content.student, content.school

    def pair(label: str, value: object | None, *, bold: bool = False) -> list[Paragraph]:
        shown = _escaped(value)
        return [
            _paragraph(label, STYLES.body),
            _paragraph(f"<b>{shown}</b>" if bold and shown else shown, STYLES.body),
        ]

    rows = [
        pair("Họ và tên:", student.full_name, bold=True)
        + pair("Giới tính:", _SEX_LABELS.get(student.sex) if student.sex else None),
        pair("Ngày sinh:", layout.short_date(student.birth_date))
        + pair("Dân tộc:", student.ethnicity),
        pair("Mã định danh cá nhân:", student.personal_id)
        + pair("Mã học sinh:", student.ministry_code),
        pair("Trường:", school.name) + pair("Mã trường:", school.moet_code),
        pair("Quận/Huyện:", school.district) + pair("Tỉnh/Thành phố:", school.province),
    ]
    table = _table(
        rows,
        [112, 168, 80, CONTENT_WIDTH - 360],
        [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),  # a label beside a long value: on its first line
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("TOPPADDING", (0, 0), (-1, -1), 0),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 0.5),
        ],
    )
    return [_section("Thông tin học sinh"), table]


def _table(
    rows: Sequence[Sequence[object]],
    widths: Sequence[float],
    commands: Sequence[tuple[Any, ...]],
    *,
    repeat_rows: int = 0,
    split_in_row: bool = False,
) -> Table:
    """A table in the document's font.

    reportlab sets a cell's font before drawing it, even a cell holding
    paragraphs, and defaults to Helvetica: a base-14 font that is not embedded,
    which PDF/A forbids and which would make the page depend on the viewer.
    ``split_in_row`` lets a row taller than what is left of the page (a long
    comment) continue on the next page instead of failing the whole document.
    """
    table = Table(
        [list(row) for row in rows],
        colWidths=list(widths),
        repeatRows=repeat_rows,
        splitInRow=1 if split_in_row else 0,
    )
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), layout.REGULAR), *commands]))
    return table


def _section(title: str) -> Paragraph:
    return _paragraph(_escaped(title.upper()), STYLES.section)


def _grid(
    rows: Sequence[Sequence[object]],
    widths: Sequence[float],
    *,
    header_rows: int = 1,
    extra: Sequence[tuple[Any, ...]] = (),
    split_in_row: bool = False,
) -> Table:
    """A ruled table with a shaded header, as the paper book's tables are."""
    return _table(
        rows,
        widths,
        [
            ("GRID", (0, 0), (-1, -1), 0.5, layout.GRID),
            ("BACKGROUND", (0, 0), (-1, header_rows - 1), layout.HEADER_FILL),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("FONTSIZE", (0, 0), (-1, -1), 9),
            ("ALIGN", (1, header_rows), (-1, -1), "CENTER"),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            *extra,
        ],
        repeat_rows=header_rows,
        split_in_row=split_in_row,
    )


def _head(label: str) -> Paragraph:
    return _paragraph(label, STYLES.cell_head)


# --- Secondary: Circular 22/2021 -------------------------------------------------


def _secondary_value(value: Decimal | Rating | None) -> str:
    """A semester or year result as the gradebook prints it: a score with one
    decimal ("8.7", "10.0"), a rating as Đ / CĐ, nothing where nothing was assessed."""
    if value is None:
        return ""
    if isinstance(value, Rating):
        return value.abbreviation
    return f"{value.quantize(Decimal('0.1'))}"


def _level(value: Level | None) -> str:
    return "" if value is None else value.label


def _secondary(results: SecondaryResults) -> list[Flowable]:
    header = [
        [
            _head("TT"),
            _head("Môn học, hoạt động giáo dục"),
            _head("Kết quả đánh giá"),
            "",
            "",
            _head("Kiểm tra lại (nếu có)"),
        ],
        ["", "", _head("Học kì I"), _head("Học kì II"), _head("Cả năm"), ""],
    ]
    body = [
        [
            str(index),
            _paragraph(_escaped(subject.name), STYLES.cell),
            _secondary_value(subject.first_semester),
            _secondary_value(subject.second_semester),
            _secondary_value(subject.year),
            _secondary_value(subject.retest),
        ]
        for index, subject in enumerate(results.subjects, start=1)
    ]
    subjects = _grid(
        header + body,
        [24, 205, 62, 62, 62, CONTENT_WIDTH - 415],
        header_rows=2,
        extra=[
            ("SPAN", (0, 0), (0, 1)),
            ("SPAN", (1, 0), (1, 1)),
            ("SPAN", (2, 0), (4, 0)),
            ("SPAN", (5, 0), (5, 1)),
            ("ALIGN", (0, 2), (0, -1), "CENTER"),
        ],
    )
    legend = _paragraph(
        "Điểm trung bình môn theo thang điểm 10; môn học đánh giá bằng nhận xét:"
        " Đ – Đạt, CĐ – Chưa đạt (Thông tư 22/2021/TT-BGDĐT).",
        STYLES.note,
    )
    after = results.learning_after_retest is not None or results.conduct_after_training is not None
    columns = ["Học kì I", "Học kì II", "Cả năm"] + (
        ["Sau kiểm tra lại, rèn luyện hè"] if after else []
    )
    learning = [results.learning_first, results.learning_second, results.learning_year]
    conduct = [results.conduct_first, results.conduct_second, results.conduct_year]
    if after:
        learning.append(results.learning_after_retest)
        conduct.append(results.conduct_after_training)
    width = (CONTENT_WIDTH - 165) / len(columns)
    levels = _grid(
        [
            ["", *map(_head, columns)],
            [_paragraph("Kết quả học tập", STYLES.cell), *map(_level, learning)],
            [_paragraph("Kết quả rèn luyện", STYLES.cell), *map(_level, conduct)],
        ],
        [165] + [width] * len(columns),
    )
    absent = "" if results.half_days_absent is None else str(results.half_days_absent)
    outcome = "" if results.outcome is None else results.outcome.label
    award = "" if results.award is None else results.award.label
    summary = _facts(
        [
            ("Tổng số buổi nghỉ học cả năm:", absent),
            ("Kết quả cuối năm:", outcome),
            ("Danh hiệu:", award),
        ],
        (0.36, 0.3, 0.34),
    )
    return [
        _section("Kết quả học tập các môn học"),
        subjects,
        Spacer(1, 2),
        legend,
        _section("Kết quả học tập và rèn luyện"),
        levels,
        Spacer(1, 4),
        summary,
    ]


def _facts(facts: Sequence[tuple[str, str]], shares: Sequence[float]) -> Table:
    """Labelled values side by side, each value in bold; ``shares`` of the line width."""
    cells = [_paragraph(f"{label} <b>{_escaped(value)}</b>") for label, value in facts]
    return _table(
        [cells],
        [CONTENT_WIDTH * share for share in shares],
        [
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("TOPPADDING", (0, 0), (-1, -1), 1),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
        ],
    )


# --- Primary: Circular 27/2020 ---------------------------------------------------


def _completion(value: Completion | None) -> str:
    return "" if value is None else value.abbreviation


def _quality(value: Quality | None) -> str:
    return "" if value is None else value.label


def _primary(results: PrimaryResults, *, grade: int) -> list[Flowable]:
    header = [
        _head("TT"),
        _head("Môn học, hoạt động giáo dục"),
        _head("Mức đạt được"),
        _head("Điểm KTĐK"),
        _head("Nhận xét"),
    ]
    body = [
        [
            str(index),
            _paragraph(_escaped(subject.name), STYLES.cell),
            _completion(subject.completion),
            "" if subject.test_score is None else str(subject.test_score),
            _paragraph(_escaped(subject.comment), STYLES.cell),
        ]
        for index, subject in enumerate(results.subjects, start=1)
    ]
    subjects = _grid(
        [header, *body],
        [24, 150, 55, 50, CONTENT_WIDTH - 279],
        extra=[("ALIGN", (0, 1), (0, -1), "CENTER"), ("ALIGN", (4, 1), (4, -1), "LEFT")],
        split_in_row=True,
    )
    legend = _paragraph(
        "Mức đạt được: T – Hoàn thành tốt, H – Hoàn thành, C – Chưa hoàn thành;"
        " KTĐK: bài kiểm tra định kì cuối năm (Thông tư 27/2020/TT-BGDĐT).",
        STYLES.note,
    )
    traits = _traits(results)
    absent = "" if results.half_days_absent is None else str(results.half_days_absent)
    year_result = "" if results.year_result is None else results.year_result.label
    summary = _facts(
        [
            ("Kết quả giáo dục cuối năm:", year_result),
            ("Tổng số buổi nghỉ học:", absent),
            ("Lên lớp:", _promotion(results.promoted, grade=grade)),
        ],
        (0.44, 0.26, 0.3),
    )
    return [
        _section("Kết quả học tập các môn học và hoạt động giáo dục"),
        subjects,
        Spacer(1, 2),
        legend,
        _section("Phẩm chất và năng lực"),
        traits,
        _section("Kết quả cuối năm"),
        summary,
    ]


def _traits(results: PrimaryResults) -> Table:
    """Qualities and competencies side by side in three column pairs: the five
    qualities, then the competencies split in two, so fifteen ratings take five rows."""
    qualities = [trait for trait in results.traits if trait.is_quality]
    competencies = [trait for trait in results.traits if not trait.is_quality]
    middle = (len(competencies) + 1) // 2
    groups = [
        ("Phẩm chất chủ yếu", qualities),
        ("Năng lực cốt lõi", competencies[:middle]),
        ("Năng lực cốt lõi (tiếp)", competencies[middle:]),
    ]
    height = max(len(traits) for _, traits in groups)
    rows: list[list[object]] = [[]]
    for title, _ in groups:
        rows[0] += [_head(title), _head("Mức")]
    for index in range(height):
        row: list[object] = []
        for _, traits in groups:
            if index < len(traits):
                row += [
                    _paragraph(_escaped(traits[index].name), STYLES.cell),
                    _quality(traits[index].level),
                ]
            else:
                row += ["", ""]
        rows.append(row)
    level, first = 56, 92  # "Cần cố gắng"; the qualities' names are short
    rest = (CONTENT_WIDTH - first - level * len(groups)) / (len(groups) - 1)
    widths = [first, level] + [rest, level] * (len(groups) - 1)
    return _grid(rows, widths, extra=[("LEFTPADDING", (0, 0), (-1, -1), 4)])


def _promotion(promoted: bool | None, *, grade: int) -> str:
    """Grade 5 ends primary school: completing it is "hoàn thành chương trình tiểu học"."""
    if promoted is None:
        return ""
    if grade == 5:
        return "Hoàn thành chương trình tiểu học" if promoted else "Ở lại lớp"
    return "Được lên lớp" if promoted else "Ở lại lớp"


# --- Comments and signatures ------------------------------------------------------


def _comments(content: TranscriptContent) -> list[Flowable]:
    return [
        KeepTogether(
            [
                _section("Nhận xét của giáo viên chủ nhiệm"),
                _paragraph(_escaped(content.homeroom_comment) or "&nbsp;"),
            ]
        ),
        KeepTogether(
            [
                _section("Phê duyệt của Hiệu trưởng"),
                _paragraph(_escaped(content.principal_approval) or "&nbsp;"),
            ]
        ),
    ]


def _signatures(content: TranscriptContent) -> Flowable:
    """The date line and the signature row, never split across pages."""
    names = {
        SignerRole.HOMEROOM_TEACHER: content.homeroom_teacher or "",
        SignerRole.PRINCIPAL: content.principal or "",
        SignerRole.SCHOOL_SEAL: content.school.name,
    }
    place = layout.place_name(text(content.school.province))
    return KeepTogether(
        [
            Spacer(1, 6),
            _paragraph(
                f"{escape(place)}, {layout.vietnamese_date(content.generated_on)}",
                STYLES.dateline,
            ),
            Spacer(1, 3),
            layout.SignatureRow([(role.value, role.label, names[role]) for role in SIGNING_ORDER]),
        ]
    )
