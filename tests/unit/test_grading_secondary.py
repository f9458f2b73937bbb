"""RULES.md §2: secondary grading, Circular 22/2021/TT-BGDĐT.

Every threshold of every table is walked on both sides, so an off-by-one (a ``>``
for a ``>=``, 35 for 36, 5 subjects for 6) fails a test.
"""

from decimal import Decimal

import pytest

from hub.domain.grading import assumptions
from hub.domain.grading.secondary import (
    LEVELS,
    MAX_HALF_DAYS_ABSENT,
    Award,
    CommentSemester,
    Level,
    Promotion,
    PromotionOutcome,
    PromotionReason,
    Rating,
    ScoredSemester,
    after_retest,
    after_summer_training,
    award,
    comment_semester_rating,
    comment_year_rating,
    learning_result,
    learning_result_unadjusted,
    promotion,
    regular_assessment_count,
    retest_subjects,
    semester_average,
    subject_year_average,
    validate_score,
    year_average,
    year_conduct,
)

D = Decimal
GOOD, FAIR, PASS, FAIL = Level.GOOD, Level.FAIR, Level.PASS, Level.FAIL
R_PASS, R_FAIL = Rating.PASS, Rating.FAIL


def scored(*averages: str) -> dict[str, Decimal]:
    """Scored subjects S1, S2, … with these averages."""
    return {f"S{number}": D(average) for number, average in enumerate(averages, start=1)}


def comments(fails: int = 0) -> dict[str, Rating]:
    """The four comment-only subjects, the first ``fails`` of them rated Chưa đạt."""
    subjects = ("GIAO_DUC_THE_CHAT", "NGHE_THUAT", "HOAT_DONG_TRAI_NGHIEM", "DIA_PHUONG")
    return {s: R_FAIL if i < fails else R_PASS for i, s in enumerate(subjects)}


def semester(*regular: str, midterm: str, final: str) -> ScoredSemester:
    return ScoredSemester(tuple(D(r) for r in regular), D(midterm), D(final))


# --- Regular assessments and scores ------------------------------------------


@pytest.mark.parametrize(
    ("periods", "count"),
    [(1, 2), (35, 2), (36, 3), (70, 3), (71, 4), (105, 4), (140, 4)],
)
def test_regular_assessment_count_by_periods(periods, count):
    assert regular_assessment_count(periods) == count


@pytest.mark.parametrize("periods", [0, -35, True, 35.0, "35"])
def test_regular_assessment_count_refuses_impossible_periods(periods):
    with pytest.raises(ValueError, match="periods per year"):
        regular_assessment_count(periods)


@pytest.mark.parametrize("score", [D("0"), D("10"), D("10.0"), D("6.5"), D("6.50"), D("7")])
def test_valid_scores(score):
    validate_score(score)


@pytest.mark.parametrize(
    "score", [D("-0.1"), D("10.1"), D("6.45"), D("NaN"), D("Infinity"), 6.5, 7, "6.5"]
)
def test_impossible_scores_are_refused(score):
    with pytest.raises(ValueError, match="from 0 to 10 with at most one decimal"):
        validate_score(score)


@pytest.mark.parametrize("count", [1, 5])
def test_a_scored_semester_has_two_to_four_regular_assessments(count):
    with pytest.raises(ValueError, match="regular assessments"):
        ScoredSemester((D("7"),) * count, D("7"), D("7"))


def test_a_scored_semester_refuses_an_impossible_score():
    with pytest.raises(ValueError, match="end-of-term"):
        semester("7", "7", midterm="7", final="10.5")


def test_expected_regular_count_is_enforced():
    three = semester("7", "7", "7", midterm="7", final="7")
    assert semester_average(three, expected_regular_count=regular_assessment_count(70)) == D("7.0")
    with pytest.raises(ValueError, match="expected 4 regular assessments"):
        semester_average(three, expected_regular_count=regular_assessment_count(71))


# --- Averages and rounding ----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        ("6.45", "6.5"),  # half-even would give 6.4
        ("6.25", "6.3"),  # half-even would give 6.2
        ("6.449", "6.4"),
        ("6.4499999", "6.4"),
        ("6.55", "6.6"),
        ("4.95", "5.0"),
        ("9.96", "10.0"),
        ("0.04", "0.0"),
    ],
)
def test_round_score_half_up_to_one_decimal(value, rounded):
    assert str(assumptions.round_score(D(value))) == rounded


def test_round_score_refuses_floats():
    with pytest.raises(ValueError):
        assumptions.round_score(6.45)


@pytest.mark.parametrize(
    ("assessments", "average"),
    [
        # 3 ĐĐGtx: (6+6+6 + 2·6 + 3·7.2) / 8 = 51.6 / 8 = 6.45 exactly → 6.5
        (semester("6", "6", "6", midterm="6", final="7.2"), "6.5"),
        # (5+5+5 + 2·4.8 + 3·5) / 8 = 39.6 / 8 = 4.95 → 5.0
        (semester("5", "5", "5", midterm="4.8", final="5"), "5.0"),
        # (8+8+8 + 2·7.8 + 3·8) / 8 = 63.6 / 8 = 7.95 → 8.0
        (semester("8", "8", "8", midterm="7.8", final="8"), "8.0"),
        # 4 ĐĐGtx: (24 + 2·8 + 3·6) / 9 = 58 / 9 = 6.444… → 6.4
        (semester("6", "6", "6", "6", midterm="8", final="6"), "6.4"),
        # (24 + 2·7.9 + 3·6.1) / 9 = 58.1 / 9 = 6.455… → 6.5
        (semester("6", "6", "6", "6", midterm="7.9", final="6.1"), "6.5"),
        # 2 ĐĐGtx: (8 + 9 + 2·7 + 3·8) / 7 = 55 / 7 = 7.857… → 7.9
        (semester("8", "9", midterm="7", final="8"), "7.9"),
        (semester("0", "0", midterm="0", final="0"), "0.0"),
        (semester("10", "10", "10", "10", midterm="10", final="10"), "10.0"),
    ],
)
def test_semester_average(assessments, average):
    assert str(semester_average(assessments)) == average


@pytest.mark.parametrize(
    ("first", "second", "average"),
    [
        ("6.4", "6.5", "6.5"),  # 19.4 / 3 = 6.466…
        ("6.5", "6.4", "6.4"),  # 19.3 / 3 = 6.433…: semester II counts double
        ("7.9", "8.0", "8.0"),  # 23.9 / 3 = 7.966…
        ("7.8", "8.0", "7.9"),  # 23.8 / 3 = 7.933…
        ("5.1", "4.9", "5.0"),  # 14.9 / 3 = 4.966…
        ("5.0", "4.9", "4.9"),  # 14.8 / 3 = 4.933…
        ("0", "0", "0.0"),
        ("10", "10", "10.0"),
    ],
)
def test_year_average(first, second, average):
    assert str(year_average(D(first), D(second))) == average


def test_year_average_refuses_unrounded_semester_averages():
    with pytest.raises(ValueError, match="semester I"):
        year_average(D("6.45"), D("6.5"))


# Semester I: 4.8. Semester II: 40.3 / 8 = 5.0375, printed 5.0.
LOW_FIRST = semester("4.8", "4.8", "4.8", midterm="4.8", final="4.8")
BORDERLINE_SECOND = semester("5", "5", "5", midterm="5", final="5.1")


def test_year_average_from_rounded_semesters():
    """(4.8 + 2·5.0) / 3 = 4.933… → 4.9; from the unrounded 5.0375 it would be 4.958… → 5.0."""
    assert semester_average(BORDERLINE_SECOND) == D("5.0")
    assert subject_year_average(LOW_FIRST, BORDERLINE_SECOND) == D("4.9")


def test_rounding_first_changes_the_learning_result(monkeypatch):
    others = {f"S{n}": D("7.0") for n in range(1, 8)}
    rounded_first = subject_year_average(LOW_FIRST, BORDERLINE_SECOND)
    assert learning_result(others, comments()) is FAIR  # the subject alone: 4.9 vs 5.0
    assert learning_result({**others, "TOAN": rounded_first}, comments()) is PASS

    monkeypatch.setattr(assumptions, "YEAR_AVERAGE_FROM_ROUNDED_SEMESTERS", False)
    unrounded_first = subject_year_average(LOW_FIRST, BORDERLINE_SECOND)
    assert unrounded_first == D("5.0")
    assert learning_result({**others, "TOAN": unrounded_first}, comments()) is FAIR


# --- Comment-only subjects ----------------------------------------------------


@pytest.mark.parametrize(
    ("regular", "midterm", "final", "expected_count", "rating"),
    [
        ((R_PASS, R_PASS), R_PASS, R_PASS, None, R_PASS),
        ((R_PASS, R_PASS, R_PASS), R_PASS, R_PASS, 3, R_PASS),
        ((R_PASS, R_FAIL), R_PASS, R_PASS, None, R_FAIL),
        ((R_PASS, R_PASS), R_FAIL, R_PASS, None, R_FAIL),
        ((R_PASS, R_PASS), R_PASS, R_FAIL, None, R_FAIL),
        ((R_PASS, R_PASS), R_PASS, R_PASS, 3, R_FAIL),  # one regular assessment not done
        ((R_PASS,), R_PASS, R_PASS, None, R_FAIL),  # fewer than any subject has
    ],
)
def test_comment_semester_rating(regular, midterm, final, expected_count, rating):
    assessed = CommentSemester(regular, midterm, final)
    assert comment_semester_rating(assessed, expected_regular_count=expected_count) is rating


def test_comment_semester_refuses_more_assessments_than_expected():
    assessed = CommentSemester((R_PASS,) * 3, R_PASS, R_PASS)
    with pytest.raises(ValueError, match="expected 2"):
        comment_semester_rating(assessed, expected_regular_count=2)


def test_comment_semester_refuses_unknown_ratings():
    with pytest.raises(ValueError, match="mid-term"):
        CommentSemester((R_PASS, R_PASS), "Đạt", R_PASS)


@pytest.mark.parametrize(
    ("first", "second", "year"),
    [(R_PASS, R_PASS, R_PASS), (R_FAIL, R_PASS, R_PASS), (R_PASS, R_FAIL, R_FAIL)],
)
def test_comment_year_rating_is_semester_two(first, second, year):
    assert comment_year_rating(first, second) is year


# --- Learning result: the bare table -------------------------------------------


@pytest.mark.parametrize(
    ("averages", "fails", "level"),
    [
        # Tốt: all ≥ 6.5 …
        (("8", "8", "8", "8", "8", "8", "6.5", "6.5"), 0, GOOD),
        (("8", "8", "8", "8", "8", "8", "6.5", "6.4"), 0, FAIR),
        # … and at least 6 subjects ≥ 8.0
        (("8", "8", "8", "8", "8", "8", "7", "7"), 0, GOOD),
        (("8", "8", "8", "8", "8", "7.9", "7", "7"), 0, FAIR),
        # Khá: all ≥ 5.0 …
        (("6.5", "6.5", "6.5", "6.5", "6.5", "6.5", "5", "5"), 0, FAIR),
        (("6.5", "6.5", "6.5", "6.5", "6.5", "6.5", "5", "4.9"), 0, PASS),
        # … and at least 6 subjects ≥ 6.5
        (("6.5", "6.5", "6.5", "6.5", "6.5", "6.4", "5", "5"), 0, PASS),
        # Đạt: at least 6 subjects ≥ 5.0 …
        (("5", "5", "5", "5", "5", "5", "3.5", "3.5"), 0, PASS),
        (("5", "5", "5", "5", "5", "4.9", "3.5", "3.5"), 0, FAIL),
        # … and none < 3.5
        (("5", "5", "5", "5", "5", "5", "3.5", "3.4"), 0, FAIL),
        # comment-only subjects: Tốt and Khá need all Đạt, Đạt allows one Chưa đạt
        (("9",) * 8, 0, GOOD),
        (("9",) * 8, 1, PASS),
        (("9",) * 8, 2, FAIL),
        (("6.5",) * 8, 1, PASS),
        (("5",) * 8, 1, PASS),
        (("5",) * 8, 2, FAIL),
        # exactly six scored subjects: every count is over all of them
        (("8",) * 6, 0, GOOD),
        (("8", "8", "8", "8", "8", "7.9"), 0, FAIR),
    ],
)
def test_learning_result_table(averages, fails, level):
    assert learning_result_unadjusted(scored(*averages), comments(fails)) is level


@pytest.mark.parametrize(
    ("averages", "fails", "level"),
    [
        # The same thresholds through ``learning_result``: no single subject
        # costs two levels here, so the adjustment leaves them alone.
        (("8", "8", "8", "8", "8", "8", "6.5", "6.5"), 0, GOOD),
        (("8", "8", "8", "8", "8", "8", "6.5", "6.4"), 0, FAIR),
        (("8", "8", "8", "8", "8", "7.9", "7", "7"), 0, FAIR),
        (("6.5", "6.5", "6.5", "6.5", "6.5", "6.5", "5", "4.9"), 0, PASS),
        (("6.5", "6.5", "6.5", "6.5", "6.5", "6.4", "5", "5"), 0, PASS),
        (("5", "5", "5", "5", "5", "4.9", "3.5", "3.5"), 0, FAIL),
        (("5", "5", "5", "5", "5", "5", "3.5", "3.4"), 0, FAIL),
        (("9",) * 8, 2, FAIL),
    ],
)
def test_learning_result_thresholds_after_adjustment(averages, fails, level):
    assert learning_result(scored(*averages), comments(fails)) is level


def test_no_comment_only_subjects_means_all_pass():
    assert learning_result(scored(*("9",) * 8), {}) is GOOD


def test_fewer_than_six_scored_subjects_are_refused():
    with pytest.raises(ValueError, match="at least 6 scored subjects, got 5"):
        learning_result(scored(*("9",) * 5), comments())
    with pytest.raises(ValueError, match="got 0"):
        learning_result_unadjusted({}, comments())


def test_a_subject_cannot_be_both_scored_and_comment_only():
    with pytest.raises(ValueError, match="both scored and comment-only"):
        learning_result({**scored(*("9",) * 8), "NGHE_THUAT": D("9")}, comments())


def test_learning_result_refuses_bad_scores_and_ratings():
    with pytest.raises(ValueError, match="S8"):
        learning_result(scored(*("9",) * 7, "9.25"), comments())
    with pytest.raises(ValueError, match="NGHE_THUAT"):
        learning_result(scored(*("9",) * 8), {"NGHE_THUAT": "Đ"})


# --- Learning result: the single-subject adjustment -----------------------------


@pytest.mark.parametrize(
    ("averages", "fails", "unadjusted", "adjusted"),
    [
        # one subject costs exactly two levels (Tốt → Đạt): raised to Khá
        (("9", "9", "9", "9", "9", "9", "9", "4"), 0, PASS, FAIR),
        # one comment-only subject costs two levels (Tốt → Đạt): raised to Khá
        (("9",) * 8, 1, PASS, FAIR),
        # one subject costs exactly two levels (Khá → Chưa đạt): raised to Đạt
        (("7", "7", "7", "7", "7", "7", "7", "3"), 0, FAIL, PASS),
        # one subject costs one level (Tốt → Khá): not adjusted
        (("9", "9", "9", "9", "9", "9", "9", "6"), 0, FAIR, FAIR),
        # one subject costs three levels (Tốt → Chưa đạt): just below Tốt, i.e. Khá
        (("9", "9", "9", "9", "9", "9", "9", "3"), 0, FAIL, FAIR),
        # with exactly six subjects one 4.0 breaks "6 subjects ≥ 5.0": three levels
        (("9", "9", "9", "9", "9", "4"), 0, FAIL, FAIR),
        # two subjects drag the result down: not adjusted
        (("9", "9", "9", "9", "9", "9", "3", "3"), 0, FAIL, FAIL),
        (("9", "9", "9", "9", "9", "9", "4", "4"), 0, PASS, PASS),
        (("9", "9", "9", "9", "9", "9", "9", "4"), 1, PASS, PASS),
        (("9", "9", "9", "9", "9", "9", "9", "3"), 1, FAIL, FAIL),
    ],
)
def test_single_subject_adjustment(averages, fails, unadjusted, adjusted):
    results = scored(*averages), comments(fails)
    assert learning_result_unadjusted(*results) is unadjusted
    assert learning_result(*results) is adjusted


@pytest.mark.parametrize(
    ("unadjusted", "otherwise", "adjusted"),
    [
        (GOOD, GOOD, GOOD),
        (FAIR, GOOD, FAIR),
        (PASS, GOOD, FAIR),
        (FAIL, GOOD, FAIR),
        (FAIR, FAIR, FAIR),
        (PASS, FAIR, PASS),
        (FAIL, FAIR, PASS),
        (PASS, PASS, PASS),
        (FAIL, PASS, FAIL),
        (FAIL, FAIL, FAIL),
    ],
)
def test_adjustment_rule_by_levels(unadjusted, otherwise, adjusted):
    assert assumptions.single_subject_adjustment(unadjusted, otherwise, LEVELS) is adjusted


# --- Conduct ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "year"),
    [
        (GOOD, GOOD, GOOD),
        (FAIR, GOOD, GOOD),
        (PASS, GOOD, FAIR),
        (FAIL, GOOD, FAIR),
        (GOOD, FAIR, FAIR),
        (FAIR, FAIR, FAIR),
        (PASS, FAIR, FAIR),
        (FAIL, FAIR, PASS),
        (GOOD, PASS, FAIR),
        (FAIR, PASS, PASS),
        (PASS, PASS, PASS),
        (FAIL, PASS, PASS),
        (GOOD, FAIL, FAIL),
        (FAIR, FAIL, FAIL),
        (PASS, FAIL, FAIL),
        (FAIL, FAIL, FAIL),
    ],
)
def test_year_conduct_table(first, second, year):
    assert year_conduct(first, second) is year


def test_year_conduct_refuses_unknown_levels():
    with pytest.raises(ValueError, match="semester II"):
        year_conduct(GOOD, "Tốt")


# --- Promotion ------------------------------------------------------------------

PASSING = scored("6", "6", "6", "6", "6", "6", "5", "5")
FAILING = scored("6", "6", "6", "6", "6", "6", "4.9", "3")


def decide(conduct=GOOD, learning=GOOD, absent=0, results=(PASSING, comments())):
    return promotion(
        conduct=conduct,
        learning=learning,
        half_days_absent=absent,
        scored=results[0],
        comment_only=results[1],
    )


def test_promoted_at_the_absence_limit_retained_one_over():
    assert MAX_HALF_DAYS_ABSENT == 45
    assert decide(absent=45) == Promotion(PromotionOutcome.PROMOTED)
    assert decide(absent=46) == Promotion(
        PromotionOutcome.RETAINED, reasons=(PromotionReason.ABSENCE_OVER_LIMIT,)
    )


def test_absence_over_the_limit_retains_whatever_else():
    decision = decide(conduct=FAIL, learning=FAIL, absent=46)
    assert decision.outcome is PromotionOutcome.RETAINED
    assert decision.reasons == ("ABSENCE_OVER_LIMIT", "CONDUCT_FAIL", "LEARNING_FAIL")


@pytest.mark.parametrize(
    ("conduct", "learning", "outcome"),
    [
        (GOOD, GOOD, PromotionOutcome.PROMOTED),
        (PASS, PASS, PromotionOutcome.PROMOTED),
        (FAIL, GOOD, PromotionOutcome.SUMMER_TRAINING),
        (FAIL, FAIL, PromotionOutcome.SUMMER_TRAINING),
        (PASS, FAIL, PromotionOutcome.RETEST),
        (GOOD, FAIL, PromotionOutcome.RETEST),
    ],
)
def test_promotion_by_conduct_and_learning(conduct, learning, outcome):
    assert decide(conduct=conduct, learning=learning, results=(FAILING, comments())).outcome is (
        outcome
    )


def test_retest_covers_scored_below_five_and_comment_only_failed():
    decision = decide(conduct=PASS, learning=FAIL, results=(FAILING, comments(1)))
    assert decision == Promotion(
        PromotionOutcome.RETEST,
        retest_subjects=("GIAO_DUC_THE_CHAT", "S7", "S8"),
        reasons=(PromotionReason.LEARNING_FAIL,),
    )
    assert "S6" not in retest_subjects(scored(*("5",) * 8), {})  # 5.0 is not re-tested


@pytest.mark.parametrize("absent", [-1, True, 3.0])
def test_promotion_refuses_impossible_absences(absent):
    with pytest.raises(ValueError, match="half-days absent"):
        decide(absent=absent)


@pytest.mark.parametrize(
    ("result", "learning", "outcome"),
    [
        (PASS, GOOD, PromotionOutcome.PROMOTED),
        (FAIL, GOOD, PromotionOutcome.RETAINED),
        (PASS, FAIL, PromotionOutcome.RETEST),
        (FAIL, FAIL, PromotionOutcome.RETAINED),
    ],
)
def test_after_summer_training(result, learning, outcome):
    decision = after_summer_training(
        result, learning=learning, half_days_absent=10, scored=FAILING, comment_only=comments()
    )
    assert decision.outcome is outcome


def retest(retest_scored, retest_comment=None, *, comment_only=None, conduct=PASS):
    return after_retest(
        conduct=conduct,
        scored=FAILING,
        comment_only=comment_only or comments(),
        retest_scored=retest_scored,
        retest_comment=retest_comment or {},
        half_days_absent=0,
    )


def test_after_retest_promoted_when_learning_now_passes():
    assert learning_result(FAILING, comments()) is FAIL
    learning, decision = retest({"S7": D("5.0"), "S8": D("4.0")})
    assert (learning, decision) == (PASS, Promotion(PromotionOutcome.PROMOTED))


def test_after_retest_retained_when_learning_still_fails():
    learning, decision = retest({"S7": D("5.0"), "S8": D("3.4")})
    assert learning is FAIL
    assert decision == Promotion(
        PromotionOutcome.RETAINED, reasons=(PromotionReason.LEARNING_FAIL,)
    )


def test_the_retest_result_replaces_even_when_lower():
    learning, decision = retest({"S7": D("3.0"), "S8": D("5.0")})
    assert learning is FAIL  # S7 4.9 → 3.0: now below 3.5
    assert decision.outcome is PromotionOutcome.RETAINED


def test_after_retest_comment_only_subject():
    learning, decision = retest(
        {"S7": D("5.0"), "S8": D("5.0")}, {"GIAO_DUC_THE_CHAT": R_PASS}, comment_only=comments(2)
    )
    assert (learning, decision.outcome) == (PASS, PromotionOutcome.PROMOTED)


def test_only_failed_subjects_can_be_retested():
    with pytest.raises(ValueError, match=r"not re-tested.*S1"):
        retest({"S1": D("9.0")})
    with pytest.raises(ValueError, match="NGHE_THUAT"):
        retest({}, {"NGHE_THUAT": R_PASS})


def test_replace_with_retest_refuses_unknown_subjects():
    with pytest.raises(ValueError, match="TOAN"):
        assumptions.replace_with_retest({"VAN": D("4")}, {"TOAN": D("5")})


# --- Awards ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conduct", "learning", "averages", "title"),
    [
        (GOOD, GOOD, ("9", "9", "9", "9", "9", "9", "8", "8"), Award.EXCELLENT),
        (GOOD, GOOD, ("9", "9", "9", "9", "9", "8.9", "8", "8"), Award.GOOD),
        (GOOD, GOOD, ("10", "10", "10", "10", "10", "8", "8", "8"), Award.GOOD),
        (GOOD, GOOD, ("8",) * 8, Award.GOOD),
        (FAIR, GOOD, ("10",) * 8, None),
        (GOOD, FAIR, ("10",) * 8, None),
        (PASS, PASS, ("10",) * 8, None),
    ],
)
def test_award(conduct, learning, averages, title):
    assert award(conduct=conduct, learning=learning, scored=scored(*averages)) is title


# --- Vietnamese labels ------------------------------------------------------------


def test_labels():
    assert [level.label for level in Level] == ["Tốt", "Khá", "Đạt", "Chưa đạt"]
    assert [(r.label, r.abbreviation) for r in Rating] == [("Đạt", "Đ"), ("Chưa đạt", "CĐ")]
    assert [a.label for a in Award] == ["Học sinh Xuất sắc", "Học sinh Giỏi"]
    assert [o.label for o in PromotionOutcome] == [
        "Lên lớp",
        "Kiểm tra lại",
        "Rèn luyện trong hè",
        "Ở lại lớp",
    ]
    assert PromotionReason.ABSENCE_OVER_LIMIT.label == "Nghỉ học quá 45 buổi trong năm học"
