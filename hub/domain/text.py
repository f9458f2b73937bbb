"""Human text: the one gate every write passes, and folding for search.

Names, comments and reasons typed by people end up in XML documents, PDFs,
spreadsheets and terminal logs. What the hub stores must be printable in all of
them, so :func:`clean_text` is the single place that decides what text is
acceptable: Unicode NFC (Vietnamese has two spellings of most letters, and only
the composed one compares equal), no control characters (XML 1.0 forbids most of
them and ANSI escapes rewrite a terminal), not only invisible characters, and no
longer than the column that keeps it.
"""

import unicodedata
from dataclasses import dataclass

from hub.domain.problems import Code, Problem, problem

_EXTRA = str.maketrans({"đ": "d", "Đ": "d"})

#: How long a comment or reason typed by a teacher may be: what fits its box on the
#: paper layout (such text is kept in TEXT columns, which cannot say).
COMMENT_LIMIT = 1_000

#: Characters that reorder or hide text (Trojan Source, CVE-2021-42574), never legitimate
#: in a name or a comment.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Characters that take no room on screen or paper.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Mn", "Me", "Zs", "Zl", "Zp"})


def fold(text: str) -> str:
    """Return ``text`` lower-cased, without diacritics, whitespace collapsed.

    "Nguyễn  Văn Ân" → "nguyen van an". ``đ`` is a letter of its own in Unicode
    (not d + a mark), so it is mapped explicitly.
    """
    decomposed = unicodedata.normalize("NFD", text.translate(_EXTRA))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.lower().split())


def _forbidden(char: str, *, multiline: bool) -> bool:
    if char in _BIDI_CONTROLS:
        return True
    if multiline and char in "\n\t":
        return False
    category = unicodedata.category(char)
    # Cc: C0/C1 controls (NUL, BEL, ESC…); Cs: lone surrogates; Cn: unassigned code
    # points, U+FFFE and U+FFFF among them (not characters in XML 1.0).
    return category in ("Cc", "Cs", "Cn", "Co")


@dataclass(frozen=True, slots=True)
class CleanText:
    """The text as the hub stores it, or the problems that refuse it."""

    value: str | None
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def clean_text(
    value: str | None,
    *,
    field: str,
    limit: int,
    required: bool = False,
    multiline: bool = False,
) -> CleanText:
    """Decide whether ``value`` may be stored in a text column of ``limit`` characters.

    One-line text (names, phone numbers, places) is NFC with single spaces;
    ``multiline`` text (comments, reasons) keeps its line breaks and tabs. Empty
    text is None, refused when ``required``. Control characters, bidirectional
    overrides, text made only of invisible characters and text longer than
    ``limit`` are refused with a stable code naming ``field``.
    """
    if value is None:
        return CleanText(None, (problem(Code.NAME_REQUIRED, field=field),) if required else ())
    text = unicodedata.normalize("NFC", value)
    if multiline:
        text = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()
    else:
        text = " ".join(text.split())
    if not text:
        return CleanText(None, (problem(Code.NAME_REQUIRED, field=field),) if required else ())
    if any(_forbidden(char, multiline=multiline) for char in text):
        return CleanText(None, (problem(Code.TEXT_CONTROL_CHARACTERS, field=field),))
    if all(unicodedata.category(char) in _INVISIBLE_CATEGORIES or char.isspace() for char in text):
        return CleanText(None, (problem(Code.TEXT_INVISIBLE, field=field),))
    if len(text) > limit:
        return CleanText(
            None, (problem(Code.TEXT_TOO_LONG, field=field, length=len(text), limit=limit),)
        )
    return CleanText(text)
