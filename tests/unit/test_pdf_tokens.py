"""hub.signing.pdf_tokens reads and writes every token as pyHanko's own code does.

Each fast reader runs beside pyHanko's original on the same bytes: the same value
(type included), the same position left in the stream, the same error. The inputs
are edge cases written out and a few thousand random ones drawn from the bytes that
matter to a PDF tokenizer (whitespace, delimiters, ``%``, ``#``, ``\\``, digits,
letters, bytes above 0x7F). tests/integration/test_pdf_tokens_documents.py reads whole
signed transcripts both ways.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from typing import Any

import pytest
from pyhanko.pdf_utils import generic

from hub.signing import pdf_tokens

_ALPHABET = b" \n\r\t\x0c\x00()<>[]{}/%#\\0123456789abfnrtxyzABZ_-.+\xc3\xa9\xff"


def _outcome(read: Callable[..., Any], data: bytes, start: int, **options: Any) -> tuple:
    stream = io.BytesIO(data)
    stream.seek(start)
    try:
        value = read(stream, **options)
    except Exception as error:  # the error's kind and words are part of what must match
        return ("error", type(error).__name__, str(error))
    return (type(value).__name__, value, stream.tell())


def _random_inputs(count: int, *, opener: bytes = b"", seed: int) -> list[bytes]:
    draw = random.Random(seed)
    inputs = []
    for _ in range(count):
        size = draw.choice((0, 1, 2, 3, 5, 8, 20, 70, 300))
        inputs.append(opener + bytes(draw.choice(_ALPHABET) for _ in range(size)))
    return inputs


def _agree(
    fast: Callable[..., Any], original: Callable[..., Any], inputs: list[bytes], **options: Any
) -> None:
    for data in inputs:
        assert _outcome(fast, data, 0, **options) == _outcome(original, data, 0, **options), data


@pytest.mark.parametrize("seek_back", [False, True])
@pytest.mark.parametrize("allow_eof", [False, True])
def test_non_whitespace(seek_back: bool, allow_eof: bool) -> None:
    written = [
        b"",
        b" ",
        b"  \n\r x",
        b"x",
        b"%comment\n y",
        b" \n%c\r\n%d\n\tz",
        b" " * 200 + b"q",
    ]
    _agree(
        pdf_tokens._read_non_whitespace,
        pdf_tokens.pyhanko_read_non_whitespace,
        written + _random_inputs(3000, seed=1),
        seek_back=seek_back,
        allow_eof=allow_eof,
    )


def test_until_delimiter() -> None:
    written = [
        b"",
        b"abc",
        b"abc def",
        b"abc/def",
        b"(",
        b"x" * 64,
        b"x" * 63 + b" ",
        b"x" * 500 + b"]",
    ]
    _agree(
        pdf_tokens._read_until_delimiter,
        pdf_tokens.pyhanko_read_until_delimiter,
        written + _random_inputs(3000, seed=2),
    )


def test_until_whitespace() -> None:
    written = [b"", b"12 0 obj", b"12\n", b"x" * 64, b"x" * 64 + b" ", b"x" * 300 + b"\r"]
    inputs = written + _random_inputs(3000, seed=3)
    _agree(pdf_tokens._read_until_whitespace, pdf_tokens.pyhanko_read_until_whitespace, inputs)
    _agree(
        pdf_tokens._read_until_whitespace,
        pdf_tokens.pyhanko_read_until_whitespace,
        inputs[:300],
        maxchars=5,
    )


def test_string_literals() -> None:
    written = [
        b"(plain) rest",
        b"()",
        b"(a(b)c)",
        b"(\\376\\377\\000H\\036\\315) /Next",
        b"(IEC61966\\0552\\0561)",
        b"(hub \\(ReportLab\\))",
        b"(back\\\\slash\\\\)",
        b"(\\\\123)",
        b"(\\53)",
        b"(\\777)",
        b"(\\089)",
        b"(line\\\nbreak)",
        b"(tab\\t and \\n)",
        b"(\\q)",
        b"(unterminated",
        b"(" + b"x" * 5000 + b")",
        b"(\\",
    ]
    _agree(
        pdf_tokens._read_string_literal_bytes,
        pdf_tokens.pyhanko_read_string_literal_bytes,
        written + _random_inputs(4000, opener=b"(", seed=4),
    )


def test_hex_strings() -> None:
    written = [
        b"<>",
        b"<414>",
        b"<41 42\n43>",
        b"<4g>",
        b"<41%x\n42>",
        b"<" + b"ab" * 40000 + b">",
        b"<41",
    ]
    _agree(
        pdf_tokens._read_hex_string,
        pdf_tokens.pyhanko_read_hex_string,
        written + _random_inputs(2000, opener=b"<", seed=5),
    )


def test_names_read() -> None:
    written = [b"Type", b"A#20B", b"A#2", b"A#zz", b"\xc3\xa9t\xc3\xa9", b"\xff", b"", b"a~b!c"]
    inputs = written + [data[1:] for data in _random_inputs(3000, opener=b"/", seed=6)]
    for data in inputs:
        assert _result(pdf_tokens._decode_name, data) == _result(
            pdf_tokens.pyhanko_decode_name, data
        )


@pytest.mark.parametrize(
    "write, original, make",
    [
        (
            pdf_tokens._write_name,
            pdf_tokens.pyhanko_write_name,
            lambda text: generic.NameObject("/" + text),
        ),
        (
            pdf_tokens._write_text_string,
            pdf_tokens.pyhanko_write_text_string,
            generic.TextStringObject,
        ),
    ],
)
def test_writers(
    write: Callable[..., None], original: Callable[..., None], make: Callable[[str], Any]
) -> None:
    draw = random.Random(7)
    letters = "abcXYZ019 #()/%<>[]\\\t\n~!-_.ăâđêôơưữỹệ€Ω\x00\x7f"
    texts = ["Type", "", "A B", "Chữ ký số", "a#b", "(x)"]
    texts += [
        "".join(draw.choice(letters) for _ in range(draw.randint(0, 30))) for _ in range(3000)
    ]
    for text in texts:
        value = make(text)
        assert _written(write, value) == _written(original, value), text


def _result(read: Callable[[bytes], Any], data: bytes) -> tuple:
    try:
        value = read(data)
    except Exception as error:
        return ("error", type(error).__name__, str(error))
    return (type(value).__name__, value)


def _written(write: Callable[..., None], value: Any) -> tuple:
    stream = io.BytesIO()
    try:
        write(value, stream)
    except Exception as error:
        return ("error", type(error).__name__, str(error))
    return ("written", stream.getvalue())
