"""Cursor connections with total counts, paged by key (not by offset), both ways.

Keyset paging keeps page 1,000 of 2.3 million students as cheap as page 1; the
cursor is a row's id, opaque to clients. ``first``/``after`` pages forward,
``last``/``before`` backward, and both page-info flags are true facts about the list
(see :mod:`hub.resolvers.paging`). Connections under a node (``School.classes``) are
the root list's query restricted to the parent, read for every parent of a page at
once (:func:`paginate_children`).
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from sqlalchemy import Select, func, select
from strawberry import relay
from strawberry.dataloader import DataLoader
from strawberry.relay.utils import from_base64, to_base64
from strawberry.types import Info
from strawberry.types.nodes import Selection

from hub.auth.access import restrict
from hub.domain.problems import Code, HubError
from hub.resolvers import paging
from hub.resolvers.context import Context, context_of
from hub.resolvers.ids import INT32_MAX, database_key, key_max, quoted
from hub.resolvers.loaders import fetch
from hub.resolvers.lookahead import connection_nodes, merge_fields, shape
from hub.resolvers.paging import Window

NodeType = TypeVar("NodeType", bound=relay.Node)
_CURSOR_PREFIX = "after"

#: The ``first`` argument of every paged list.
First = Annotated[int | None, strawberry.argument(description="Số bản ghi mỗi trang (≤ 500)")]
#: The ``last`` argument of every paged list: the page before ``before`` (or the list's end).
Last = Annotated[
    int | None,
    strawberry.argument(description="Số bản ghi cuối cùng (≤ 500), đọc lùi trước before"),
]
#: The ``before`` cursor of every paged list.
Before = Annotated[
    str | None, strawberry.argument(description="Đọc các bản ghi đứng trước cursor này")
]


@strawberry.type(description="Một trang kết quả (Relay connection)")
class Connection(relay.Connection[NodeType], Generic[NodeType]):
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="Tổng số bản ghi khớp bộ lọc (mọi trang)")
    async def total_count(self) -> int:
        return await self.count()

    @strawberry.field(description="Các bản ghi của trang (không kèm cursor)")
    def nodes(self) -> list[NodeType]:
        return [edge.node for edge in self.edges]


def first_refused(first: int, page_size_max: int, name: str = "first") -> dict[str, Any] | None:
    """INVALID_ARGUMENT's details when ``first`` (or ``last``: ``name``) is outside
    1..``page_size_max``."""
    if 1 <= first <= page_size_max:
        return None
    return {
        "detail": f"{name} phải nằm trong khoảng 1–{page_size_max} (đã gửi {first})",
        "details_en": {"detail": f"{name} must be within 1–{page_size_max} ({first} sent)"},
    }


def check_first(first: int, page_size_max: int, name: str = "first") -> int:
    """``first`` of any list field: 1..``page_size_max`` or INVALID_ARGUMENT.

    :mod:`hub.schema.guards` applies it to every ``first`` of a request before it
    runs; resolvers apply it again where they use the value.
    """
    refused = first_refused(first, page_size_max, name)
    if refused is not None:
        raise HubError(Code.INVALID_ARGUMENT, **refused)
    return first


def page_size(ctx: Context, first: int | None, name: str = "first") -> int:
    """The requested page size, refusing what the hub will not serve."""
    if first is None:
        return ctx.settings.page_size_default
    return check_first(first, ctx.settings.page_size_max, name)


def decode_cursor(cursor: str, model: type | None = None) -> int:
    """The last row's id inside a cursor; INVALID_ID when it is not one of ours."""
    try:
        prefix, value = from_base64(cursor)
    except ValueError:
        prefix, value = "", ""
    if prefix != _CURSOR_PREFIX:
        raise HubError(Code.INVALID_ID, field=quoted(cursor))
    return database_key(value, INT32_MAX if model is None else key_max(model), shown=cursor)


def cursor_of(key: int) -> str:
    """The cursor after the row ``key`` (its id; a report row's place in the report)."""
    return to_base64(_CURSOR_PREFIX, key)


def window_of(
    ctx: Context,
    model: type,
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Window:
    """The window a connection's arguments ask for: ``first`` rows (after ``after``) or
    the ``last`` rows (before ``before``), never both."""
    if first is not None and last is not None:
        raise HubError(
            Code.INVALID_ARGUMENT,
            detail="chỉ dùng first (trang tiếp) hoặc last (trang trước), không dùng cả hai",
            details_en={"detail": "use first (forward) or last (backward), not both"},
        )
    return Window(
        size=page_size(ctx, first) if last is None else page_size(ctx, last, "last"),
        after=None if after is None else decode_cursor(after, model),
        before=None if before is None else decode_cursor(before, model),
        backward=last is not None,
    )


def _connection(
    rows: Sequence[Any],
    nodes: Sequence[Any],
    *,
    has_next: bool,
    has_previous: bool,
    count: Callable[[], Awaitable[int]],
) -> Connection[Any]:
    edges = [
        relay.Edge(cursor=cursor_of(row.id), node=node)
        for row, node in zip(rows, nodes, strict=True)
    ]
    return Connection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count=count,
    )


def _selections(info: Info) -> list[Selection]:
    return [s for field in info.selected_fields for s in field.selections]


async def paginate(
    info: Info,
    *,
    model: type,
    statement: Select[Any],
    build: Callable[[Any, Context], Any],
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
) -> Connection[Any]:
    """One page of ``statement`` (already filtered) as ``build(row, ctx)`` nodes.

    The nodes come back shaped: every relation the query selects on them is
    prefetched (see :mod:`hub.resolvers.lookahead`).
    """
    ctx = context_of(info)
    window = window_of(ctx, model, first=first, after=after, last=last, before=before)
    rows, has_next, has_previous = await paging.page(
        ctx, model=model, statement=statement, window=window
    )
    nodes = [build(row, ctx) for row in rows]
    if nodes:
        await shape(ctx, nodes, connection_nodes(_selections(info), type(nodes[0]).__name__))

    async def count() -> int:
        counted = restrict(statement, model, ctx.caller).order_by(None)
        total = await ctx.reader.scalar(select(func.count()).select_from(counted.subquery()))
        return int(total or 0)

    return _connection(rows, nodes, has_next=has_next, has_previous=has_previous, count=count)


async def paginate_children(
    info: Info,
    *,
    parent: int,
    edge: paging.Edge,
    statement: Callable[[], Select[Any]],
    node_type: Any,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Connection[Any]:
    """One page of the children of the node ``parent`` reached by ``edge``
    (``School.classes``): the list ``statement()`` builds, with its filters, restricted
    to the parent.

    Every parent of the page asks at once (GraphQL resolves a list's items together), so
    a data loader per field of the query gathers them and reads all their pages in one
    batch (:func:`hub.resolvers.paging.children`); the children are shaped together, so
    the statements of a request do not grow with the number of parents.
    """
    ctx = context_of(info)
    # One loader per place in the query: the response path without list indices, under
    # one parent type, names one field with one set of arguments (GraphQL validation
    # merges fields of the same response name).
    place = (
        info.path.typename or "",
        tuple(key for key in info.path.as_list() if isinstance(key, str)),
    )
    loader = ctx.loaders.edges.get(place)
    if loader is None:
        window = window_of(ctx, edge.model, first=first, after=after, last=last, before=before)
        selections = _selections(info)
        wanted = merge_fields(selections, f"{node_type.__name__}Connection")

        async def load(parents: list[int]) -> list[Connection[Any]]:
            pages = await paging.children(
                ctx,
                edge=edge,
                statement=statement(),
                parents=parents,
                window=window,
                count="totalCount" in wanted,
            )
            built = {
                key: [node_type.from_row(row, ctx) for row in rows]
                for key, rows in pages.rows.items()
            }
            every = [node for nodes in built.values() for node in nodes]
            if every:
                await shape(ctx, every, connection_nodes(selections, node_type.__name__))
            counts = pages.counts or {}

            def page_of(key: int) -> Connection[Any]:
                async def count() -> int:
                    return counts.get(key, 0)

                return _connection(
                    pages.rows.get(key, []),
                    built.get(key, []),
                    has_next=key in pages.following,
                    has_previous=key in pages.preceding,
                    count=count,
                )

            return [page_of(key) for key in parents]

        loader = ctx.loaders.edges[place] = DataLoader(load_fn=load)
    return await loader.load(parent)


async def lookup(
    info: Info, *, model: type, statement: Select[Any], build: Callable[[Any, Context], Any]
) -> Any:
    """The one row of ``statement`` (a natural key) the caller may read, as a shaped node,
    or None: a record outside the caller's reach is absent, as by ``node(id:)``."""
    ctx = context_of(info)
    rows = await fetch(ctx, model, statement.limit(1))
    if not rows:
        return None
    node = build(rows[0], ctx)
    await shape(ctx, [node], _selections(info))
    return node
