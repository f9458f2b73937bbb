"""Cursor connections with total counts, paged by key (not by offset).

Keyset paging keeps page 1,000 of 2.3 million students as cheap as page 1; the
cursor is the last row's id, opaque to clients.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from sqlalchemy import Select, func, select
from strawberry import relay
from strawberry.relay.utils import from_base64, to_base64
from strawberry.types import Info

from hub.auth.access import restrict
from hub.domain.problems import Code, HubError
from hub.resolvers.context import Context, context_of
from hub.resolvers.ids import INT32_MAX, database_key, key_max, quoted
from hub.resolvers.loaders import fetch
from hub.resolvers.lookahead import connection_nodes
from hub.schema.nodes import shape

NodeType = TypeVar("NodeType", bound=relay.Node)
_CURSOR_PREFIX = "after"

#: The ``first`` argument of every paged list.
First = Annotated[int | None, strawberry.argument(description="Số bản ghi mỗi trang (≤ 500)")]


@strawberry.type(description="Một trang kết quả (Relay connection)")
class Connection(relay.Connection[NodeType], Generic[NodeType]):
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="Tổng số bản ghi khớp bộ lọc (mọi trang)")
    async def total_count(self) -> int:
        return await self.count()

    @strawberry.field(description="Các bản ghi của trang (không kèm cursor)")
    def nodes(self) -> list[NodeType]:
        return [edge.node for edge in self.edges]


def first_refused(first: int, page_size_max: int) -> dict[str, Any] | None:
    """INVALID_ARGUMENT's details when ``first`` is outside 1..``page_size_max``."""
    if 1 <= first <= page_size_max:
        return None
    return {
        "detail": f"first phải nằm trong khoảng 1–{page_size_max} (đã gửi {first})",
        "details_en": {"detail": f"first must be within 1–{page_size_max} ({first} sent)"},
    }


def check_first(first: int, page_size_max: int) -> int:
    """``first`` of any list field: 1..``page_size_max`` or INVALID_ARGUMENT.

    :mod:`hub.schema.guards` applies it to every ``first`` of a request before it
    runs; resolvers apply it again where they use the value.
    """
    refused = first_refused(first, page_size_max)
    if refused is not None:
        raise HubError(Code.INVALID_ARGUMENT, **refused)
    return first


def page_size(ctx: Context, first: int | None) -> int:
    """The requested page size, refusing what the hub will not serve."""
    if first is None:
        return ctx.settings.page_size_default
    return check_first(first, ctx.settings.page_size_max)


def decode_cursor(cursor: str, model: type | None = None) -> int:
    """The last row's id inside a cursor; INVALID_ID when it is not one of ours."""
    try:
        prefix, value = from_base64(cursor)
    except ValueError:
        prefix, value = "", ""
    if prefix != _CURSOR_PREFIX:
        raise HubError(Code.INVALID_ID, field=quoted(cursor))
    return database_key(value, INT32_MAX if model is None else key_max(model), shown=cursor)


async def paginate(
    info: Info,
    *,
    model: type,
    statement: Select[Any],
    build: Callable[[Any, Context], Any],
    first: int | None,
    after: str | None,
) -> Connection[Any]:
    """One page of ``statement`` (already filtered) as ``build(row, ctx)`` nodes.

    The nodes come back shaped: every relation the query selects on them is
    prefetched (see :mod:`hub.resolvers.lookahead`).
    """
    ctx = context_of(info)
    size = page_size(ctx, first)
    key = model.id  # type: ignore[attr-defined]
    paged = statement
    if after is not None:
        paged = paged.where(key > decode_cursor(after, model))
    rows = await fetch(ctx, model, paged.order_by(key).limit(size + 1))
    has_next = len(rows) > size
    rows = rows[:size]
    nodes = [build(row, ctx) for row in rows]
    if nodes:
        selections = [s for field in info.selected_fields for s in field.selections]
        await shape(ctx, nodes, connection_nodes(selections, type(nodes[0]).__name__))
    edges = [
        relay.Edge(cursor=to_base64(_CURSOR_PREFIX, row.id), node=node)
        for row, node in zip(rows, nodes, strict=True)
    ]

    async def count() -> int:
        counted = restrict(statement, model, ctx.caller).order_by(None)
        total = await ctx.reader.scalar(select(func.count()).select_from(counted.subquery()))
        return int(total or 0)

    return Connection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=has_next,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count=count,
    )
