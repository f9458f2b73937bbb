"""Text folding for diacritic-insensitive search of Vietnamese names."""

import unicodedata

_EXTRA = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text: str) -> str:
    """Return ``text`` lower-cased, without diacritics, whitespace collapsed.

    "Nguyễn  Văn Ân" → "nguyen van an". ``đ`` is a letter of its own in Unicode
    (not d + a mark), so it is mapped explicitly.
    """
    decomposed = unicodedata.normalize("NFD", text.translate(_EXTRA))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.lower().split())


def normalise_name(text: str) -> str:
    """A person's name as stored: NFC, single spaces, no surrounding blanks."""
    return " ".join(unicodedata.normalize("NFC", text).split())
