"""Primary grading, grades 1–5: Circular 27/2020/TT-BGDĐT (RULES.md §3).

Subjects and activities are assessed by comments and given a completion level;
qualities and competencies a level of their own; some subjects also have
end-of-semester-I and end-of-year tests scored in whole points. Impossible input
raises ``ValueError``. Decisions the regulation does not settle live in
``assumptions``.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from hub.domain.grading import assumptions


class Completion(StrEnum):
    """A subject's or activity's level (môn học, hoạt động giáo dục), best first."""

    WELL = "WELL"  # Hoàn thành tốt (T)
    DONE = "DONE"  # Hoàn thành (H)
    NOT_DONE = "NOT_DONE"  # Chưa hoàn thành (C)

    @property
    def label(self) -> str:
        return _COMPLETION_LABELS[self]

    @property
    def abbreviation(self) -> str:
        """As printed in the transcript columns: T / H / C."""
        return _COMPLETION_ABBREVIATIONS[self]

    def at_least(self, other: "Completion") -> bool:
        """``self`` is ``other`` or better (a StrEnum's own ``<`` compares the text)."""
        return _COMPLETIONS.index(self) <= _COMPLETIONS.index(other)


_COMPLETIONS = tuple(Completion)
_COMPLETION_LABELS = {
    Completion.WELL: "Hoàn thành tốt",
    Completion.DONE: "Hoàn thành",
    Completion.NOT_DONE: "Chưa hoàn thành",
}
_COMPLETION_ABBREVIATIONS = {Completion.WELL: "T", Completion.DONE: "H", Completion.NOT_DONE: "C"}


class Quality(StrEnum):
    """The level of a quality or competency (phẩm chất, năng lực), best first."""

    GOOD = "GOOD"  # Tốt
    PASS = "PASS"  # Đạt
    NEEDS_EFFORT = "NEEDS_EFFORT"  # Cần cố gắng

    @property
    def label(self) -> str:
        return _QUALITY_LABELS[self]

    def at_least(self, other: "Quality") -> bool:
        """``self`` is ``other`` or better."""
        return _QUALITIES.index(self) <= _QUALITIES.index(other)


_QUALITIES = tuple(Quality)
_QUALITY_LABELS = {Quality.GOOD: "Tốt", Quality.PASS: "Đạt", Quality.NEEDS_EFFORT: "Cần cố gắng"}


class YearResult(StrEnum):
    """Kết quả giáo dục: the year result, best first."""

    EXCELLENT = "EXCELLENT"  # Hoàn thành xuất sắc
    WELL = "WELL"  # Hoàn thành tốt
    DONE = "DONE"  # Hoàn thành
    NOT_DONE = "NOT_DONE"  # Chưa hoàn thành

    @property
    def label(self) -> str:
        return _YEAR_RESULT_LABELS[self]


_YEAR_RESULT_LABELS = {
    YearResult.EXCELLENT: "Hoàn thành xuất sắc",
    YearResult.WELL: "Hoàn thành tốt",
    YearResult.DONE: "Hoàn thành",
    YearResult.NOT_DONE: "Chưa hoàn thành",
}

#: The subjects with end-of-semester-I and end-of-year tests, by grade. TT27 names
#: the tested subjects (Tiếng Việt, Toán, Ngoại ngữ 1, Lịch sử và Địa lí, Khoa học,
#: Tin học và Công nghệ); the 2018 general-education programme (Circular
#: 32/2018/TT-BGDĐT) says from which grade each is compulsory: Ngoại ngữ 1 and Tin
#: học và Công nghệ from grade 3 (a foreign language is elective in grades 1–2),
#: Lịch sử và Địa lí and Khoa học from grade 4 (grades 1–3 study Tự nhiên và Xã hội,
#: assessed by comments only).
TESTED_SUBJECTS_BY_GRADE: dict[int, frozenset[str]] = {
    1: frozenset({"TIENG_VIET", "TOAN"}),
    2: frozenset({"TIENG_VIET", "TOAN"}),
    3: frozenset({"TIENG_VIET", "TOAN", "NGOAI_NGU_1", "TIN_HOC_CN"}),
    4: frozenset({"TIENG_VIET", "TOAN", "NGOAI_NGU_1", "TIN_HOC_CN", "LS_DL", "KHOA_HOC"}),
    5: frozenset({"TIENG_VIET", "TOAN", "NGOAI_NGU_1", "TIN_HOC_CN", "LS_DL", "KHOA_HOC"}),
}

#: When periodic tests are sat, by period code (the values of
#: ``hub.domain.grading.inputs.PrimaryPeriod``): every tested subject at the end of
#: semester I and of the year; in grades 4–5 Tiếng Việt and Toán also mid-semester.
END_OF_TERM_PERIODS = frozenset({"END_1", "END_YEAR"})
MID_TERM_PERIODS = frozenset({"MID_1", "MID_2"})
MID_TERM_TESTED_GRADES = frozenset({4, 5})
MID_TERM_TESTED_SUBJECTS = frozenset({"TIENG_VIET", "TOAN"})


def has_periodic_test(subject_code: str, grade: int, period: str) -> bool:
    """Whether ``subject_code`` has a periodic test (bài kiểm tra định kì) in ``grade``
    at ``period`` (``MID_1``, ``END_1``, ``MID_2`` or ``END_YEAR``)."""
    if grade not in TESTED_SUBJECTS_BY_GRADE:
        raise ValueError(f"primary grades are 1 to 5, got {grade!r}")
    if period in END_OF_TERM_PERIODS:
        return subject_code in TESTED_SUBJECTS_BY_GRADE[grade]
    if period in MID_TERM_PERIODS:
        return grade in MID_TERM_TESTED_GRADES and subject_code in MID_TERM_TESTED_SUBJECTS
    raise ValueError(f"unknown assessment period {period!r}")


LOWEST_TEST_SCORE = 0
HIGHEST_TEST_SCORE = 10


def is_test_score(score: object) -> bool:
    """A periodic test score (điểm bài kiểm tra định kì): a whole number from 0 to 10."""
    return (
        isinstance(score, int)
        and not isinstance(score, bool)
        and LOWEST_TEST_SCORE <= score <= HIGHEST_TEST_SCORE
    )


def validate_test_score(score: int) -> None:
    """Raise ``ValueError`` unless ``score`` :func:`is_test_score`."""
    if not is_test_score(score):
        raise ValueError(f"a test score must be a whole number from 0 to 10, got {score!r}")


@dataclass(frozen=True)
class YearRequirement:
    """One row of the year-result table: every subject, quality and test at least this."""

    result: YearResult
    subjects_from: Completion
    qualities_from: Quality
    tests_from: int


#: TT27's table, best result first; a student gets the first row they meet, else
#: Chưa hoàn thành.
YEAR_RESULT_TABLE: tuple[YearRequirement, ...] = (
    YearRequirement(YearResult.EXCELLENT, Completion.WELL, Quality.GOOD, 9),
    YearRequirement(YearResult.WELL, Completion.WELL, Quality.GOOD, 7),
    YearRequirement(
        YearResult.DONE, Completion.DONE, Quality.PASS, assumptions.PRIMARY_COMPLETED_MIN_TEST
    ),
)


def _checked(
    subjects: Mapping[str, Completion],
    qualities: Mapping[str, Quality],
    tests: Mapping[str, int],
    grade: int | None,
) -> tuple[dict[str, Completion], dict[str, Quality]]:
    if not subjects:
        raise ValueError("the year result needs the subjects and activities, got none")
    if not qualities:
        raise ValueError("the year result needs the qualities and competencies, got none")
    if not tests:
        raise ValueError("the year result needs the end-of-year tests, got none")
    try:
        levels = {s: Completion(c) for s, c in subjects.items()}
        ratings = {q: Quality(v) for q, v in qualities.items()}
    except ValueError as error:
        raise ValueError(f"unknown completion or quality level: {error}") from None
    for subject, score in tests.items():
        try:
            validate_test_score(score)
        except ValueError as error:
            raise ValueError(f"{subject}: {error}") from None
    untaught = sorted(set(tests) - set(subjects))
    if untaught:
        raise ValueError(f"end-of-year tests for subjects without a completion level: {untaught}")
    if grade is not None:
        if grade not in TESTED_SUBJECTS_BY_GRADE:
            raise ValueError(f"primary grades are 1 to 5, got {grade!r}")
        expected = TESTED_SUBJECTS_BY_GRADE[grade]
        if set(tests) != expected:
            raise ValueError(
                f"grade {grade} has end-of-year tests in {sorted(expected)}, got {sorted(tests)}"
            )
    return levels, ratings


def year_result(
    *,
    subjects: Mapping[str, Completion],
    qualities: Mapping[str, Quality],
    tests: Mapping[str, int],
    grade: int | None = None,
) -> YearResult:
    """The year result (đánh giá kết quả giáo dục cuối năm học).

    | result              | subjects/activities | qualities & competencies | end-of-year tests |
    |---------------------|---------------------|--------------------------|-------------------|
    | Hoàn thành xuất sắc | all T               | all Tốt                  | all ≥ 9           |
    | Hoàn thành tốt      | all T               | all Tốt                  | all ≥ 7           |
    | Hoàn thành          | all T or H          | all Tốt or Đạt           | all ≥ 5 [assumed] |
    | Chưa hoàn thành     | otherwise           |                          |                   |

    ``subjects`` maps every subject and activity to its end-of-year level,
    ``qualities`` every quality and competency, ``tests`` each tested subject to its
    end-of-year score. With ``grade`` the tested subjects must be exactly those of
    ``TESTED_SUBJECTS_BY_GRADE``.
    """
    levels, ratings = _checked(subjects, qualities, tests, grade)
    for row in YEAR_RESULT_TABLE:
        if (
            all(level.at_least(row.subjects_from) for level in levels.values())
            and all(rating.at_least(row.qualities_from) for rating in ratings.values())
            and all(score >= row.tests_from for score in tests.values())
        ):
            return row.result
    return YearResult.NOT_DONE
