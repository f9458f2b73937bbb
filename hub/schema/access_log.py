"""The access log in the GraphQL schema: who read a student's record, when, and why."""

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import select
from strawberry import relay
from strawberry.types import Info

from hub.db import models
from hub.domain.certificates import as_utc
from hub.domain.personal_data import Kind, present
from hub.resolvers import queries
from hub.resolvers.context import Context
from hub.schema.pagination import Before, Connection, First, Last, paginate


@strawberry.type(description="Một lần đọc/ghi hồ sơ cá nhân (nhật ký truy cập)")
class AccessLogEntry:
    at: datetime
    client_id: str = strawberry.field(description="Ứng dụng đã truy cập")
    action: str
    item: str | None = strawberry.field(
        description="Phần hồ sơ đã đọc: record (hồ sơ), transcript (học bạ), document (tệp học bạ)…"
    )
    purpose: str | None = strawberry.field(description="Mục đích khai báo")
    personal_id: str | None = strawberry.field(
        description="Người mà ứng dụng thay mặt (mã định danh; che trừ 4 số cuối nếu không cần)"
    )
    consent_id: relay.GlobalID | None = strawberry.field(
        description="Sự đồng ý mà đơn vị tuyển sinh đã dựa vào"
    )

    @classmethod
    def from_row(cls, row: Any, ctx: Context) -> "AccessLogEntry":
        return cls(
            at=as_utc(row.at),
            client_id=row.client_id,
            action=row.action,
            item=row.item,
            purpose=row.purpose,
            personal_id=present(ctx.caller.scopes, Kind.PERSONAL_ID, row.person),
            consent_id=None
            if row.consent_id is None
            else relay.GlobalID("Consent", str(row.consent_id)),
        )


@strawberry.type
class AccessLogQueries:
    # strawberry types its Connection for relay Nodes only; it pages an entry (no id) as well.
    @strawberry.field(
        description="Ai đã truy cập hồ sơ của một học sinh (RULES §6), theo thứ tự thời gian"
    )
    async def student_access_log(
        self,
        info: Info,
        student_id: relay.GlobalID,
        first: First = None,
        after: str | None = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[AccessLogEntry]:  # type: ignore[type-var]
        statement = select(models.AccessLog).where(
            models.AccessLog.entity == "student",
            models.AccessLog.entity_id == queries.node_key(student_id, "Student"),
        )
        return await paginate(
            info,
            model=models.AccessLog,
            statement=statement,
            build=AccessLogEntry.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )
