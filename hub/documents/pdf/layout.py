"""The page of a paper học bạ: fonts, type styles, geometry and the drawn pieces.

This module knows how things look; :mod:`hub.documents.pdf.render` knows what a
transcript says and where it goes. The pieces that are more than text — the
signature row with its empty signature fields, the verification QR code and the
attached XML — are written with reportlab's low-level PDF objects so the whole
document is produced in one pass, as one revision, with bytes that depend on the
content only.
"""

import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.graphics.barcode.qrencoder import QRCode, QRErrorCorrectLevel
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfdoc import (
    PDFArray,
    PDFDictionary,
    PDFDocument,
    PDFName,
    PDFStream,
    PDFString,
    PDFZCompress,
)
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

from hub.documents.pdf import stamp_font
from hub.documents.pdf.stamp_font import FONT_DIR

#: ReportLab is not thread-safe: a TrueType font keeps the glyph subset of the document
#: being written in the font object itself, so two documents rendered at once in two
#: threads (drafting two classes side by side, a receipt beside them) mix their subsets
#: (a KeyError in ``makeSubset``, or a wrong glyph). Rendering is pure-Python CPU work
#: under the GIL, so taking turns costs no throughput: every document takes this lock.
RENDERING = threading.Lock()

#: Registered names of the shipped faces. DejaVu Serif Condensed covers every
#: Vietnamese precomposed letter (Latin Extended Additional) and is narrow enough
#: for a subject table on one A4 page; it is loaded from the package, never from
#: the system, so every machine renders the same glyphs.
REGULAR = "HubSerif"
BOLD = "HubSerif-Bold"
ITALIC = "HubSerif-Italic"
_FACES = {
    REGULAR: "DejaVuSerifCondensed.ttf",
    BOLD: "DejaVuSerifCondensed-Bold.ttf",
    ITALIC: "DejaVuSerifCondensed-Italic.ttf",
}

PAGE_SIZE = A4
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_LEFT = MARGIN_RIGHT = 18 * mm
MARGIN_TOP = 12 * mm
#: Room kept at the foot of every page for the verification block.
FOOTER_HEIGHT = 21 * mm
MARGIN_BOTTOM = 7 * mm + FOOTER_HEIGHT
CONTENT_WIDTH = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT

GRID = colors.Color(0.25, 0.25, 0.25)
HEADER_FILL = colors.Color(0.92, 0.92, 0.92)
FIELD_OUTLINE = colors.Color(0.6, 0.6, 0.6)

#: Name of the attachment holding the XML rendering of the same content.
ATTACHMENT_NAME = "transcript.xml"
ATTACHMENT_MIME_TYPE = "application/xml"

#: Form XObject name of the QR code; tests and verifiers find the code by it.
QR_FORM_NAME = "VerificationQR"


@cache
def register_fonts() -> None:
    """Register the shipped faces with reportlab once per process.

    reportlab keeps registered fonts in a process-wide table and parses each TTF
    file once, so repeated renders pay only for subsetting.
    """
    for name, filename in _FACES.items():
        pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / filename)))
    # No bold italic is shipped (nothing prints it); <b><i> falls back to bold.
    pdfmetrics.registerFontFamily(
        REGULAR, normal=REGULAR, bold=BOLD, italic=ITALIC, boldItalic=BOLD
    )


def text(value: object | None) -> str:
    """Printable text in NFC.

    reportlab draws one glyph per code point without shaping, so a decomposed
    "ự" (u + horn + dot below, as some keyboards and databases store it) would
    print its marks as separate, misplaced glyphs; composing first prints the one
    precomposed glyph the font has.
    """
    return "" if value is None else unicodedata.normalize("NFC", str(value))


def fit_lines(
    value: str, font: str, size: float, minimum: float, width: float
) -> tuple[float, list[str]]:
    """``value`` set on one line of ``width`` points: at ``size`` if it fits, else at
    the size that makes it fit down to ``minimum``, else wrapped at ``minimum``.
    A long name (a legacy record, a school's full name) then stays in its column."""
    natural = pdfmetrics.stringWidth(value, font, size)
    if natural <= width:
        return size, [value]
    fitted = int(size * width / natural * 10) / 10  # a tenth of a point, rounded down
    if fitted >= minimum:
        return fitted, [value]
    return minimum, simpleSplit(value, font, minimum, width) or [value]


def vietnamese_date(day: date) -> str:
    """The date of an administrative document: "ngày 05 tháng 01 năm 2026",
    "ngày 31 tháng 5 năm 2026". Days below 10 and the months 1 and 2 take a leading
    zero, other months none (Decree 30/2020/NĐ-CP on clerical work, Appendix I)."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def pdf_date(day: date) -> str:
    """A PDF date string for midnight of ``day`` in Vietnam (UTC+7).

    The content carries a date, not a time; a fixed time of day keeps the
    metadata a function of the content.
    """
    return f"D:{day:%Y%m%d}000000+07'00'"


def short_date(day: date | None) -> str:
    return "" if day is None else f"{day.day:02d}/{day.month:02d}/{day.year}"


def place_name(province: str) -> str:
    """The place in "Hà Nội, ngày …": the province without "Tỉnh"/"Thành phố"."""
    for prefix in ("Thành phố ", "Tỉnh ", "TP. ", "TP "):
        if province.startswith(prefix):
            return province.removeprefix(prefix)
    return province


def _style(name: str, **overrides: Any) -> ParagraphStyle:
    base: dict[str, Any] = {"fontName": REGULAR, "fontSize": 9.5, "leading": 11.5}
    return ParagraphStyle(name, **(base | overrides))


class Styles:
    """The paragraph styles of the page, from body text to the title (a namespace)."""

    body = _style("body")
    note = _style("note", fontName=ITALIC, fontSize=7.5, leading=9.5)
    cell = _style("cell", fontSize=9, leading=10.5)
    cell_head = _style("cell_head", fontName=BOLD, fontSize=8.5, leading=10, alignment=TA_CENTER)
    state = _style("state", fontName=BOLD, fontSize=10, leading=12.5, alignment=TA_CENTER)
    authority = _style("authority", fontSize=10, leading=12.5, alignment=TA_CENTER)
    school = _style("school", fontName=BOLD, fontSize=10, leading=12.5, alignment=TA_CENTER)
    title = _style("title", fontName=BOLD, fontSize=20, leading=23, alignment=TA_CENTER)
    subtitle = _style("subtitle", fontName=BOLD, fontSize=12, leading=15, alignment=TA_CENTER)
    centered = _style("centered", fontSize=10, leading=13, alignment=TA_CENTER)
    section = _style(
        "section", fontName=BOLD, fontSize=9.5, leading=12, spaceBefore=6, spaceAfter=2
    )
    dateline = _style("dateline", fontName=ITALIC, fontSize=9.5, leading=12, alignment=TA_RIGHT)
    notice = _style("notice", fontSize=9, leading=11.5, alignment=TA_LEFT)


STYLES = Styles()


class SignatureRow(Flowable):
    """The row where the transcript is signed: one column per signer, in signing order.

    Each column prints the signer's role above an empty PDF signature field and
    the signer's name below it, as the paper book has "HIỆU TRƯỞNG / (ký) / name".
    The fields are AcroForm ``/Sig`` widgets named by the signing role, so the
    signing engine can sign each by ``field_name`` in its own incremental
    revision; they carry an empty appearance that the signature's stamp replaces.
    """

    #: Room for a stamp legible at 100 % zoom: three lines at 8 pt, or a long name
    #: wrapped at 7 pt over two or three (see ``hub.signing.pades``).
    FIELD_WIDTH = 56 * mm
    FIELD_HEIGHT = 20 * mm

    def __init__(self, signers: Sequence[tuple[str, str, str]]) -> None:
        """``signers``: (field name, role label, name printed under the field)."""
        super().__init__()
        self.signers = tuple(signers)
        self.hAlign = "CENTER"
        #: Each name's type size and lines, worked out by :meth:`wrap`.
        self.names: list[tuple[float, list[str]]] = []

    NAME_SIZE = 9.5
    #: A name too wide for its column is set smaller, down to this, then wrapped.
    NAME_MIN_SIZE = 7
    NAME_GAP = 6

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.width = available_width
        room = self.width / len(self.signers) - self.NAME_GAP
        self.names = [
            fit_lines(text(name), BOLD, self.NAME_SIZE, self.NAME_MIN_SIZE, room)
            for _, _, name in self.signers
        ]
        extra = max((size * 1.15 * (len(lines) - 1) for size, lines in self.names), default=0)
        self.height = 14 + self.FIELD_HEIGHT + 14 + extra
        return self.width, self.height

    def draw(self) -> None:
        canvas: Canvas = self.canv
        column = self.width / len(self.signers)
        for index, ((field_name, role_label, _), (size, lines)) in enumerate(
            zip(self.signers, self.names, strict=True)
        ):
            middle = column * (index + 0.5)
            top = self.height
            canvas.setFont(BOLD, 9.5)
            canvas.drawCentredString(middle, top - 10, text(role_label).upper())
            field_top = top - 14
            left = middle - self.FIELD_WIDTH / 2
            bottom = field_top - self.FIELD_HEIGHT
            canvas.saveState()
            canvas.setStrokeColor(FIELD_OUTLINE)
            canvas.setLineWidth(0.4)
            canvas.setDash(2, 2)
            canvas.rect(left, bottom, self.FIELD_WIDTH, self.FIELD_HEIGHT, stroke=1, fill=0)
            canvas.restoreState()
            x0, y0 = canvas.absolutePosition(left, bottom)
            x1, y1 = canvas.absolutePosition(left + self.FIELD_WIDTH, field_top)
            add_signature_field(canvas, field_name, role_label, (x0, y0, x1, y1))
            canvas.setFont(BOLD, size)
            for number, line in enumerate(lines):
                canvas.drawCentredString(middle, bottom - 12 - number * size * 1.15, line)


def add_signature_field(
    canvas: Canvas, name: str, role_label: str, rect: tuple[float, float, float, float]
) -> None:
    """An empty signature field (``/FT /Sig``, no ``/V``) on the current page.

    reportlab's AcroForm has no signature field, so the merged field/widget
    dictionary is written the way its own text fields are: as an annotation of
    the current page, listed in the document's ``/AcroForm /Fields``. ``/F 4``
    prints the widget; the empty ``/N`` appearance keeps strict readers (PDF 2.0,
    PDF/A) satisfied until the signer's stamp replaces it.
    """
    document = canvas._doc  # type: ignore[attr-defined]  # private, so not in the stubs
    width, height = rect[2] - rect[0], rect[3] - rect[1]
    appearance = PDFStream(
        PDFDictionary(
            {
                "Type": PDFName("XObject"),
                "Subtype": PDFName("Form"),
                "BBox": PDFArray([0, 0, _number(width), _number(height)]),
            }
        ),
        content="",
    )
    widget = PDFDictionary(
        {
            "Type": PDFName("Annot"),
            "Subtype": PDFName("Widget"),
            "FT": PDFName("Sig"),
            "T": PDFString(name),
            "TU": PDFString(f"Chữ ký số của {text(role_label).lower()}"),
            "F": 4,
            "Rect": PDFArray([_number(value) for value in rect]),
            "P": document.thisPageRef(),
            "AP": PDFDictionary({"N": document.Reference(appearance)}),
        }
    )
    form = canvas.acroForm
    canvas._addAnnotation(widget)  # type: ignore[attr-defined]  # private, so not in the stubs
    form.fields.append(form.getRef(widget))


def add_stamp_font(canvas: Canvas) -> None:
    """The font every signature stamp uses, once, in the AcroForm's default resources.

    A Type0 font (Identity-H, glyph ids as codes) over the stamp repertoire of
    :mod:`hub.documents.pdf.stamp_font`, with its widths and a ``/ToUnicode`` for every
    glyph: the signing engine reads both back to set and measure a stamp, and each
    signature revision then refers to this object instead of embedding its own copy.
    """
    face = stamp_font.stamp_face()
    font = face.repertoire_font()
    # A subset's name begins with a six-letter tag (ISO 32000-1, 9.6.4); fixed, so the
    # output stays a function of the content.
    name = f"/HUBSTM+{face.postscript_name}"
    document = canvas._doc  # type: ignore[attr-defined]  # private, so not in the stubs
    program = PDFStream(
        PDFDictionary({"Filter": PDFName("FlateDecode"), "Length1": font.length}),
        content=font.program,
        filters=[],
    )
    descriptor = PDFDictionary(
        {
            "Type": PDFName("FontDescriptor"),
            "FontName": name,
            # Serif, symbolic (glyphs addressed by id, not by a standard encoding).
            "Flags": 0b110,
            "FontBBox": PDFArray(face.bbox),
            "ItalicAngle": 0,
            "Ascent": face.ascent,
            "Descent": face.descent,
            "CapHeight": face.cap_height,
            "StemV": 80,
            "FontFile2": document.Reference(program),
        }
    )
    used = font.used()
    widths = [
        PDFArray(run) if isinstance(run, list) else run
        for run in stamp_font.width_runs({glyph: width for glyph, (width, _) in used.items()})
    ]
    cid_font = PDFDictionary(
        {
            "Type": PDFName("Font"),
            "Subtype": PDFName("CIDFontType2"),
            "BaseFont": name,
            "CIDSystemInfo": PDFDictionary(
                {"Registry": PDFString("Adobe"), "Ordering": PDFString("Identity"), "Supplement": 0}
            ),
            "FontDescriptor": document.Reference(descriptor),
            "CIDToGIDMap": PDFName("Identity"),
            "W": PDFArray(widths),
        }
    )
    to_unicode = PDFStream(
        content=stamp_font.to_unicode((glyph, text) for glyph, (_, text) in used.items()),
        filters=[PDFZCompress],
    )
    type0 = PDFDictionary(
        {
            "Type": PDFName("Font"),
            "Subtype": PDFName("Type0"),
            "BaseFont": name,
            "Encoding": PDFName("Identity-H"),
            "DescendantFonts": PDFArray([document.Reference(cid_font)]),
            "ToUnicode": document.Reference(to_unicode),
        }
    )
    resources = PDFDictionary(
        {"Font": PDFDictionary({stamp_font.STAMP_FONT_RESOURCE: document.Reference(type0)})}
    )
    canvas.acroForm.extras["DR"] = resources


def _number(value: float) -> float:
    """Coordinates rounded to 1/100 pt, so they print the same on every platform."""
    return round(value, 2)


def attach_xml(canvas: Canvas, xml: bytes, *, description: str, modified: date) -> None:
    """Attach ``xml`` as ``transcript.xml`` the way PDF/A-3 and e-invoices do.

    The file is listed in the ``/EmbeddedFiles`` name tree (what viewers show as
    attachments) and in the catalog's ``/AF`` (associated files) with
    ``/AFRelationship /Alternative``: the XML is the same transcript in machine
    form, not the source the page was typeset from — both are rendered from one
    :class:`~hub.documents.content.TranscriptContent`.
    """
    document = canvas._doc  # type: ignore[attr-defined]  # private, so not in the stubs
    stream = PDFStream(
        PDFDictionary(
            {
                "Type": PDFName("EmbeddedFile"),
                # A MIME type is a name with its "/" written as #2F; reportlab's
                # PDFName leaves "/" as is, which ends the name early.
                "Subtype": "/" + ATTACHMENT_MIME_TYPE.replace("/", "#2F"),
                "Params": PDFDictionary(
                    {
                        "Size": len(xml),
                        "ModDate": PDFString(pdf_date(modified)),
                    }
                ),
            }
        ),
        content=xml,
        filters=[PDFZCompress],
    )
    stream_ref = document.Reference(stream)
    filespec = PDFDictionary(
        {
            "Type": PDFName("Filespec"),
            "F": PDFString(ATTACHMENT_NAME),
            "UF": PDFString(ATTACHMENT_NAME),
            "Desc": PDFString(description),
            "AFRelationship": PDFName("Alternative"),
            "EF": PDFDictionary({"F": stream_ref, "UF": stream_ref}),
        }
    )
    filespec_ref = document.Reference(filespec)
    catalog = document.Catalog
    catalog.Names = PDFDictionary(
        {
            "EmbeddedFiles": PDFDictionary(
                {"Names": PDFArray([PDFString(ATTACHMENT_NAME), filespec_ref])}
            )
        }
    )
    _add_catalog_keys(catalog, "AF")
    catalog.AF = PDFArray([filespec_ref])


#: The output intent's colour space: reportlab draws in DeviceRGB and DeviceGray, and
#: PDF/A lets a file use device colours only under an output intent saying what they mean.
OUTPUT_CONDITION = "sRGB IEC61966-2.1"


@cache
def srgb_profile() -> bytes:
    """The sRGB ICC profile LittleCMS builds (through Pillow), with a fixed creation date.

    Built, not downloaded or shipped; its header carries the time it was built,
    which would make two renderings of the same content differ, so the date is set
    to the profile standard's epoch (a profile's date is informative only).
    """
    from PIL import ImageCms  # reportlab's own dependency; imported only to render

    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    profile[24:36] = bytes.fromhex("07d000010001000000000000")  # 2000-01-01 00:00:00
    return bytes(profile)


def declare_pdfa(canvas: Canvas, *, modified: date) -> None:
    """Make the document PDF/A-3b (ISO 19005-3, level B): an sRGB output intent with its
    ICC profile, and XMP metadata that identifies the part and level and repeats the
    document information dictionary.

    The XMP is written from the information dictionary when the document is
    serialised (reportlab sets title, author… on the canvas after this runs), so
    the two always say the same, as PDF/A requires. ``modified`` is the content's
    date, which the information dictionary prints as both creation and
    modification date (see ``render.py``).
    """
    document = canvas._doc  # type: ignore[attr-defined]  # private, so not in the stubs
    profile = PDFStream(PDFDictionary({"N": 3}), content=srgb_profile(), filters=[PDFZCompress])
    intent = PDFDictionary(
        {
            "Type": PDFName("OutputIntent"),
            "S": PDFName("GTS_PDFA1"),
            "OutputConditionIdentifier": PDFString(OUTPUT_CONDITION),
            "Info": PDFString(OUTPUT_CONDITION),
            "RegistryName": PDFString("http://www.color.org"),
            "DestOutputProfile": document.Reference(profile),
        }
    )
    when = f"{modified:%Y-%m-%d}T00:00:00+07:00"  # pdf_date's midnight in Vietnam
    metadata = _MetadataStream(lambda doc: _xmp_packet(doc, when))
    catalog = document.Catalog
    _add_catalog_keys(catalog, "OutputIntents")
    catalog.OutputIntents = PDFArray([intent])
    catalog.Metadata = document.Reference(metadata)


def _xmp_packet(document: PDFDocument, when: str) -> bytes:
    """The XMP packet: PDF/A identification, then Dublin Core, XMP basic and Adobe PDF
    properties with the information dictionary's values (ISO 19005-3, 6.6.2.3)."""
    info = document.info
    keywords = info.keywords if isinstance(info.keywords, str) else ", ".join(info.keywords)

    def alt(value: str) -> str:
        return f'<rdf:Alt><rdf:li xml:lang="x-default">{escape(value)}</rdf:li></rdf:Alt>'

    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '<rdf:Description rdf:about=""'
        ' xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
        ' xmlns:pdf="http://ns.adobe.com/pdf/1.3/">\n'
        "<pdfaid:part>3</pdfaid:part>\n"
        "<pdfaid:conformance>B</pdfaid:conformance>\n"
        f"<dc:title>{alt(info.title)}</dc:title>\n"
        f"<dc:creator><rdf:Seq><rdf:li>{escape(info.author)}</rdf:li></rdf:Seq></dc:creator>\n"
        f"<dc:description>{alt(info.subject)}</dc:description>\n"
        "<dc:format>application/pdf</dc:format>\n"
        f"<xmp:CreatorTool>{escape(info.creator)}</xmp:CreatorTool>\n"
        f"<xmp:CreateDate>{when}</xmp:CreateDate>\n"
        f"<xmp:ModifyDate>{when}</xmp:ModifyDate>\n"
        f"<pdf:Producer>{escape(info.producer)}</pdf:Producer>\n"
        f"<pdf:Keywords>{escape(keywords)}</pdf:Keywords>\n"
        f"<pdf:Trapped>{escape(str(info.trapped))}</pdf:Trapped>\n"
        "</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    ).encode()


def _add_catalog_keys(catalog: Any, *keys: str) -> None:
    """Let this one catalog write ``keys``: reportlab's catalog writes only the keys it
    knows, and /AF, /OutputIntents (PDF/A) are not among them."""
    catalog.__NoDefault__ = [*catalog.__NoDefault__, *keys]


def _stream_format_with_eol(self: PDFStream, document: PDFDocument) -> bytes:
    """reportlab's stream writer, with the end-of-line PDF/A requires before
    ``endstream`` (ISO 19005-3, 6.1.7.1).

    reportlab writes ``…data endstream`` with ``/Length`` the data's length; the
    line feed added here sits outside ``/Length``, as the standard wants it.
    """
    written: bytes = _reportlab_stream_format(self, document)
    end = b"endstream\n"
    return written[: -len(end)] + b"\n" + end


_reportlab_stream_format = PDFStream.format
PDFStream.format = _stream_format_with_eol  # type: ignore[method-assign]
#: Binary streams, not ASCII85 over Flate: a quarter smaller, and nothing the hub
#: writes travels through a 7-bit channel (reportlab's documented switch).
rl_config.useA85 = 0


class _MetadataStream(PDFStream):
    """The XMP packet, uncompressed and without a ``/Filter`` (reportlab writes an empty
    one for an unfiltered stream), so tools that scan a file for XMP find it; its
    content is made when the document is written (see :func:`declare_pdfa`)."""

    def __init__(self, packet: Callable[[PDFDocument], bytes]) -> None:
        super().__init__(PDFDictionary({"Type": PDFName("Metadata"), "Subtype": PDFName("XML")}))
        self.packet = packet

    def format(self, document: PDFDocument) -> bytes:
        content = self.packet(document)
        self.dictionary["Length"] = len(content)
        head: bytes = self.dictionary.format(document)
        return head + b"\nstream\n" + content + b"\nendstream\n"


def qr_modules(value: str) -> list[list[bool]]:
    """The QR code's module matrix, dark = True, error correction M.

    M (15 % recoverable) survives a photocopied or creased page while a
    ~70-character URL still fits version 5 (37 × 37 modules).
    """
    code = QRCode(None, QRErrorCorrectLevel.M)
    code.addData(value)
    code.make()
    return [[bool(module) for module in row] for row in code.modules]


def define_qr_form(canvas: Canvas, value: str, size: float) -> None:
    """Draw the QR code once, as a form XObject every page places with ``doForm``.

    Each row's runs of dark modules are one rectangle of a single filled path: a
    tenth of the operators of one rectangle per module and no hairline seams
    between neighbours when a viewer rasterises it.
    """
    modules = qr_modules(value)
    count = len(modules)
    quiet = 2
    step = size / (count + 2 * quiet)
    canvas.beginForm(QR_FORM_NAME, 0, 0, size, size)
    canvas.setFillColor(colors.black)
    path = canvas.beginPath()
    for row_index, row in enumerate(modules):
        y = size - (row_index + quiet + 1) * step
        column = 0
        while column < count:
            if not row[column]:
                column += 1
                continue
            start = column
            while column < count and row[column]:
                column += 1
            path.rect(
                _number((start + quiet) * step),
                _number(y),
                _number((column - start) * step),
                _number(step),
            )
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.endForm()


#: Side of the printed QR code: about 0.46 mm a module at version 5 with its
#: quiet zone, which phone cameras read from a printed page.
QR_SIZE = 19 * mm


@dataclass(frozen=True)
class PageFurniture:
    """What every page carries besides the story: at the foot, how to verify this
    very document; on continuation pages, whose transcript the page belongs to."""

    verification_url: str
    lines: tuple[str, ...]  # printed beside the QR code, after the URL
    running_head: str  # printed at the top of pages 2, 3, …

    def draw(self, canvas: Canvas, page_number: int) -> None:
        """The rule, the QR code, the verification text and the page number."""
        bottom = 7 * mm
        top = bottom + FOOTER_HEIGHT - 1 * mm
        canvas.saveState()
        if page_number > 1:
            head = text(self.running_head)
            size, _ = fit_lines(head, ITALIC, 8, 5, CONTENT_WIDTH)
            canvas.setFont(ITALIC, size)
            canvas.drawString(MARGIN_LEFT, PAGE_HEIGHT - 8 * mm, head)
        canvas.setStrokeColor(GRID)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN_LEFT, top, PAGE_WIDTH - MARGIN_RIGHT, top)
        canvas.saveState()
        canvas.translate(MARGIN_LEFT - 2, bottom)
        canvas.doForm(QR_FORM_NAME)
        canvas.restoreState()
        x = MARGIN_LEFT + QR_SIZE + 2 * mm
        y = bottom + QR_SIZE - 8
        canvas.setFillColor(colors.black)
        canvas.setFont(BOLD, 8)
        canvas.drawString(x, y, "Xác thực học bạ số: quét mã QR hoặc truy cập")
        y -= 10
        canvas.setFont(REGULAR, 8)
        canvas.drawString(x, y, text(self.verification_url))
        for line in self.lines:
            y -= 10
            canvas.drawString(x, y, text(line))
        canvas.drawRightString(PAGE_WIDTH - MARGIN_RIGHT, bottom + 2, f"Trang {page_number}")
        canvas.restoreState()
