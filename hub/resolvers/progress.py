"""How far the signing of the school year has got: transcripts by state (issue 12, part 4).

:func:`signing_progress` is the one place the department's signing figures come from:
the current version of each transcript of the current school year, counted by its
state (:class:`~hub.domain.lifecycle.TranscriptState`) for each district, school or
class the caller reaches. Districts and schools are read from the database's signing
tallies (``hub.db.tallies``: counts the transcripts' own triggers keep), not from a
province's two million transcripts; one school's classes from its transcripts.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import func, select

from hub.auth.access import restrict_to
from hub.db import models
from hub.domain import lifecycle
from hub.domain.lifecycle import TranscriptState
from hub.domain.problems import Code, HubError
from hub.domain.signers import SIGNING_ORDER
from hub.resolvers.context import Context

#: The states in which a transcript carries every signature (homeroom teacher,
#: principal, school seal): signing is done for it.
FULLY_SIGNED = frozenset(
    state for state in TranscriptState if lifecycle.signed_by(state) == SIGNING_ORDER
)


class ProgressGrouping(StrEnum):
    """What one row of the figures stands for."""

    DISTRICT = "DISTRICT"
    SCHOOL = "SCHOOL"
    CLASS = "CLASS"


@dataclass(frozen=True)
class SigningProgress:
    """The transcripts of one district, school or class (``key``: its id; None for a
    sum of rows) by state, every state present (zero or not)."""

    key: int | None
    counts: Mapping[TranscriptState, int] = field(
        default_factory=lambda: dict.fromkeys(TranscriptState, 0)
    )

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def fully_signed(self) -> int:
        """Transcripts with all three signatures on them (sealed or published)."""
        return sum(count for state, count in self.counts.items() if state in FULLY_SIGNED)

    @property
    def ratio(self) -> float:
        """The share of the transcripts fully signed (0 without transcripts)."""
        return 0.0 if self.total == 0 else self.fully_signed / self.total

    def __add__(self, other: "SigningProgress") -> "SigningProgress":
        return SigningProgress(
            None, {state: self.counts[state] + other.counts[state] for state in TranscriptState}
        )


async def signing_progress(
    ctx: Context,
    by: ProgressGrouping,
    *,
    district_id: int | None = None,
    school_id: int | None = None,
) -> list[SigningProgress]:
    """The current school year's transcripts (their current versions) by state, a row per
    district, school or class (``by``) that has any, within the caller's reach;
    ``district_id`` and ``school_id`` keep one district's or one school's. Classes are
    counted one school at a time (``school_id`` is required with ``CLASS``).

    Only for callers holding ``reports:read``; a district office's officer counts the
    schools of their district only (:func:`hub.auth.access.restrict_to`).
    """
    ctx.caller.require("reports:read")
    school = models.School
    current_year = select(models.SchoolYear.id).where(models.SchoolYear.is_current.is_(True))
    if by is ProgressGrouping.CLASS:
        if school_id is None:
            raise HubError(Code.INVALID_ARGUMENT, detail="schoolId")
        # One school's transcripts, from the rows: a few hundred, through the
        # (school, year, state) index.
        transcript = models.Transcript
        key = transcript.class_id.label("key")
        statement = (
            select(key, transcript.state, func.count())
            .join(school, school.id == transcript.school_id)
            .where(transcript.is_current.is_(True), transcript.school_year_id.in_(current_year))
            .where(transcript.school_id == school_id)
            .group_by(key, transcript.state)
        )
    else:
        tally = models.SigningTally
        key = (school.district_id if by is ProgressGrouping.DISTRICT else tally.school_id).label(
            "key"
        )
        statement = (
            select(key, tally.state, func.sum(tally.n))
            .join(school, school.id == tally.school_id)
            .where(tally.school_year_id.in_(current_year))
            .group_by(key, tally.state)
        )
        if school_id is not None:
            statement = statement.where(tally.school_id == school_id)
    statement = restrict_to(statement, school, ctx.caller.school_ids)
    if district_id is not None:
        statement = statement.where(school.district_id == district_id)
    counts: dict[int, dict[TranscriptState, int]] = {}
    for group, state, count in await ctx.reader.rows(statement):
        if not count:
            continue
        row = counts.setdefault(group, dict.fromkeys(TranscriptState, 0))
        row[TranscriptState(state)] += int(count)
    return [SigningProgress(group, row) for group, row in sorted(counts.items())]


def total_of(figures: list[SigningProgress]) -> SigningProgress:
    """The rows added up (the table's total line)."""
    return sum(figures, SigningProgress(None))
