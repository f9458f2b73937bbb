"""pyHanko's reader of PDF hex strings, made fast for signatures' ``/Contents``.

Imported for its effect by every module that reads signed PDFs with pyHanko
(:mod:`hub.signing.pades` reads the earlier signatures of a transcript before it
adds one; :mod:`hub.signing.verification.pdf_reader` reads them all).
"""

from __future__ import annotations

import binascii
import io
from typing import IO

from pyhanko.pdf_utils import generic, misc

_HEX_DIGITS = b"0123456789abcdefABCDEF"
_pyhanko_read_hex_string = generic.read_hex_string_from_stream


def _read_hex_string(stream: IO[bytes]) -> generic.ByteStringObject | generic.TextStringObject:
    """pyHanko's hex-string reader, in one pass instead of three calls a digit.

    pyHanko reads a ``<…>`` string one byte at a time through Python generators.
    A signature's ``/Contents`` is some 35,000 hex digits (the CMS and the room
    left for its timestamp), so reading the three of a transcript took ~60 ms —
    most of a verification. This reads up to the closing ``>`` at once and
    decodes it when it holds only hex digits and whitespace, which is every
    signature's case; anything else (a comment inside the string, a malformed
    one) goes to pyHanko's reader from the same position, so the results and
    errors are pyHanko's.
    """
    start = stream.tell()
    stream.read(1)
    chunks = []
    while chunk := stream.read(64 * 1024):
        end = chunk.find(b">")
        if end >= 0:
            chunks.append(chunk[:end])
            stream.seek(end + 1 - len(chunk), io.SEEK_CUR)
            digits = b"".join(chunks).translate(None, misc.PDF_WHITESPACE)
            if not digits.translate(None, _HEX_DIGITS):
                return generic.pdf_string(binascii.unhexlify(digits + b"0" * (len(digits) % 2)))
            break
        chunks.append(chunk)
    stream.seek(start)
    return _pyhanko_read_hex_string(stream)


generic.read_hex_string_from_stream = _read_hex_string
