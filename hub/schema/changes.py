"""The change feed in the GraphQL schema: every change after a version, deletions included."""

from enum import StrEnum
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from hub.db import changes as db_changes
from hub.db import models
from hub.domain.personal_data import Kind, present
from hub.resolvers.changes import changes_since
from hub.resolvers.context import context_of
from hub.resolvers.lookahead import merge_fields
from hub.schema.nodes import NODE_TYPES, shape
from hub.schema.pagination import First, page_size
from hub.schema.transcripts import Transcript


@strawberry.enum(description="Loại thay đổi")
class ChangeOperation(StrEnum):
    UPSERT = "UPSERT"
    DELETE = "DELETE"
    LEFT = "LEFT"  # the record left the school (a pupil moved or withdrew, a teacher left)


_OPERATIONS = {
    db_changes.UPSERTED: ChangeOperation.UPSERT,
    db_changes.DELETED: ChangeOperation.DELETE,
    db_changes.LEFT: ChangeOperation.LEFT,
}
#: The node a change carries, by the changed row's model.
_FEED_NODES: dict[type, Any] = {**NODE_TYPES, models.Transcript: Transcript}


@strawberry.type(description="Một thay đổi trong nguồn thay đổi")
class Change:
    version: int = strawberry.field(description="Phiên bản thay đổi (tăng dần)")
    entity: str = strawberry.field(
        description="student | staff | guardianLink | certificate | transcript"
    )
    operation: ChangeOperation
    natural_key: JSON = strawberry.field(description="Khóa tự nhiên (dùng được cả khi đã xóa)")
    node: relay.Node | None = strawberry.field(
        description="Bản ghi hiện tại (với guardianLink: học sinh); null nếu đã xóa"
    )


@strawberry.type(description="Một trang của nguồn thay đổi")
class ChangeFeed:
    changes: list[Change]
    next_since: int = strawberry.field(description="Gửi lại giá trị này làm `since` lần sau")
    has_more: bool


@strawberry.type
class ChangeQueries:
    @strawberry.field(description="Nguồn thay đổi để đồng bộ: mọi thay đổi sau phiên bản `since`")
    async def changes(self, info: Info, since: int = 0, first: First = None) -> ChangeFeed:
        ctx = context_of(info)
        size = page_size(ctx, first)
        records = await changes_since(ctx, since=since, first=size + 1)
        has_more = len(records) > size
        records = records[:size]
        nodes = [
            None if r.model is None else _FEED_NODES[r.model].from_row(r.row, ctx) for r in records
        ]
        feed = merge_fields([s for f in info.selected_fields for s in f.selections], "ChangeFeed")
        changes = merge_fields(feed.get("changes", []), "Change")
        await shape(ctx, nodes, changes.get("node", []))
        return ChangeFeed(
            changes=[
                Change(
                    version=r.version,
                    entity=r.entity,
                    operation=_OPERATIONS[r.operation],
                    natural_key=present(ctx.caller.scopes, Kind.DOCUMENT, r.natural_key),
                    node=node,
                )
                for r, node in zip(records, nodes, strict=True)
            ],
            next_since=records[-1].version if records else since,
            has_more=has_more,
        )
