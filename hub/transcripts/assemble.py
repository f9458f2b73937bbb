"""From the gradebook to a :class:`TranscriptContent`: what each transcript will say.

Everything a batch of transcripts needs is read in a fixed number of queries
(one per table), whatever the number of students; the results are computed by
:mod:`hub.domain.grading`. A result that cannot be computed yet — a semester
with missing scores, fewer scored subjects than the table needs — is left
empty rather than guessed.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import models, roles
from hub.documents import content as doc
from hub.documents.urls import verification_url
from hub.domain.grading import primary, secondary
from hub.domain.grading.assumptions import replace_with_retest
from hub.domain.grading.inputs import PrimaryPeriod, from_tenths
from hub.domain.personal_id import PROVINCES
from hub.domain.roles import homeroom_teacher_of
from hub.domain.traits import QUALITIES, TRAITS


@dataclass(frozen=True)
class Enrolled:
    """A student's place in the year the transcript covers."""

    student: models.Student
    school_class: models.SchoolClass
    school: models.School
    district: models.District
    department: models.Department


@dataclass
class Gradebook:
    """All assessments of a batch of students for one school year, by student id."""

    subjects_by_grade: dict[int, list[tuple[models.Subject, int]]]
    secondary: dict[int, dict[tuple[int, int], models.SubjectAssessment]]
    retests: dict[int, dict[int, models.SubjectRetest]]
    records: dict[int, models.StudentYearRecord]
    primary: dict[int, dict[int, models.PrimarySubjectAssessment]]
    traits: dict[int, dict[str, models.PrimaryTraitAssessment]]
    teachers: dict[int, str]
    principals: dict[int, str]


async def enrolled(
    session: AsyncSession, *, school_year: models.SchoolYear, class_ids: Iterable[int]
) -> list[Enrolled]:
    """The students of ``class_ids`` in ``school_year``, with their school."""
    rows = await session.execute(
        select(
            models.Student, models.SchoolClass, models.School, models.District, models.Department
        )
        .join(models.Enrolment, models.Enrolment.student_id == models.Student.id)
        .join(models.SchoolClass, models.SchoolClass.id == models.Enrolment.class_id)
        .join(models.School, models.School.id == models.SchoolClass.school_id)
        .join(models.District, models.District.id == models.School.district_id)
        .join(models.Department, models.Department.id == models.School.department_id)
        .where(
            models.Enrolment.school_year_id == school_year.id,
            models.SchoolClass.id.in_(list(class_ids)),
        )
        .order_by(models.SchoolClass.id, models.Student.id)
    )
    return [Enrolled(*row) for row in rows]


async def gradebook(
    session: AsyncSession, *, school_year: models.SchoolYear, students: list[Enrolled]
) -> Gradebook:
    ids = [e.student.id for e in students]
    year = school_year.id
    grades = {e.school_class.grade for e in students}
    subjects_by_grade: dict[int, list[tuple[models.Subject, int]]] = defaultdict(list)
    for subject, periods in await session.execute(
        select(models.Subject, models.SubjectPeriods)
        .join(models.SubjectPeriods, models.SubjectPeriods.subject_id == models.Subject.id)
        .where(models.SubjectPeriods.grade.in_(grades))
        .order_by(models.Subject.comment_only, models.Subject.id)
    ):
        subjects_by_grade[periods.grade].append((subject, periods.periods_per_year))

    def per_student(model: type) -> Any:
        return select(model).where(model.student_id.in_(ids), model.school_year_id == year)  # type: ignore[attr-defined]

    book = Gradebook(
        dict(subjects_by_grade),
        defaultdict(dict),
        defaultdict(dict),
        {},
        defaultdict(dict),
        defaultdict(dict),
        {},
        {},
    )
    for row in await session.scalars(per_student(models.SubjectAssessment)):
        book.secondary[row.student_id][(row.subject_id, row.semester)] = row
    for row in await session.scalars(per_student(models.SubjectRetest)):
        book.retests[row.student_id][row.subject_id] = row
    for row in await session.scalars(per_student(models.StudentYearRecord)):
        book.records[row.student_id] = row
    for row in await session.scalars(
        per_student(models.PrimarySubjectAssessment).where(
            models.PrimarySubjectAssessment.period == PrimaryPeriod.END_YEAR
        )
    ):
        book.primary[row.student_id][row.subject_id] = row
    for row in await session.scalars(
        per_student(models.PrimaryTraitAssessment).where(
            models.PrimaryTraitAssessment.period == PrimaryPeriod.END_YEAR
        )
    ):
        book.traits[row.student_id][row.trait] = row
    teacher_ids = {homeroom_teacher_of(e.school_class) for e in students} - {None}
    book.teachers = dict(
        (
            await session.execute(
                select(models.Staff.id, models.Staff.full_name).where(
                    models.Staff.id.in_(teacher_ids)
                )
            )
        ).all()
    )
    schools = {e.school.id for e in students}
    for school_id, name in await session.execute(
        select(models.StaffAssignment.school_id, models.Staff.full_name)
        .join(models.Staff, models.Staff.id == models.StaffAssignment.staff_id)
        .where(models.StaffAssignment.school_id.in_(schools), roles.is_principal_record())
    ):
        book.principals[school_id] = name
    return book


def _scored(row: models.SubjectAssessment | None, expected: int) -> secondary.ScoredSemester | None:
    if row is None or row.midterm_tenths is None or row.final_tenths is None:
        return None
    regular = tuple(from_tenths(t) for t in row.regular_tenths or ())
    if len(regular) != expected:
        return None
    return secondary.ScoredSemester(
        regular, from_tenths(row.midterm_tenths), from_tenths(row.final_tenths)
    )


def _commented(row: models.SubjectAssessment | None) -> secondary.CommentSemester | None:
    if row is None or row.midterm_rating is None or row.final_rating is None:
        return None
    return secondary.CommentSemester(
        tuple(secondary.Rating(r) for r in row.regular_ratings or ()),
        secondary.Rating(row.midterm_rating),
        secondary.Rating(row.final_rating),
    )


def _level(value: str | None) -> secondary.Level | None:
    return None if value is None else secondary.Level(value)


def _try(compute: Any, *args: Any, **kwargs: Any) -> Any:
    """A result the gradebook cannot support yet is left empty (the domain raises ValueError)."""
    try:
        return compute(*args, **kwargs)
    except ValueError:
        return None


def _split(
    values: Mapping[str, Any], comment_only: set[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    scored = {k: v for k, v in values.items() if k not in comment_only}
    commented = {k: v for k, v in values.items() if k in comment_only}
    return scored, commented


def secondary_results(grade: int, book: Gradebook, student_id: int) -> doc.SecondaryResults:
    """Every TT22 result the gradebook of one student supports."""
    lines: list[doc.SecondarySubject] = []
    first: dict[str, Any] = {}
    second: dict[str, Any] = {}
    year: dict[str, Any] = {}
    retests: dict[str, Any] = {}
    comment_only: set[str] = set()
    assessments = book.secondary.get(student_id, {})
    for subject, periods in book.subjects_by_grade.get(grade, []):
        expected = secondary.regular_assessment_count(periods)
        one = assessments.get((subject.id, 1))
        two = assessments.get((subject.id, 2))
        # A comment-only subject is rated (Đạt/Chưa đạt), a scored one averaged.
        v1: Decimal | secondary.Rating | None
        v2: Decimal | secondary.Rating | None
        vy: Decimal | secondary.Rating | None
        if subject.comment_only:
            comment_only.add(subject.code)
            c1, c2 = _commented(one), _commented(two)
            v1 = None if c1 is None else secondary.comment_semester_rating(c1)
            v2 = None if c2 is None else secondary.comment_semester_rating(c2)
            vy = None if v1 is None or v2 is None else secondary.comment_year_rating(v1, v2)
        else:
            s1, s2 = _scored(one, expected), _scored(two, expected)
            v1 = None if s1 is None else secondary.semester_average(s1)
            v2 = None if s2 is None else secondary.semester_average(s2)
            vy = None if s1 is None or s2 is None else secondary.subject_year_average(s1, s2)
        retest_row = book.retests.get(student_id, {}).get(subject.id)
        retest: Decimal | secondary.Rating | None = None
        if retest_row is not None:
            retest = (
                secondary.Rating(retest_row.rating)
                if retest_row.rating
                else from_tenths(retest_row.score_tenths or 0)
            )
            retests[subject.code] = retest
        for bucket, value in ((first, v1), (second, v2), (year, vy)):
            if value is not None:
                bucket[subject.code] = value
        lines.append(
            doc.SecondarySubject(
                subject.code, subject.name, subject.comment_only, v1, v2, vy, retest, vy
            )
        )
    total = len(lines)
    finals = _try(replace_with_retest, year, retests) or year
    lines = [replace(line, final=finals.get(line.code)) for line in lines]

    def learning(values: dict[str, Any]) -> secondary.Level | None:
        if len(values) < total:
            return None
        return _try(secondary.learning_result, *_split(values, comment_only))

    record = book.records.get(student_id)
    conduct_first = _level(record.conduct_first) if record else None
    conduct_second = _level(record.conduct_second) if record else None
    conduct_year = (
        None
        if conduct_first is None or conduct_second is None
        else secondary.year_conduct(conduct_first, conduct_second)
    )
    learning_year = learning(year)
    absent = record.half_days_absent if record else None
    outcome = award = learning_after = conduct_after = None
    if (
        record is not None
        and learning_year is not None
        and conduct_year is not None
        and absent is not None
    ):
        scored, commented = _split(year, comment_only)
        decision = secondary.promotion(
            conduct=conduct_year,
            learning=learning_year,
            half_days_absent=absent,
            scored=scored,
            comment_only=commented,
        )
        conduct_now = conduct_year
        if (
            decision.outcome is secondary.PromotionOutcome.SUMMER_TRAINING
            and record.summer_training
        ):
            conduct_after = conduct_now = secondary.Level(record.summer_training)
            decision = secondary.after_summer_training(
                conduct_after,
                learning=learning_year,
                half_days_absent=absent,
                scored=scored,
                comment_only=commented,
            )
        if decision.outcome is secondary.PromotionOutcome.RETEST and retests:
            retest_scored, retest_comment = _split(retests, comment_only)
            result = _try(
                secondary.after_retest,
                conduct=conduct_now,
                scored=scored,
                comment_only=commented,
                retest_scored=retest_scored,
                retest_comment=retest_comment,
                half_days_absent=absent,
            )
            if result is not None:
                learning_after, decision = result
        outcome = decision.outcome
        award = secondary.award(conduct=conduct_year, learning=learning_year, scored=scored)
    return doc.SecondaryResults(
        subjects=tuple(lines),
        learning_first=learning(first),
        learning_second=learning(second),
        learning_year=learning_year,
        learning_after_retest=learning_after,
        conduct_first=conduct_first,
        conduct_second=conduct_second,
        conduct_year=conduct_year,
        conduct_after_training=conduct_after,
        half_days_absent=absent,
        outcome=outcome,
        award=award,
    )


def primary_results(grade: int, book: Gradebook, student_id: int) -> doc.PrimaryResults:
    """The TT27 year result of one pupil, where the gradebook supports it."""
    assessed = book.primary.get(student_id, {})
    subjects: list[doc.PrimarySubject] = []
    completions: dict[str, primary.Completion] = {}
    tests: dict[str, int] = {}
    for subject, _ in book.subjects_by_grade.get(grade, []):
        row = assessed.get(subject.id)
        completion = (
            None if row is None or row.completion is None else primary.Completion(row.completion)
        )
        score = None if row is None else row.test_score
        if completion is not None:
            completions[subject.code] = completion
        if score is not None:
            tests[subject.code] = score
        subjects.append(
            doc.PrimarySubject(
                subject.code, subject.name, completion, score, None if row is None else row.comment
            )
        )
    rated = book.traits.get(student_id, {})
    traits = tuple(
        doc.PrimaryTrait(
            code,
            name,
            code in QUALITIES,
            primary.Quality(rated[code].level) if code in rated else None,
        )
        for code, name in TRAITS.items()
    )
    qualities = {t.code: t.level for t in traits if t.level is not None}
    result = None
    if len(completions) == len(subjects) and len(qualities) == len(traits):
        result = _try(
            primary.year_result, subjects=completions, qualities=qualities, tests=tests, grade=grade
        )
    record = book.records.get(student_id)
    return doc.PrimaryResults(
        subjects=tuple(subjects),
        traits=traits,
        year_result=result,
        half_days_absent=record.half_days_absent if record else None,
        promoted=None if result is None else result is not primary.YearResult.NOT_DONE,
    )


def build_content(
    place: Enrolled,
    book: Gradebook,
    *,
    school_year: models.SchoolYear,
    document_id: str,
    version: int,
    replaces: str | None,
    correction_reason: str | None,
    base_url: str,
    generated_on: date,
) -> doc.TranscriptContent:
    """The content of one transcript version. Needs the student's personal ID."""
    student, klass = place.student, place.school_class
    if student.personal_id is None:
        raise ValueError("a transcript is keyed by the personal ID")
    stage = doc.SchoolStage.PRIMARY if klass.grade <= 5 else doc.SchoolStage.SECONDARY
    record = book.records.get(student.id)
    return doc.TranscriptContent(
        document_id=document_id,
        version=version,
        replaces=replaces,
        correction_reason=correction_reason,
        school_year=school_year.code,
        grade=klass.grade,
        class_name=klass.name,
        stage=stage,
        school=doc.School(
            moet_code=place.school.moet_code,
            name=place.school.name,
            district=place.district.name,
            province=PROVINCES.get(place.department.code, place.department.name),
            department=place.department.name,
        ),
        student=doc.Student(
            personal_id=student.personal_id,
            ministry_code=student.moet_code,
            full_name=student.full_name,
            birth_date=student.birth_date,
            sex=student.sex,
            ethnicity=student.ethnicity,
        ),
        secondary=secondary_results(klass.grade, book, student.id)
        if stage is doc.SchoolStage.SECONDARY
        else None,
        primary=primary_results(klass.grade, book, student.id)
        if stage is doc.SchoolStage.PRIMARY
        else None,
        homeroom_teacher=book.teachers.get(homeroom_teacher_of(klass) or 0),
        homeroom_comment=record.homeroom_comment if record else None,
        principal=book.principals.get(place.school.id),
        principal_approval=record.principal_approval if record else None,
        verification_url=verification_url(base_url, document_id),
        generated_on=generated_on,
    )
