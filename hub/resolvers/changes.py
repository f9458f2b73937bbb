"""The change feed: what changed after a version, including deletions."""

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from hub.auth.access import read_scope_for, restrict
from hub.db import models
from hub.db.changes import certificate_key, guardian_link_key, staff_key, student_key
from hub.resolvers.context import Context
from hub.resolvers.loaders import fetch


@dataclass(frozen=True)
class ChangeRecord:
    version: int
    entity: str
    deleted: bool
    natural_key: dict[str, Any]
    row: Any  # the changed row; for a guardian link, its student; None when deleted


def _key_and_node(entity: str, row: Any) -> tuple[dict[str, Any], Any]:
    if entity == "student":
        return student_key(row), row
    if entity == "staff":
        return staff_key(row), row
    if entity == "guardianLink":
        return guardian_link_key(row.student, row.guardian), row.student
    return certificate_key(row), row


TRACKED: dict[str, type] = {
    "student": models.Student,
    "staff": models.Staff,
    "guardianLink": models.GuardianLink,
    "certificate": models.SigningCertificate,
}


async def changes_since(ctx: Context, *, since: int, first: int) -> list[ChangeRecord]:
    """Up to ``first`` changes with version > ``since``, oldest first.

    Only the kinds of record the caller may read are included, and only rows in
    its organisation, deletions included.
    """
    ctx.caller.require("changes:read")
    records: list[ChangeRecord] = []
    for entity, model in TRACKED.items():
        scope = read_scope_for(model)
        if scope is not None and not ctx.caller.has(scope):
            continue
        statement = (
            select(model)
            .where(model.change_version > since)  # type: ignore[attr-defined]
            .order_by(model.change_version)  # type: ignore[attr-defined]
            .limit(first)
        )
        if model is models.GuardianLink:
            statement = statement.options(
                joinedload(models.GuardianLink.guardian), joinedload(models.GuardianLink.student)
            )
        for row in await fetch(ctx, model, statement):
            key, node_row = _key_and_node(entity, row)
            records.append(ChangeRecord(row.change_version, entity, False, key, node_row))
    visible_kinds = [
        entity
        for entity, model in TRACKED.items()
        if (scope := read_scope_for(model)) is None or ctx.caller.has(scope)
    ]
    tombstones = await ctx.reader.rows(
        restrict(
            select(
                models.Tombstone.change_version,
                models.Tombstone.entity,
                models.Tombstone.natural_key,
            )
            .where(
                models.Tombstone.change_version > since,
                models.Tombstone.entity.in_(visible_kinds),
            )
            .distinct()
            .order_by(models.Tombstone.change_version)
            .limit(first),
            models.Tombstone,
            ctx.caller,
        )
    )
    records += [
        ChangeRecord(version, entity, True, json.loads(key), None)
        for version, entity, key in tombstones
    ]
    records.sort(key=lambda record: record.version)
    return records[:first]
