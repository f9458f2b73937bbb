"""The change feed: what changed after a version, including deletions."""

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from hub.auth.access import Caller, read_scope_for, restrict
from hub.db import models
from hub.db.changes import (
    UPSERTED,
    guardian_link_key,
    natural_key,
    transcript_key,
)
from hub.resolvers.context import Context
from hub.resolvers.loaders import fetch


@dataclass(frozen=True)
class ChangeRecord:
    version: int
    entity: str
    operation: str  # UPSERTED, or a tombstone's: DELETED, LEFT
    natural_key: dict[str, Any]
    model: type | None  # the row's model; for a guardian link, Student
    row: Any  # the changed row; for a guardian link, its student; None for a tombstone


TRACKED: dict[str, type[Any]] = {
    "student": models.Student,
    "staff": models.Staff,
    "guardianLink": models.GuardianLink,
    "certificate": models.SigningCertificate,
}


def feed_kinds(caller: Caller) -> list[str]:
    """The kinds of change ``caller`` reads in the feed: the tracked records it may read,
    and published transcripts with ``transcripts:read``."""
    kinds = [
        entity
        for entity, model in TRACKED.items()
        if (scope := read_scope_for(model)) is None or caller.has(scope)
    ]
    return [*kinds, "transcript"] if caller.has("transcripts:read") else kinds


async def _guardian_link_changes(ctx: Context, since: int, first: int) -> list[ChangeRecord]:
    link, student, guardian = models.GuardianLink, models.Student, models.Guardian
    rows = await ctx.reader.rows(
        restrict(
            select(
                link.change_version,
                link.student_id,
                student.personal_id.label("student_personal_id"),
                guardian.personal_id.label("guardian_personal_id"),
                guardian.phone.label("guardian_phone"),
            )
            .join(student, student.id == link.student_id)
            .join(guardian, guardian.id == link.guardian_id)
            .where(link.change_version > since)
            .order_by(link.change_version)
            .limit(first),
            link,
            ctx.caller,
        )
    )
    students = await ctx.loaders.by_id(student).load_many([row.student_id for row in rows])
    return [
        ChangeRecord(
            row.change_version,
            "guardianLink",
            UPSERTED,
            guardian_link_key(
                row.student_personal_id, row.guardian_personal_id, row.guardian_phone
            ),
            student,
            owner,
        )
        for row, owner in zip(rows, students, strict=True)
    ]


async def changes_since(ctx: Context, *, since: int, first: int) -> list[ChangeRecord]:
    """Up to ``first`` changes with version > ``since``, oldest first.

    Only the kinds of record the caller may read are included, and only rows in
    its organisation, deletions included.
    """
    ctx.caller.require("changes:read")
    kinds = feed_kinds(ctx.caller)
    records: list[ChangeRecord] = []
    for entity in kinds:
        if entity == "transcript":
            records += await _transcript_changes(ctx, since, first)
            continue
        if entity == "guardianLink":
            records += await _guardian_link_changes(ctx, since, first)
            continue
        model = TRACKED[entity]
        version = model.change_version
        statement = select(model).where(version > since).order_by(version).limit(first)
        for row in await fetch(ctx, model, statement):
            records.append(
                ChangeRecord(
                    row.change_version, entity, UPSERTED, natural_key(entity, row), model, row
                )
            )
    tombstone = models.Tombstone
    deleted = await ctx.reader.rows(
        restrict(
            select(
                tombstone.change_version,
                tombstone.entity,
                tombstone.natural_key,
                tombstone.operation,
            )
            .where(tombstone.change_version > since, tombstone.entity.in_(kinds))
            .distinct()
            .order_by(tombstone.change_version)
            .limit(first),
            tombstone,
            ctx.caller,
        )
    )
    records += [
        ChangeRecord(version, entity, operation, json.loads(key), None, None)
        for version, entity, key, operation in deleted
    ]
    records.sort(key=lambda record: record.version)
    records = records[:first]
    return records


async def _transcript_changes(ctx: Context, since: int, first: int) -> list[ChangeRecord]:
    """Transcripts published, or superseded by a correction, after ``since``."""
    transcript, student = models.Transcript, models.Student
    statement = (
        select(transcript)
        .where(transcript.change_version > since)
        .order_by(transcript.change_version)
        .limit(first)
    )
    rows = await fetch(ctx, transcript, statement)
    # The personal ID printed on the transcript, wherever the pupil is now.
    printed = dict(
        await ctx.reader.rows(
            select(student.id, student.personal_id).where(
                student.id.in_({row.student_id for row in rows})
            )
        )
        if rows
        else []
    )
    return [
        ChangeRecord(
            row.change_version,
            "transcript",
            UPSERTED,
            transcript_key(row, printed.get(row.student_id)),
            transcript,
            row,
        )
        for row in rows
    ]
