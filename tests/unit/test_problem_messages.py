"""Every problem code speaks Vietnamese and English, with the same blanks to fill."""

import string

import pytest

from hub.domain.problems import MESSAGES, MESSAGES_EN, Code, HubError, problem


def _placeholders(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


@pytest.mark.parametrize("code", list(Code))
def test_every_code_has_both_messages_with_the_same_placeholders(code: Code) -> None:
    assert MESSAGES[code].strip() and MESSAGES_EN[code].strip()
    assert _placeholders(MESSAGES[code]) == _placeholders(MESSAGES_EN[code])
    assert MESSAGES[code] != MESSAGES_EN[code]


def test_problem_fills_both_messages_and_english_words_replace_vietnamese_ones() -> None:
    found = problem(Code.TEXT_TOO_LONG, field="fullName", length=300, limit=200)
    assert found.message == "Trường fullName dài 300 ký tự; tối đa 200 ký tự."
    assert found.message_en == "Field fullName is 300 characters long; at most 200."
    error = HubError(Code.INVALID_ARGUMENT, detail="thiếu mã", details_en={"detail": "no code"})
    assert error.problem.message == "Tham số không hợp lệ: thiếu mã."
    assert error.problem.message_en == "Invalid argument: no code."
