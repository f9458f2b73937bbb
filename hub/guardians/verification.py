"""Verifying guardian ↔ pupil links: at the population database, or by an officer in person.

Only a verified link lets a guardian act for the child (:func:`hub.auth.people.load_person`),
and only this module verifies one (:mod:`hub.domain.guardians`): :func:`verify_links` asks
the population database about a school's links, :func:`record_in_person_check` records
that an officer of the school saw the family's papers. A vendor's write never does, and
changing what a verification rests on clears it (:func:`clear_verification`).

What each link's ``verification`` holds:

- from the population database, its last answer and when it came:
  ``{"answer": "MATCHED" | "MISMATCHED" | "UNKNOWN" | "UNREACHABLE", "at": …}``; an
  UNREACHABLE link is left as it was and asked again by the next run;
- a link the population database cannot answer about (no personal ID, a relation it
  does not record): ``{"inPersonOnly": <why>, "at": …}``;
- an officer's check: ``{"check": "IN_PERSON", "staffId", "officer", "role", "papers",
  "note", "clientId", "at"}`` — what the officer saw, written down; never an image of
  an ID card (IDENTITY.md: sensitive data the hub does not keep);
- a verification a vendor's change undid: ``{"cleared": <why>, "at": …}``.

Every write is a tracked write (the change feed publishes the link) and is logged
against the pupil and the guardian in the access log, naming the client and the person.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.adapters.population.client import PopulationClient
from hub.adapters.population.protocol import RelationshipQuery
from hub.auth.access import Caller, restrict
from hub.db import models
from hub.domain.enums import GuardianCheck, RelationshipAnswer
from hub.domain.guardians import (
    POPULATION_RELATION,
    LinkCheck,
    in_person_checker_role,
    outcome_of,
    population_cannot_check,
)
from hub.domain.problems import Code, HubError, Problem, problem
from hub.domain.text import COMMENT_LIMIT, clean_text

#: Pupils one request may ask about (as many as one vendor write's rows).
MAX_STUDENTS = 1_000
#: What the access log says the processing was for.
POPULATION_PURPOSE = "xác thực quan hệ cha mẹ/người giám hộ với CSDL quốc gia về dân cư"
IN_PERSON_PURPOSE = "ghi nhận kiểm tra trực tiếp giấy tờ quan hệ cha mẹ/người giám hộ"
#: The papers an officer names: one line, like the column of a document number.
PAPERS_LIMIT = 300


@dataclass(frozen=True)
class CheckedLink:
    """What verifying one link came to."""

    link_id: int
    student_id: int
    outcome: LinkCheck

    @property
    def problem(self) -> Problem | None:
        """Why the link is not verified (a stable code), None when it is."""
        if self.outcome.verified:
            return None
        if self.outcome is LinkCheck.UNREACHABLE:
            return problem(Code.POPULATION_UNAVAILABLE)
        return problem(Code.GUARDIAN_NOT_VERIFIED)


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).isoformat()


def _log(
    session: AsyncSession,
    caller: Caller,
    links: Iterable[tuple[int, int]],
    purpose: str,
) -> None:
    """Log the processing of each (pupil, guardian) pair against both people."""
    person = caller.person.personal_id if caller.person else None
    people = {(entity, key) for s, g in links for entity, key in (("student", s), ("guardian", g))}
    session.add_all(
        models.AccessLog(
            client_id=caller.client_id,
            person=person,
            action="write",
            entity=entity,
            entity_id=key,
            item="guardians",
            purpose=purpose,
        )
        for entity, key in sorted(people)
    )


async def verify_links(
    session: AsyncSession,
    *,
    population: PopulationClient,
    caller: Caller,
    student_ids: Sequence[int],
    now: datetime | None = None,
) -> list[CheckedLink]:
    """Ask the population database about the guardian links of ``student_ids``.

    Only pupils of schools the caller may write are asked about (others are left out,
    as if they did not exist). A link already verified stays so without asking; a link
    the database cannot answer about is marked for an in-person check. MATCHED verifies
    a link; MISMATCHED and UNKNOWN leave it unverified with the answer recorded;
    UNREACHABLE changes nothing but the record of the attempt.
    """
    caller.require("students:write")
    if len(student_ids) > MAX_STUDENTS:
        raise HubError(Code.BATCH_TOO_LARGE, limit=MAX_STUDENTS, count=len(student_ids))
    now = now or datetime.now(UTC)
    link, student, guardian = models.GuardianLink, models.Student, models.Guardian
    rows = (
        await session.execute(
            restrict(
                select(
                    link.id,
                    link.student_id,
                    link.guardian_id,
                    link.relation,
                    link.verified,
                    student.school_id,
                    student.personal_id.label("student_personal_id"),
                    guardian.personal_id.label("guardian_personal_id"),
                )
                .join(student, student.id == link.student_id)
                .join(guardian, guardian.id == link.guardian_id)
                .where(link.student_id.in_(set(student_ids)))
                .order_by(link.id),
                models.GuardianLink,
                caller,
            )
        )
    ).all()
    rows = [row for row in rows if caller.may_write_school(row.school_id)]
    outcomes: dict[int, LinkCheck] = {}
    cannot: dict[int, str] = {}
    queries: list[RelationshipQuery] = []
    for row in rows:
        if row.verified:
            outcomes[row.id] = LinkCheck.VERIFIED
            continue
        why = population_cannot_check(
            student_personal_id=row.student_personal_id,
            guardian_personal_id=row.guardian_personal_id,
            relation=row.relation,
        )
        if why is not None:
            outcomes[row.id], cannot[row.id] = LinkCheck.IN_PERSON_ONLY, why.value
            continue
        queries.append(
            {
                "ref": str(row.id),
                "childPersonalId": row.student_personal_id,
                "guardianPersonalId": row.guardian_personal_id,
                "relation": POPULATION_RELATION[row.relation],
            }
        )
    answers = await population.verify_relationships(queries) if queries else {}
    asked = {row.id: row for row in rows if row.id in cannot or str(row.id) in answers}
    written: list[tuple[int, int]] = []
    if asked:
        # Read again and locked: a link that changed while the database was asked keeps
        # its state and is asked again next time.
        for current in await session.scalars(
            select(link).where(link.id.in_(list(asked))).with_for_update()
        ):
            sent = asked[current.id]
            if current.verified or current.relation != sent.relation:
                outcomes[current.id] = (
                    LinkCheck.VERIFIED if current.verified else LinkCheck.UNREACHABLE
                )
                continue
            if current.id in cannot:
                if (current.verification or {}).get("inPersonOnly") == cannot[current.id]:
                    continue  # already marked: nothing new to write
                current.verification = {"inPersonOnly": cannot[current.id], "at": _stamp(now)}
            else:
                answer = answers[str(current.id)]
                outcomes[current.id] = _record_answer(current, answer, now)
            written.append((current.student_id, current.guardian_id))
    _log(session, caller, written, POPULATION_PURPOSE)
    return [
        CheckedLink(link_id=row.id, student_id=row.student_id, outcome=outcomes[row.id])
        for row in rows
    ]


def _record_answer(
    link: models.GuardianLink, answer: RelationshipAnswer, now: datetime
) -> LinkCheck:
    link.verification = {"answer": answer.value, "at": _stamp(now)}
    outcome = outcome_of(answer)
    if outcome.verified:
        link.verified, link.verified_by, link.verified_at = True, GuardianCheck.POPULATION, now
    elif outcome is not LinkCheck.UNREACHABLE:
        link.verified, link.verified_by, link.verified_at = False, None, None
    return outcome


async def record_in_person_check(
    session: AsyncSession,
    *,
    caller: Caller,
    link_id: int,
    papers: str,
    note: str | None = None,
    now: datetime | None = None,
) -> models.GuardianLink:
    """Record that the signed-in officer checked the link's family papers in person.

    The caller must act for a person (a person-bound token or a session): a program
    on its own has no one to answer for the check (FORBIDDEN). The link must be one of
    a pupil the caller may write (GUARDIAN_LINK_NOT_FOUND otherwise, whether it exists
    or not), and the person must be one who may check it
    (:func:`hub.domain.guardians.in_person_checker_role`: FORBIDDEN otherwise).
    ``papers`` names what the officer saw (e.g. "Giấy khai sinh số 123/2014"); no
    image is ever kept.
    """
    person = caller.person
    if person is None:
        raise HubError(
            Code.FORBIDDEN,
            scope="kiểm tra trực tiếp phải do cán bộ nhà trường đăng nhập ghi nhận",
            details_en={"scope": "an in-person check is recorded by a signed-in school officer"},
        )
    caller.require("students:write")
    cleaned_papers = clean_text(papers, field="papers", limit=PAPERS_LIMIT, required=True)
    cleaned_note = clean_text(note, field="note", limit=COMMENT_LIMIT, multiline=True)
    refused = [*cleaned_papers.problems, *cleaned_note.problems]
    if refused:
        raise HubError.of(refused[0])
    enrolment = (
        select(models.Enrolment.class_id)
        .join(models.SchoolYear, models.SchoolYear.id == models.Enrolment.school_year_id)
        .where(
            models.Enrolment.student_id == models.GuardianLink.student_id,
            models.SchoolYear.is_current.is_(True),
        )
        .scalar_subquery()
    )
    row = (
        await session.execute(
            restrict(
                select(models.GuardianLink, models.Student.school_id, enrolment.label("class_id"))
                .join(models.Student, models.Student.id == models.GuardianLink.student_id)
                .where(models.GuardianLink.id == link_id)
                .with_for_update(of=models.GuardianLink),
                models.GuardianLink,
                caller,
            )
        )
    ).first()
    if row is None or not caller.may_write_school(row.school_id):
        raise HubError(Code.GUARDIAN_LINK_NOT_FOUND)
    role = in_person_checker_role(person, school_id=row.school_id, class_id=row.class_id)
    if role is None:
        raise HubError(
            Code.FORBIDDEN,
            scope="chỉ hiệu trưởng, phó hiệu trưởng hoặc GVCN của học sinh",
            details_en={
                "scope": "only the principal, a vice-principal or the pupil's homeroom teacher"
            },
        )
    link: models.GuardianLink = row[0]
    now = now or datetime.now(UTC)
    link.verified, link.verified_by, link.verified_at = True, GuardianCheck.IN_PERSON, now
    link.verification = {
        "check": GuardianCheck.IN_PERSON.value,
        "staffId": person.staff_id,
        "officer": person.full_name,
        "role": role.value,
        "papers": cleaned_papers.value,
        "note": cleaned_note.value,
        "clientId": caller.client_id,
        "at": _stamp(now),
    }
    _log(session, caller, [(link.student_id, link.guardian_id)], IN_PERSON_PURPOSE)
    return link


def clear_verification(link: models.GuardianLink, why: str, now: datetime | None = None) -> None:
    """Unverify ``link`` because what its verification rested on changed (``why``)."""
    if not link.verified:
        return
    link.verified, link.verified_by, link.verified_at = False, None, None
    link.verification = {"cleared": why, "at": _stamp(now or datetime.now(UTC))}
