"""The face signature stamps are set in, and the one copy of it a transcript carries.

A sealed transcript shows three stamps ("Ký bởi", "Vai trò", "Ngày ký"), one per
signature revision. Each used to embed its own subset of DejaVu Serif Condensed —
16 KB, three times. Instead the unsigned document carries one Type0 font holding
every glyph Vietnamese stamp text needs (:data:`STAMP_REPERTOIRE`), listed in the
AcroForm's default resources as :data:`STAMP_FONT_RESOURCE`; every signature's
appearance refers to that object (:mod:`hub.signing.pades`). Its ``/ToUnicode``
lists every glyph it has, so the signing engine learns from the document itself
which characters it can show and by which glyph, whatever version of the hub
rendered it. A name with a character outside the repertoire (a legacy record in
another script) falls back to a subset embedded with that one signature: every
letter renders, only that stamp costs more.

This module knows the face (glyphs, widths, metrics, subsets, the width and
``/ToUnicode`` arrays of a Type0 font); the writers — reportlab's for the
unsigned document, pyHanko's for a signature revision — wrap its values in their
own object types.
"""

import io
import unicodedata
import zlib
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from pathlib import Path

from fontTools import subset, ttLib

#: The shipped fonts' folder (the page's faces and the stamps').
FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"

#: Name of the shared stamp font in the AcroForm's ``/DR /Font``.
STAMP_FONT_RESOURCE = "HubStamp"

#: What stamp text is written with: ASCII, the Vietnamese letters (the precomposed
#: ones in Latin-1 and Latin Extended-A, ơ ư, and Latin Extended Additional) and the
#: punctuation a name or a school's name may hold. ~230 glyphs: a third of Latin-1
#: plus Latin Extended-A, which no Vietnamese name needs, and ~9 KB instead of 16.
STAMP_REPERTOIRE = "".join(
    sorted(
        {chr(c) for c in range(0x20, 0x7F)}
        | set("ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúýĂăĐđĨĩŨũƠơƯư")
        | {chr(c) for c in range(0x1EA0, 0x1EFA)}
        | set("\u00a0\u00b7\u2013\u2014\u2018\u2019\u201c\u201d\u2026")
    )
)


class StampFace:
    """DejaVu Serif Condensed, the documents' face, as a CID-keyed font for stamps.

    Text is composed to NFC and every Vietnamese letter has its own glyph, so no
    shaping is needed: characters map to glyphs through the font's cmap, and the
    widths are scaled from the font's 2048 units to the PDF's 1000 (pyHanko's own
    OpenType engine writes them unscaled, right only for 1000-unit fonts).
    """

    def __init__(self, path: Path) -> None:
        program = path.read_bytes()
        font = ttLib.TTFont(io.BytesIO(program))
        scale = 1000 / font["head"].unitsPerEm
        metrics = font["hmtx"].metrics
        self.program = program
        self.postscript_name = font["name"].getDebugName(6) or path.stem
        #: character → (glyph id, width in 1/1000 em)
        self.glyphs: dict[str, tuple[int, int]] = {
            chr(code): (font.getGlyphID(name), round(metrics[name][0] * scale))
            for code, name in font.getBestCmap().items()
        }
        self.notdef_width = round(metrics[font.getGlyphName(0)][0] * scale)
        head, hhea, os2 = font["head"], font["hhea"], font["OS/2"]
        self.bbox = [round(v * scale) for v in (head.xMin, head.yMin, head.xMax, head.yMax)]
        self.ascent = round(hhea.ascent * scale)
        self.descent = round(hhea.descent * scale)
        self.cap_height = round(getattr(os2, "sCapHeight", hhea.ascent) * scale)

    def glyph(self, character: str) -> tuple[int, int]:
        """(glyph id, width) of ``character``; ``.notdef`` when the face lacks it."""
        return self.glyphs.get(character, (0, self.notdef_width))

    def width(self, value: str, size: float) -> float:
        """Width in points of ``value`` set at ``size``."""
        text = unicodedata.normalize("NFC", value)
        return sum(self.glyph(character)[1] for character in text) * size / 1000

    @lru_cache(maxsize=16)  # noqa: B019 -- one instance per process (stamp_face), never freed
    def subset(self, glyph_ids: frozenset[int]) -> tuple[bytes, int]:
        """The font cut down to ``glyph_ids`` (glyph ids kept), Flate-compressed, and its
        uncompressed length: what a signature embeds when the shared font lacks a letter."""
        font = ttLib.TTFont(io.BytesIO(self.program))
        subsetter = subset.Subsetter(_subset_options(retain_gids=True))
        subsetter.populate(gids=sorted(glyph_ids))
        subsetter.subset(font)
        return _compressed(font)

    @cache  # noqa: B019 -- one instance per process (stamp_face), never freed
    def repertoire_font(self) -> "SubsetFont":
        """The shared font: :data:`STAMP_REPERTOIRE` only, glyphs renumbered from 1, so
        the program holds no empty slots for the thousands of glyphs left out."""
        font = ttLib.TTFont(io.BytesIO(self.program))
        subsetter = subset.Subsetter(_subset_options(retain_gids=False))
        subsetter.populate(unicodes=[ord(c) for c in STAMP_REPERTOIRE if c in self.glyphs])
        subsetter.subset(font)
        scale = 1000 / font["head"].unitsPerEm
        metrics = font["hmtx"].metrics
        glyphs = {
            chr(code): (font.getGlyphID(name), round(metrics[name][0] * scale))
            for code, name in font.getBestCmap().items()
        }
        program, length = _compressed(font)
        return SubsetFont(program=program, length=length, glyphs=glyphs)


class SubsetFont:
    """A compressed font program and the glyphs it has: character → (glyph id, width)."""

    def __init__(self, *, program: bytes, length: int, glyphs: Mapping[str, tuple[int, int]]):
        self.program = program
        self.length = length
        self.glyphs = dict(glyphs)

    def used(self) -> dict[int, tuple[int, str]]:
        """Every glyph: glyph id → (width, the character it shows)."""
        return {glyph_id: (width, char) for char, (glyph_id, width) in self.glyphs.items()}


def _subset_options(*, retain_gids: bool) -> subset.Options:
    # No hinting (a stamp is a few words at 7–8 pt; hinting is a third of DejaVu)
    # and no layout tables: the text is not shaped.
    options = subset.Options(layout_closure=False, hinting=False, retain_gids=retain_gids)
    options.drop_tables += ["GPOS", "GDEF", "GSUB", "kern", "FFTM", "MATH", "gasp"]
    options.name_IDs = [1, 2, 4, 6]  # family, style, full and PostScript names only
    options.notdef_outline = True
    return options


def _compressed(font: ttLib.TTFont) -> tuple[bytes, int]:
    buffer = io.BytesIO()
    font.save(buffer)
    program = buffer.getvalue()
    return zlib.compress(program, 9), len(program)


@cache
def stamp_face() -> StampFace:
    """The stamp face, read once per process."""
    return StampFace(FONT_DIR / "DejaVuSerifCondensed.ttf")


def width_runs(widths: Mapping[int, int]) -> list[int | list[int]]:
    """A CIDFont's ``/W``: runs of consecutive glyph ids, ``first [w w …]`` — fewer
    objects for a reader to parse than one entry per glyph."""
    runs: list[int | list[int]] = []
    first, run = -1, list[int]()
    for glyph_id in sorted(widths):
        if run and first + len(run) == glyph_id:
            run.append(widths[glyph_id])
        else:
            first, run = glyph_id, [widths[glyph_id]]
            runs += [first, run]
    return runs


def to_unicode(used: Iterable[tuple[int, str]]) -> bytes:
    """The ``/ToUnicode`` CMap of (glyph id, text) pairs: how readers (``pdftotext``,
    search, screen readers) — and the signing engine — get the text back."""
    mappings = [
        f"<{glyph_id:04X}> <{text.encode('utf-16-be').hex().upper()}>"
        for glyph_id, text in sorted(used)
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
    return cmap.encode("ascii")
