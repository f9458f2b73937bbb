"""Properties every grading rule must keep, whatever the scores (RULES.md §2–§3)."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.domain.grading import assumptions
from hub.domain.grading.primary import Completion, Quality, YearResult, year_result
from hub.domain.grading.secondary import (
    LEVELS,
    Level,
    Rating,
    ScoredSemester,
    award,
    learning_result,
    learning_result_unadjusted,
    semester_average,
    year_average,
    year_conduct,
)

FAST = settings(max_examples=150, deadline=None)

#: Scores near the table thresholds most of the time, any score otherwise.
THRESHOLDS = ["3.4", "3.5", "4.9", "5.0", "6.4", "6.5", "7.9", "8.0", "8.9", "9.0"]
scores = st.one_of(
    st.sampled_from([Decimal(t) for t in THRESHOLDS]),
    st.integers(0, 100).map(lambda tenths: Decimal(tenths) / 10),
)
levels = st.sampled_from(Level)
ratings = st.sampled_from(Rating)
semesters = st.builds(
    ScoredSemester,
    regular=st.integers(2, 4).flatmap(lambda n: st.tuples(*[scores] * n)),
    midterm=scores,
    final=scores,
)
scored_subjects = st.lists(scores, min_size=6, max_size=10).map(
    lambda values: {f"S{n}": value for n, value in enumerate(values)}
)
comment_subjects = st.lists(ratings, max_size=4).map(
    lambda values: {f"C{n}": value for n, value in enumerate(values)}
)


def is_score(value: Decimal) -> bool:
    return Decimal(0) <= value <= Decimal(10) and value == value.quantize(assumptions.ONE_DECIMAL)


@FAST
@given(semesters)
def test_semester_average_is_a_score(semester):
    assert is_score(semester_average(semester))


@FAST
@given(scores, scores)
def test_year_average_is_a_score_between_the_semesters(first, second):
    average = year_average(first, second)
    assert is_score(average)
    assert min(first, second) <= average <= max(first, second)


@FAST
@given(scored_subjects, comment_subjects, st.data())
def test_raising_a_score_never_lowers_the_learning_result(scored, comment_only, data):
    subject = data.draw(st.sampled_from(sorted(scored)))
    tenths = data.draw(st.integers(int(scored[subject] * 10), 100))
    before = learning_result(scored, comment_only)
    after = learning_result({**scored, subject: Decimal(tenths) / 10}, comment_only)
    assert after.at_least(before)


@FAST
@given(scored_subjects, comment_subjects.filter(lambda c: Rating.FAIL in c.values()), st.data())
def test_turning_chua_dat_into_dat_never_lowers_the_learning_result(scored, comment_only, data):
    subject = data.draw(st.sampled_from([s for s, r in comment_only.items() if r is Rating.FAIL]))
    before = learning_result(scored, comment_only)
    after = learning_result(scored, {**comment_only, subject: Rating.PASS})
    assert after.at_least(before)


@FAST
@given(scored_subjects, comment_subjects)
def test_the_adjustment_only_raises_and_never_to_tot(scored, comment_only):
    unadjusted = learning_result_unadjusted(scored, comment_only)
    adjusted = learning_result(scored, comment_only)
    assert adjusted.at_least(unadjusted)
    assert LEVELS.index(unadjusted) - LEVELS.index(adjusted) <= 2
    assert adjusted is not Level.GOOD or unadjusted is Level.GOOD


@given(levels, levels, levels)
def test_year_conduct_is_monotone_in_each_semester(first, second, other):
    if other.at_least(first):
        assert year_conduct(other, second).at_least(year_conduct(first, second))
    if other.at_least(second):
        assert year_conduct(first, other).at_least(year_conduct(first, second))


@FAST
@given(levels, levels, scored_subjects)
def test_no_award_below_tot(conduct, learning, scored):
    if conduct is not Level.GOOD or learning is not Level.GOOD:
        assert award(conduct=conduct, learning=learning, scored=scored) is None


# --- Primary -------------------------------------------------------------------

RESULTS = tuple(YearResult)
completions = st.dictionaries(
    st.sampled_from(["TIENG_VIET", "TOAN", "DAO_DUC", "AM_NHAC"]),
    st.sampled_from(Completion),
    min_size=2,
)
qualities = st.dictionaries(
    st.sampled_from(["YEU_NUOC", "NHAN_AI", "CHAM_CHI", "TRUNG_THUC"]),
    st.sampled_from(Quality),
    min_size=1,
)
test_scores = st.fixed_dictionaries({"TIENG_VIET": st.integers(0, 10), "TOAN": st.integers(0, 10)})


def primary(subjects, qualities, tests) -> int:
    """The year result's position, 0 the best."""
    subjects = {"TIENG_VIET": Completion.WELL, "TOAN": Completion.WELL} | subjects
    return RESULTS.index(year_result(subjects=subjects, qualities=qualities, tests=tests))


@FAST
@given(completions, qualities, test_scores, st.data())
def test_primary_year_result_is_monotone_in_each_input(subjects, ratings, tests, data):
    before = primary(subjects, ratings, tests)

    subject = data.draw(st.sampled_from(sorted(subjects)))
    better = data.draw(st.sampled_from(Completion).filter(lambda c: c.at_least(subjects[subject])))
    assert primary({**subjects, subject: better}, ratings, tests) <= before

    quality = data.draw(st.sampled_from(sorted(ratings)))
    better = data.draw(st.sampled_from(Quality).filter(lambda q: q.at_least(ratings[quality])))
    assert primary(subjects, {**ratings, quality: better}, tests) <= before

    tested = data.draw(st.sampled_from(sorted(tests)))
    higher = data.draw(st.integers(tests[tested], 10))
    assert primary(subjects, ratings, {**tests, tested: higher}) <= before
