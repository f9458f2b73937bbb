"""Look-ahead prefetching: shape a whole page before GraphQL walks it.

A list resolver knows, from the query, which relations its nodes will be asked
for. Instead of one async resolver per node and field (800 coroutines for a page
of 100 students with class, teacher and certificates), :func:`prefetch` loads
each selected relation for all nodes of a level in one batched query, fills the
nodes' plain attributes, and descends. GraphQL then reads attributes only — the
trick Hasura and PostGraphile use, here over the request's authorised batch loaders.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from hub.resolvers.context import Context


class NotLoaded:
    """Default of a relation field no prefetch filled: GraphQL fails loudly on it."""

    def __repr__(self) -> str:
        return "<relation not prefetched>"


NOT_LOADED: Any = NotLoaded()


@dataclass(frozen=True)
class Relation:
    """How to fill one relation field of a node type.

    ``loader`` picks the request's data loader, ``key`` reads its key from the
    parent, ``build`` turns one loaded row into the field's value; with ``many``
    the loader returns a list per key. ``summary`` instead reduces the loaded
    rows to a plain value (nothing to descend into).
    """

    field: str
    attribute: str
    loader: Callable[[Any], Any]
    key: Callable[[Any], int | None]
    build: Callable[[Any, Context], Any] | None = None
    many: bool = False
    summary: Callable[[Any, Context], Any] | None = None
    scope: str | None = None


def merge_fields(selections: Iterable[Selection], type_name: str) -> dict[str, list[Selection]]:
    """The fields selected on ``type_name``, fragments flattened, aliases merged."""
    fields: dict[str, list[Selection]] = {}
    for selection in selections:
        if isinstance(selection, SelectedField):
            fields.setdefault(selection.name, []).extend(selection.selections)
        elif isinstance(selection, FragmentSpread | InlineFragment):
            condition = selection.type_condition
            if condition is None or condition in (type_name, "Node"):
                for name, subs in merge_fields(selection.selections, type_name).items():
                    fields.setdefault(name, []).extend(subs)
    return fields


def connection_nodes(selections: Sequence[Selection], type_name: str) -> list[Selection]:
    """The selections made on the nodes of a connection (``edges.node`` and ``nodes``)."""
    fields = merge_fields(selections, type_name)
    found = list(fields.get("nodes", []))
    for edge in merge_fields(fields.get("edges", []), type_name).get("node", []):
        found.append(edge)
    return found


#: Every relation field of every node type, and how prefetching fills it; each module of
#: :mod:`hub.schema` registers the relations of the types it defines.
RELATIONS: dict[type, list[Relation]] = {}


def relations_of(node_type: type) -> list[Relation]:
    return RELATIONS.get(node_type, [])


async def shape(ctx: Context, nodes: Sequence[Any], selections: Sequence[Selection]) -> None:
    """Prefetch what ``selections`` ask of ``nodes`` (any mix of registered node types)."""
    await prefetch(ctx, nodes, selections, relations_of)


async def prefetch(
    ctx: Context,
    nodes: Sequence[Any],
    selections: Sequence[Selection],
    relations: Callable[[type], Sequence[Relation]],
) -> None:
    """Fill every selected relation of ``nodes``, level by level."""
    by_type: dict[type, list[Any]] = {}
    for node in nodes:
        if node is not None:
            by_type.setdefault(type(node), []).append(node)
    for node_type, group in by_type.items():
        wanted = merge_fields(selections, node_type.__name__)
        for relation in relations(node_type):
            if relation.field not in wanted:
                continue
            if relation.scope is not None:
                ctx.caller.require(relation.scope)
            keys = [relation.key(node) for node in group]
            present = list(dict.fromkeys(k for k in keys if k is not None))
            rows = await relation.loader(ctx.loaders).load_many(present)
            # Nodes sharing a key share one value: a page of one class's students
            # builds (and descends into) its school and teacher once.
            values = {
                key: _value(relation, row, ctx) for key, row in zip(present, rows, strict=True)
            }
            empty = _value(relation, None, ctx)
            for node, key in zip(group, keys, strict=True):
                setattr(node, relation.attribute, empty if key is None else values[key])
            if relation.summary is None:
                children = [
                    child
                    for value in values.values()
                    for child in (value if relation.many else [value])
                    if child is not None
                ]
                if children:
                    await prefetch(ctx, children, wanted[relation.field], relations)


def _value(relation: Relation, loaded: Any, ctx: Context) -> Any:
    """The field value for what the loader returned for one key."""
    if relation.summary is not None:
        return relation.summary(loaded or [], ctx)
    assert relation.build is not None
    if relation.many:
        return [relation.build(row, ctx) for row in loaded or []]
    return None if loaded is None else relation.build(loaded, ctx)
