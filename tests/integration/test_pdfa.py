"""The transcript PDF is PDF/A-3b (ISO 19005-3, conformance level B), before and after
its three signatures.

No independent PDF/A validator installs from the registries this project uses (PyPI,
npm, Debian): veraPDF is Java, shipped through Maven and its own installer, and the
PyPI packages that mention it only call an installed veraPDF. So each requirement of
ISO 19005-3 that applies to what the hub writes is checked here, on the bytes and
through pyHanko's reader, by its clause number; a document feature the hub never
writes (images, transparency groups, optional content, actions) is checked absent.
The same checks run on the unsigned document, on the sealed one and on the sealed one
with a document timestamp after it: the incremental updates appended later must keep
the file conformant.
"""

import asyncio
import io
import re
from collections.abc import Iterator
from datetime import datetime
from xml.etree import ElementTree

import pytest
from asn1crypto import cms
from fontTools import ttLib
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from hub.adapters.signing.pki import DemoPKI, Issued
from hub.documents import samples
from hub.documents.pdf import render_pdf
from hub.documents.xml.transcript import build_xml
from hub.signing import longterm
from hub.signing.trust import TrustStore
from tests import signing_support as support

signers = support.signers

NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
}


@pytest.fixture(scope="module")
def unsigned() -> bytes:
    content = samples.secondary(5)
    return render_pdf(content, xml=build_xml(content))


@pytest.fixture(scope="module")
def sealed(unsigned: bytes, signers: list[Issued], pki: DemoPKI) -> bytes:
    return asyncio.run(support.sign_all(unsigned, signers, pki.timestamper))


@pytest.fixture(scope="module")
def archived(sealed: bytes, pki: DemoPKI) -> bytes:
    """The sealed document made long-term as the seal makes it (PAdES B-LTA: a DSS and
    a document timestamp carrying the XML, then the TSA's own evidence;
    hub.signing.longterm)."""
    carried = build_xml(samples.secondary(5))  # stands for the signed XML it carries
    return asyncio.run(
        longterm.pdf_long_term(
            sealed, trust=TrustStore(pki.roots), timestamper=pki.timestamper, signed_xml=carried
        )
    )


@pytest.fixture(params=["unsigned", "sealed", "archived"])
def pdf(request: pytest.FixtureRequest) -> bytes:
    document: bytes = request.getfixturevalue(request.param)
    return document


def reader(pdf: bytes) -> PdfFileReader:
    return PdfFileReader(io.BytesIO(pdf))


def objects(pdf: bytes) -> Iterator[tuple[int, generic.PdfObject]]:
    """Every object the file defines, in its latest version."""
    document = reader(pdf)
    for idnum in sorted({int(n) for n in re.findall(rb"(?:^|[\r\n])(\d+) 0 obj", pdf)}):
        yield idnum, document.get_object(generic.Reference(idnum, 0))


def streams(pdf: bytes) -> Iterator[generic.StreamObject]:
    for _, obj in objects(pdf):
        if isinstance(obj, generic.StreamObject):
            yield obj


# --- 6.1 File structure -------------------------------------------------------------------


def test_6_1_2_header_and_binary_comment(pdf: bytes) -> None:
    assert re.match(rb"%PDF-1\.[0-7]\r?\n%[\x80-\xff]{4}", pdf), pdf[:20]


def test_6_1_3_trailer_has_an_id_no_encryption_nothing_after_eof(pdf: bytes) -> None:
    trailer = reader(pdf).trailer
    assert "/ID" in trailer and len(trailer["/ID"]) == 2
    assert "/Encrypt" not in trailer
    assert re.search(rb"%%EOF\r?\n?\Z", pdf)
    # No hybrid-reference file: no trailer points at a cross-reference stream as well.
    assert b"/XRefStm" not in pdf


def test_6_1_4_cross_reference_sections_are_well_formed(pdf: bytes) -> None:
    for offset in (int(n) for n in re.findall(rb"startxref\r?\n(\d+)", pdf)):
        at = pdf[offset:]
        assert re.match(rb"xref\r?\n\d+ \d+\r?\n", at) or re.match(rb"\d+ 0 obj", at), at[:30]


def test_6_1_7_streams_lengths_and_keywords(pdf: bytes) -> None:
    """``stream`` followed by an EOL, ``/Length`` the exact data, ``endstream`` after an
    EOL; no external streams (/F, /FFilter, /FDecodeParms) and no LZW (6.1.7.2)."""
    found = 0
    for match in re.finditer(rb"/Length (\d+)(?:(?!endobj).)*?>>\s*stream(\r\n|\n)", pdf, re.S):
        found += 1
        start = match.end()
        after = pdf[start + int(match.group(1)) :]
        assert re.match(rb"(\r\n|\r|\n)endstream", after), after[:20]
    assert found == pdf.count(b"endstream")
    for stream in streams(pdf):
        assert not {"/F", "/FFilter", "/FDecodeParms"} & set(stream.keys())
        filters = stream.get("/Filter")
        names = filters if isinstance(filters, generic.ArrayObject) else [filters]
        assert "/LZWDecode" not in names


def test_6_1_8_object_keywords_on_their_own_lines(pdf: bytes) -> None:
    assert len(re.findall(rb"(?:\r\n|\r|\n)\d+ \d+ obj(?:\r\n|\r|\n)", pdf)) == len(
        re.findall(rb"\d+ \d+ obj", pdf)
    )
    assert pdf.count(b"endobj") == len(re.findall(rb"(?:\r\n|\r|\n)endobj", pdf))


# --- 6.2 Graphics -------------------------------------------------------------------------


def output_intent(pdf: bytes) -> generic.DictionaryObject:
    (intent,) = reader(pdf).root["/OutputIntents"]
    return intent.get_object()


def test_6_2_3_an_srgb_output_intent_with_its_icc_profile(pdf: bytes) -> None:
    intent = output_intent(pdf)
    assert intent["/S"] == "/GTS_PDFA1"
    assert intent["/OutputConditionIdentifier"]
    profile = intent["/DestOutputProfile"].get_object()
    assert profile["/N"] == 3
    icc = profile.data
    assert len(icc) == int.from_bytes(icc[:4], "big")
    assert icc[36:40] == b"acsp"
    assert icc[12:16] in (b"mntr", b"prtr")
    assert icc[16:20] == b"RGB "
    assert icc[8] < 5  # ICC version 4 or earlier


def test_6_2_4_device_colours_only_those_the_output_intent_covers(pdf: bytes) -> None:
    """RGB and gray under an RGB output intent; never DeviceCMYK (``k``/``K``)."""
    cmyk_operator = re.compile(rb"(?:^|\s)(?:[-\d.]+\s+){4}[kK](?:\s|$)")
    drawn = [
        stream
        for stream in streams(pdf)
        if stream.get("/Subtype") == "/Form" or b" Tf" in stream.data or b" re " in stream.data
    ]
    assert len(drawn) >= 5  # the page, the QR code, the field appearances
    for stream in drawn:
        assert not cmyk_operator.search(stream.data)
    assert b"/DeviceCMYK" not in pdf


def test_6_2_10_no_transparency(pdf: bytes) -> None:
    for _, obj in objects(pdf):
        if not isinstance(obj, generic.DictionaryObject):
            continue
        assert obj.get("/SMask", "/None") == "/None"
        assert float(obj.get("/CA", 1)) == 1 and float(obj.get("/ca", 1)) == 1
        assert obj.get("/BM", "/Normal") in ("/Normal", "/Compatible")
        group = obj.get("/Group")
        assert group is None or group.get("/S") != "/Transparency"


def fonts(pdf: bytes) -> Iterator[generic.DictionaryObject]:
    for _, obj in objects(pdf):
        if isinstance(obj, generic.DictionaryObject) and obj.get("/Type") == "/Font":
            yield obj


def program(descriptor: generic.DictionaryObject) -> ttLib.TTFont:
    return ttLib.TTFont(io.BytesIO(descriptor["/FontFile2"].get_object().data))


def test_6_2_11_4_every_font_is_embedded(pdf: bytes) -> None:
    """Page fonts, the stamps' shared font, any stamp's own: all with a font program."""
    seen = 0
    for font in fonts(pdf):
        if font["/Subtype"] == "/Type0":
            continue  # its descendant is checked
        seen += 1
        descriptor = font["/FontDescriptor"].get_object()
        assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor.keys()), font
    assert seen >= 4  # regular, bold, italic on the page; the stamp font


def test_6_2_11_3_cid_fonts_map_cids_to_glyphs(pdf: bytes) -> None:
    for font in fonts(pdf):
        if font["/Subtype"] == "/Type0":
            assert font["/Encoding"] == "/Identity-H"
            (cid_font,) = font["/DescendantFonts"]
            cid_font = cid_font.get_object()
            assert cid_font["/Subtype"] == "/CIDFontType2"
            assert cid_font["/CIDToGIDMap"] == "/Identity"
            info = cid_font["/CIDSystemInfo"]
            assert (info["/Registry"], info["/Ordering"]) == ("Adobe", "Identity")


def test_6_2_11_5_widths_match_the_font_programs(pdf: bytes) -> None:
    for font in fonts(pdf):
        if font["/Subtype"] == "/Type0":
            cid_font = font["/DescendantFonts"][0].get_object()
            embedded = program(cid_font["/FontDescriptor"].get_object())
            scale = 1000 / embedded["head"].unitsPerEm
            order = embedded.getGlyphOrder()
            runs = cid_font["/W"]
            for index in range(0, len(runs), 2):
                for offset, width in enumerate(runs[index + 1]):
                    glyph = order[int(runs[index]) + offset]
                    assert abs(embedded["hmtx"][glyph][0] * scale - float(width)) <= 1
        elif font["/Subtype"] == "/TrueType":
            embedded = program(font["/FontDescriptor"].get_object())
            scale = 1000 / embedded["head"].unitsPerEm
            cmap = embedded["cmap"].tables[0].cmap
            first = int(font["/FirstChar"])
            for code, width in enumerate(font["/Widths"], start=first):
                if code in cmap:
                    advance = embedded["hmtx"][cmap[code]][0] * scale
                    assert abs(advance - float(width)) <= 1, (code, width)


def test_6_2_11_6_symbolic_truetype_fonts_have_one_cmap_and_no_encoding(pdf: bytes) -> None:
    for font in fonts(pdf):
        if font["/Subtype"] != "/TrueType":
            continue
        descriptor = font["/FontDescriptor"].get_object()
        assert int(descriptor["/Flags"]) & 4  # symbolic
        assert "/Encoding" not in font
        tables = program(descriptor)["cmap"].tables
        assert len(tables) == 1 or any((t.platformID, t.platEncID) == (3, 0) for t in tables)


# --- 6.3 Annotations, 6.4 forms, 6.6 actions and metadata ---------------------------------


def annotations(pdf: bytes) -> Iterator[generic.DictionaryObject]:
    for page in reader(pdf).root["/Pages"]["/Kids"]:
        for annotation in page.get_object().get("/Annots", []):
            yield annotation.get_object()


def test_6_3_annotations_print_and_have_only_a_normal_appearance(pdf: bytes) -> None:
    """Printed, not hidden; a normal appearance and no other (a zero-sized widget, as a
    document timestamp's, needs none: 6.3.3)."""
    found = list(annotations(pdf))
    assert len(found) >= 3
    for annotation in found:
        flags = int(annotation["/F"])
        assert flags & 4 and not flags & (1 | 2 | 32)  # Print; not Invisible/Hidden/NoView
        assert "/A" not in annotation and "/AA" not in annotation
        x0, y0, x1, y1 = (float(v) for v in annotation["/Rect"])
        if x0 == x1 and y0 == y1 and "/AP" not in annotation:
            continue
        assert set(annotation["/AP"].keys()) == {"/N"}
        assert isinstance(annotation["/AP"]["/N"].get_object(), generic.StreamObject)


def test_6_4_the_form_needs_no_viewer_generated_appearances(pdf: bytes) -> None:
    form = reader(pdf).root["/AcroForm"]
    assert not form.get("/NeedAppearances", False)
    assert "/XFA" not in form


#: Actions PDF/A forbids (6.6.1); the hub writes no action at all.
FORBIDDEN_ACTIONS = {"/Launch", "/Sound", "/Movie", "/ResetForm", "/ImportData", "/Hide"}
FORBIDDEN_ACTIONS |= {"/JavaScript", "/SetOCGState", "/Rendition", "/Trans", "/GoTo3DView"}


def test_6_6_1_no_javascript_and_no_actions(pdf: bytes) -> None:
    root = reader(pdf).root
    assert "/OpenAction" not in root and "/AA" not in root
    assert "/JavaScript" not in root["/Names"]
    for _, obj in objects(pdf):
        if isinstance(obj, generic.DictionaryObject):
            assert not {"/JS", "/AA"} & set(obj.keys())
            assert obj.get("/Type") != "/Action"
            assert obj.get("/S") not in FORBIDDEN_ACTIONS


def xmp(pdf: bytes) -> tuple[ElementTree.Element, bytes]:
    stream = reader(pdf).root["/Metadata"].get_object()
    assert stream["/Type"] == "/Metadata" and stream["/Subtype"] == "/XML"
    assert "/Filter" not in stream  # readable by tools that scan for XMP packets
    packet = stream.data
    return ElementTree.fromstring(packet), packet


def test_6_6_2_1_xmp_packet_without_bytes_or_encoding_attributes(pdf: bytes) -> None:
    _, packet = xmp(pdf)
    header = re.match(rb"<\?xpacket ([^?]*)\?>", packet)
    assert header is not None
    assert b"bytes=" not in header.group(1) and b"encoding=" not in header.group(1)
    assert packet.rstrip().endswith(b'<?xpacket end="w"?>')


def test_6_6_4_pdfa_identification(pdf: bytes) -> None:
    root, _ = xmp(pdf)
    assert root.findtext(".//pdfaid:part", namespaces=NS) == "3"
    assert root.findtext(".//pdfaid:conformance", namespaces=NS) == "B"


def pdf_date(value: str) -> datetime:
    match = re.fullmatch(r"D:(\d{14})([+-])(\d\d)'(\d\d)'?", value)
    assert match, value
    return datetime.strptime(f"{match[1]}{match[2]}{match[3]}{match[4]}", "%Y%m%d%H%M%S%z")


def test_6_6_2_3_the_information_dictionary_matches_the_xmp(pdf: bytes) -> None:
    root, _ = xmp(pdf)
    info = reader(pdf).trailer["/Info"].get_object()

    def text(path: str) -> str | None:
        return root.findtext(path, namespaces=NS)

    assert text(".//dc:title/rdf:Alt/rdf:li") == info["/Title"]
    (creator,) = root.findall(".//dc:creator/rdf:Seq/rdf:li", NS)
    assert creator.text == info["/Author"]
    assert text(".//dc:description/rdf:Alt/rdf:li") == info["/Subject"]
    assert text(".//pdf:Keywords") == info["/Keywords"]
    assert text(".//xmp:CreatorTool") == info["/Creator"]
    assert text(".//pdf:Producer") == info["/Producer"]
    assert text(".//pdf:Trapped") == str(info["/Trapped"]).lstrip("/")
    assert datetime.fromisoformat(text(".//xmp:CreateDate") or "") == pdf_date(
        info["/CreationDate"]
    )
    assert datetime.fromisoformat(text(".//xmp:ModifyDate") or "") == pdf_date(info["/ModDate"])


# --- 6.8 Embedded files, and the signatures -----------------------------------------------


def test_6_8_the_xml_is_an_associated_file(pdf: bytes) -> None:
    root = reader(pdf).root
    names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    specs = [names[i + 1].get_object() for i in range(0, len(names), 2)]
    associated = [spec.get_object() for spec in root["/AF"]]
    assert specs and specs == associated
    check_associated_files(pdf, specs)


def test_6_8_the_signed_xml_carried_after_the_seal_is_an_associated_file(
    archived: bytes,
) -> None:
    """hub.signing.longterm._carry: the document timestamp's appearance's /AF."""
    (timestamp,) = [
        field
        for field in reader(archived).root["/AcroForm"]["/Fields"]
        if field.get_object().get("/FT") == "/Sig"
        and field.get_object()["/V"].get_object().get("/Type") == "/DocTimeStamp"
    ]
    appearance = timestamp.get_object()["/AP"]["/N"].get_object()
    specs = [spec.get_object() for spec in appearance["/AF"]]
    assert len(specs) == 1 and specs[0]["/F"] == longterm.SIGNED_XML_NAME
    check_associated_files(archived, specs)


def check_associated_files(pdf: bytes, specs: list[generic.DictionaryObject]) -> None:
    for spec in specs:
        assert spec["/Type"] == "/Filespec"
        assert spec["/F"] and spec["/UF"]
        assert spec["/AFRelationship"] in (
            "/Source",
            "/Data",
            "/Alternative",
            "/Supplement",
            "/EncryptedPayload",
            "/FormData",
            "/Schema",
            "/Unspecified",
        )
        embedded = spec["/EF"]["/F"].get_object()
        assert embedded["/Type"] == "/EmbeddedFile"
        assert embedded["/Subtype"] == "/application/xml"  # a MIME type, "/" as #2F
        assert b"/Subtype /application#2Fxml" in pdf
        assert pdf_date(embedded["/Params"]["/ModDate"])


def test_6_4_3_signatures_cover_their_revision_and_hold_one_signer(sealed: bytes) -> None:
    ends = [m.end() for m in re.finditer(rb"%%EOF\r?\n?", sealed)]
    signatures = reader(sealed).embedded_signatures
    assert len(signatures) == 3
    for signature, end in zip(signatures, ends[1:], strict=True):
        start, first, second, length = (int(v) for v in signature.sig_object["/ByteRange"])
        assert start == 0 and second + length == end
        contents = sealed[first:second]
        assert re.fullmatch(rb"<[0-9a-fA-F]+>", contents)
        signed_data = cms.ContentInfo.load(signature.pkcs7_content, strict=False)["content"]
        assert len(signed_data["signer_infos"]) == 1


def test_signing_leaves_the_metadata_as_rendered(unsigned: bytes, sealed: bytes) -> None:
    """The revisions keep the rendered information dictionary and XMP (pyHanko would
    rewrite both in every revision): the two cannot drift apart."""
    assert xmp(sealed)[1] == xmp(unsigned)[1]
    before = reader(unsigned).trailer["/Info"].get_object()
    after = reader(sealed).trailer["/Info"].get_object()
    assert dict(after.items()) == dict(before.items())
