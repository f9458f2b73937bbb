"""How far the signing of the school year has got: transcripts by state (issue 12, part 4).

:func:`signing_progress` is the one place the department's signing figures come from:
the current version of each transcript of the current school year, counted by its
state (:class:`~hub.domain.lifecycle.TranscriptState`) for each district, school or
class the caller reaches. It is one GROUP BY over the transcripts, so that a province
of two million pupils can later have it read from a pre-aggregated table instead,
without any page changing.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select

from hub.auth.access import restrict_to
from hub.db import models
from hub.domain import lifecycle
from hub.domain.lifecycle import TranscriptState
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
    ``district_id`` and ``school_id`` keep one district's or one school's.

    Only for callers holding ``reports:read``; a district office's officer counts the
    schools of their district only (:func:`hub.auth.access.restrict_to`).
    """
    ctx.caller.require("reports:read")
    transcript, school = models.Transcript, models.School
    keys: dict[ProgressGrouping, Any] = {
        ProgressGrouping.DISTRICT: school.district_id,
        ProgressGrouping.SCHOOL: transcript.school_id,
        ProgressGrouping.CLASS: transcript.class_id,
    }
    key = keys[by].label("key")
    current_year = select(models.SchoolYear.id).where(models.SchoolYear.is_current.is_(True))
    statement = (
        select(key, transcript.state, func.count())
        .select_from(transcript)
        .join(school, school.id == transcript.school_id)
        .where(transcript.is_current.is_(True), transcript.school_year_id.in_(current_year))
        .group_by(key, transcript.state)
    )
    statement = restrict_to(statement, school, ctx.caller.school_ids)
    if district_id is not None:
        statement = statement.where(school.district_id == district_id)
    if school_id is not None:
        statement = statement.where(transcript.school_id == school_id)
    counts: dict[int, dict[TranscriptState, int]] = {}
    for group, state, count in await ctx.reader.rows(statement):
        row = counts.setdefault(group, dict.fromkeys(TranscriptState, 0))
        row[TranscriptState(state)] += count
    return [SigningProgress(group, row) for group, row in sorted(counts.items())]


def total_of(figures: list[SigningProgress]) -> SigningProgress:
    """The rows added up (the table's total line)."""
    return sum(figures, SigningProgress(None))
