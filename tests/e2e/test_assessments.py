"""Vendor writes of scores and assessments: every bad row named, the good ones landed."""

import pytest

from hub.domain.enums import OrgLevel
from tests.helpers import client_token, data, gql

SECONDARY = """mutation($rows: [SecondaryAssessmentInput!]!) {
  upsertSecondaryAssessments(rows: $rows) {
    created updated unchanged rejected rows { status errors { code message field } } } }"""
YEAR = """mutation($rows: [YearRecordInput!]!) { upsertYearRecords(rows: $rows) {
    created updated unchanged rejected rows { status errors { code } } } }"""
RETESTS = """mutation($rows: [RetestInput!]!) { upsertRetests(rows: $rows) {
    created rejected rows { status errors { code } } } }"""
PRIMARY = """mutation($rows: [PrimaryAssessmentInput!]!) { upsertPrimaryAssessments(rows: $rows) {
    created rejected rows { status errors { code } } } }"""
TRAITS = """mutation($rows: [PrimaryTraitInput!]!) { upsertPrimaryTraits(rows: $rows) {
    created rejected rows { status errors { code } } } }"""


@pytest.fixture(scope="module")
async def district_lb(db, world, http):
    """The Long Biên office's tool: schools A (lower secondary) and B (primary)."""
    return await client_token(db, http, org=OrgLevel.DISTRICT, districts=["LB"])


def sixth_grader(world) -> str:  # type: ignore[no-untyped-def]
    # In school A the students cycle through classes 6A1..9A1; the first is in 6A1.
    return world.schools["A"].student_personal_ids[0]


def first_grader(world) -> str:  # type: ignore[no-untyped-def]
    return world.schools["B"].student_personal_ids[0]


def codes(result: dict) -> list[list[str]]:  # type: ignore[type-arg]
    return [[e["code"] for e in row["errors"]] for row in result["rows"]]


async def test_secondary_scores_land_and_bad_rows_are_named(http, world, district_lb):
    pupil = sixth_grader(world)
    good = {
        "studentPersonalId": pupil,
        "subjectCode": "TOAN",
        "semester": 1,
        "regular": ["8", "7.5", "9", "10"],
        "midterm": "8.5",
        "final": "9",
    }
    rows = [
        good,
        good | {"subjectCode": "NGU_VAN", "midterm": "10.5"},
        good | {"subjectCode": "KHTN", "final": "6.55"},
        good | {"subjectCode": "GDCD", "regular": ["8", "7", "9"]},  # 35 periods → 2
        good | {"subjectCode": "VAT_LI"},  # an upper-secondary subject
        good | {"subjectCode": "NO_SUCH"},
        good | {"subjectCode": "NGOAI_NGU_1", "regular": None, "midtermRating": "PASS"},
        {
            "studentPersonalId": pupil,
            "subjectCode": "GDTC",
            "semester": 1,
            "regularRatings": ["PASS", "PASS"],
            "midtermRating": "PASS",
            "finalRating": "FAIL",
        },
        good | {"semester": 3, "subjectCode": "TIN_HOC", "regular": ["8", "9"]},
        good | {"studentPersonalId": world.schools["C"].student_personal_ids[0]},
        good | {"studentPersonalId": first_grader(world)},
        good | {"subjectCode": "TIN_HOC", "regular": ["8", "9"]},
    ]
    result = data(await gql(http, district_lb, SECONDARY, {"rows": rows}))
    result = result["upsertSecondaryAssessments"]
    assert codes(result) == [
        [],
        ["SCORE_OUT_OF_RANGE"],
        ["SCORE_PRECISION"],
        ["REGULAR_COUNT_MISMATCH"],
        ["SUBJECT_NOT_IN_CLASS"],
        ["SUBJECT_NOT_FOUND"],
        ["ASSESSMENT_KIND_MISMATCH"],
        [],
        ["INVALID_ARGUMENT"],
        ["STUDENT_NOT_FOUND"],
        ["LEVEL_MISMATCH"],
        [],
    ]
    assert (result["created"], result["rejected"]) == (3, 9)
    messages = {
        row["errors"][0]["code"]: row["errors"][0]["message"]
        for row in result["rows"]
        if row["errors"]
    }
    assert messages["REGULAR_COUNT_MISMATCH"] == (
        "Môn Giáo dục công dân có 35 tiết/năm nên mỗi học kì cần đúng 2 điểm "
        "đánh giá thường xuyên (đã gửi 3)."
    )
    again = data(await gql(http, district_lb, SECONDARY, {"rows": [good]}))
    assert again["upsertSecondaryAssessments"]["unchanged"] == 1
    corrected = data(await gql(http, district_lb, SECONDARY, {"rows": [good | {"final": "9.5"}]}))
    assert corrected["upsertSecondaryAssessments"]["updated"] == 1


async def test_same_assessment_twice_in_one_batch_is_rejected(http, world, district_lb):
    row = {
        "studentPersonalId": sixth_grader(world),
        "subjectCode": "LS_DL",
        "semester": 2,
        "regular": ["8", "7", "9", "6"],
        "midterm": "7",
        "final": "8",
    }
    result = data(await gql(http, district_lb, SECONDARY, {"rows": [row, row]}))
    assert codes(result["upsertSecondaryAssessments"]) == [[], ["DUPLICATE_IN_BATCH"]]


async def test_year_records_and_retests(http, world, district_lb):
    pupil = sixth_grader(world)
    record = {
        "studentPersonalId": pupil,
        "conductFirst": "GOOD",
        "conductSecond": "FAIR",
        "halfDaysAbsent": 3,
        "homeroomComment": "Chăm ngoan, tiến bộ.",
    }
    rows = [
        record,
        {"studentPersonalId": pupil, "halfDaysAbsent": -1},
        {"studentPersonalId": first_grader(world), "conductFirst": "GOOD"},
        {"studentPersonalId": pupil, "schoolYear": "1999-2000"},
    ]
    result = data(await gql(http, district_lb, YEAR, {"rows": rows}))["upsertYearRecords"]
    assert codes(result) == [
        [],
        ["INVALID_ARGUMENT"],
        ["LEVEL_MISMATCH"],
        ["SCHOOL_YEAR_NOT_FOUND"],
    ]
    retests = [
        {"studentPersonalId": pupil, "subjectCode": "KHTN", "score": "6.5"},
        {"studentPersonalId": pupil, "subjectCode": "GDTC", "rating": "PASS"},
        {"studentPersonalId": pupil, "subjectCode": "KHTN", "rating": "PASS"},
    ]
    result = data(await gql(http, district_lb, RETESTS, {"rows": retests}))["upsertRetests"]
    assert codes(result) == [[], [], ["ASSESSMENT_KIND_MISMATCH"]]


async def test_primary_levels_tests_and_traits(http, world, district_lb):
    pupil = first_grader(world)
    rows = [
        {
            "studentPersonalId": pupil,
            "subjectCode": "TIENG_VIET",
            "period": "END_YEAR",
            "completion": "WELL",
            "testScore": 9,
            "comment": "Đọc to, rõ ràng.",
        },
        {
            "studentPersonalId": pupil,
            "subjectCode": "TOAN",
            "period": "END_YEAR",
            "completion": "DONE",
            "testScore": 11,
        },
        {
            "studentPersonalId": pupil,
            "subjectCode": "DAO_DUC",
            "period": "END_YEAR",
            "completion": "WELL",
            "testScore": 8,
        },
        {"studentPersonalId": pupil, "subjectCode": "TOAN", "period": "MID_1", "testScore": 7},
        {
            "studentPersonalId": pupil,
            "subjectCode": "KHTN",
            "period": "END_YEAR",
            "completion": "WELL",
        },
        {
            "studentPersonalId": sixth_grader(world),
            "subjectCode": "TOAN",
            "period": "END_YEAR",
            "completion": "WELL",
        },
    ]
    result = data(await gql(http, district_lb, PRIMARY, {"rows": rows}))
    assert codes(result["upsertPrimaryAssessments"]) == [
        [],
        ["TEST_SCORE_INVALID"],
        ["SUBJECT_NOT_TESTED"],
        ["SUBJECT_NOT_TESTED"],
        ["SUBJECT_NOT_IN_CLASS"],
        ["LEVEL_MISMATCH"],
    ]
    traits = [
        {"studentPersonalId": pupil, "trait": "CHAM_CHI", "period": "END_YEAR", "level": "GOOD"},
        {"studentPersonalId": pupil, "trait": "BAY_BONG", "period": "END_YEAR", "level": "GOOD"},
        {"studentPersonalId": pupil, "trait": "NHAN_AI", "period": "MID_1", "level": "PASS"},
    ]
    result = data(await gql(http, district_lb, TRAITS, {"rows": traits}))
    assert codes(result["upsertPrimaryTraits"]) == [[], ["TRAIT_NOT_FOUND"], ["INVALID_ARGUMENT"]]


async def test_writing_assessments_needs_the_scope(db, http, world):
    token = await client_token(
        db, http, org=OrgLevel.DISTRICT, districts=["LB"], scopes=["students:write"]
    )
    row = {"studentPersonalId": sixth_grader(world), "subjectCode": "TOAN", "semester": 1}
    result = await gql(http, token, SECONDARY, {"rows": [row]})
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
