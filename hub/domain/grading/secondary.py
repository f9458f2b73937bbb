"""Secondary grading, grades 6–12: Circular 22/2021/TT-BGDĐT (RULES.md §2).

Subjects are either comment-only (Đạt/Chưa đạt) or scored (0–10, one decimal).
Scores and averages are ``Decimal``, never float. Impossible input — a score out of
range or with two decimals, a wrong number of assessments, too few subjects — raises
``ValueError``. Decisions the regulation does not settle live in ``assumptions``.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext
from enum import StrEnum

from hub.domain.grading import assumptions

#: Digits kept by the arithmetic before the one rounding to a score, whatever the
#: caller's decimal context: averages of one-decimal scores are exact well within it.
_PRECISION = 28

LOWEST_SCORE = Decimal("0")
HIGHEST_SCORE = Decimal("10")

#: Nghỉ học không quá 45 buổi: a student absent more half-days (buổi) in the year
#: is not promoted, whether the absences were excused or not.
MAX_HALF_DAYS_ABSENT = 45

#: "At least 6 subjects ≥ …" in the learning-result table and the award rule.
SUBJECTS_AT_THRESHOLD = 6

#: ĐTBmcn a subject needs to count towards Học sinh Xuất sắc.
EXCELLENT_SUBJECT_SCORE = Decimal("9.0")

#: ĐTBmcn below which a scored subject is re-tested.
RETEST_BELOW = Decimal("5.0")


class Rating(StrEnum):
    """Mức đánh giá of a comment-only subject (môn đánh giá bằng nhận xét)."""

    PASS = "PASS"  # Đạt (Đ)
    FAIL = "FAIL"  # Chưa đạt (CĐ)

    @property
    def label(self) -> str:
        return "Đạt" if self is Rating.PASS else "Chưa đạt"

    @property
    def abbreviation(self) -> str:
        """As printed in the gradebook columns: Đ / CĐ."""
        return "Đ" if self is Rating.PASS else "CĐ"


class Level(StrEnum):
    """Learning result (kết quả học tập) and conduct (kết quả rèn luyện) levels, best first."""

    GOOD = "GOOD"  # Tốt
    FAIR = "FAIR"  # Khá
    PASS = "PASS"  # Đạt
    FAIL = "FAIL"  # Chưa đạt

    @property
    def label(self) -> str:
        return _LEVEL_LABELS[self]

    def at_least(self, other: "Level") -> bool:
        """``self`` is ``other`` or better (a StrEnum's own ``<`` compares the text)."""
        return LEVELS.index(self) <= LEVELS.index(other)


#: The levels, best first.
LEVELS: tuple[Level, ...] = tuple(Level)

_LEVEL_LABELS = {Level.GOOD: "Tốt", Level.FAIR: "Khá", Level.PASS: "Đạt", Level.FAIL: "Chưa đạt"}


# --- Validation ---------------------------------------------------------------


def score_in_scale(score: Decimal) -> bool:
    """A finite ``Decimal`` from 0 to 10 (the TT22 scale)."""
    return (
        isinstance(score, Decimal) and score.is_finite() and LOWEST_SCORE <= score <= HIGHEST_SCORE
    )


def score_precise_enough(score: Decimal) -> bool:
    """An integer or one decimal: TT22 scores "theo thang điểm 10 ... số nguyên hoặc số thập phân
    được lấy đến chữ số thập phân thứ nhất"."""
    return score == score.quantize(assumptions.ONE_DECIMAL)


def validate_score(score: Decimal, *, what: str = "score") -> None:
    """A score or average: a ``Decimal`` from 0 to 10, an integer or with one decimal."""
    if not score_in_scale(score) or not score_precise_enough(score):
        raise ValueError(
            f"{what} must be a Decimal from 0 to 10 with at most one decimal, got {score!r}"
        )


def _level(value: Level, what: str) -> Level:
    try:
        return Level(value)
    except ValueError:
        raise ValueError(
            f"{what} must be one of {[m.value for m in Level]}, got {value!r}"
        ) from None


def _rating(value: Rating, what: str) -> Rating:
    try:
        return Rating(value)
    except ValueError:
        raise ValueError(
            f"{what} must be one of {[m.value for m in Rating]}, got {value!r}"
        ) from None


def _checked_results(
    scored: Mapping[str, Decimal], comment_only: Mapping[str, Rating]
) -> tuple[dict[str, Decimal], dict[str, Rating]]:
    """Validated copies of one student's subject results (semester or year)."""
    for subject, score in scored.items():
        validate_score(score, what=f"the average of {subject}")
    ratings = {s: _rating(r, f"the rating of {s}") for s, r in comment_only.items()}
    both = sorted(set(scored) & set(ratings))
    if both:
        raise ValueError(f"subjects cannot be both scored and comment-only: {both}")
    return dict(scored), ratings


# --- Assessments and averages -------------------------------------------------


def regular_assessment_count(periods_per_year: int) -> int:
    """Số ĐĐGtx per semester for a subject with ``periods_per_year`` periods (tiết/năm học).

    TT22: up to 35 periods → 2; 36 to 70 → 3; more than 70 → 4.
    """
    if isinstance(periods_per_year, bool) or not isinstance(periods_per_year, int):
        raise ValueError(f"periods per year must be an integer, got {periods_per_year!r}")
    if periods_per_year < 1:
        raise ValueError(f"periods per year must be positive, got {periods_per_year}")
    if periods_per_year <= 35:
        return 2
    if periods_per_year <= 70:
        return 3
    return 4


#: The regular-assessment counts TT22 provides for.
REGULAR_ASSESSMENT_COUNTS = frozenset({2, 3, 4})


@dataclass(frozen=True)
class ScoredSemester:
    """One scored subject's assessments in one semester (học kì)."""

    regular: tuple[Decimal, ...]  # ĐĐGtx
    midterm: Decimal  # ĐĐGgk
    final: Decimal  # ĐĐGck

    def __post_init__(self) -> None:
        object.__setattr__(self, "regular", tuple(self.regular))
        if len(self.regular) not in REGULAR_ASSESSMENT_COUNTS:
            raise ValueError(
                f"a scored subject has 2, 3 or 4 regular assessments (ĐĐGtx) a semester, "
                f"got {len(self.regular)}"
            )
        for number, score in enumerate(self.regular, start=1):
            validate_score(score, what=f"regular assessment {number} (ĐĐGtx)")
        validate_score(self.midterm, what="the mid-term assessment (ĐĐGgk)")
        validate_score(self.final, what="the end-of-term assessment (ĐĐGck)")


@dataclass(frozen=True)
class CommentSemester:
    """One comment-only subject's assessments in one semester.

    A regular assessment not (yet) done is simply absent from ``regular``.
    """

    regular: tuple[Rating, ...]
    midterm: Rating
    final: Rating

    def __post_init__(self) -> None:
        regular = tuple(_rating(r, "a regular assessment") for r in self.regular)
        if len(regular) > max(REGULAR_ASSESSMENT_COUNTS):
            raise ValueError(
                f"a subject has at most {max(REGULAR_ASSESSMENT_COUNTS)} regular assessments "
                f"a semester, got {len(regular)}"
            )
        object.__setattr__(self, "regular", regular)
        object.__setattr__(self, "midterm", _rating(self.midterm, "the mid-term assessment"))
        object.__setattr__(self, "final", _rating(self.final, "the end-of-term assessment"))


def _check_expected_count(expected: int | None) -> None:
    if expected is not None and expected not in REGULAR_ASSESSMENT_COUNTS:
        raise ValueError(f"the expected ĐĐGtx count must be 2, 3 or 4, got {expected!r}")


def _semester_quotient(semester: ScoredSemester) -> Decimal:
    with localcontext(prec=_PRECISION):
        total = sum(semester.regular) + 2 * semester.midterm + 3 * semester.final
        return total / (len(semester.regular) + 5)


def semester_average(
    semester: ScoredSemester, *, expected_regular_count: int | None = None
) -> Decimal:
    """ĐTBmhk = (ΣĐĐGtx + 2·ĐĐGgk + 3·ĐĐGck) / (number of ĐĐGtx + 5), rounded to one decimal.

    With ``expected_regular_count`` (see ``regular_assessment_count``) a semester with
    another number of regular assessments is refused.
    """
    _check_expected_count(expected_regular_count)
    if expected_regular_count is not None and len(semester.regular) != expected_regular_count:
        raise ValueError(
            f"expected {expected_regular_count} regular assessments (ĐĐGtx), "
            f"got {len(semester.regular)}"
        )
    return assumptions.round_score(_semester_quotient(semester))


def year_average(first: Decimal, second: Decimal) -> Decimal:
    """ĐTBmcn = (ĐTBmhkI + 2·ĐTBmhkII) / 3, rounded to one decimal, from the semester averages."""
    validate_score(first, what="the semester I average (ĐTBmhkI)")
    validate_score(second, what="the semester II average (ĐTBmhkII)")
    with localcontext(prec=_PRECISION):
        return assumptions.round_score((first + 2 * second) / 3)


def subject_year_average(first: ScoredSemester, second: ScoredSemester) -> Decimal:
    """ĐTBmcn from a subject's two semesters, from rounded or unrounded semester averages
    as ``assumptions.YEAR_AVERAGE_FROM_ROUNDED_SEMESTERS`` says."""
    if assumptions.YEAR_AVERAGE_FROM_ROUNDED_SEMESTERS:
        return year_average(semester_average(first), semester_average(second))
    with localcontext(prec=_PRECISION):
        weighted = _semester_quotient(first) + 2 * _semester_quotient(second)
        return assumptions.round_score(weighted / 3)


def comment_semester_rating(
    semester: CommentSemester, *, expected_regular_count: int | None = None
) -> Rating:
    """Đạt when every assessment was done and all were rated Đạt; else Chưa đạt.

    TT22: "có đủ số lần kiểm tra, đánh giá … và tất cả các lần được đánh giá mức
    Đạt". Done means ``expected_regular_count`` regular assessments when it is given,
    else at least the fewest the law provides (2); more than expected is refused.
    """
    _check_expected_count(expected_regular_count)
    if expected_regular_count is None:
        required = min(REGULAR_ASSESSMENT_COUNTS)
    elif len(semester.regular) > expected_regular_count:
        raise ValueError(
            f"expected {expected_regular_count} regular assessments, got {len(semester.regular)}"
        )
    else:
        required = expected_regular_count
    ratings = (*semester.regular, semester.midterm, semester.final)
    all_done = len(semester.regular) >= required
    return Rating.PASS if all_done and Rating.FAIL not in ratings else Rating.FAIL


def comment_year_rating(first: Rating, second: Rating) -> Rating:
    """A comment-only subject's year rating is its semester II rating."""
    _rating(first, "the semester I rating")
    return _rating(second, "the semester II rating")


# --- Learning result (kết quả học tập) ---------------------------------------


@dataclass(frozen=True)
class LearningRequirement:
    """One row of the learning-result table."""

    level: Level
    comment_only_fails_allowed: int  # comment-only subjects rated Chưa đạt
    every_subject_from: Decimal  # no scored subject below this
    six_subjects_from: Decimal  # at least SUBJECTS_AT_THRESHOLD scored subjects at or above


#: TT22's table, best level first; a student gets the first row they meet, else Chưa đạt.
#: "None < 3.5" for Đạt is "every subject from 3.5".
LEARNING_RESULT_TABLE: tuple[LearningRequirement, ...] = (
    LearningRequirement(Level.GOOD, 0, Decimal("6.5"), Decimal("8.0")),
    LearningRequirement(Level.FAIR, 0, Decimal("5.0"), Decimal("6.5")),
    LearningRequirement(Level.PASS, 1, Decimal("3.5"), Decimal("5.0")),
)


def _meets(
    row: LearningRequirement, scored: Mapping[str, Decimal], comment_only: Mapping[str, Rating]
) -> bool:
    fails = sum(1 for rating in comment_only.values() if rating is Rating.FAIL)
    at_bar = sum(1 for score in scored.values() if score >= row.six_subjects_from)
    return (
        fails <= row.comment_only_fails_allowed
        and all(score >= row.every_subject_from for score in scored.values())
        and at_bar >= SUBJECTS_AT_THRESHOLD
    )


def _table_level(scored: Mapping[str, Decimal], comment_only: Mapping[str, Rating]) -> Level:
    return next(
        (row.level for row in LEARNING_RESULT_TABLE if _meets(row, scored, comment_only)),
        Level.FAIL,
    )


def _checked_for_table(
    scored: Mapping[str, Decimal], comment_only: Mapping[str, Rating]
) -> tuple[dict[str, Decimal], dict[str, Rating]]:
    if len(scored) < assumptions.MIN_SCORED_SUBJECTS:
        raise ValueError(
            f"the learning result needs at least {assumptions.MIN_SCORED_SUBJECTS} scored "
            f"subjects, got {len(scored)}"
        )
    if len(comment_only) < assumptions.MIN_COMMENT_ONLY_SUBJECTS:
        raise ValueError(
            f"the learning result needs at least {assumptions.MIN_COMMENT_ONLY_SUBJECTS} "
            f"comment-only subjects, got {len(comment_only)}"
        )
    return _checked_results(scored, comment_only)


def learning_result_unadjusted(
    scored: Mapping[str, Decimal], comment_only: Mapping[str, Rating]
) -> Level:
    """The learning-result table alone, without the single-subject adjustment.

    | level    | comment-only subjects | scored subjects                          |
    |----------|-----------------------|------------------------------------------|
    | Tốt      | all Đạt               | all ≥ 6.5 and at least 6 subjects ≥ 8.0  |
    | Khá      | all Đạt               | all ≥ 5.0 and at least 6 subjects ≥ 6.5  |
    | Đạt      | at most one Chưa đạt  | at least 6 subjects ≥ 5.0, none < 3.5    |
    | Chưa đạt | otherwise             |                                          |

    For a semester pass the ĐTBmhk and semester ratings; for the year the ĐTBmcn and
    year ratings. Fewer than ``assumptions.MIN_SCORED_SUBJECTS`` scored subjects or
    ``assumptions.MIN_COMMENT_ONLY_SUBJECTS`` comment-only ones are refused.
    """
    scored, comment_only = _checked_for_table(scored, comment_only)
    return _table_level(scored, comment_only)


def _levels_with_one_subject_excused(
    scored: Mapping[str, Decimal], comment_only: Mapping[str, Rating]
) -> Iterable[Level]:
    for subject in scored:
        yield _table_level({**scored, subject: assumptions.EXCUSED_SCORE}, comment_only)
    for subject in comment_only:
        yield _table_level(scored, {**comment_only, subject: Rating.PASS})


def learning_result(scored: Mapping[str, Decimal], comment_only: Mapping[str, Rating]) -> Level:
    """Kết quả học tập: the table of ``learning_result_unadjusted``, then the
    single-subject adjustment of ``assumptions.single_subject_adjustment``.

    "Otherwise" is the best level the table gives with one subject excused — a
    scored subject as if its average were ``assumptions.EXCUSED_SCORE``, a
    comment-only one as Đạt.
    """
    scored, comment_only = _checked_for_table(scored, comment_only)
    unadjusted = _table_level(scored, comment_only)
    otherwise = min(_levels_with_one_subject_excused(scored, comment_only), key=LEVELS.index)
    return assumptions.single_subject_adjustment(unadjusted, otherwise, LEVELS)


# --- Conduct (kết quả rèn luyện) ---------------------------------------------


def year_conduct(first: Level, second: Level) -> Level:
    """Year conduct from the semester I and II conduct.

    | year     | condition                                                      |
    |----------|----------------------------------------------------------------|
    | Tốt      | II Tốt and I ≥ Khá                                             |
    | Khá      | II Khá and I ≥ Đạt; or II Đạt and I Tốt; or II Tốt and I ≤ Đạt |
    | Đạt      | II Đạt and I ≤ Khá; or II Khá and I Chưa đạt                   |
    | Chưa đạt | otherwise (II Chưa đạt)                                        |
    """
    first = _level(first, "the semester I conduct")
    second = _level(second, "the semester II conduct")
    if second is Level.GOOD:
        return Level.GOOD if first.at_least(Level.FAIR) else Level.FAIR
    if second is Level.FAIR:
        return Level.FAIR if first.at_least(Level.PASS) else Level.PASS
    if second is Level.PASS:
        return Level.FAIR if first is Level.GOOD else Level.PASS
    return Level.FAIL


# --- Promotion (lên lớp), re-test and summer re-training ----------------------


class PromotionOutcome(StrEnum):
    """What the end of the year decides for a student."""

    PROMOTED = "PROMOTED"  # Lên lớp
    RETEST = "RETEST"  # Kiểm tra lại
    SUMMER_TRAINING = "SUMMER_TRAINING"  # Rèn luyện trong hè
    RETAINED = "RETAINED"  # Ở lại lớp

    @property
    def label(self) -> str:
        return _OUTCOME_LABELS[self]


_OUTCOME_LABELS = {
    PromotionOutcome.PROMOTED: "Lên lớp",
    PromotionOutcome.RETEST: "Kiểm tra lại",
    PromotionOutcome.SUMMER_TRAINING: "Rèn luyện trong hè",
    PromotionOutcome.RETAINED: "Ở lại lớp",
}


class PromotionReason(StrEnum):
    """A stable code for a promotion condition the student does not meet."""

    ABSENCE_OVER_LIMIT = "ABSENCE_OVER_LIMIT"
    CONDUCT_FAIL = "CONDUCT_FAIL"
    LEARNING_FAIL = "LEARNING_FAIL"

    @property
    def label(self) -> str:
        return _REASON_LABELS[self]


_REASON_LABELS = {
    PromotionReason.ABSENCE_OVER_LIMIT: f"Nghỉ học quá {MAX_HALF_DAYS_ABSENT} buổi trong năm học",
    PromotionReason.CONDUCT_FAIL: "Kết quả rèn luyện cả năm học Chưa đạt",
    PromotionReason.LEARNING_FAIL: "Kết quả học tập cả năm học Chưa đạt",
}


@dataclass(frozen=True)
class Promotion:
    """The decision, the subjects to re-test (when ``RETEST``) and every unmet condition."""

    outcome: PromotionOutcome
    retest_subjects: tuple[str, ...] = ()
    reasons: tuple[PromotionReason, ...] = ()


def retest_subjects(
    scored: Mapping[str, Decimal], comment_only: Mapping[str, Rating]
) -> tuple[str, ...]:
    """The subjects a re-test covers: comment-only ones rated Chưa đạt and scored ones
    with ĐTBmcn < 5.0, sorted by subject code."""
    scored, comment_only = _checked_results(scored, comment_only)
    low = [subject for subject, score in scored.items() if score < RETEST_BELOW]
    failed = [subject for subject, rating in comment_only.items() if rating is Rating.FAIL]
    return tuple(sorted(low + failed))


def _unmet(
    *, conduct: Level, learning: Level, half_days_absent: int
) -> tuple[PromotionReason, ...]:
    if isinstance(half_days_absent, bool) or not isinstance(half_days_absent, int):
        raise ValueError(f"half-days absent must be an integer, got {half_days_absent!r}")
    if half_days_absent < 0:
        raise ValueError(f"half-days absent cannot be negative, got {half_days_absent}")
    unmet = []
    if half_days_absent > MAX_HALF_DAYS_ABSENT:
        unmet.append(PromotionReason.ABSENCE_OVER_LIMIT)
    if not _level(conduct, "the year conduct").at_least(Level.PASS):
        unmet.append(PromotionReason.CONDUCT_FAIL)
    if not _level(learning, "the year learning result").at_least(Level.PASS):
        unmet.append(PromotionReason.LEARNING_FAIL)
    return tuple(unmet)


def promotion(
    *,
    conduct: Level,
    learning: Level,
    half_days_absent: int,
    scored: Mapping[str, Decimal],
    comment_only: Mapping[str, Rating],
) -> Promotion:
    """The end-of-year decision from the year conduct, learning result and absences.

    Promoted needs conduct ≥ Đạt, learning ≥ Đạt and at most ``MAX_HALF_DAYS_ABSENT``
    half-days absent. Otherwise, in this order: too many absences → retained,
    whatever else; conduct Chưa đạt → summer re-training (a learning result Chưa đạt
    waits for its outcome, see ``after_summer_training``); learning Chưa đạt →
    re-test in ``retest_subjects``. ``scored`` and ``comment_only`` are the ĐTBmcn
    and year ratings.
    """
    reasons = _unmet(conduct=conduct, learning=learning, half_days_absent=half_days_absent)
    subjects = retest_subjects(scored, comment_only)
    if PromotionReason.ABSENCE_OVER_LIMIT in reasons:
        return Promotion(PromotionOutcome.RETAINED, reasons=reasons)
    if PromotionReason.CONDUCT_FAIL in reasons:
        return Promotion(PromotionOutcome.SUMMER_TRAINING, reasons=reasons)
    if PromotionReason.LEARNING_FAIL in reasons:
        return Promotion(PromotionOutcome.RETEST, retest_subjects=subjects, reasons=reasons)
    return Promotion(PromotionOutcome.PROMOTED)


def after_summer_training(
    result: Level,
    *,
    learning: Level,
    half_days_absent: int,
    scored: Mapping[str, Decimal],
    comment_only: Mapping[str, Rating],
) -> Promotion:
    """The decision once summer re-training is assessed: ``result`` replaces the year
    conduct. Still Chưa đạt → retained; a learning result Chưa đạt → re-test."""
    decision = promotion(
        conduct=result,
        learning=learning,
        half_days_absent=half_days_absent,
        scored=scored,
        comment_only=comment_only,
    )
    if decision.outcome is PromotionOutcome.SUMMER_TRAINING:
        return Promotion(PromotionOutcome.RETAINED, reasons=decision.reasons)
    return decision


def after_retest(
    *,
    conduct: Level,
    scored: Mapping[str, Decimal],
    comment_only: Mapping[str, Rating],
    retest_scored: Mapping[str, Decimal],
    retest_comment: Mapping[str, Rating],
    half_days_absent: int,
) -> tuple[Level, Promotion]:
    """The learning result and final decision once the re-tests are marked.

    Each re-test result replaces that subject's year result
    (``assumptions.replace_with_retest``) and the learning result is computed again:
    promoted if every condition is now met, else retained. Only subjects
    ``retest_subjects`` names can be re-tested; a student may sit fewer of them.
    """
    eligible = set(retest_subjects(scored, comment_only))
    not_eligible = sorted((set(retest_scored) | set(retest_comment)) - eligible)
    if not_eligible:
        raise ValueError(
            f"these subjects are not re-tested (no ĐTBmcn < 5.0 or Chưa đạt): {not_eligible}"
        )
    for subject, score in retest_scored.items():
        validate_score(score, what=f"the re-test score of {subject}")
    new_scored = assumptions.replace_with_retest(scored, retest_scored)
    new_comment = assumptions.replace_with_retest(comment_only, retest_comment)
    learning = learning_result(new_scored, new_comment)
    decision = promotion(
        conduct=conduct,
        learning=learning,
        half_days_absent=half_days_absent,
        scored=new_scored,
        comment_only=new_comment,
    )
    if decision.outcome is not PromotionOutcome.PROMOTED:
        decision = Promotion(PromotionOutcome.RETAINED, reasons=decision.reasons)
    return learning, decision


# --- Awards (khen thưởng) -----------------------------------------------------


class Award(StrEnum):
    """The year-end title (danh hiệu)."""

    EXCELLENT = "EXCELLENT"  # Học sinh Xuất sắc
    GOOD = "GOOD"  # Học sinh Giỏi

    @property
    def label(self) -> str:
        return "Học sinh Xuất sắc" if self is Award.EXCELLENT else "Học sinh Giỏi"


def award(*, conduct: Level, learning: Level, scored: Mapping[str, Decimal]) -> Award | None:
    """Học sinh Xuất sắc: conduct Tốt, learning Tốt and at least 6 subjects with
    ĐTBmcn ≥ 9.0; Học sinh Giỏi: conduct Tốt and learning Tốt; else no title."""
    conduct = _level(conduct, "the year conduct")
    learning = _level(learning, "the year learning result")
    scored, _ = _checked_results(scored, {})
    if conduct is not Level.GOOD or learning is not Level.GOOD:
        return None
    excellent = sum(1 for score in scored.values() if score >= EXCELLENT_SUBJECT_SCORE)
    return Award.EXCELLENT if excellent >= SUBJECTS_AT_THRESHOLD else Award.GOOD
