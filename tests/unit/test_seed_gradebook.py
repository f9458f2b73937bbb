"""The seeded gradebook: complete enough for every result, and shaped like a real year."""

from collections import Counter, defaultdict
from functools import cache
from typing import Any

from hub.domain.grading import primary, secondary
from hub.domain.grading.inputs import from_tenths
from hub.seed import catalogue, gradebook
from hub.seed.generate import TABLES, Size, generate, plan


@cache
def demo_rows() -> dict[str, list[tuple[Any, ...]]]:
    tables: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for chunk in generate(Size.DEMO, seed=2025):
        for table, rows in chunk.items():
            tables[table].extend(rows)
    return dict(tables)


def _dicts(table: str) -> list[dict[str, Any]]:
    return [dict(zip(TABLES[table], row, strict=True)) for row in demo_rows()[table]]


def test_every_pupil_has_a_year_record_and_the_plan_counts_every_row():
    rows = demo_rows()
    assert {r["student_id"] for r in _dicts("student_year_records")} == {
        row[0] for row in rows["students"]
    }
    estimated = plan(Size.DEMO, seed=2025).estimated_rows()
    for table in gradebook.TABLES:
        assert estimated[table] == len(rows[table]) > 0, table


def test_only_the_small_sizes_carry_a_gradebook():
    assert plan(Size.SCHOOL).gradebook and plan(Size.DEMO).gradebook
    assert not plan(Size.DISTRICT).gradebook and not plan(Size.PROVINCE).gradebook
    assert all(plan(Size.PROVINCE).estimated_rows()[t] == 0 for t in gradebook.TABLES)


def test_secondary_results_are_mostly_fair_or_good():
    subjects = {
        i: entry for entry in catalogue.CATALOGUE for i in [catalogue.subject_ids()[entry.code]]
    }
    by_pupil: dict[int, dict[int, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for row in _dicts("subject_assessments"):
        by_pupil[row["student_id"]][row["subject_id"]].append(row)
    records = {r["student_id"]: r for r in _dicts("student_year_records")}
    learning, conduct = Counter(), Counter()
    for student_id, assessed in by_pupil.items():
        scored, commented = {}, {}
        for subject_id, semesters in assessed.items():
            one, two = sorted(semesters, key=lambda r: r["semester"])
            entry = subjects[subject_id]
            if entry.comment_only:
                commented[entry.code] = secondary.comment_year_rating(
                    *(
                        secondary.comment_semester_rating(
                            secondary.CommentSemester(
                                tuple(map(secondary.Rating, r["regular_ratings"])),
                                secondary.Rating(r["midterm_rating"]),
                                secondary.Rating(r["final_rating"]),
                            )
                        )
                        for r in (one, two)
                    )
                )
            else:
                scored[entry.code] = secondary.subject_year_average(
                    *(
                        secondary.ScoredSemester(
                            tuple(map(from_tenths, r["regular_tenths"])),
                            from_tenths(r["midterm_tenths"]),
                            from_tenths(r["final_tenths"]),
                        )
                        for r in (one, two)
                    )
                )
        learning[secondary.learning_result(scored, commented)] += 1
        record = records[student_id]
        conduct[
            secondary.year_conduct(
                secondary.Level(record["conduct_first"]), secondary.Level(record["conduct_second"])
            )
        ] += 1
    total = sum(learning.values())
    assert total > 1000
    good_or_fair = learning[secondary.Level.GOOD] + learning[secondary.Level.FAIR]
    assert 0.7 <= good_or_fair / total <= 0.95
    assert learning[secondary.Level.FAIL] / total < 0.03
    assert conduct[secondary.Level.GOOD] / total >= 0.7


def test_primary_year_results_follow_from_the_end_of_year_gradebook():
    codes = {i: code for code, i in catalogue.subject_ids().items()}
    subjects: dict[int, dict[str, primary.Completion]] = defaultdict(dict)
    tests: dict[int, dict[str, int]] = defaultdict(dict)
    traits: dict[int, dict[str, primary.Quality]] = defaultdict(dict)
    for row in _dicts("primary_subject_assessments"):
        if row["period"] == "END_YEAR":
            subjects[row["student_id"]][codes[row["subject_id"]]] = primary.Completion(
                row["completion"]
            )
            if row["test_score"] is not None:
                tests[row["student_id"]][codes[row["subject_id"]]] = row["test_score"]
    for row in _dicts("primary_trait_assessments"):
        if row["period"] == "END_YEAR":
            traits[row["student_id"]][row["trait"]] = primary.Quality(row["level"])
    results = Counter(
        primary.year_result(subjects=subjects[s], qualities=traits[s], tests=tests[s])
        for s in subjects
    )
    total = sum(results.values())
    assert total > 1000
    assert results[primary.YearResult.NOT_DONE] / total < 0.03
    assert results[primary.YearResult.EXCELLENT] + results[primary.YearResult.WELL] > total / 4
