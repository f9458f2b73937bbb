"""pyHanko's PDF tokenizer, made fast where transcripts spend their time.

pyHanko reads a PDF one byte at a time through Python calls: every name, number,
string and run of whitespace of every object it opens. Preparing a signature opens
the document's cross-reference sections, its catalogue, its form and the earlier
signatures' dictionaries; verifying reads them all. Each reader here takes the
common case in one pass over a chunk (a name of plain characters, a string without
escapes or nested parentheses, a signature's hex ``/Contents``) and hands anything
else to pyHanko's own reader from the same position, so the objects read, the
position left in the stream and the errors raised are pyHanko's.
``tests/unit/test_pdf_tokens.py`` holds each against pyHanko's original.

Imported for its effect by every module that reads or writes PDFs with pyHanko
(:mod:`hub.signing.pades`, :mod:`hub.signing.verification.pdf_reader`).
"""

from __future__ import annotations

import binascii
import codecs
import io
import re
from typing import IO, Any

from pyhanko.pdf_utils import generic, misc

# pyHanko's own readers and writers, for every case the fast ones hand back (and for
# the tests that hold the fast ones against them).
pyhanko_read_hex_string = generic.read_hex_string_from_stream
pyhanko_read_string_literal_bytes = generic._read_string_literal_bytes
pyhanko_read_non_whitespace = misc.read_non_whitespace
pyhanko_read_until_delimiter = misc.read_until_delimiter
pyhanko_read_until_whitespace = misc.read_until_whitespace
pyhanko_decode_name = generic._decode_name
pyhanko_write_name = generic.NameObject.write_to_stream
pyhanko_write_text_string = generic.TextStringObject.write_to_stream

_HEX_DIGITS = b"0123456789abcdefABCDEF"
_WHITESPACE = misc.PDF_WHITESPACE
#: How far a token is looked for at once; a longer one goes to pyHanko's reader.
_CHUNK = 64
_LITERAL_CHUNK = 4096
_UNTIL_DELIMITER = re.compile(b"[^" + re.escape(_WHITESPACE + misc.PDF_DELIMITERS) + b"]*")
_UNTIL_WHITESPACE = re.compile(b"[^" + re.escape(_WHITESPACE) + b"]*")
#: A literal string's body and its closing parenthesis, when every escape in it is one
#: of these (PDF 32000-1 7.3.4.2). pyHanko reads at most three octal digits, as the
#: standard says, so a digit after them is the string's own, here as there.
_LITERAL = re.compile(rb"((?:[^\\()]|\\[0-3][0-7]{2}|\\[()\\])*)\)")
_ESCAPE = re.compile(rb"\\(?:[0-3][0-7]{2}|[()\\])")
_UNESCAPED = {b"\\%03o" % byte: bytes([byte]) for byte in range(256)} | {
    b"\\" + byte: byte for byte in (b"(", b")", b"\\")
}
#: A name of characters that need no ``#xx`` escape: ``!`` to ``~`` less the
#: delimiters and ``#`` itself (PDF 32000-1 7.3.5).
_PLAIN_NAME = re.compile(
    b"["
    + b"".join(
        re.escape(bytes([c])) for c in range(0x21, 0x7F) if c not in misc.PDF_DELIMITERS + b"#"
    )
    + b"]*"
)


def _plain_name(name: bytes, start: int = 0) -> bool:
    return _PLAIN_NAME.fullmatch(name, start) is not None


def _read_hex_string(stream: IO[bytes]) -> generic.ByteStringObject | generic.TextStringObject:
    """A ``<…>`` string in one pass instead of three calls a digit.

    A signature's ``/Contents`` is some 35,000 hex digits (the CMS and the room
    left for its timestamp): pyHanko's reader took ~60 ms for a transcript's three,
    most of a verification. Read up to the closing ``>`` at once and decoded when it
    holds only hex digits and whitespace, which is every signature's case.
    """
    start = stream.tell()
    stream.read(1)
    chunks = []
    while chunk := stream.read(64 * 1024):
        end = chunk.find(b">")
        if end >= 0:
            chunks.append(chunk[:end])
            stream.seek(end + 1 - len(chunk), io.SEEK_CUR)
            digits = b"".join(chunks).translate(None, _WHITESPACE)
            if not digits.translate(None, _HEX_DIGITS):
                return generic.pdf_string(binascii.unhexlify(digits + b"0" * (len(digits) % 2)))
            break
        chunks.append(chunk)
    stream.seek(start)
    return pyhanko_read_hex_string(stream)


def _read_string_literal_bytes(stream: IO[bytes]) -> bytes:
    """A ``(…)`` string's bytes, when it has no nested parenthesis and no escape but
    the three-digit octal ones pyHanko writes and ``\\(``, ``\\)``, ``\\\\``."""
    chunk = stream.read(_LITERAL_CHUNK)
    literal = _LITERAL.match(chunk, 1)
    if literal is not None:
        stream.seek(literal.end() - len(chunk), io.SEEK_CUR)
        body = literal.group(1)
        return _ESCAPE.sub(_unescaped, body) if b"\\" in body else body
    stream.seek(-len(chunk), io.SEEK_CUR)
    return pyhanko_read_string_literal_bytes(stream)


def _unescaped(escape: re.Match[bytes]) -> bytes:
    return _UNESCAPED[escape.group()]


def _read_non_whitespace(
    stream: IO[bytes], seek_back: bool = False, allow_eof: bool = False
) -> bytes:
    """The next byte that is not whitespace, past any whitespace (a comment: pyHanko's)."""
    chunk = stream.read(_CHUNK)
    rest = chunk.lstrip(_WHITESPACE)
    if rest and rest[0] != 0x25:  # not a comment
        stream.seek(-len(rest) + (0 if seek_back else 1), io.SEEK_CUR)
        return rest[:1]
    stream.seek(-len(chunk), io.SEEK_CUR)
    return pyhanko_read_non_whitespace(stream, seek_back, allow_eof)


def _read_until(pattern: re.Pattern[bytes], stream: IO[bytes], *, consume: int) -> bytes | None:
    """The bytes before ``pattern`` stops matching, ``consume`` bytes of the stop read past;
    None (the stream where it was) when the token runs past the chunk."""
    chunk = stream.read(_CHUNK)
    match = pattern.match(chunk)
    assert match is not None  # a starred class matches the empty string
    end = match.end()
    if end < len(chunk):
        stream.seek(end + consume - len(chunk), io.SEEK_CUR)
        return chunk[:end]
    if len(chunk) < _CHUNK:
        return chunk  # the stream's end: nothing to step back over
    stream.seek(-len(chunk), io.SEEK_CUR)
    return None


def _read_until_delimiter(stream: IO[bytes]) -> bytes:
    """The bytes up to a delimiter or whitespace, the stream left on it."""
    token = _read_until(_UNTIL_DELIMITER, stream, consume=0)
    return token if token is not None else pyhanko_read_until_delimiter(stream)


def _read_until_whitespace(stream: IO[bytes], maxchars: int | None = None) -> bytes:
    """The bytes up to whitespace, which is read past."""
    if maxchars is None:
        token = _read_until(_UNTIL_WHITESPACE, stream, consume=1)
        if token is not None:
            return token
    return pyhanko_read_until_whitespace(stream, maxchars)


def _decode_name(name_bytes: bytes) -> generic.NameObject:
    """A name of plain characters as it is; one with ``#xx`` escapes or anything
    else, pyHanko's decoding (and its errors)."""
    if _plain_name(name_bytes):
        return generic.NameObject("/" + name_bytes.decode("ascii"))
    return pyhanko_decode_name(name_bytes)


def _write_name(
    self: generic.NameObject, stream: IO[bytes], handler: Any = None, container_ref: Any = None
) -> None:
    """A name of plain characters written as it is; any other, escaped by pyHanko."""
    data = self.encode("utf8")
    if data[:1] == b"/" and _plain_name(data, 1):
        stream.write(data)
        return
    pyhanko_write_name(self, stream, handler, container_ref)


def _write_text_string(
    self: generic.TextStringObject,
    stream: IO[bytes],
    handler: Any = None,
    container_ref: Any = None,
) -> None:
    """A text string as pyHanko writes it (PDFDocEncoding or UTF-16BE, every byte but
    letters, digits and space as a three-digit octal escape), escaped in one pass; an
    encrypted document's strings are pyHanko's to write."""
    if handler is not None:
        pyhanko_write_text_string(self, stream, handler, container_ref)
        return
    if self.force_output_encoding is not None:
        encoded = self.force_output_encoding.encode(self)
    else:
        try:
            encoded = generic.encode_pdfdocencoding(self)
        except UnicodeEncodeError:
            encoded = codecs.BOM_UTF16_BE + self.encode("utf-16be")
    stream.write(b"(" + b"".join([_LITERAL_BYTE[byte] for byte in encoded]) + b")")


#: How :func:`_write_text_string` writes each byte.
_LITERAL_BYTE = tuple(
    bytes([byte]) if bytes([byte]).isalnum() or byte == 0x20 else b"\\%03o" % byte
    for byte in range(256)
)

#: Where each fast reader and writer stands in for pyHanko's: (owner, name, fast,
#: pyHanko's own). The tests put pyHanko's back from the same list.
REPLACED: tuple[tuple[Any, str, Any, Any], ...] = (
    (generic, "read_hex_string_from_stream", _read_hex_string, pyhanko_read_hex_string),
    (
        generic,
        "_read_string_literal_bytes",
        _read_string_literal_bytes,
        pyhanko_read_string_literal_bytes,
    ),
    (misc, "read_non_whitespace", _read_non_whitespace, pyhanko_read_non_whitespace),
    (generic, "read_non_whitespace", _read_non_whitespace, pyhanko_read_non_whitespace),
    (misc, "read_until_delimiter", _read_until_delimiter, pyhanko_read_until_delimiter),
    (generic, "read_until_delimiter", _read_until_delimiter, pyhanko_read_until_delimiter),
    (misc, "read_until_whitespace", _read_until_whitespace, pyhanko_read_until_whitespace),
    (generic, "_decode_name", _decode_name, pyhanko_decode_name),
    (generic.NameObject, "write_to_stream", _write_name, pyhanko_write_name),
    (generic.TextStringObject, "write_to_stream", _write_text_string, pyhanko_write_text_string),
)

for _owner, _name, _fast, _ in REPLACED:
    setattr(_owner, _name, _fast)
