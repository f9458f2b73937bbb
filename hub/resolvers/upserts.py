"""The vendor write API: idempotent bulk upserts with a verdict per row.

A batch is validated row by row, then every natural key and reference it uses is
looked up in a handful of queries, then the good rows are written in one flush.
A bad row is reported with a stable code and never blocks the good ones. If a
concurrent writer makes that single flush fail, the caller retries the batch in
careful mode, where each row is written in its own savepoint.

The rows are the write inputs of the GraphQL API (``hub.schema.writes``), read by
attribute; the outcomes are plain values the schema turns into its results.
"""

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from hub.auth.access import Caller, restrict
from hub.db import models
from hub.domain.enums import GuardianRelation, IdentityStatus, Sex, StaffRole
from hub.domain.identity import identity_changes, same_identity
from hub.domain.personal_id import check_against_record, is_well_formed
from hub.domain.problems import Code, HubError, Problem, problem
from hub.domain.text import COMMENT_LIMIT, clean_text, fold
from hub.guardians.verification import clear_verification
from hub.resolvers.context import Context

MAX_ROWS = 1000
#: A student's fields the population database checks: changing one calls for a new check.
IDENTITY_FIELDS = ("personal_id", "full_name", "birth_date", "sex")


class RowStatus(StrEnum):
    """What a write did with one input row."""

    CREATED = "CREATED"
    UPDATED = "UPDATED"
    UNCHANGED = "UNCHANGED"
    DELETED = "DELETED"
    REJECTED = "REJECTED"


@dataclass
class RowOutcome:
    """What happened to one input row."""

    index: int
    key: str | None
    type_name: str
    status: RowStatus = RowStatus.REJECTED
    entity_id: int | None = None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


#: The shape of every upsert: (session, caller, rows, careful=…) → per-row outcomes.
Upsert = Callable[..., Awaitable[list[RowOutcome]]]


async def run_upsert(ctx: Context, write: Upsert, rows: Sequence[Any]) -> list[RowOutcome]:
    """``write`` the rows in one unit of work; if a concurrent writer makes its single
    flush fail, once more in careful mode (a savepoint per row)."""
    try:
        async with ctx.db.unit_of_work() as session:
            return await write(session, ctx.caller, rows)
    except IntegrityError:
        async with ctx.db.unit_of_work() as session:
            return await write(session, ctx.caller, rows, careful=True)


def check_batch_size(rows: Sequence[Any]) -> None:
    if len(rows) > MAX_ROWS:
        raise HubError(Code.BATCH_TOO_LARGE, limit=MAX_ROWS, count=len(rows))


def _check_birth_date(value: date | None, outcome: RowOutcome) -> None:
    if value is not None and not date(1900, 1, 1) <= value <= date.today():
        outcome.errors.append(problem(Code.BIRTH_DATE_INVALID, field="birthDate"))


def text_of(
    outcome: RowOutcome,
    value: str | None,
    column: Any,
    *,
    field: str,
    required: bool = False,
    multiline: bool = False,
) -> str | None:
    """``value`` through the text gate, sized by the column that will keep it.

    Unbounded (TEXT) columns hold comments: :data:`COMMENT_LIMIT` characters.
    """
    cleaned = clean_text(
        value,
        field=field,
        limit=column.type.length or COMMENT_LIMIT,
        required=required,
        multiline=multiline,
    )
    outcome.errors.extend(cleaned.problems)
    return cleaned.value


def _mark_duplicates(outcomes: list[RowOutcome], keys: Iterable[str | None], name: str) -> None:
    first_seen: dict[str, int] = {}
    for outcome, key in zip(outcomes, keys, strict=True):
        if key is None:
            continue
        if key in first_seen:
            outcome.errors.append(
                problem(Code.DUPLICATE_IN_BATCH, field=name, first=first_seen[key])
            )
        else:
            first_seen[key] = outcome.index


def _assign(row: Any, values: dict[str, Any]) -> bool:
    """Set ``values`` on ``row``; whether anything changed."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


async def _writable_schools(
    session: AsyncSession, caller: Caller, codes: Iterable[str]
) -> dict[str, models.School]:
    """Schools by ministry code, only those the caller may write."""
    rows = await session.scalars(
        restrict(
            select(models.School).where(models.School.moet_code.in_(set(codes))),
            models.School,
            caller,
        )
    )
    return {school.moet_code: school for school in rows if caller.may_write_school(school.id)}


async def _writable_students(
    session: AsyncSession, caller: Caller, personal_ids: set[str]
) -> dict[str | None, models.Student]:
    """Students by personal ID, only those at a school the caller may write (a pupil
    between schools is the department's alone)."""
    found = await session.scalars(
        restrict(
            select(models.Student).where(models.Student.personal_id.in_(personal_ids)),
            models.Student,
            caller,
        )
    )
    return {s.personal_id: s for s in found if caller.may_write_school(s.school_id)}


async def write_rows(
    session: AsyncSession,
    outcomes: list[RowOutcome],
    apply: Any,
    *,
    careful: bool,
) -> None:
    """Apply each good row; in careful mode, each in its own savepoint."""
    applied: list[tuple[RowOutcome, Any]] = []
    for outcome in outcomes:
        if not outcome.ok:
            continue
        if not careful:
            applied.append((outcome, apply(outcome)))
            continue
        try:
            async with session.begin_nested():
                entity = apply(outcome)
                await session.flush()
            applied.append((outcome, entity))
        except IntegrityError:
            outcome.errors.append(problem(Code.WRITE_CONFLICT))
            outcome.status = RowStatus.REJECTED
    await session.flush()
    for outcome, entity in applied:
        if entity is not None:
            outcome.entity_id = entity.id


async def upsert_students(
    session: AsyncSession, caller: Caller, rows: Sequence[Any], *, careful: bool = False
) -> list[RowOutcome]:
    caller.require("students:write")
    check_batch_size(rows)
    outcomes = [
        RowOutcome(index=i, key=row.personal_id or row.ministry_code, type_name="Student")
        for i, row in enumerate(rows)
    ]
    names = [
        text_of(o, row.full_name, models.Student.full_name, field="fullName", required=True)
        for row, o in zip(rows, outcomes, strict=True)
    ]
    ethnicities = [
        text_of(o, row.ethnicity, models.Student.ethnicity, field="ethnicity")
        for row, o in zip(rows, outcomes, strict=True)
    ]
    for row, outcome in zip(rows, outcomes, strict=True):
        if not row.personal_id and not row.ministry_code:
            outcome.errors.append(problem(Code.NATURAL_KEY_MISSING, field="personalId"))
        _check_birth_date(row.birth_date, outcome)
        if row.personal_id:
            check = check_against_record(
                row.personal_id, birth_date=row.birth_date, sex=Sex(row.sex)
            )
            outcome.errors += check.errors
            outcome.warnings += check.warnings
    _mark_duplicates(outcomes, (row.personal_id or None for row in rows), "personalId")
    _mark_duplicates(outcomes, (row.ministry_code or None for row in rows), "ministryCode")

    schools = await _writable_schools(session, caller, (row.school_code for row in rows))
    personal_ids = {row.personal_id for row in rows if row.personal_id}
    ministry_codes = {row.ministry_code for row in rows if row.ministry_code}
    by_personal_id = {
        s.personal_id: s
        for s in await session.scalars(
            select(models.Student).where(models.Student.personal_id.in_(personal_ids))
        )
    }
    by_ministry_code = {
        s.moet_code: s
        for s in await session.scalars(
            select(models.Student).where(models.Student.moet_code.in_(ministry_codes))
        )
    }
    current_year = await session.scalar(
        select(models.SchoolYear).where(models.SchoolYear.is_current)
    )
    wanted_classes = {
        (schools[row.school_code].id, row.class_name)
        for row in rows
        if row.class_name and row.school_code in schools
    }
    classes: dict[tuple[int, str], models.SchoolClass] = {}
    if wanted_classes and current_year is not None:
        for existing in await session.scalars(
            select(models.SchoolClass).where(
                models.SchoolClass.school_year_id == current_year.id,
                models.SchoolClass.school_id.in_({school_id for school_id, _ in wanted_classes}),
            )
        ):
            classes[(existing.school_id, existing.name)] = existing
    known_ids = [s.id for s in (*by_personal_id.values(), *by_ministry_code.values())]
    enrolments: dict[int, models.Enrolment] = {}
    if known_ids and current_year is not None:
        for enrolment in await session.scalars(
            select(models.Enrolment).where(
                models.Enrolment.student_id.in_(known_ids),
                models.Enrolment.school_year_id == current_year.id,
            )
        ):
            enrolments[enrolment.student_id] = enrolment

    targets: dict[int, tuple[models.Student | None, models.School, models.SchoolClass | None]] = {}
    for row, outcome in zip(rows, outcomes, strict=True):
        if not outcome.ok:
            continue
        school = schools.get(row.school_code)
        if school is None:
            outcome.errors.append(
                problem(Code.SCHOOL_NOT_FOUND, field="schoolCode", value=row.school_code)
            )
            continue
        school_class = None
        if row.class_name:
            school_class = classes.get((school.id, row.class_name))
            if school_class is None:
                outcome.errors.append(
                    problem(
                        Code.CLASS_NOT_FOUND,
                        field="className",
                        name=row.class_name,
                        school=row.school_code,
                    )
                )
                continue
        student = by_personal_id.get(row.personal_id) if row.personal_id else None
        holder = by_ministry_code.get(row.ministry_code) if row.ministry_code else None
        if student is None and holder is not None and holder.personal_id in (None, row.personal_id):
            student = holder  # a record first sent without a personal ID now gets one
        elif holder is not None and holder is not student:
            outcome.errors.append(
                problem(Code.MINISTRY_CODE_TAKEN, field="ministryCode", value=row.ministry_code)
            )
            continue
        if student is not None and student.school_id is None and not caller.department_wide:
            # A pupil who left a school: the next school takes them only with their identity.
            if not same_identity(
                stored_name=student.full_name,
                stored_birth_date=student.birth_date,
                sent_name=names[outcome.index] or "",
                sent_birth_date=row.birth_date,
            ):
                outcome.errors.append(problem(Code.IDENTITY_MISMATCH, field="personalId"))
                continue
        elif student is not None and not caller.may_write_school(student.school_id):
            outcome.errors.append(problem(Code.STUDENT_ENROLLED_ELSEWHERE, field="schoolCode"))
            continue
        targets[outcome.index] = (student, school, school_class)

    def apply(outcome: RowOutcome) -> models.Student:
        row = rows[outcome.index]
        student, school, school_class = targets[outcome.index]
        values = {
            "personal_id": row.personal_id or (student.personal_id if student else None),
            "moet_code": row.ministry_code or (student.moet_code if student else None),
            "full_name": names[outcome.index],
            "search_name": fold(names[outcome.index] or ""),
            "birth_date": row.birth_date,
            "sex": Sex(row.sex),
            "ethnicity": ethnicities[outcome.index],
            "school_id": school.id,
            "needs_review": bool(outcome.warnings),
        }
        if student is None:
            student = models.Student(**values)
            session.add(student)
            outcome.status = RowStatus.CREATED
        else:
            identity_changed = any(getattr(student, f) != values[f] for f in IDENTITY_FIELDS)
            outcome.status = RowStatus.UPDATED if _assign(student, values) else RowStatus.UNCHANGED
            if identity_changed:
                # What the population database confirmed is not what the record says now.
                student.identity_status = IdentityStatus.UNVERIFIED
        if school_class is not None and current_year is not None:
            enrolment = enrolments.get(student.id) if student.id else None
            if enrolment is None:
                session.add(
                    models.Enrolment(
                        student=student, class_id=school_class.id, school_year_id=current_year.id
                    )
                )
                if outcome.status is RowStatus.UNCHANGED:
                    outcome.status = RowStatus.UPDATED
            elif enrolment.class_id != school_class.id:
                enrolment.class_id = school_class.id
                if outcome.status is RowStatus.UNCHANGED:
                    outcome.status = RowStatus.UPDATED
        return student

    await write_rows(session, [o for o in outcomes if o.index in targets], apply, careful=careful)
    return outcomes


#: A person's identity on record; a caller whose reach does not cover every school the
#: person is attached to may not change it (only the department, or a wider caller, can).
STAFF_IDENTITY_FIELDS = ("full_name", "birth_date", "sex")
#: Contact details of a shared person: kept as they are when another school holds the person.
STAFF_CONTACT_FIELDS = ("email", "phone")


def _outside_reach(caller: Caller, school_ids: Iterable[int]) -> bool:
    return any(not caller.may_write_school(school_id) for school_id in school_ids)


async def upsert_staff(
    session: AsyncSession, caller: Caller, rows: Sequence[Any], *, careful: bool = False
) -> list[RowOutcome]:
    caller.require("staff:write")
    check_batch_size(rows)
    outcomes = [
        RowOutcome(index=i, key=row.personal_id, type_name="Staff") for i, row in enumerate(rows)
    ]
    values_of: list[dict[str, Any]] = []
    for row, outcome in zip(rows, outcomes, strict=True):
        name = text_of(
            outcome, row.full_name, models.Staff.full_name, field="fullName", required=True
        )
        values_of.append(
            {
                "full_name": name,
                "search_name": fold(name or ""),
                "birth_date": row.birth_date,
                "sex": None if row.sex is None else Sex(row.sex),
                "email": text_of(outcome, row.email, models.Staff.email, field="email"),
                "phone": text_of(outcome, row.phone, models.Staff.phone, field="phone"),
            }
        )
    schools = await _writable_schools(
        session, caller, (a.school_code for row in rows for a in row.assignments)
    )
    for row, outcome in zip(rows, outcomes, strict=True):
        _check_birth_date(row.birth_date, outcome)
        check = check_against_record(
            row.personal_id,
            birth_date=row.birth_date,
            sex=None if row.sex is None else Sex(row.sex),
        )
        outcome.errors += check.errors
        outcome.warnings += check.warnings
        if not row.assignments or any(not a.roles for a in row.assignments):
            outcome.errors.append(problem(Code.ROLE_REQUIRED, field="assignments"))
        for assignment in row.assignments:
            if assignment.school_code not in schools:
                outcome.errors.append(
                    problem(
                        Code.SCHOOL_NOT_FOUND, field="assignments", value=assignment.school_code
                    )
                )
    _mark_duplicates(outcomes, (row.personal_id for row in rows), "personalId")
    existing = {
        s.personal_id: s
        for s in await session.scalars(
            select(models.Staff)
            .where(models.Staff.personal_id.in_({row.personal_id for row in rows}))
            .options(selectinload(models.Staff.assignments))
        )
    }
    for row, outcome in zip(rows, outcomes, strict=True):
        member = existing.get(row.personal_id)
        if member is None or not outcome.ok:
            continue
        values = values_of[outcome.index]
        attached = {a.school_id for a in member.assignments}
        attaching = not caller.department_wide and not any(map(caller.may_write_school, attached))
        # Attaching someone already on record: only with the identity on record.
        if attaching and not same_identity(
            stored_name=member.full_name,
            stored_birth_date=member.birth_date,
            sent_name=values["full_name"] or "",
            sent_birth_date=row.birth_date,
        ):
            outcome.errors.append(problem(Code.IDENTITY_MISMATCH, field="personalId"))
            continue
        if _outside_reach(caller, attached):
            stored = {name: getattr(member, name) for name in STAFF_IDENTITY_FIELDS}
            sent = {name: values[name] for name in STAFF_IDENTITY_FIELDS}
            if sent["sex"] is None:
                del sent["sex"]  # not sent: nothing to change
            for name in identity_changes(stored=stored, sent=sent):
                outcome.errors.append(problem(Code.IDENTITY_HELD_ELSEWHERE, field=_camel(name)))
            # The record stays as the other schools know it.
            values["full_name"], values["search_name"] = member.full_name, member.search_name
            values["birth_date"], values["sex"] = member.birth_date, member.sex
            for name in STAFF_CONTACT_FIELDS:
                kept = getattr(member, name)
                if kept is not None and values[name] != kept:
                    outcome.warnings.append(problem(Code.IDENTITY_HELD_ELSEWHERE, field=name))
                    values[name] = kept

    def apply(outcome: RowOutcome) -> models.Staff:
        row = rows[outcome.index]
        values = {**values_of[outcome.index], "needs_review": bool(outcome.warnings)}
        member = existing.get(row.personal_id)
        if member is None:
            member = models.Staff(personal_id=row.personal_id, assignments=[], **values)
            session.add(member)
            outcome.status = RowStatus.CREATED
            changed = True
        else:
            changed = _assign(member, values)
        wanted = {
            (schools[a.school_code].id, StaffRole(role))
            for a in row.assignments
            for role in a.roles
        }
        touched_schools = {school_id for school_id, _ in wanted}
        for assignment in list(member.assignments):
            key = (assignment.school_id, assignment.role)
            if assignment.school_id in touched_schools and key not in wanted:
                member.assignments.remove(assignment)
                changed = True
        have = {(a.school_id, a.role) for a in member.assignments}
        for school_id, role in sorted(wanted - have):
            member.assignments.append(models.StaffAssignment(school_id=school_id, role=role))
            changed = True
        if outcome.status is not RowStatus.CREATED:
            outcome.status = RowStatus.UPDATED if changed else RowStatus.UNCHANGED
        return member

    await write_rows(session, outcomes, apply, careful=careful)
    return outcomes


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


async def end_staff_assignments(
    session: AsyncSession,
    caller: Caller,
    rows: Sequence[Any],
    *,
    careful: bool = False,
) -> list[RowOutcome]:
    """End assignments at the caller's schools (a teacher leaving, a role given up).

    The person's record stays; the school they leave sees them go in its change feed.
    """
    caller.require("staff:write")
    check_batch_size(rows)
    outcomes = [
        RowOutcome(index=i, key=row.personal_id, type_name="Staff") for i, row in enumerate(rows)
    ]
    schools = await _writable_schools(session, caller, (row.school_code for row in rows))
    members = {
        s.personal_id: s
        for s in await session.scalars(
            select(models.Staff)
            .where(models.Staff.personal_id.in_({row.personal_id for row in rows}))
            .options(selectinload(models.Staff.assignments))
        )
    }
    ending: dict[int, list[models.StaffAssignment]] = {}
    for row, outcome in zip(rows, outcomes, strict=True):
        school = schools.get(row.school_code)
        member = members.get(row.personal_id)
        roles = {StaffRole(role) for role in row.roles or ()}
        found = [
            a
            for a in (member.assignments if member and school else [])
            if school is not None and a.school_id == school.id and (not roles or a.role in roles)
        ]
        if not found:
            # The same answer whether the person, the school or the role is unknown.
            outcome.errors.append(problem(Code.ASSIGNMENT_NOT_FOUND, field="personalId"))
            continue
        ending[outcome.index] = found

    def apply(outcome: RowOutcome) -> models.Staff:
        member = members[rows[outcome.index].personal_id]
        for assignment in ending[outcome.index]:
            if assignment in member.assignments:
                member.assignments.remove(assignment)
        outcome.status = RowStatus.DELETED
        return member

    await write_rows(session, outcomes, apply, careful=careful)
    return outcomes


async def upsert_guardian_links(
    session: AsyncSession, caller: Caller, rows: Sequence[Any], *, careful: bool = False
) -> list[RowOutcome]:
    caller.require("students:write")
    check_batch_size(rows)
    outcomes = [
        RowOutcome(index=i, key=row.student_personal_id, type_name="Student")
        for i, row in enumerate(rows)
    ]
    guardian_names = [
        text_of(
            o,
            row.guardian.full_name,
            models.Guardian.full_name,
            field="guardian.fullName",
            required=True,
        )
        or ""
        for row, o in zip(rows, outcomes, strict=True)
    ]
    phones = [
        text_of(o, row.guardian.phone, models.Guardian.phone, field="guardian.phone")
        for row, o in zip(rows, outcomes, strict=True)
    ]
    for row, outcome in zip(rows, outcomes, strict=True):
        if not is_well_formed(row.student_personal_id):
            outcome.errors.append(problem(Code.PERSONAL_ID_FORMAT, field="studentPersonalId"))
        if row.guardian.personal_id:
            check = check_against_record(
                row.guardian.personal_id,
                birth_date=None,
                sex=None,
                field_name="guardian.personalId",
            )
            outcome.errors += check.errors
            outcome.warnings += check.warnings
        elif not phones[outcome.index]:
            outcome.errors.append(problem(Code.GUARDIAN_IDENTITY_REQUIRED, field="guardian"))
    students = await _writable_students(session, caller, {row.student_personal_id for row in rows})
    guardian_ids = {row.guardian.personal_id for row in rows if row.guardian.personal_id}
    wanted_phones = {
        phone for row, phone in zip(rows, phones, strict=True) if not row.guardian.personal_id
    }
    guardians_by_id = {
        g.personal_id: g
        for g in await session.scalars(
            select(models.Guardian).where(models.Guardian.personal_id.in_(guardian_ids))
        )
    }
    guardians_by_phone = {
        (g.phone, fold(g.full_name)): g
        for g in await session.scalars(
            select(models.Guardian).where(
                models.Guardian.phone.in_(wanted_phones), models.Guardian.personal_id.is_(None)
            )
        )
    }
    # The schools of the children each known guardian is already linked to.
    linked_schools: dict[int, set[int | None]] = {}
    known = [g.id for g in (*guardians_by_id.values(), *guardians_by_phone.values())]
    if known:
        for guardian_id, school_id in await session.execute(
            select(models.GuardianLink.guardian_id, models.Student.school_id)
            .join(models.Student, models.Student.id == models.GuardianLink.student_id)
            .where(models.GuardianLink.guardian_id.in_(known))
        ):
            linked_schools.setdefault(guardian_id, set()).add(school_id)
    # The verified links of those guardians: renaming a guardian undoes their verification.
    verified_links: dict[int, list[models.GuardianLink]] = {}
    if known:
        for verified in await session.scalars(
            select(models.GuardianLink).where(
                models.GuardianLink.guardian_id.in_(known), models.GuardianLink.verified
            )
        ):
            verified_links.setdefault(verified.guardian_id, []).append(verified)
    held_elsewhere: set[int] = set()
    links = {
        (link.student_id, link.guardian_id): link
        for link in await session.scalars(
            select(models.GuardianLink).where(
                models.GuardianLink.student_id.in_([s.id for s in students.values()])
            )
        )
    }
    for row, outcome in zip(rows, outcomes, strict=True):
        if outcome.ok and row.student_personal_id not in students:
            outcome.errors.append(
                problem(
                    Code.STUDENT_NOT_FOUND, field="studentPersonalId", key=row.student_personal_id
                )
            )
        if not outcome.ok or row.remove:
            continue
        name = guardian_names[outcome.index]
        if row.guardian.personal_id:
            on_record = guardians_by_id.get(row.guardian.personal_id)
        else:
            on_record = guardians_by_phone.get((phones[outcome.index], fold(name)))
        if on_record is None:
            continue
        schools = linked_schools.get(on_record.id, set())
        mine = any(s is not None and caller.may_write_school(s) for s in schools)
        attaching = not mine and not caller.department_wide
        if attaching and not same_identity(
            stored_name=on_record.full_name,
            stored_birth_date=None,
            sent_name=name,
            sent_birth_date=None,
        ):
            outcome.errors.append(problem(Code.IDENTITY_MISMATCH, field="guardian"))
            continue
        if any(s is None or not caller.may_write_school(s) for s in schools):
            if identity_changes(
                stored={"full_name": on_record.full_name}, sent={"full_name": name}
            ):
                outcome.errors.append(
                    problem(Code.IDENTITY_HELD_ELSEWHERE, field="guardian.fullName")
                )
                continue
            held_elsewhere.add(on_record.id)
            sent_phone = phones[outcome.index]
            if on_record.phone is not None and sent_phone not in (None, on_record.phone):
                outcome.warnings.append(
                    problem(Code.IDENTITY_HELD_ELSEWHERE, field="guardian.phone")
                )

    def find_guardian(index: int) -> models.Guardian:
        row = rows[index]
        name, phone = guardian_names[index], phones[index]
        if row.guardian.personal_id:
            guardian = guardians_by_id.get(row.guardian.personal_id)
        else:
            guardian = guardians_by_phone.get((phone, fold(name)))
        if guardian is None:
            guardian = models.Guardian(
                personal_id=row.guardian.personal_id, full_name=name, phone=phone
            )
            session.add(guardian)
            if row.guardian.personal_id:
                guardians_by_id[row.guardian.personal_id] = guardian
            else:
                guardians_by_phone[(phone, fold(name))] = guardian
        elif guardian.id not in held_elsewhere:
            if identity_changes(stored={"full_name": guardian.full_name}, sent={"full_name": name}):
                for verified in verified_links.get(guardian.id, []):
                    clear_verification(verified, "GUARDIAN_RENAMED")
            _assign(guardian, {"full_name": name, "phone": phone or guardian.phone})
        return guardian

    def apply(outcome: RowOutcome) -> models.Student:
        row = rows[outcome.index]
        student = students[row.student_personal_id]
        guardian = find_guardian(outcome.index)
        link = links.get((student.id, guardian.id)) if guardian.id else None
        if row.remove:
            if link is None:
                outcome.status = RowStatus.UNCHANGED
            else:
                session.sync_session.delete(link)
                links.pop((student.id, guardian.id))
                outcome.status = RowStatus.DELETED
            return student
        # ``row.verified`` is a vendor's say-so: ignored (hub.guardians.verification).
        relation = GuardianRelation(row.relation)
        if link is None:
            link = models.GuardianLink(student_id=student.id, guardian=guardian, relation=relation)
            session.add(link)
            if guardian.id:
                links[(student.id, guardian.id)] = link
            outcome.status = RowStatus.CREATED
        elif link.relation != relation:
            clear_verification(link, "RELATION_CHANGED")
            link.relation = relation
            outcome.status = RowStatus.UPDATED
        else:
            outcome.status = RowStatus.UPDATED if session.is_modified(link) else RowStatus.UNCHANGED
        return student

    await write_rows(session, outcomes, apply, careful=careful)
    return outcomes


async def withdraw_students(
    session: AsyncSession,
    caller: Caller,
    rows: Sequence[Any],
    *,
    careful: bool = False,
) -> list[RowOutcome]:
    """Pupils leaving the caller's school (moved away, withdrawn).

    The pupil then belongs to no school until the next one takes them with their
    identity on record; this year's class place is given up; transcripts already
    made stay with the school that made them. The school sees the pupil leave in its
    change feed.
    """
    caller.require("students:write")
    check_batch_size(rows)
    outcomes = [
        RowOutcome(index=i, key=row.personal_id, type_name="Student") for i, row in enumerate(rows)
    ]
    _mark_duplicates(outcomes, (row.personal_id for row in rows), "personalId")
    students = await _writable_students(session, caller, {row.personal_id for row in rows})
    for row, outcome in zip(rows, outcomes, strict=True):
        if outcome.ok and row.personal_id not in students:
            outcome.errors.append(
                problem(Code.STUDENT_NOT_FOUND, field="personalId", key=row.personal_id)
            )
    current_year = await session.scalar(
        select(models.SchoolYear).where(models.SchoolYear.is_current)
    )
    places: dict[int, models.Enrolment] = {}
    if current_year is not None and students:
        for enrolment in await session.scalars(
            select(models.Enrolment).where(
                models.Enrolment.student_id.in_([s.id for s in students.values()]),
                models.Enrolment.school_year_id == current_year.id,
            )
        ):
            places[enrolment.student_id] = enrolment

    def apply(outcome: RowOutcome) -> models.Student:
        student = students[rows[outcome.index].personal_id]
        place = places.pop(student.id, None)
        if place is not None:
            session.sync_session.delete(place)
        student.school_id = None
        outcome.status = RowStatus.DELETED
        return student

    await write_rows(session, outcomes, apply, careful=careful)
    return outcomes
