"""RULES.md §3: primary grading, Circular 27/2020/TT-BGDĐT.

Each condition of the year-result table is walked at its boundary, one input at
a time, from a record that meets every other condition of the row.
"""

import pytest

from hub.domain.grading import assumptions
from hub.domain.grading.primary import (
    TESTED_SUBJECTS_BY_GRADE,
    Completion,
    Quality,
    YearResult,
    has_periodic_test,
    validate_test_score,
    year_result,
)

T, H, C = Completion.WELL, Completion.DONE, Completion.NOT_DONE
SUBJECTS = (
    "TIENG_VIET",
    "TOAN",
    "NGOAI_NGU_1",
    "TIN_HOC_CN",
    "LS_DL",
    "KHOA_HOC",
    "DAO_DUC",
    "AM_NHAC",
    "MI_THUAT",
    "GIAO_DUC_THE_CHAT",
    "HOAT_DONG_TRAI_NGHIEM",
)
QUALITIES = (
    "YEU_NUOC",
    "NHAN_AI",
    "CHAM_CHI",
    "TRUNG_THUC",
    "TRACH_NHIEM",
    "TU_CHU_TU_HOC",
    "GIAO_TIEP_HOP_TAC",
    "GIAI_QUYET_VAN_DE",
)
GRADE_5_TESTS = sorted(TESTED_SUBJECTS_BY_GRADE[5])


def result(*, subject=T, quality=Quality.GOOD, test=10, others_test=10, grade=None):
    """Grade-5 record: every subject T, every quality Tốt, every test ``others_test``;
    then Toán, Trung thực and the Toán test set to ``subject``, ``quality``, ``test``."""
    return year_result(
        subjects={s: T for s in SUBJECTS} | {"TOAN": subject},
        qualities={q: Quality.GOOD for q in QUALITIES} | {"TRUNG_THUC": quality},
        tests={s: others_test for s in GRADE_5_TESTS} | {"TOAN": test},
        grade=grade,
    )


@pytest.mark.parametrize(
    ("test", "others_test", "year"),
    [
        # Hoàn thành xuất sắc: all tests ≥ 9
        (9, 9, YearResult.EXCELLENT),
        (8, 9, YearResult.WELL),
        (10, 10, YearResult.EXCELLENT),
        # Hoàn thành tốt: all tests ≥ 7
        (7, 10, YearResult.WELL),
        (6, 10, YearResult.DONE),
        # Hoàn thành: all tests ≥ 5 [assumed]
        (5, 10, YearResult.DONE),
        (4, 10, YearResult.NOT_DONE),
        (0, 10, YearResult.NOT_DONE),
    ],
)
def test_year_result_test_thresholds(test, others_test, year):
    assert result(test=test, others_test=others_test, grade=5) is year


@pytest.mark.parametrize(
    ("subject", "quality", "test", "year"),
    [
        # one subject H instead of T: no more than Hoàn thành, whatever the tests
        (H, Quality.GOOD, 10, YearResult.DONE),
        (H, Quality.GOOD, 5, YearResult.DONE),
        (H, Quality.GOOD, 4, YearResult.NOT_DONE),
        # one quality Đạt instead of Tốt: the same
        (T, Quality.PASS, 10, YearResult.DONE),
        (T, Quality.PASS, 5, YearResult.DONE),
        (H, Quality.PASS, 10, YearResult.DONE),
        # one Cần cố gắng or one Chưa hoàn thành: Chưa hoàn thành
        (T, Quality.NEEDS_EFFORT, 10, YearResult.NOT_DONE),
        (C, Quality.GOOD, 10, YearResult.NOT_DONE),
    ],
)
def test_year_result_subject_and_quality_conditions(subject, quality, test, year):
    assert result(subject=subject, quality=quality, test=test) is year


def test_completed_threshold_is_the_assumption():
    assert assumptions.PRIMARY_COMPLETED_MIN_TEST == 5


def test_tested_subjects_by_grade():
    assert TESTED_SUBJECTS_BY_GRADE[1] == TESTED_SUBJECTS_BY_GRADE[2] == {"TIENG_VIET", "TOAN"}
    assert TESTED_SUBJECTS_BY_GRADE[3] == {
        "TIENG_VIET",
        "TOAN",
        "NGOAI_NGU_1",
        "TIN_HOC_CN",
    }
    assert (
        TESTED_SUBJECTS_BY_GRADE[4]
        == TESTED_SUBJECTS_BY_GRADE[5]
        == {
            "TIENG_VIET",
            "TOAN",
            "NGOAI_NGU_1",
            "TIN_HOC_CN",
            "LS_DL",
            "KHOA_HOC",
        }
    )


def test_grade_one_record():
    assert (
        year_result(
            subjects={"TIENG_VIET": T, "TOAN": T, "TU_NHIEN_XA_HOI": H},
            qualities={"CHAM_CHI": Quality.GOOD},
            tests={"TIENG_VIET": 9, "TOAN": 10},
            grade=1,
        )
        is YearResult.DONE
    )


@pytest.mark.parametrize("score", [0, 10, 5])
def test_valid_test_scores(score):
    validate_test_score(score)


@pytest.mark.parametrize("score", [-1, 11, 7.5, 7.0, True, "7", None])
def test_impossible_test_scores_are_refused(score):
    with pytest.raises(ValueError, match="whole number from 0 to 10"):
        validate_test_score(score)


def test_year_result_refuses_an_impossible_test_score():
    with pytest.raises(ValueError, match="TOAN"):
        result(test=11)


def test_year_result_checks_the_tested_subjects_of_the_grade():
    with pytest.raises(ValueError, match="grade 3 has end-of-year tests"):
        result(grade=3)
    with pytest.raises(ValueError, match="grades are 1 to 5"):
        result(grade=6)


@pytest.mark.parametrize(
    ("subjects", "qualities", "tests", "message"),
    [
        ({}, {"CHAM_CHI": Quality.GOOD}, {"TOAN": 9}, "subjects and activities"),
        ({"TOAN": T}, {}, {"TOAN": 9}, "qualities and competencies"),
        ({"TOAN": T}, {"CHAM_CHI": Quality.GOOD}, {}, "end-of-year tests"),
        ({"TOAN": T}, {"CHAM_CHI": Quality.GOOD}, {"TIENG_VIET": 9}, "without a completion"),
        ({"TOAN": "T"}, {"CHAM_CHI": Quality.GOOD}, {"TOAN": 9}, "unknown completion"),
        ({"TOAN": T}, {"CHAM_CHI": "Tốt"}, {"TOAN": 9}, "unknown completion or quality"),
    ],
)
def test_year_result_refuses_incomplete_input(subjects, qualities, tests, message):
    with pytest.raises(ValueError, match=message):
        year_result(subjects=subjects, qualities=qualities, tests=tests)


def test_labels():
    assert [(c.label, c.abbreviation) for c in Completion] == [
        ("Hoàn thành tốt", "T"),
        ("Hoàn thành", "H"),
        ("Chưa hoàn thành", "C"),
    ]
    assert [q.label for q in Quality] == ["Tốt", "Đạt", "Cần cố gắng"]
    assert [r.label for r in YearResult] == [
        "Hoàn thành xuất sắc",
        "Hoàn thành tốt",
        "Hoàn thành",
        "Chưa hoàn thành",
    ]


@pytest.mark.parametrize(
    ("subject", "grade", "period", "tested"),
    [
        ("TOAN", 1, "END_1", True),
        ("TOAN", 1, "END_YEAR", True),
        ("TOAN", 3, "MID_1", False),
        ("TOAN", 4, "MID_1", True),
        ("TIENG_VIET", 5, "MID_2", True),
        ("KHOA_HOC", 4, "MID_2", False),
        ("KHOA_HOC", 4, "END_YEAR", True),
        ("KHOA_HOC", 3, "END_YEAR", False),
        ("NGOAI_NGU_1", 2, "END_YEAR", False),
        ("NGOAI_NGU_1", 3, "END_1", True),
        ("DAO_DUC", 5, "END_YEAR", False),
    ],
)
def test_has_periodic_test(subject, grade, period, tested):
    assert has_periodic_test(subject, grade, period) is tested


def test_has_periodic_test_refuses_unknown_grades_and_periods():
    with pytest.raises(ValueError, match="grades are 1 to 5"):
        has_periodic_test("TOAN", 6, "END_YEAR")
    with pytest.raises(ValueError, match="period"):
        has_periodic_test("TOAN", 4, "END_2")


def test_tested_subjects_are_catalogue_subjects_of_that_grade():
    from hub.seed.catalogue import by_code

    catalogue = by_code()
    from hub.domain.grading import primary

    for grade, codes in primary.TESTED_SUBJECTS_BY_GRADE.items():
        for code in codes:
            assert grade in catalogue[code].periods, (code, grade)
            assert not catalogue[code].comment_only, code
