"""A school year's gradebook for the generated pupils (sổ theo dõi và đánh giá học sinh).

What a school's app would have sent by the end of the year, so that transcripts
generated from the seed carry real results:

- **Secondary (grades 6–12, Circular 22/2021):** per subject and semester, the
  regular assessments (ĐĐGtx, as many as the subject's yearly periods call for —
  :func:`hub.domain.grading.secondary.regular_assessment_count`), the mid-term
  and the end-of-term one; scored subjects in tenths, comment-only ones rated
  Đạt/Chưa đạt; and a year record with conduct (rèn luyện) per semester, absences
  and the homeroom teacher's comment.
- **Primary (grades 1–5, Circular 27/2020):** per subject, the completion level
  at the end of semester I and of the year, with the periodic test score where
  :func:`hub.domain.grading.primary.has_periodic_test` says there is one; the
  qualities and competencies at the same two periods; a year record with
  absences and the comment.

The numbers are drawn, not decided: each pupil has an aptitude, each subject
nudges it, each assessment adds noise, and the grading rules in
:mod:`hub.domain.grading` then decide the results, as they do for a real school.
The spreads are tuned so that, as in Hà Nội's reports, most secondary pupils end
the year Khá or Tốt, conduct is Tốt for most, a few fall short, and most primary
pupils complete their subjects, many of them well.

Rows come from their own ``Random`` per school, so the rest of the seed is the
same with or without a gradebook.
"""

import random as _random
from collections.abc import Callable

from hub.domain.grading import primary, secondary
from hub.domain.grading.inputs import TRAIT_PERIODS
from hub.domain.traits import TRAITS
from hub.seed import catalogue

#: The gradebook tables the seed fills, in load order, with their columns.
TABLES: dict[str, tuple[str, ...]] = {
    "subject_assessments": (
        "id",
        "student_id",
        "school_year_id",
        "subject_id",
        "semester",
        "regular_tenths",
        "midterm_tenths",
        "final_tenths",
        "regular_ratings",
        "midterm_rating",
        "final_rating",
    ),
    "student_year_records": (
        "id",
        "student_id",
        "school_year_id",
        "conduct_first",
        "conduct_second",
        "summer_training",
        "half_days_absent",
        "homeroom_comment",
        "principal_approval",
    ),
    "primary_subject_assessments": (
        "id",
        "student_id",
        "school_year_id",
        "subject_id",
        "period",
        "completion",
        "test_score",
        "comment",
    ),
    "primary_trait_assessments": ("id", "student_id", "school_year_id", "trait", "period", "level"),
}
#: Columns held as JSON lists (the PostgreSQL loader sends them as JSON text).
JSON_COLUMNS: dict[str, tuple[str, ...]] = {
    "subject_assessments": ("regular_tenths", "regular_ratings"),
}

#: Primary pupils are assessed at these periods here: the two with periodic tests for
#: every tested subject, and the only two at which qualities are rated (TT27 Art. 6–7).
PRIMARY_PERIODS = TRAIT_PERIODS

_PASS, _FAIL = secondary.Rating.PASS.value, secondary.Rating.FAIL.value
_CONDUCT = tuple(level.value for level in secondary.LEVELS)  # Tốt, Khá, Đạt, Chưa đạt
#: Cumulative shares of conduct levels a semester; Hà Nội reports ~85 % Tốt.
_CONDUCT_SHARES = (0.84, 0.975, 0.996, 1.0)
_WELL, _DONE, _NOT_DONE = (c.value for c in primary.Completion)
_GOOD, _QPASS, _EFFORT = (q.value for q in primary.Quality)

_APPROVAL = "Đồng ý với nhận xét của giáo viên chủ nhiệm."
_SECONDARY_COMMENTS = {
    "high": (
        "Chăm ngoan, học tốt; tích cực tham gia các hoạt động của lớp.",
        "Có ý thức tự học cao, tiếp thu bài nhanh. Tiếp tục phát huy.",
        "Ngoan, lễ phép, học đều các môn; là tấm gương cho các bạn.",
    ),
    "middle": (
        "Ngoan, có cố gắng trong học tập. Cần mạnh dạn phát biểu hơn.",
        "Chăm chỉ, hoà đồng với bạn bè; cần đầu tư thêm cho các môn còn yếu.",
        "Có tiến bộ so với học kì I; cần duy trì nề nếp tự học ở nhà.",
    ),
    "low": (
        "Cần cố gắng nhiều hơn, chú ý nghe giảng và làm bài tập đầy đủ.",
        "Còn chưa tập trung trong giờ học; gia đình cần phối hợp nhắc nhở thêm.",
    ),
}
_PRIMARY_COMMENTS = {
    "high": (
        "Con ngoan, học tốt, hoà đồng với bạn bè.",
        "Con chăm chỉ, tự giác; đọc to, rõ ràng, tính toán nhanh.",
        "Con lễ phép, tích cực phát biểu xây dựng bài.",
    ),
    "middle": (
        "Con ngoan, có tiến bộ; cần luyện viết chữ cẩn thận hơn.",
        "Con hoàn thành các nhiệm vụ học tập; cần mạnh dạn hơn khi phát biểu.",
    ),
    "low": ("Con cần cố gắng hơn; gia đình cần kèm con đọc và viết thêm ở nhà.",),
}
_SUBJECT_COMMENTS = {
    _WELL: "Nắm vững kiến thức, vận dụng tốt.",
    _DONE: "Hoàn thành các yêu cầu của môn học.",
    _NOT_DONE: "Chưa hoàn thành một số yêu cầu; cần cố gắng thêm.",
}


class GradebookWriter:
    """Writes one year of assessments per pupil, continuing the seed's id sequences."""

    def __init__(self, school_year_id: int, next_id: Callable[[str], int]) -> None:
        self.year = school_year_id
        self.next_id = next_id
        subject_ids = catalogue.subject_ids()
        self._subjects = {
            grade: [
                (subject_ids[entry.code], entry) for entry in catalogue.subjects_for_grade(grade)
            ]
            for grade in range(1, 13)
        }

    def pupil(
        self, rng: _random.Random, student_id: int, grade: int, out: dict[str, list[tuple]]
    ) -> None:
        """The pupil's assessments for the year, appended to ``out``'s tables."""
        if grade in primary.TESTED_SUBJECTS_BY_GRADE:
            self._primary(rng, student_id, grade, out)
        else:
            self._secondary(rng, student_id, grade, out)

    # -- secondary (TT22) ------------------------------------------------------------------

    def _secondary(
        self, rng: _random.Random, student_id: int, grade: int, out: dict[str, list[tuple]]
    ) -> None:
        gauss, random, next_id, year = rng.gauss, rng.random, self.next_id, self.year
        aptitude = min(9.6, max(3.8, gauss(7.55, 0.95)))
        progress = gauss(0.1, 0.25)  # semester II against semester I
        rows = out["subject_assessments"]
        for subject_id, entry in self._subjects[grade]:
            count = secondary.regular_assessment_count(entry.periods[grade])
            if entry.comment_only:
                fail_odds = 0.002 if aptitude > 5.5 else 0.03
                for semester in (1, 2):
                    ratings = [_FAIL if random() < fail_odds else _PASS for _ in range(count)]
                    rows.append(
                        (
                            next_id("subject_assessments"),
                            student_id,
                            year,
                            subject_id,
                            semester,
                            None,
                            None,
                            None,
                            ratings,
                            _FAIL if random() < fail_odds else _PASS,
                            _FAIL if random() < fail_odds else _PASS,
                        )
                    )
                continue
            level = aptitude + gauss(0.0, 0.5)
            for semester in (1, 2):
                mean = level + (progress if semester == 2 else 0.0)
                regular = [_tenths(gauss(mean + 0.3, 0.9), 0.5) for _ in range(count)]
                rows.append(
                    (
                        next_id("subject_assessments"),
                        student_id,
                        year,
                        subject_id,
                        semester,
                        regular,
                        _tenths(gauss(mean, 0.8), 0.25),
                        _tenths(gauss(mean - 0.1, 0.8), 0.25),
                        None,
                        None,
                        None,
                    )
                )
        first = _conduct(random(), aptitude)
        second = first if random() < 0.8 else _conduct(random(), aptitude)
        tier = "high" if aptitude >= 7.8 else "middle" if aptitude >= 6.0 else "low"
        out["student_year_records"].append(
            (
                next_id("student_year_records"),
                student_id,
                year,
                first,
                second,
                None,
                _absences(rng),
                rng.choice(_SECONDARY_COMMENTS[tier]),
                _APPROVAL,
            )
        )

    # -- primary (TT27) --------------------------------------------------------------------

    def _primary(
        self, rng: _random.Random, student_id: int, grade: int, out: dict[str, list[tuple]]
    ) -> None:
        gauss, next_id, year = rng.gauss, self.next_id, self.year
        aptitude = min(10.0, max(4.0, gauss(8.3, 0.9)))
        rows = out["primary_subject_assessments"]
        for subject_id, entry in self._subjects[grade]:
            level = aptitude + gauss(0.0, 0.3)
            for primary_period in PRIMARY_PERIODS:
                period = str(primary_period)  # the bulk insert takes the plain value
                mark = level + gauss(0.0, 0.2)
                completion = _WELL if mark >= 7.9 else _DONE if mark >= 4.6 else _NOT_DONE
                score = None
                if primary.has_periodic_test(entry.code, grade, period):
                    score = min(10, max(0, round(mark + 0.4 + gauss(0.0, 0.5))))
                rows.append(
                    (
                        next_id("primary_subject_assessments"),
                        student_id,
                        year,
                        subject_id,
                        period,
                        completion,
                        score,
                        _SUBJECT_COMMENTS[completion] if period == "END_YEAR" else None,
                    )
                )
        traits = out["primary_trait_assessments"]
        character = aptitude + gauss(0.0, 0.5)  # qualities follow the child, not the subject
        for trait in TRAITS:
            for period in PRIMARY_PERIODS:
                mark = character + gauss(0.0, 0.25)
                quality = _GOOD if mark >= 7.6 else _QPASS if mark >= 5.0 else _EFFORT
                traits.append(
                    (next_id("primary_trait_assessments"), student_id, year, trait, str(period),
                     quality)
                )  # fmt: skip
        tier = "high" if aptitude >= 8.6 else "middle" if aptitude >= 6.5 else "low"
        out["student_year_records"].append(
            (
                next_id("student_year_records"),
                student_id,
                year,
                None,
                None,
                None,
                _absences(rng),
                rng.choice(_PRIMARY_COMMENTS[tier]),
                _APPROVAL,
            )
        )


def _tenths(score: float, step: float) -> int:
    """``score`` on the teacher's grid (whole or half points, quarters for tests), in tenths."""
    on_grid = round(score / step) * step
    return int(min(10.0, max(0.0, on_grid)) * 10 + 0.5)


def _conduct(draw: float, aptitude: float) -> str:
    """A semester's conduct level: mostly Tốt, a little likelier lower for weak pupils."""
    draw += max(0.0, 6.0 - aptitude) * 0.05
    return next(
        (level for level, share in zip(_CONDUCT, _CONDUCT_SHARES, strict=True) if draw < share),
        _CONDUCT[-1],
    )


def _absences(rng: _random.Random) -> int:
    """Half-days absent in the year: half the pupils none, a long thin tail."""
    if rng.random() < 0.5:
        return 0
    return min(40, 1 + int(rng.expovariate(0.3)))
