"""The change feed: what changed after a version, including deletions."""

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from hub.auth.access import read_scope_for, restrict
from hub.db import models
from hub.db.changes import certificate_key, guardian_link_key, staff_key, student_key
from hub.resolvers.context import Context
from hub.resolvers.loaders import fetch, record_reads


@dataclass(frozen=True)
class ChangeRecord:
    version: int
    entity: str
    deleted: bool
    natural_key: dict[str, Any]
    model: type | None  # the row's model; for a guardian link, Student
    row: Any  # the changed row; for a guardian link, its student; None when deleted


TRACKED: dict[str, type] = {
    "student": models.Student,
    "staff": models.Staff,
    "guardianLink": models.GuardianLink,
    "certificate": models.SigningCertificate,
}
KEYS = {"student": student_key, "staff": staff_key, "certificate": certificate_key}


def _readable(ctx: Context) -> list[str]:
    return [
        entity
        for entity, model in TRACKED.items()
        if (scope := read_scope_for(model)) is None or ctx.caller.has(scope)
    ]


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
            False,
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
    kinds = _readable(ctx)
    records: list[ChangeRecord] = []
    for entity in kinds:
        if entity == "guardianLink":
            records += await _guardian_link_changes(ctx, since, first)
            continue
        model = TRACKED[entity]
        version = model.change_version  # type: ignore[attr-defined]
        statement = select(model).where(version > since).order_by(version).limit(first)
        for row in await fetch(ctx, model, statement, log_reads=False):
            records.append(
                ChangeRecord(row.change_version, entity, False, KEYS[entity](row), model, row)
            )
    tombstone = models.Tombstone
    deleted = await ctx.reader.rows(
        restrict(
            select(tombstone.change_version, tombstone.entity, tombstone.natural_key)
            .where(tombstone.change_version > since, tombstone.entity.in_(kinds))
            .distinct()
            .order_by(tombstone.change_version)
            .limit(first),
            tombstone,
            ctx.caller,
        )
    )
    records += [
        ChangeRecord(version, entity, True, json.loads(key), None, None)
        for version, entity, key in deleted
    ]
    records.sort(key=lambda record: record.version)
    records = records[:first]
    for model in (models.Student, models.Staff):
        record_reads(ctx, model, [r.row for r in records if r.model is model and r.row])
    return records
