"""Planning an operation once: the tree of what it selects, or None when the compiled
path cannot answer it (anything but the record lists and their to-one and to-many
relations; directives; abstract types; arguments below the root).

The plan is caller-independent and cached per (query text, operation name); the SQL is
built from it per caller reach and scopes (:mod:`hub.fastpath.sql`).
"""

from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)

from hub.fastpath.shapes import NODES, ROOTS

#: PostgreSQL's limit of a function's arguments (100): json_build_object takes 50 keys.
_MAX_KEYS = 50


class Unsupported(Exception):
    """The operation is answered by the ordinary path."""


@dataclass
class NodePlan:
    """The selection on one node type: ``(response key, what)`` in order.

    ``what`` is ``("scalar", field)``, ``("typename",)``, or ``("relation", field, plan)``.
    """

    type_name: str
    outputs: list[tuple[str, tuple]] = field(default_factory=list)


@dataclass
class ConnectionPlan:
    """A root connection: its field, the node field for arguments, and the outputs."""

    key: str
    field_name: str
    field_node: FieldNode
    definition: GraphQLField
    #: ``(key, what)``: ("nodes", NodePlan), ("edges", [(key, what)]), ("pageInfo", [(key,
    #: name)]), ("totalCount",), ("typename", name)
    outputs: list[tuple[str, tuple]] = field(default_factory=list)


@dataclass
class OperationPlan:
    name: str | None
    roots: list[tuple[str, ConnectionPlan | str]]  # (key, plan) or (key, "Query") typename
    operation: OperationDefinitionNode


def _merge(
    selections: SelectionSetNode,
    type_name: str,
    fragments: dict[str, FragmentDefinitionNode],
    into: dict[str, list[FieldNode]],
) -> dict[str, list[FieldNode]]:
    """Fields by response name, fragments on ``type_name`` expanded."""
    for selection in selections.selections:
        if selection.directives:
            raise Unsupported("directive")
        if isinstance(selection, FieldNode):
            key = (selection.alias or selection.name).value
            into.setdefault(key, []).append(selection)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            if condition is not None and condition.name.value != type_name:
                raise Unsupported("fragment on another type")
            _merge(selection.selection_set, type_name, fragments, into)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments[selection.name.value]
            if fragment.directives:
                raise Unsupported("directive")
            if fragment.type_condition.name.value != type_name:
                raise Unsupported("fragment on another type")
            _merge(fragment.selection_set, type_name, fragments, into)
    if len(into) > _MAX_KEYS:
        raise Unsupported("too many keys")
    return into


def _sub(nodes: list[FieldNode], type_name: str, fragments: dict) -> dict[str, list[FieldNode]]:
    merged: dict[str, list[FieldNode]] = {}
    for node in nodes:
        if node.selection_set is None:
            raise Unsupported("no selection")
        _merge(node.selection_set, type_name, fragments, merged)
    return merged


def _node_plan(
    type_name: str, nodes: list[FieldNode], fragments: dict[str, FragmentDefinitionNode]
) -> NodePlan:
    shape = NODES[type_name]
    plan = NodePlan(type_name)
    for key, fields in _sub(nodes, type_name, fragments).items():
        name = fields[0].name.value
        if any(f.arguments for f in fields):
            raise Unsupported("arguments below the root")
        if name == "__typename":
            plan.outputs.append((key, ("typename",)))
        elif name in shape.scalars:
            plan.outputs.append((key, ("scalar", name)))
        elif name in shape.relations:
            relation = shape.relations[name]
            plan.outputs.append(
                (key, ("relation", name, _node_plan(relation.to, fields, fragments)))
            )
        else:
            raise Unsupported(f"{type_name}.{name}")
    return plan


_PAGE_INFO = frozenset({"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"})


def _connection(
    key: str,
    fields: list[FieldNode],
    definition: GraphQLField,
    fragments: dict[str, FragmentDefinitionNode],
) -> ConnectionPlan:
    root = ROOTS[fields[0].name.value]
    plan = ConnectionPlan(key, fields[0].name.value, fields[0], definition)
    for out, subfields in _sub(fields, root.connection, fragments).items():
        name = subfields[0].name.value
        if name == "__typename":
            plan.outputs.append((out, ("typename", root.connection)))
        elif name == "nodes":
            plan.outputs.append((out, ("nodes", _node_plan(root.node, subfields, fragments))))
        elif name == "totalCount":
            plan.outputs.append((out, ("totalCount",)))
        elif name == "pageInfo":
            infos: list[tuple[str, str]] = []
            for info_key, infos_fields in _sub(subfields, "PageInfo", fragments).items():
                info = infos_fields[0].name.value
                if info != "__typename" and info not in _PAGE_INFO:
                    raise Unsupported(f"PageInfo.{info}")
                infos.append((info_key, info))
            plan.outputs.append((out, ("pageInfo", infos)))
        elif name == "edges":
            edge_type = root.connection.removesuffix("Connection") + "Edge"
            edges: list[tuple[str, tuple]] = []
            for edge_key, edge_fields in _sub(subfields, edge_type, fragments).items():
                edge_name = edge_fields[0].name.value
                if edge_name == "cursor":
                    edges.append((edge_key, ("cursor",)))
                elif edge_name == "__typename":
                    edges.append((edge_key, ("typename", edge_type)))
                elif edge_name == "node":
                    edges.append(
                        (edge_key, ("node", _node_plan(root.node, edge_fields, fragments)))
                    )
                else:
                    raise Unsupported(f"{edge_type}.{edge_name}")
            plan.outputs.append((out, ("edges", edges)))
        else:
            raise Unsupported(f"{root.connection}.{name}")
    return plan


def plan_operation(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
) -> OperationPlan | None:
    """The plan of a valid document's operation, or None where the ordinary path answers."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        operation = operations[0] if len(operations) == 1 else None
    else:
        operation = next((o for o in operations if o.name and o.name.value == operation_name), None)
    if operation is None or operation.operation is not OperationType.QUERY:
        return None
    if operation.directives or any(v.directives for v in operation.variable_definitions or ()):
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    query_type = schema.query_type
    assert query_type is not None
    try:
        roots: list[tuple[str, ConnectionPlan | str]] = []
        for key, fields in _merge(operation.selection_set, "Query", fragments, {}).items():
            name = fields[0].name.value
            if name == "__typename":
                roots.append((key, "Query"))
            elif name in ROOTS:
                if any(f.arguments != fields[0].arguments for f in fields[1:]):
                    return None
                roots.append((key, _connection(key, fields, query_type.fields[name], fragments)))
            else:
                return None
    except Unsupported:
        return None
    if not any(isinstance(plan, ConnectionPlan) for _, plan in roots):
        return None
    return OperationPlan(operation.name.value if operation.name else None, roots, operation)


_PLANS: dict[tuple[int, str, str | None], OperationPlan | None] = {}


def cached_plan(
    schema: GraphQLSchema, query: str, operation_name: str | None, document: DocumentNode
) -> OperationPlan | None:
    """:func:`plan_operation`, once per query text (``document`` is the guards' cached
    parse of that text; keyed by text: a document's hash is deep)."""
    key = (id(schema), query, operation_name)
    if key not in _PLANS:
        if len(_PLANS) > 512:
            _PLANS.clear()
        _PLANS[key] = plan_operation(schema, document, operation_name)
    return _PLANS[key]
