"""Vendor writes of scores and assessments, with a verdict per row.

School apps send what teachers entered: secondary scores and ratings per subject
and semester (Circular 22/2021), conduct, absences and comments per year,
re-test results, and primary levels, test scores, qualities and competencies
(Circular 27/2020). Every row is checked against the regulations and the
student's class before anything is written; a bad row gets a stable code and a
Vietnamese message and never blocks the good ones.
"""

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.access import Caller, restrict
from hub.db import models
from hub.domain.grading import primary, secondary
from hub.domain.grading.inputs import (
    TRAIT_PERIODS,
    primary_test_score_problem,
    secondary_score_problem,
    to_tenths,
)
from hub.domain.lifecycle import TranscriptState
from hub.domain.problems import Code, problem
from hub.domain.traits import TRAITS
from hub.resolvers.upserts import RowOutcome, RowStatus, check_batch_size, text_of, write_rows

SECONDARY_GRADES = range(6, 13)
#: Checks one input row: the values to store, or None with the problems on the outcome.
Check = Callable[["Batch", Any, RowOutcome], dict[str, Any] | None]
PRIMARY_GRADES = range(1, 6)


@dataclass(frozen=True)
class Placement:
    """Where a student sat in a school year: what their assessments are checked against."""

    student: models.Student
    school_year: models.SchoolYear
    school_class: models.SchoolClass


class Batch:
    """Everything a batch of assessment rows refers to, looked up in a few queries."""

    def __init__(self, session: AsyncSession, caller: Caller) -> None:
        self.session = session
        self.caller = caller
        self.students: dict[str, models.Student] = {}
        self.years: dict[str, models.SchoolYear] = {}
        self.current_year: models.SchoolYear | None = None
        self.classes: dict[tuple[int, int], models.SchoolClass] = {}
        self.subjects: dict[str, models.Subject] = {}
        self.periods: dict[tuple[int, int], int] = {}
        self.locked: set[tuple[int, int]] = set()

    async def load(
        self,
        personal_ids: Iterable[str],
        years: Iterable[str | None],
        subject_codes: Iterable[str] = (),
    ) -> None:
        ids = set(personal_ids)
        self.students = {
            s.personal_id: s
            for s in await self.session.scalars(
                restrict(
                    select(models.Student).where(models.Student.personal_id.in_(ids)),
                    models.Student,
                    self.caller,
                )
            )
            if s.personal_id is not None and self.caller.may_write_school(s.school_id)
        }
        codes = {code for code in years if code}
        for year in await self.session.scalars(
            select(models.SchoolYear).where(
                models.SchoolYear.code.in_(codes) | models.SchoolYear.is_current
            )
        ):
            self.years[year.code] = year
            if year.is_current:
                self.current_year = year
        student_ids = [s.id for s in self.students.values()]
        year_ids = [y.id for y in self.years.values()]
        rows = await self.session.execute(
            select(models.Enrolment.student_id, models.Enrolment.school_year_id, models.SchoolClass)
            .join(models.SchoolClass, models.SchoolClass.id == models.Enrolment.class_id)
            .where(
                models.Enrolment.student_id.in_(student_ids),
                models.Enrolment.school_year_id.in_(year_ids),
            )
        )
        self.classes = {(student, year): klass for student, year, klass in rows}
        # The gradebook of a year whose transcript is locked or signed is frozen: a
        # change then goes through a correction (hub.transcripts.service.correct).
        self.locked = set(
            (
                await self.session.execute(
                    select(models.Transcript.student_id, models.Transcript.school_year_id).where(
                        models.Transcript.student_id.in_(student_ids),
                        models.Transcript.school_year_id.in_(year_ids),
                        models.Transcript.is_current,
                        models.Transcript.state != TranscriptState.DRAFT.value,
                    )
                )
            ).all()
        )
        wanted = set(subject_codes)
        if wanted:
            self.subjects = {
                s.code: s
                for s in await self.session.scalars(
                    select(models.Subject).where(models.Subject.code.in_(wanted))
                )
            }
            self.periods = {
                (p.subject_id, p.grade): p.periods_per_year
                for p in await self.session.scalars(
                    select(models.SubjectPeriods).where(
                        models.SubjectPeriods.subject_id.in_([s.id for s in self.subjects.values()])
                    )
                )
            }

    def place(
        self, personal_id: str, year_code: str | None, outcome: RowOutcome
    ) -> Placement | None:
        """The student's class in that year, or None with the reason on ``outcome``."""
        student = self.students.get(personal_id)
        if student is None:
            outcome.errors.append(
                problem(Code.STUDENT_NOT_FOUND, field="studentPersonalId", key=personal_id)
            )
            return None
        year = self.years.get(year_code) if year_code else self.current_year
        if year is None:
            outcome.errors.append(
                problem(
                    Code.SCHOOL_YEAR_NOT_FOUND, field="schoolYear", value=year_code or "hiện tại"
                )
            )
            return None
        if (student.id, year.id) in self.locked:
            outcome.errors.append(problem(Code.TRANSCRIPT_LOCKED, year=year.code))
            return None
        school_class = self.classes.get((student.id, year.id))
        if school_class is None:
            outcome.errors.append(problem(Code.NOT_ENROLLED, field="schoolYear", year=year.code))
            return None
        return Placement(student, year, school_class)

    def subject_in_class(
        self, code: str, placement: Placement, outcome: RowOutcome
    ) -> tuple[models.Subject, int] | None:
        """The subject and its periods per year in the student's grade."""
        subject = self.subjects.get(code)
        if subject is None:
            outcome.errors.append(problem(Code.SUBJECT_NOT_FOUND, field="subjectCode", value=code))
            return None
        grade = placement.school_class.grade
        periods = self.periods.get((subject.id, grade))
        if periods is None:
            outcome.errors.append(
                problem(
                    Code.SUBJECT_NOT_IN_CLASS,
                    field="subjectCode",
                    class_name=placement.school_class.name,
                    grade=grade,
                    subject=subject.name,
                )
            )
            return None
        return subject, periods


def _place_in_subject(
    batch: Batch, row: Any, grades: range, outcome: RowOutcome
) -> tuple[Placement, models.Subject, int] | None:
    """Where the row's student sits, and the row's subject as their class takes it."""
    placement = batch.place(row.student_personal_id, row.school_year, outcome)
    if placement is None or not _require_grades(placement, grades, outcome):
        return None
    found = batch.subject_in_class(row.subject_code, placement, outcome)
    return None if found is None else (placement, *found)


def _require_grades(placement: Placement, grades: range, outcome: RowOutcome) -> bool:
    grade = placement.school_class.grade
    if grade in grades:
        return True
    expected = (
        "đánh giá theo Thông tư 22 (THCS, THPT)"
        if grades is SECONDARY_GRADES
        else "đánh giá theo Thông tư 27 (tiểu học)"
    )
    outcome.errors.append(
        problem(
            Code.LEVEL_MISMATCH,
            field="studentPersonalId",
            grade=grade,
            expected=f"dữ liệu này chỉ dành cho học sinh {expected}",
        )
    )
    return False


async def _existing(
    session: AsyncSession, model: type[Any], keys: Sequence[str], rows: Iterable[dict[str, Any]]
) -> dict[tuple[Any, ...], Any]:
    """Stored rows of ``model`` for the natural keys the batch will write."""
    wanted = list(rows)
    if not wanted:
        return {}
    students = {row["student_id"] for row in wanted}
    found = await session.scalars(select(model).where(model.student_id.in_(students)))
    index = {tuple(getattr(row, key) for key in keys): row for row in found}
    return {tuple(w[key] for key in keys): index.get(tuple(w[key] for key in keys)) for w in wanted}


def _upsert_by_key(
    session: AsyncSession,
    model: type,
    existing: dict[tuple[Any, ...], Any],
    keys: Sequence[str],
    values: dict[str, Any],
    outcome: RowOutcome,
) -> Any:
    """Insert or update one row found by its natural key; the outcome says which."""
    key = tuple(values[name] for name in keys)
    row = existing.get(key)
    if row is None:
        row = model(**values)
        session.add(row)
        existing[key] = row
        outcome.status = RowStatus.CREATED
        return row
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    outcome.status = RowStatus.UPDATED if changed else RowStatus.UNCHANGED
    return row


def _scores(values: Sequence[Decimal] | None, field: str, outcome: RowOutcome) -> None:
    for index, value in enumerate(values or ()):
        found = secondary_score_problem(value, f"{field}[{index}]")
        if found is not None:
            outcome.errors.append(found)


def _one_score(value: Decimal | None, field: str, outcome: RowOutcome) -> None:
    if value is not None and (found := secondary_score_problem(value, field)) is not None:
        outcome.errors.append(found)


async def _run(
    session: AsyncSession,
    caller: Caller,
    rows: list[Any],
    *,
    model: type,
    keys: Sequence[str],
    subject_codes: Callable[[Any], str | None],
    check: Check,
    careful: bool,
) -> list[RowOutcome]:
    """The shape of every assessment upsert: look up, check each row, write the good ones."""
    caller.require("assessments:write")
    check_batch_size(rows)
    batch = Batch(session, caller)
    await batch.load(
        (row.student_personal_id for row in rows),
        (row.school_year for row in rows),
        {code for row in rows if (code := subject_codes(row))},
    )
    outcomes = [
        RowOutcome(index=i, key=row.student_personal_id, type_name="Student")
        for i, row in enumerate(rows)
    ]
    planned: dict[int, dict[str, Any]] = {}
    for row, outcome in zip(rows, outcomes, strict=True):
        values = check(batch, row, outcome)
        if values is not None and outcome.ok:
            planned[outcome.index] = values
    _reject_repeated_keys(outcomes, planned, keys)
    existing = await _existing(session, model, keys, planned.values())

    def apply(outcome: RowOutcome) -> Any:
        _upsert_by_key(session, model, existing, keys, planned[outcome.index], outcome)
        return batch.students[rows[outcome.index].student_personal_id]

    await write_rows(session, [o for o in outcomes if o.index in planned], apply, careful=careful)
    return outcomes


def _reject_repeated_keys(
    outcomes: list[RowOutcome], planned: dict[int, dict[str, Any]], keys: Sequence[str]
) -> None:
    first: dict[tuple[Any, ...], int] = {}
    for index in sorted(planned):
        key = tuple(planned[index][name] for name in keys)
        if key in first:
            outcomes[index].errors.append(problem(Code.DUPLICATE_IN_BATCH, first=first[key]))
            del planned[index]
        else:
            first[key] = index


def _check_secondary(batch: Batch, row: Any, outcome: RowOutcome) -> dict[str, Any] | None:
    placed = _place_in_subject(batch, row, SECONDARY_GRADES, outcome)
    if placed is None:
        return None
    placement, subject, periods = placed
    scores_given = row.regular is not None or row.midterm is not None or row.final is not None
    ratings_given = (
        row.regular_ratings is not None
        or row.midterm_rating is not None
        or row.final_rating is not None
    )
    expected, given = (
        ("nhận xét Đạt/Chưa đạt", "điểm số")
        if subject.comment_only
        else ("điểm số", "xếp loại Đạt/Chưa đạt")
    )
    if (subject.comment_only and scores_given) or (not subject.comment_only and ratings_given):
        outcome.errors.append(
            problem(
                Code.ASSESSMENT_KIND_MISMATCH, subject=subject.name, expected=expected, given=given
            )
        )
        return None
    values: dict[str, Any] = {
        "student_id": placement.student.id,
        "school_year_id": placement.school_year.id,
        "subject_id": subject.id,
        "semester": row.semester,
    }
    if row.semester not in (1, 2):
        outcome.errors.append(
            problem(Code.INVALID_ARGUMENT, field="semester", detail="học kì là 1 hoặc 2")
        )
        return None
    if subject.comment_only:
        return values | {
            "regular_ratings": None
            if row.regular_ratings is None
            else [str(r) for r in row.regular_ratings],
            "midterm_rating": None if row.midterm_rating is None else str(row.midterm_rating),
            "final_rating": None if row.final_rating is None else str(row.final_rating),
        }
    _scores(row.regular, "regular", outcome)
    _one_score(row.midterm, "midterm", outcome)
    _one_score(row.final, "final", outcome)
    if row.regular is not None:
        expected_count = secondary.regular_assessment_count(periods)
        if len(row.regular) != expected_count:
            outcome.errors.append(
                problem(
                    Code.REGULAR_COUNT_MISMATCH,
                    field="regular",
                    subject=subject.name,
                    periods=periods,
                    expected=expected_count,
                    count=len(row.regular),
                )
            )
    if not outcome.ok:
        return None
    return values | {
        "regular_tenths": None if row.regular is None else [to_tenths(v) for v in row.regular],
        "midterm_tenths": None if row.midterm is None else to_tenths(row.midterm),
        "final_tenths": None if row.final is None else to_tenths(row.final),
    }


def _check_year_record(batch: Batch, row: Any, outcome: RowOutcome) -> dict[str, Any] | None:
    placement = batch.place(row.student_personal_id, row.school_year, outcome)
    if placement is None:
        return None
    conduct_given = any(
        v is not None for v in (row.conduct_first, row.conduct_second, row.summer_training)
    )
    if conduct_given and not _require_grades(placement, SECONDARY_GRADES, outcome):
        return None
    if row.half_days_absent is not None and row.half_days_absent < 0:
        outcome.errors.append(
            problem(Code.INVALID_ARGUMENT, field="halfDaysAbsent", detail="số buổi nghỉ không âm")
        )
        return None
    return {
        "student_id": placement.student.id,
        "school_year_id": placement.school_year.id,
        "conduct_first": None if row.conduct_first is None else str(row.conduct_first),
        "conduct_second": None if row.conduct_second is None else str(row.conduct_second),
        "summer_training": None if row.summer_training is None else str(row.summer_training),
        "half_days_absent": row.half_days_absent,
        "homeroom_comment": text_of(
            outcome,
            row.homeroom_comment,
            models.StudentYearRecord.homeroom_comment,
            field="homeroomComment",
            multiline=True,
        ),
        "principal_approval": text_of(
            outcome,
            row.principal_approval,
            models.StudentYearRecord.principal_approval,
            field="principalApproval",
            multiline=True,
        ),
    }


def _check_retest(batch: Batch, row: Any, outcome: RowOutcome) -> dict[str, Any] | None:
    placed = _place_in_subject(batch, row, SECONDARY_GRADES, outcome)
    if placed is None:
        return None
    placement, subject, _ = placed
    if subject.comment_only != (row.rating is not None) or (row.score is None) == (
        row.rating is None
    ):
        expected = "nhận xét Đạt/Chưa đạt" if subject.comment_only else "điểm số"
        outcome.errors.append(
            problem(
                Code.ASSESSMENT_KIND_MISMATCH,
                subject=subject.name,
                expected=expected,
                given="dữ liệu khác",
            )
        )
        return None
    _one_score(row.score, "score", outcome)
    if not outcome.ok:
        return None
    return {
        "student_id": placement.student.id,
        "school_year_id": placement.school_year.id,
        "subject_id": subject.id,
        "score_tenths": None if row.score is None else to_tenths(row.score),
        "rating": None if row.rating is None else str(row.rating),
    }


def _check_primary(batch: Batch, row: Any, outcome: RowOutcome) -> dict[str, Any] | None:
    placed = _place_in_subject(batch, row, PRIMARY_GRADES, outcome)
    if placed is None:
        return None
    placement, subject, _ = placed
    grade = placement.school_class.grade
    if row.test_score is not None:
        if (bad := primary_test_score_problem(row.test_score, "testScore")) is not None:
            outcome.errors.append(bad)
        elif not primary.has_periodic_test(subject.code, grade, str(row.period)):
            outcome.errors.append(
                problem(
                    Code.SUBJECT_NOT_TESTED, field="testScore", subject=subject.name, grade=grade
                )
            )
    if not outcome.ok:
        return None
    return {
        "student_id": placement.student.id,
        "school_year_id": placement.school_year.id,
        "subject_id": subject.id,
        "period": str(row.period),
        "completion": None if row.completion is None else str(row.completion),
        "test_score": row.test_score,
        "comment": text_of(
            outcome,
            row.comment,
            models.PrimarySubjectAssessment.comment,
            field="comment",
            multiline=True,
        ),
    }


def _check_trait(batch: Batch, row: Any, outcome: RowOutcome) -> dict[str, Any] | None:
    placement = batch.place(row.student_personal_id, row.school_year, outcome)
    if placement is None or not _require_grades(placement, PRIMARY_GRADES, outcome):
        return None
    if row.trait not in TRAITS:
        outcome.errors.append(problem(Code.TRAIT_NOT_FOUND, field="trait", value=row.trait))
        return None
    if row.period not in TRAIT_PERIODS:
        outcome.errors.append(
            problem(
                Code.INVALID_ARGUMENT,
                field="period",
                detail="phẩm chất, năng lực chỉ đánh giá cuối học kì I và cuối năm",
            )
        )
        return None
    return {
        "student_id": placement.student.id,
        "school_year_id": placement.school_year.id,
        "trait": row.trait,
        "period": str(row.period),
        "level": str(row.level),
    }


def _assessment_upsert(
    model: type, keys: Sequence[str], check: Check, *, by_subject: bool
) -> Callable[..., Awaitable[list[RowOutcome]]]:
    """The upsert of one kind of assessment row, keyed by ``keys``."""

    async def upsert(
        session: AsyncSession, caller: Caller, rows: list[Any], *, careful: bool = False
    ) -> list[RowOutcome]:
        return await _run(
            session,
            caller,
            rows,
            model=model,
            keys=keys,
            check=check,
            careful=careful,
            subject_codes=(lambda row: row.subject_code) if by_subject else (lambda _: None),
        )

    return upsert


upsert_secondary_assessments = _assessment_upsert(
    models.SubjectAssessment,
    ("student_id", "school_year_id", "subject_id", "semester"),
    _check_secondary,
    by_subject=True,
)
upsert_year_records = _assessment_upsert(
    models.StudentYearRecord,
    ("student_id", "school_year_id"),
    _check_year_record,
    by_subject=False,
)
upsert_retests = _assessment_upsert(
    models.SubjectRetest,
    ("student_id", "school_year_id", "subject_id"),
    _check_retest,
    by_subject=True,
)
upsert_primary_assessments = _assessment_upsert(
    models.PrimarySubjectAssessment,
    ("student_id", "school_year_id", "subject_id", "period"),
    _check_primary,
    by_subject=True,
)
upsert_primary_traits = _assessment_upsert(
    models.PrimaryTraitAssessment,
    ("student_id", "school_year_id", "trait", "period"),
    _check_trait,
    by_subject=False,
)
