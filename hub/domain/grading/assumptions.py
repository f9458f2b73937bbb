"""Every decision the grading rules make where no official text was found.

RULES.md marks these **[assumed]** (or "[law, as reported; confirm wording]").
Each is named here, with the wording it stands for and the reading chosen, so that
when the official text is found it changes in this file only. ``secondary`` and
``primary`` use them from here and hard-code none of them.
"""

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

LevelT = TypeVar("LevelT")
ResultT = TypeVar("ResultT")

# --- Rounding (RULES.md §2) --------------------------------------------------

#: Scores and averages carry one decimal: TT22 "lấy đến chữ số thập phân thứ nhất
#: sau khi làm tròn số" [law].
ONE_DECIMAL = Decimal("0.1")

#: [assumed] "Rounding half-up". TT22 says "làm tròn" without saying how; gradebooks
#: round a trailing 5 up: 6.45 → 6.5 (Python's default, half-even, would give 6.4).
ROUNDING = ROUND_HALF_UP


def round_score(value: Decimal) -> Decimal:
    """``value`` rounded to one decimal by ``ROUNDING`` (6.45 → 6.5, 6.449 → 6.4)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"only a finite Decimal can be rounded to a score, got {value!r}")
    return value.quantize(ONE_DECIMAL, rounding=ROUNDING)


#: [assumed] "The year average is computed from the already rounded semester
#: averages": ĐTBmcn = (ĐTBmhkI + 2·ĐTBmhkII) / 3 takes the ĐTBmhk as printed in the
#: transcript, not the unrounded quotients. When ``False``, the unrounded semester
#: quotients are used and only the year average is rounded.
YEAR_AVERAGE_FROM_ROUNDED_SEMESTERS = True

# --- The learning-result table (RULES.md §2) ----------------------------------

#: Interpretation: the fewest scored subjects the learning-result table is applied
#: to. Every row of the table counts "at least 6 subjects ≥ …", so with fewer scored
#: subjects Tốt, Khá and Đạt would be unreachable and every student Chưa đạt. In
#: every grade 6–12 of the 2018 programme students take more than six scored
#: subjects, so fewer means the gradebook is incomplete: the hub refuses the input
#: (``ValueError``) rather than rate the student Chưa đạt.
MIN_SCORED_SUBJECTS = 6

#: Interpretation: the fewest comment-only subjects the table is applied to. None
#: are required: the comment-only conditions ("all Đạt", "at most one Chưa đạt")
#: then hold trivially, as for a student exempted (miễn) from them. Raise this to
#: refuse records without comment-only subjects as incomplete.
MIN_COMMENT_ONLY_SUBJECTS = 0

#: [law, as reported] How many levels a single subject must pull the result down by
#: before the adjustment applies ("từ 02 (hai) mức trở lên").
ADJUSTMENT_MIN_DROP = 2

#: Interpretation: a subject excused by the single-subject adjustment is treated as
#: meeting every requirement of any level — a scored subject as if its average were
#: this, a comment-only subject as rated Đạt.
EXCUSED_SCORE = Decimal("10.0")


def single_subject_adjustment(
    unadjusted: LevelT, otherwise: LevelT, scale: Sequence[LevelT]
) -> LevelT:
    """The learning result after the single-subject adjustment (điều chỉnh lên mức liền kề).

    TT22 Art. 9(3) [law, as reported; confirm wording]: "Nếu mức đánh giá kết quả
    học tập của học kì, cả năm học bị thấp xuống từ 02 (hai) mức trở lên so với mức
    đánh giá quy định tại điểm a, điểm b khoản 2 Điều này chỉ do kết quả đánh giá
    của duy nhất 01 (một) môn học thì mức đánh giá kết quả học tập của học kì đó,
    cả năm học đó được điều chỉnh lên mức liền kề." RULES.md: "if a single subject
    alone pulls the result down two or more levels, the result is raised to the
    level just below the one it would otherwise have had".

    ``unadjusted`` is the table's level; ``otherwise`` the level the student "would
    otherwise have had": the best level the table gives when exactly one subject is
    excused (see ``EXCUSED_SCORE``), each subject tried in turn. Two subjects
    dragging the result down are never excused together, so they are not adjusted.
    ``scale`` lists the levels best first. If ``otherwise`` is ``ADJUSTMENT_MIN_DROP``
    or more levels better than ``unadjusted``, the result is the level just below
    ``otherwise``; else it stays ``unadjusted``. A drop of two or more levels means
    ``otherwise`` is Tốt or Khá, the levels the law measures the drop from ("so với
    mức … tại điểm a, điểm b").

    Alternative reading, not chosen: "mức liền kề" as the level adjacent to the
    computed one (raise by one level). Both readings agree when the drop is exactly
    two levels; they differ only for Tốt → Chưa đạt (one score below 3.5 in an
    otherwise Tốt record): Khá here, Đạt under the alternative. RULES.md's wording
    (just below the level "it would otherwise have had") is the department's
    specification, so it is the one implemented; under it the adjusted result
    depends on the level the one subject cost, not on how badly that subject went.
    """
    drop = scale.index(unadjusted) - scale.index(otherwise)
    if drop >= ADJUSTMENT_MIN_DROP:
        return scale[scale.index(otherwise) + 1]
    return unadjusted


# --- Re-test (RULES.md §2) ----------------------------------------------------


def replace_with_retest(
    year_results: Mapping[str, ResultT], retest_results: Mapping[str, ResultT]
) -> dict[str, ResultT]:
    """The year results with each re-tested subject's result replaced by the re-test's.

    RULES.md [law; replacement wording assumed]: "the re-test result replaces that
    subject's year result, and the learning result is computed again". Read
    literally: the re-test result stands even when it is lower than the year result
    it replaces (the alternative, keeping the better of the two, is not chosen). A
    re-test result for a subject without a year result is refused.
    """
    unknown = sorted(set(retest_results) - set(year_results))
    if unknown:
        raise ValueError(f"re-test results for subjects without a year result: {unknown}")
    return {**year_results, **retest_results}


# --- Primary year result (RULES.md §3) ----------------------------------------

#: [assumed] "Hoàn thành" needs every end-of-year test score ≥ 5 (TT27, whole points).
PRIMARY_COMPLETED_MIN_TEST = 5
