"""One SQL statement for a planned operation: the response's ``data`` as JSON built in
PostgreSQL, with the caller's authorisation, masking and access log in the statement.

Every level of the query is a CTE of the rows the ordinary path's batch loaders would
read for it (the same restricted statements: :func:`hub.auth.access.restrict_to` on
the caller's reach), and a CTE of ``(key, json)`` built bottom-up from them with
``json_build_object``/``json_agg``. The access-log rows the node types' ``from_row``
would record are written by a data-modifying CTE (``INSERT … SELECT`` over the union
of the levels' rows) in the same statement, so no answer leaves without its log.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Select,
    String,
    Text,
    bindparam,
    case,
    cast,
    false,
    func,
    insert,
    literal_column,
    select,
    union,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from hub.auth.access import Caller, read_scope_for, restrict, restrict_to
from hub.db import models
from hub.domain.personal_data import Kind, unmasked
from hub.fastpath.plan import ConnectionPlan, NodePlan, OperationPlan, Unsupported
from hub.fastpath.shapes import DATE, DATETIME, GLOBAL_ID, NODES, PLAIN, ROOTS, Relation, Scalar
from hub.resolvers.loaders import columns_of
from hub.resolvers.paging import Window, beyond_cursor, bounded, ordered
from hub.schema.pagination import decode_cursor


def sql_string(value: str) -> Any:
    """A SQL string literal (keys and type names: never user input at run time)."""
    return literal_column("'" + value.replace("'", "''") + "'", String)


def _int(value: int) -> Any:
    return literal_column(str(int(value)))


_EMPTY = literal_column("'[]'::json", JSON)
_BULLET = "•"


def _concat(*parts: Any) -> Any:
    result = parts[0]
    for part in parts[1:]:
        result = result.op("||")(part)
    return result


def global_id(type_name: str, column: Any) -> Any:
    """strawberry's ``base64("Type:id")``."""
    text = _concat(sql_string(f"{type_name}:"), cast(column, Text))
    return func.encode(func.convert_to(text, sql_string("UTF8")), sql_string("base64"))


def _cursor(column: Any) -> Any:
    """:func:`hub.schema.pagination.cursor_of`: ``base64("after:id")``."""
    text = _concat(sql_string("after:"), cast(column, Text))
    return func.encode(func.convert_to(text, sql_string("UTF8")), sql_string("base64"))


def _iso_datetime(column: Any) -> Any:
    """A naive UTC timestamp as Python's ``isoformat()`` of it in UTC (no fraction when
    it has no microseconds): one ``to_char``, the empty fraction cut."""
    text = func.to_char(column, sql_string('YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'))
    return func.replace(text, sql_string(".000000+"), sql_string("+"))


def masked_sql(kind: Kind, column: Any) -> Any:
    """:func:`hub.domain.personal_data._mask` in SQL."""
    value: Any
    if kind is Kind.PERSONAL_ID:
        length = func.length(column)
        value = case(
            (
                length > _int(4),
                _concat(
                    func.repeat(sql_string(_BULLET), length - _int(4)), func.right(column, _int(4))
                ),
            ),
            else_=func.repeat(sql_string(_BULLET), length),
        )
    elif kind is Kind.PHONE:
        digits = func.regexp_replace(column, sql_string("[^0-9]"), sql_string(""), sql_string("g"))
        value = _concat(
            func.repeat(sql_string(_BULLET), func.greatest(func.length(digits) - _int(3), _int(0))),
            func.right(digits, _int(3)),
        )
    elif kind is Kind.EMAIL:
        at = func.strpos(column, sql_string("@"))
        value = case(
            (
                at > _int(0),
                _concat(
                    func.left(func.split_part(column, sql_string("@"), _int(1)), _int(1)),
                    sql_string(_BULLET * 3 + "@"),
                    func.substr(column, at + _int(1)),
                ),
            ),
            else_=sql_string(_BULLET * 3),
        )
    elif kind is Kind.CERTIFICATE_SUBJECT:
        value = func.regexp_replace(
            column,
            sql_string("[0-9]{8}([0-9]{4})"),
            sql_string(_BULLET * 8 + "\\1"),
            sql_string("g"),
        )
    else:  # pragma: no cover - the shapes list no other kind
        raise Unsupported(kind)
    return case((column.is_(None), None), else_=value)


@dataclass(frozen=True)
class RootQuery:
    """A root list as :func:`hub.schema.pagination.paginate` reads it: the caller's rows
    (``authorised``), those within the window's cursors (``bounded``), whether rows lie
    beyond the cursor the page starts from (``beyond``), and the window."""

    authorised: Any
    bounded: Any
    beyond: Any
    window: Window

    @property
    def statements(self) -> list[Any]:
        """The statements the compiled statement embeds, whose values vary per request."""
        found = [self.authorised, self.bounded]
        return found if self.beyond is None else [*found, self.beyond]

    @property
    def shape(self) -> tuple[Any, ...]:
        w = self.window
        return (w.size, w.backward, w.after is None, w.before is None)


def root_statement(
    plan: ConnectionPlan, arguments: dict[str, Any], caller: Caller, settings: Any
) -> RootQuery:
    """A root list's statements as the caller may read them, as
    :func:`hub.schema.pagination.paginate` makes them; Unsupported where the ordinary
    path answers with an error (a page size or cursor it refuses, a missing scope)."""
    root = ROOTS[plan.field_name]
    model = NODES[root.node].model
    first, last = arguments.get("first"), arguments.get("last")
    if first is not None and last is not None:
        raise Unsupported("first and last")
    asked = first if last is None else last
    size = settings.page_size_default if asked is None else asked
    if not 1 <= size <= settings.page_size_max:
        raise Unsupported("page size")
    after, before = arguments.get("after"), arguments.get("before")
    window = Window(
        size=size,
        after=None if after is None else decode_cursor(after, model),
        before=None if before is None else decode_cursor(before, model),
        backward=last is not None,
    )
    scope = read_scope_for(model)
    if scope is not None and scope not in caller.scopes:
        raise Unsupported(scope)  # the ordinary path says FORBIDDEN
    statement = root.statement(arguments.get("filter"), "postgresql")
    authorised = restrict(statement, model, caller)
    key = model.id  # type: ignore[attr-defined]
    far = beyond_cursor(key, window)
    beyond = (
        None
        if far is None
        else authorised.where(far).with_only_columns(_int(1), maintain_column_froms=True)
    )
    return RootQuery(authorised, bounded(authorised, key, window), beyond, window)


class Builder:
    """Builds the statement of one plan for one caller."""

    def __init__(self, caller: Caller, *, check: bool = False) -> None:
        self.caller = caller
        self.reach = caller.school_ids
        self.check = check
        self.audit: list[Select[Any]] = []
        self._names = 0

    def _name(self, prefix: str) -> str:
        self._names += 1
        return f"{prefix}{self._names}"

    def _require(self, model: type, scope: str | None = None) -> None:
        for needed in (read_scope_for(model), scope):
            if needed is not None and needed not in self.caller.scopes:
                raise Unsupported(f"scope {needed}")  # the ordinary path says FORBIDDEN

    def scalar(self, type_name: str, scalar: Scalar, column: Any) -> Any:
        if scalar.show == PLAIN:
            return column
        if scalar.show == GLOBAL_ID:
            return global_id(type_name, column)
        if scalar.show == DATE:
            return column  # JSON writes a date as ISO 8601 (YYYY-MM-DD), as strawberry does
        if scalar.show == DATETIME:
            return _iso_datetime(column)
        kind = Kind(scalar.show)
        return column if unmasked(self.caller.scopes, kind) else masked_sql(kind, column)

    def level(self, plan: NodePlan, rows: Any, key: Any) -> Any:
        """A CTE of ``(k, j)``: each row's JSON by ``key``."""
        shape = NODES[plan.type_name]
        self._audit(plan.type_name, rows)
        source = rows
        arguments: list[Any] = []
        for out, what in plan.outputs:
            arguments.append(sql_string(out))
            if what[0] == "typename":
                arguments.append(sql_string(plan.type_name))
            elif what[0] == "scalar":
                scalar = shape.scalars[what[1]]
                arguments.append(self.scalar(plan.type_name, scalar, rows.c[scalar.column]))
            else:
                relation = shape.relations[what[1]]
                child, on, value = self.relation(relation, what[2], rows)
                source = source.outerjoin(child, on)
                arguments.append(value)
        built = select(key.label("k"), func.json_build_object(*arguments).label("j"))
        return built.select_from(source).cte(self._name("j"))

    def _audit(self, type_name: str, rows: Any) -> None:
        """The access-log entries of the rows of a level (as ``from_row`` records them)."""
        for entity, column, item in NODES[type_name].audit:
            self.audit.append(
                select(
                    sql_string(entity).label("entity"),
                    rows.c[column].label("entity_id"),
                    sql_string(item).label("item"),
                ).where(rows.c[column].is_not(None))
            )

    def relation(self, relation: Relation, plan: NodePlan, parent: Any) -> tuple[Any, Any, Any]:
        """(the child JSON CTE, its join condition to ``parent``, the field's value)."""
        model = NODES[relation.to].model
        self._require(model, relation.scope)
        if relation.via[0] == "fk":
            fk = parent.c[relation.via[1]]
            statement = select(*columns_of(model)).where(model.id.in_(select(fk)))  # type: ignore[attr-defined]
            rows = restrict_to(statement, model, self.reach).cte(self._name("r"))
            child = self.level(plan, rows, rows.c.id)
            return child, child.c.k == fk, child.c.j
        if relation.via[0] == "current_class":
            # The classes once each (a page's pupils share a few), then each pupil's.
            self._require(models.SchoolClass)
            enrolment, year = models.Enrolment, models.SchoolYear
            link = (
                select(enrolment.student_id.label("parent_key"), enrolment.class_id)
                .join(year, year.id == enrolment.school_year_id)
                .where(year.is_current, enrolment.student_id.in_(select(parent.c.id)))
                .cte(self._name("e"))
            )
            statement = select(*columns_of(models.SchoolClass)).where(
                models.SchoolClass.id.in_(select(link.c.class_id))
            )
            rows = restrict_to(statement, models.SchoolClass, self.reach).cte(self._name("r"))
            classes = self.level(plan, rows, rows.c.id)
            child = (
                select(link.c.parent_key.label("k"), classes.c.j)
                .select_from(link.join(classes, classes.c.k == link.c.class_id))
                .cte(self._name("c"))
            )
            return child, child.c.k == parent.c.id, child.c.j
        owner = getattr(model, relation.via[1])
        statement = select(*columns_of(model)).where(owner.in_(select(parent.c.id)))
        rows = restrict_to(statement, model, self.reach).cte(self._name("r"))
        items = self.level(plan, rows, rows.c.id)
        assert relation.order is not None
        column, descending = relation.order
        order = rows.c[column].desc() if descending else rows.c[column].asc()
        grouped = (
            select(
                rows.c[relation.via[1]].label("k"),
                func.json_agg(aggregate_order_by(items.c.j, order)).label("j"),
            )
            .select_from(rows.join(items, items.c.k == rows.c.id))
            .group_by(rows.c[relation.via[1]])
            .cte(self._name("m"))
        )
        return grouped, grouped.c.k == parent.c.id, func.coalesce(grouped.c.j, _EMPTY)

    def connection(self, plan: ConnectionPlan, query: RootQuery) -> Any:
        """The JSON of one root connection over its window of the caller's rows."""
        root = ROOTS[plan.field_name]
        model = NODES[root.node].model
        self._require(model)
        window, size = query.window, query.window.size
        read = query.bounded.with_only_columns(*columns_of(model), maintain_column_froms=True)
        every = read.order_by(ordered(model.id, window)).limit(size + 1).cte(self._name("p"))  # type: ignore[attr-defined]
        page = select(every).order_by(ordered(every.c.id, window)).limit(size).cte(self._name("p"))
        self._audit(root.node, page)  # a page's nodes are read whatever is selected of them
        values: list[Any] = []
        for out, what in plan.outputs:
            values.append(sql_string(out))
            kind = what[0]
            if kind == "typename":
                values.append(sql_string(what[1]))
            elif kind == "totalCount":
                counted = select(func.count()).select_from(
                    query.authorised.order_by(None).subquery()
                )
                values.append(counted.scalar_subquery())
            elif kind == "nodes":
                nodes = self.level(what[1], page, page.c.id)
                listed = select(
                    func.coalesce(func.json_agg(aggregate_order_by(nodes.c.j, nodes.c.k)), _EMPTY)
                )
                values.append(listed.scalar_subquery())
            elif kind == "pageInfo":
                values.append(self._page_info(what[1], every, page, query))
            else:
                values.append(self._edges(root.node, what[1], page))
        return func.json_build_object(*values)

    def _page_info(
        self, infos: Sequence[tuple[str, str]], every: Any, page: Any, query: RootQuery
    ) -> Any:
        more = select(func.count() > _int(query.window.size)).select_from(every).scalar_subquery()
        beyond = false() if query.beyond is None else query.beyond.exists()
        # Forward, rows follow the page when more were read; rows precede it when some lie
        # before ``after``. Backward the other way round (hub.resolvers.paging.page).
        following, preceding = (beyond, more) if query.window.backward else (more, beyond)
        values: list[Any] = []
        for out, info in infos:
            values.append(sql_string(out))
            if info == "__typename":
                values.append(sql_string("PageInfo"))
            elif info == "hasNextPage":
                values.append(following)
            elif info == "hasPreviousPage":
                values.append(preceding)
            else:
                bound = func.min(page.c.id) if info == "startCursor" else func.max(page.c.id)
                values.append(select(_cursor(bound)).scalar_subquery())
        return func.json_build_object(*values)

    def _edges(self, node_type: str, outputs: Sequence[tuple[str, tuple]], page: Any) -> Any:
        source = page
        values: list[Any] = []
        for out, what in outputs:
            values.append(sql_string(out))
            if what[0] == "cursor":
                values.append(_cursor(page.c.id))
            elif what[0] == "typename":
                values.append(sql_string(what[1]))
            else:
                nodes = self.level(what[1], page, page.c.id)
                source = source.outerjoin(nodes, nodes.c.k == page.c.id)
                values.append(nodes.c.j)
        edge = func.json_build_object(*values)
        listed = select(func.coalesce(func.json_agg(aggregate_order_by(edge, page.c.id)), _EMPTY))
        return listed.select_from(source).scalar_subquery()

    def statement(self, plan: OperationPlan, roots: dict[str, RootQuery]) -> Any:
        """``SELECT data::text[, audit]`` with the access-log CTE; ``roots`` are the
        root lists' authorised statements and page sizes (:func:`root_statement`)."""
        values: list[Any] = []
        for key, root in plan.roots:
            values.append(sql_string(key))
            if isinstance(root, str):
                values.append(sql_string(root))
            else:
                values.append(self.connection(root, roots[key]))
        data = cast(func.json_build_object(*values), Text).label("data")
        if not self.audit:
            return select(data)
        entries = union(*self.audit).subquery("entries")
        log = access_log_written(entries.c.entity, entries.c.entity_id, entries.c.item)
        if self.check:
            written = select(
                cast(
                    func.json_agg(func.json_build_array(log.c.entity, log.c.entity_id, log.c.item)),
                    Text,
                )
            ).scalar_subquery()
            return select(data, written.label("written")).add_cte(log)
        return select(data).add_cte(log)


def access_log_written(entity: Any, entity_id: Any, item: Any, *where: Any) -> Any:
    """The data-modifying CTE that writes the access log of the people a statement reads:
    one ``read`` row per distinct (entity, id, item) of the given columns (``where``
    they hold), with the request's client, person and purpose (:func:`caller_values`);
    it returns the rows written."""
    entries = select(
        cast(bindparam("client_id", None), String),
        cast(bindparam("person", None), String),
        sql_string("read"),
        entity,
        entity_id,
        item,
        cast(bindparam("purpose", None), String),
    ).distinct()
    log = models.AccessLog
    return (
        insert(log)
        .from_select(
            ["client_id", "person", "action", "entity", "entity_id", "item", "purpose"],
            entries.where(*where),
        )
        .returning(log.entity, log.entity_id, log.item)
        .cte("access_log_written")
    )


def caller_values(caller: Caller, purpose: str) -> dict[str, Any]:
    return {"client_id": caller.client_id, "person": caller.personal_id, "purpose": purpose}
