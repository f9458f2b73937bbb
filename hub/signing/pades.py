"""PAdES signatures on the transcript PDF, made in two steps around a remote signer.

The signer's key lives at a provider (or on the school's token); the hub only
ever sends it a SHA-256 digest and gets back a raw RSA PKCS#1 v1.5 signature
value, after the signer has confirmed on their phone — minutes later, maybe in
another process. So signing is split where pyHanko's "interrupted signing" flow
splits it:

1. :func:`prepare_pdf` appends the signer's revision to the document — the
   signature dictionary with a zero-filled ``/Contents`` placeholder, the
   appearance stamp in the role's field — digests its ``/ByteRange`` and builds
   the CMS signed attributes over that digest. It returns a :class:`PreparedPdf`
   holding only bytes, strings and numbers, which a job stores in the database;
   ``digest`` is what the provider signs.
2. :func:`finish_pdf` takes the stored :class:`PreparedPdf` and the provider's
   signature value, checks the value against the certificate (a document is
   never finished with a signature that does not verify), adds the RFC 3161
   signature timestamp (PAdES B-T) when given a timestamper, and writes the CMS
   into the placeholder.

Every signer adds one incremental revision filling the empty signature field
named after its :class:`~hub.domain.signers.SignerRole` (RULES.md §4), so a
verifier sees each signature over exactly what was there before it.

The signatures follow PAdES baseline B-B (ETSI EN 319 142-1) as pyHanko makes
them with ``/SubFilter /ETSI.CAdES.detached``: signed attributes content-type,
message-digest and signing-certificate-v2, no CMS signingTime (the time is the
dictionary's ``/M``); the claimed role goes in a signer-attributes-v2 attribute,
and ``/Reason`` carries the role's Vietnamese label, ``/Name`` the signer's name.
The field's stamp says the same to a reader — "Ký bởi", "Vai trò", "Ngày ký" in
Vietnam time — in the documents' DejaVu face (see :class:`_StampFont`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import cache, lru_cache
from pathlib import Path

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fontTools import subset, ttLib
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.font.api import FontEngine, FontEngineFactory, ShapeResult
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign.ades.api import CAdESSignedAttrSpec, SignerAttrSpec
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import ExternalSigner, PdfSignatureMetadata, PdfSigner
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from hub.documents.pdf.layout import FONT_DIR
from hub.domain.signers import SignerRole
from hub.signing import pdf_hex  # noqa: F401  (pyHanko reads /Contents fast)

#: Vietnam keeps UTC+7 all year; the stamp shows the signer's wall-clock time.
VIETNAM_TIME = timezone(timedelta(hours=7), "GMT+7")

#: Room for the RFC 3161 token in the placeholder: the token and the TSA
#: certificates it carries (a TSA certificate with its chain is 3–6 KiB today).
TIMESTAMP_ALLOWANCE = 12 * 1024
#: SignedData framing, algorithm identifiers and the attributes' own size.
CMS_OVERHEAD = 2 * 1024


class PadesError(ValueError):
    """The PDF cannot be signed as asked: no empty field for the role, a prepared state
    that does not match itself (a stored row damaged or mixed up with another), a CMS
    larger than its placeholder. Nothing usable was produced."""


class SignatureValueMismatchError(PadesError):
    """The signature value does not verify over the prepared digest with the certificate.

    The provider signed something else (another document's digest), with another
    key than the certificate's, or the answer was damaged on the way. Finishing
    would embed a signature every verifier rejects, so nothing is written and the
    signer must sign again.
    """


@dataclass(frozen=True, slots=True)
class PreparedPdf:
    """A transcript PDF waiting for one signer's signature value.

    Plain bytes, strings and numbers only, so a job can store it and
    :func:`finish_pdf` can run in another process, minutes later.
    """

    #: The :class:`SignerRole` value whose field the signature fills.
    role: str
    #: The document with the signer's revision appended, ``/Contents`` still zeros.
    pdf: bytes
    #: Where the hex ``<…>`` placeholder starts and ends in ``pdf`` (outside the byte range).
    contents_start: int
    contents_end: int
    #: SHA-256 over the ``/ByteRange`` of ``pdf``: the CMS message-digest.
    document_digest: bytes
    #: DER of the CMS signed attributes (a SET OF, as signed).
    signed_attributes: bytes
    #: SHA-256 of ``signed_attributes``: what the provider signs.
    digest: bytes
    #: The signer's certificate and its chain (issuing CA first), DER.
    certificate: bytes
    chain: tuple[bytes, ...]

    def detached(self, source: bytes) -> PreparedPdf:
        """This with ``pdf`` cut down to what the signer's revision adds to ``source``,
        the document it was prepared from, less the zero-filled placeholder: a few KB to
        store instead of the whole document twice over. :meth:`attached` restores it."""
        placeholder = self.pdf[self.contents_start : self.contents_end]
        if (
            not self.pdf.startswith(source)
            or self.contents_start < len(source)
            or placeholder != _placeholder(len(placeholder))
        ):
            raise PadesError("the prepared document is not a revision of its source")
        tail = self.pdf[len(source) : self.contents_start] + self.pdf[self.contents_end :]
        return dataclasses.replace(self, pdf=tail)

    def attached(self, source: bytes) -> PreparedPdf:
        """The whole prepared document again, from :meth:`detached`'s and ``source``.

        Joined to another source, the byte-range digest no longer matches and
        :func:`finish_pdf` refuses it.
        """
        if self.pdf.startswith(b"%PDF-"):
            return self  # stored whole
        cut = self.contents_start - len(source)
        if cut < 0:
            raise PadesError("the prepared revision does not fit its source document")
        size = self.contents_end - self.contents_start
        pdf = source + self.pdf[:cut] + _placeholder(size) + self.pdf[cut:]
        return dataclasses.replace(self, pdf=pdf)


def _placeholder(size: int) -> bytes:
    """The ``/Contents`` placeholder pyHanko writes: ``<00…0>``, ``size`` bytes in all."""
    return b"<" + b"0" * (size - 2) + b">"


async def prepare_pdf(
    pdf: bytes,
    *,
    role: SignerRole,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
    signing_time: datetime | None = None,
) -> PreparedPdf:
    """Append ``role``'s signature revision to ``pdf``; return what the provider must sign.

    ``signing_time`` (default: now) goes into ``/M`` and the stamp; the time a
    verifier can trust comes later, from the timestamp :func:`finish_pdf` adds.
    Raises :class:`PadesError` when the document has no empty field for ``role``.
    """
    material = _signer_material(
        certificate.public_bytes(serialization.Encoding.DER),
        tuple(c.public_bytes(serialization.Encoding.DER) for c in chain),
    )
    # The signature value only exists later: the placeholder signer stands in
    # for the provider while pyHanko lays out the revision.
    signer = ExternalSigner(
        signing_cert=material.certificate,
        cert_registry=material.registry,
        signature_value=material.signature_size,
    )
    pdf_signer = PdfSigner(
        PdfSignatureMetadata(
            field_name=role.value,
            md_algorithm="sha256",
            subfilter=SigSeedSubFilter.PADES,
            reason=role.label,
            name=material.name,
        ),
        signer=signer,
        stamp_style=_stamp_style(),
    )
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        session = pdf_signer.init_signing_session(writer, existing_fields_only=True)
    except (SigningError, PdfError) as error:
        raise PadesError(f"cannot sign the {role.value} field: {error}") from error
    # Not pdf_signer.async_digest_doc_for_signing: it would run the pre-signing
    # certificate validation (no validation context here: nothing to run) and,
    # without a size, a whole dry-run signature to estimate the placeholder.
    session.system_time = (signing_time or datetime.now(UTC)).astimezone(VIETNAM_TIME)
    tbs = session.prepare_tbs_document(
        validation_info=None,
        bytes_reserved=material.bytes_reserved,
        appearance_text_params={"role": role.label},
    )
    output = io.BytesIO()
    prepared_digest, _ = tbs.digest_tbs_document(output=output)
    template = await _attributes_template(material, signer, role)
    signed_attributes = template.fill(prepared_digest.document_digest)
    return PreparedPdf(
        role=role.value,
        pdf=output.getvalue(),
        contents_start=prepared_digest.reserved_region_start,
        contents_end=prepared_digest.reserved_region_end,
        document_digest=prepared_digest.document_digest,
        signed_attributes=signed_attributes,
        digest=hashlib.sha256(signed_attributes).digest(),
        certificate=material.certificate_der,
        chain=material.chain_der,
    )


async def finish_pdf(
    prepared: PreparedPdf, signature: bytes, *, timestamper: TimeStamper | None = None
) -> bytes:
    """The signed PDF: ``signature``, the provider's raw value, embedded as a CMS.

    With ``timestamper`` the CMS gets a signature-time-stamp (PAdES B-T); without,
    the signature is B-B. Raises :class:`SignatureValueMismatchError` when ``signature``
    does not verify, :class:`PadesError` when ``prepared`` is not the state
    :func:`prepare_pdf` left (a stored row damaged or mixed up with another). The
    timestamper's own errors (TSA unreachable) pass through: nothing was written,
    and the same ``prepared`` and ``signature`` can be finished again later.
    """
    material = _signer_material(prepared.certificate, prepared.chain)
    start, end = prepared.contents_start, prepared.contents_end
    document = prepared.pdf
    if hashlib.sha256(prepared.signed_attributes).digest() != prepared.digest:
        raise PadesError("the prepared signed attributes do not match their digest")
    if hashlib.sha256(document[:start] + document[end:]).digest() != prepared.document_digest:
        raise PadesError("the prepared document does not match its byte-range digest")
    try:
        material.public_key.verify(
            signature, prepared.signed_attributes, padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature as error:
        raise SignatureValueMismatchError(
            f"the {prepared.role} signature value does not verify with the certificate"
            f" of {material.name}"
        ) from error
    signer = ExternalSigner(
        signing_cert=material.certificate,
        cert_registry=material.registry,
        signature_value=signature,
    )
    content = await signer.async_sign_prescribed_attributes(
        "sha256",
        cms.CMSAttributes.load(prepared.signed_attributes),
        timestamper=timestamper,
    )
    output = io.BytesIO(document)
    try:
        PreparedByteRangeDigest(prepared.document_digest, start, end).fill_with_cms(output, content)
    except SigningError as error:
        raise PadesError(str(error)) from error
    return output.getvalue()


# --- Per-certificate material ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SignerMaterial:
    """What signing needs from a certificate, converted once per certificate."""

    certificate_der: bytes
    chain_der: tuple[bytes, ...]
    certificate: asn1_x509.Certificate
    registry: SimpleCertificateStore
    public_key: rsa.RSAPublicKey
    name: str
    signature_size: int
    #: Hex digits reserved for /Contents.
    bytes_reserved: int


@lru_cache(maxsize=256)
def _signer_material(certificate_der: bytes, chain_der: tuple[bytes, ...]) -> _SignerMaterial:
    """Parse a signer's certificate and chain once: a teacher signs a whole class in a row.

    The placeholder is sized from what the CMS will carry — this certificate, its
    chain, an RSA signature of the key's size — plus a fixed allowance for the
    timestamp token, so no dry-run signature is needed to estimate it.
    """
    certificate = asn1_x509.Certificate.load(certificate_der)
    public_key = x509.load_der_x509_certificate(certificate_der).public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise PadesError("only RSA signing keys are supported (providers sign PKCS#1 v1.5)")
    signature_size = (public_key.key_size + 7) // 8
    der_size = (
        len(certificate_der)
        + sum(len(c) for c in chain_der)
        + signature_size
        + CMS_OVERHEAD
        + TIMESTAMP_ALLOWANCE
    )
    return _SignerMaterial(
        certificate_der=certificate_der,
        chain_der=chain_der,
        certificate=certificate,
        registry=SimpleCertificateStore.from_certs(
            [asn1_x509.Certificate.load(c) for c in chain_der]
        ),
        public_key=public_key,
        name=_display_name(certificate),
        signature_size=signature_size,
        bytes_reserved=2 * der_size,
    )


@dataclass(frozen=True, slots=True)
class _AttributesTemplate:
    """The DER of a signer's signed attributes for one role, around a digest slot.

    The attributes are the same for every document a signer signs in a role but
    the message digest (content-type, signing-certificate-v2 over the same
    certificate, the same claimed role), and encoding them with asn1crypto costs
    several milliseconds a document, so pyHanko builds them once per signer and
    role with a marker digest, and each document's digest goes in its place.
    """

    before: bytes
    after: bytes

    def fill(self, document_digest: bytes) -> bytes:
        return self.before + document_digest + self.after


_templates: dict[tuple[bytes, SignerRole], _AttributesTemplate] = {}


async def _attributes_template(
    material: _SignerMaterial, signer: ExternalSigner, role: SignerRole
) -> _AttributesTemplate:
    key = (material.certificate_der, role)
    template = _templates.get(key)
    if template is None:
        marker = os.urandom(32)  # a SHA-256 digest nothing else in the attributes equals
        attributes = await signer.signed_attrs(
            marker,
            "sha256",
            attr_settings=PdfCMSSignedAttributes(cades_signed_attrs=_role_claim(role)),
            use_pades=True,
        )
        encoded = attributes.dump()
        if encoded.count(marker) != 1:
            raise PadesError("the signed attributes do not hold the document digest once")
        at = encoded.index(marker)
        template = _AttributesTemplate(encoded[:at], encoded[at + len(marker) :])
        if len(_templates) > 1024:
            _templates.clear()
        _templates[key] = template
    return template


def _display_name(certificate: asn1_x509.Certificate) -> str:
    subject = certificate.subject.native
    return str(subject.get("common_name") or subject.get("organization_name") or "")


@cache
def _role_claim(role: SignerRole) -> CAdESSignedAttrSpec:
    """A signer-attributes-v2 claiming ``role``, written as EU DSS writes a claimed role
    (id-at-role, the role name as a URI general name), so the role is signed in the
    CMS itself and not only in the field name and ``/Reason``."""
    claimed = cms.AttCertAttribute(
        {"type": "role", "values": [{"role_name": {"uniform_resource_identifier": role.value}}]}
    )
    return CAdESSignedAttrSpec(
        signer_attributes=SignerAttrSpec(claimed_attrs=[claimed], certified_attrs=[])
    )


# --- The stamp --------------------------------------------------------------------------

_STAMP_TEXT = "Ký bởi: %(signer)s\nVai trò: %(role)s\nNgày ký: %(ts)s"
_STAMP_FONT_SIZE = 8

#: Characters every stamp may need: ASCII, Latin-1, Latin Extended-A and the
#: Vietnamese letters. One font subset holding them all serves every signer, so
#: the subset is made once per process, not once per name.
_STAMP_REPERTOIRE = "".join(
    chr(c)
    for block in ((0x20, 0x7F), (0xA0, 0x180), (0x1A0, 0x1A2), (0x1AF, 0x1B1), (0x1EA0, 0x1EFA))
    for c in range(*block)
)


@cache
def _stamp_style() -> TextStampStyle:
    """Who signed, in which role, when: left-aligned in the field, shrunk to fit a long name."""
    return TextStampStyle(
        stamp_text=_STAMP_TEXT,
        timestamp_format="%d/%m/%Y %H:%M:%S (%Z)",
        text_box_style=TextBoxStyle(
            font=_StampFontFactory(_StampFont(FONT_DIR / "DejaVuSerifCondensed.ttf")),
            font_size=_STAMP_FONT_SIZE,
            leading=_STAMP_FONT_SIZE + 2,
        ),
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(4),
        ),
        # The page draws the field's outline; the stamp only fills it.
        border_width=0,
        background=None,
    )


class _StampFont:
    """DejaVu Serif Condensed, the documents' face, read once per process for stamps.

    pyHanko's own OpenType engine (``GlyphAccumulatorFactory``) writes glyph
    widths in font units, right only for 1000-unit fonts: DejaVu has 2048 units
    to the em, so its stamps came out letter-spaced and cut off. It also parses
    and subsets the font for every signature. This engine needs no shaping —
    text is composed to NFC, and every Vietnamese letter has its own glyph — so
    it maps characters through the font's cmap, scales widths to the PDF's 1000
    units, and embeds one cached subset.
    """

    def __init__(self, path: Path) -> None:
        program = path.read_bytes()
        font = ttLib.TTFont(io.BytesIO(program))
        scale = 1000 / font["head"].unitsPerEm
        cmap = font.getBestCmap()
        metrics = font["hmtx"].metrics
        self.program = program
        self.postscript_name = font["name"].getDebugName(6) or "DejaVuSerifCondensed"
        #: character → (glyph id, width in 1/1000 em)
        self.glyphs: dict[str, tuple[int, int]] = {
            chr(code): (font.getGlyphID(name), round(metrics[name][0] * scale))
            for code, name in cmap.items()
        }
        self.notdef_width = round(metrics[font.getGlyphName(0)][0] * scale)
        head, hhea, os2 = font["head"], font["hhea"], font["OS/2"]
        self.bbox = [round(v * scale) for v in (head.xMin, head.yMin, head.xMax, head.yMax)]
        self.ascent = round(hhea.ascent * scale)
        self.descent = round(hhea.descent * scale)
        self.cap_height = round(getattr(os2, "sCapHeight", hhea.ascent) * scale)
        self.repertoire = frozenset(
            self.glyphs[c][0] for c in _STAMP_REPERTOIRE if c in self.glyphs
        )

    def glyph(self, character: str) -> tuple[int, int]:
        return self.glyphs.get(character, (0, self.notdef_width))

    @lru_cache(maxsize=16)  # noqa: B019 -- one instance per process (_stamp_style), never freed
    def subset(self, glyph_ids: frozenset[int]) -> tuple[bytes, int]:
        """The font cut down to ``glyph_ids`` (glyph ids kept), Flate-compressed, and its
        uncompressed length."""
        font = ttLib.TTFont(io.BytesIO(self.program))
        options = subset.Options(layout_closure=False, hinting=False, retain_gids=True)
        options.drop_tables += ["GPOS", "GDEF", "GSUB", "kern", "FFTM"]
        subsetter = subset.Subsetter(options)
        subsetter.populate(gids=sorted(glyph_ids))
        subsetter.subset(font)
        buffer = io.BytesIO()
        font.save(buffer)
        program = buffer.getvalue()
        return zlib.compress(program, 6), len(program)


@dataclass(frozen=True)
class _StampFontFactory(FontEngineFactory):
    font: _StampFont

    def create_font_engine(
        self, writer: BasePdfFileWriter, obj_stream: object = None
    ) -> FontEngine:
        return _StampFontEngine(writer, self.font)


class _StampFontEngine(FontEngine):
    """One stamp's use of :class:`_StampFont`: a Type0 font with Identity-H glyph ids."""

    def __init__(self, writer: BasePdfFileWriter, font: _StampFont) -> None:
        super().__init__(writer, font.postscript_name, embedded_subset=True)
        self.font = font
        #: glyph id → (width, the text it shows) for /W and /ToUnicode
        self.used: dict[int, tuple[int, str]] = {}
        self.reference = writer.allocate_placeholder()
        self.written = False

    @property
    def uses_complex_positioning(self) -> bool:
        # Glyphs advance by their /W widths: plain Tj, no positioning operators.
        return False

    def shape(self, txt: str) -> ShapeResult:
        codes = []
        advance = 0
        for character in unicodedata.normalize("NFC", txt):
            glyph_id, width = self.font.glyph(character)
            self.used.setdefault(glyph_id, (width, character))
            codes.append(f"{glyph_id:04X}")
            advance += width
        return ShapeResult(f"<{''.join(codes)}> Tj".encode("ascii"), advance / 1000, 0)

    def as_resource(self) -> generic.IndirectObject:
        return self.reference

    def prepare_write(self) -> None:
        # The writer calls this every time it serialises the document.
        if self.written:
            return
        self.written = True
        writer, font = self.writer, self.font
        name = f"{self.subset_prefix}+{font.postscript_name}"
        compressed, length = font.subset(font.repertoire.union(self.used))
        program = generic.StreamObject(
            {
                generic.pdf_name("/Filter"): generic.pdf_name("/FlateDecode"),
                generic.pdf_name("/Length1"): generic.NumberObject(length),
            },
            encoded_data=compressed,
        )
        descriptor = generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/FontDescriptor"),
                generic.pdf_name("/FontName"): generic.pdf_name(f"/{name}"),
                # Serif, symbolic (glyphs addressed by id, not by a standard encoding).
                generic.pdf_name("/Flags"): generic.NumberObject(0b110),
                generic.pdf_name("/FontBBox"): generic.ArrayObject(
                    generic.NumberObject(v) for v in font.bbox
                ),
                generic.pdf_name("/ItalicAngle"): generic.NumberObject(0),
                generic.pdf_name("/Ascent"): generic.NumberObject(font.ascent),
                generic.pdf_name("/Descent"): generic.NumberObject(font.descent),
                generic.pdf_name("/CapHeight"): generic.NumberObject(font.cap_height),
                generic.pdf_name("/StemV"): generic.NumberObject(80),
                generic.pdf_name("/FontFile2"): writer.add_object(program),
            }
        )
        # /W as runs of consecutive glyph ids, "first [w w …]": fewer objects to parse.
        widths = generic.ArrayObject()
        for glyph_id in sorted(self.used):
            width = generic.NumberObject(self.used[glyph_id][0])
            if widths and widths[-2] + len(widths[-1]) == glyph_id:
                widths[-1].append(width)
            else:
                widths += [generic.NumberObject(glyph_id), generic.ArrayObject([width])]
        cid_font = generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Font"),
                generic.pdf_name("/Subtype"): generic.pdf_name("/CIDFontType2"),
                generic.pdf_name("/BaseFont"): generic.pdf_name(f"/{name}"),
                generic.pdf_name("/CIDSystemInfo"): generic.DictionaryObject(
                    {
                        generic.pdf_name("/Registry"): generic.pdf_string("Adobe"),
                        generic.pdf_name("/Ordering"): generic.pdf_string("Identity"),
                        generic.pdf_name("/Supplement"): generic.NumberObject(0),
                    }
                ),
                generic.pdf_name("/FontDescriptor"): writer.add_object(descriptor),
                generic.pdf_name("/CIDToGIDMap"): generic.pdf_name("/Identity"),
                generic.pdf_name("/W"): widths,
            }
        )
        type0 = generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Font"),
                generic.pdf_name("/Subtype"): generic.pdf_name("/Type0"),
                generic.pdf_name("/BaseFont"): generic.pdf_name(f"/{name}"),
                generic.pdf_name("/Encoding"): generic.pdf_name("/Identity-H"),
                generic.pdf_name("/DescendantFonts"): generic.ArrayObject(
                    [writer.add_object(cid_font)]
                ),
                generic.pdf_name("/ToUnicode"): writer.add_object(self._to_unicode()),
            }
        )
        writer.add_object(type0, idnum=self.reference.idnum)

    def _to_unicode(self) -> generic.StreamObject:
        """The CMap that lets readers (``pdftotext``, search, screen readers) get the text back."""
        mappings = [
            f"<{glyph_id:04X}> <{text.encode('utf-16-be').hex().upper()}>"
            for glyph_id, (_, text) in sorted(self.used.items())
            if glyph_id
        ]
        chunks = [
            f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar"
            for chunk in (mappings[i : i + 100] for i in range(0, len(mappings), 100))
        ]
        cmap = (
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
            + "\n".join(chunks)
            + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
        )
        stream = generic.StreamObject(stream_data=cmap.encode("ascii"))
        stream.compress()
        return stream
