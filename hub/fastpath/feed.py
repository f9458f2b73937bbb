"""The change feed read in bulk: a chunk of changes as one statement (the streamed feed,
:mod:`hub.web.changes`).

A chunk is what the GraphQL query :data:`FEED_QUERY` answers in ``changes.changes`` —
each change with its natural key and its node's every field the compiled path knows
(:data:`hub.fastpath.shapes.NODES`) — built in PostgreSQL as one line of JSON per
change, oldest first. The statement reads each kind of record the caller may read
(:func:`hub.resolvers.changes.feed_kinds`) through the same reach conditions as every
read (:func:`hub.auth.access.restrict`): for each kind, an index scan on
``change_version`` that stops at the chunk's size picks (version, row id); the picks are
merged in version order and cut at the size, and only the changes kept are built, their
rows found by primary key (:class:`FeedBuilder`). Personal IDs, phones and e-mails are
masked in SQL as :mod:`hub.domain.personal_data` masks them (deletions' stored keys
too), and the access-log rows the
ordinary path would write for the chunk's nodes are inserted by the same statement
(a data-modifying CTE): no chunk leaves without its log.

The statement's text depends only on the caller's reach and scopes: it is built and
compiled once for them and run with the chunk's ``since`` and size.
"""

from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    Text,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by, distinct_on
from sqlalchemy.engine import Dialect

from hub.auth.access import Caller, restrict
from hub.db import models
from hub.db.changes import DELETED, LEFT, NATURAL_KEYS
from hub.domain.personal_data import DOCUMENT_KEYS, unmasked
from hub.fastpath.cache import CompiledStatement, compile_statement, lookup
from hub.fastpath.shapes import NODES
from hub.fastpath.sql import Builder, access_log_written, masked_sql, sql_string
from hub.resolvers.changes import TRACKED, feed_kinds
from hub.schema.guards import own_document

#: The GraphQL type of each kind of change's node (a guardian link's is its pupil).
NODE_TYPES = {
    "student": "Student",
    "staff": "Staff",
    "guardianLink": "Student",
    "certificate": "Certificate",
    "transcript": "Transcript",
}
#: The change operations as the GraphQL feed names them (``ChangeOperation``).
UPSERT, DELETE, LEAVE = "UPSERT", "DELETE", "LEFT"
#: A picked change that is a deletion or a departure (a row of ``tombstones``).
_TOMBSTONE = "tombstone"


def _fragment(type_name: str) -> str:
    return f"... on {type_name} {{ {' '.join(NODES[type_name].scalars)} }}"


#: The GraphQL query whose ``changes.changes`` items a chunk's lines are, field for
#: field: the ordinary path answers the streamed feed with it (SQLite, admission
#: services), and the tests compare both paths' chunks.
FEED_QUERY = own_document(
    "query ChangeStream($since: Int!, $first: Int!) { changes(since: $since, first: $first) "
    "{ changes { version entity operation naturalKey node { __typename "
    + " ".join(_fragment(t) for t in sorted(set(NODE_TYPES.values())))
    + " } } nextSince hasMore } }"
)


def _document_value(caller: Caller, name: str, value: Any) -> Any:
    """A natural key's value as :func:`hub.domain.personal_data.present` shows it."""
    kind = DOCUMENT_KEYS.get(name)
    if kind is None or unmasked(caller.scopes, kind):
        return value
    return masked_sql(kind, value)


def _key(caller: Caller, pairs: list[tuple[str, Any]]) -> Any:
    arguments: list[Any] = []
    for name, column in pairs:
        arguments += [sql_string(name), _document_value(caller, name, column)]
    return func.json_build_object(*arguments)


def _stored_key(caller: Caller, stored: Any) -> Any:
    """A tombstone's stored key (JSON text) with its personal values masked: the masked
    values of the keys it holds laid over it (``||``; absent keys stay absent)."""
    key = cast(stored, JSONB)
    arguments: list[Any] = []
    for name, kind in DOCUMENT_KEYS.items():
        if not unmasked(caller.scopes, kind):
            arguments += [sql_string(name), masked_sql(kind, key.op("->>")(sql_string(name)))]
    if not arguments:
        return key
    return key.op("||")(func.jsonb_strip_nulls(func.jsonb_build_object(*arguments)))


class FeedBuilder:
    """The chunk statement for one caller.

    Two steps: ``picked``, the chunk's changes as (version, entity, row id) — each
    kind's first ``size`` after ``since`` in version order through the caller's reach
    (an index scan on ``change_version`` that stops there), merged and cut at ``size``;
    then each picked change's line, built from its row found by primary key. Only the
    changes sent are built.
    """

    def __init__(self, caller: Caller, *, check: bool = False) -> None:
        self.caller = caller
        self.check = check
        self.fields = Builder(caller)
        self.since = bindparam("since", None, type_=BigInteger)
        self.size = bindparam("size", None, type_=Integer)

    def _node(self, type_name: str, row: Any) -> Any:
        shape = NODES[type_name]
        arguments: list[Any] = [sql_string("__typename"), sql_string(type_name)]
        for out, scalar in shape.scalars.items():
            arguments += [
                sql_string(out),
                self.fields.scalar(type_name, scalar, row.c[scalar.column]),
            ]
        return func.json_build_object(*arguments)

    def _line(self, version: Any, entity: Any, operation: Any, key: Any, node: Any) -> Any:
        return func.json_build_object(
            sql_string("version"),
            version,
            sql_string("entity"),
            entity,
            sql_string("operation"),
            operation,
            sql_string("naturalKey"),
            key,
            sql_string("node"),
            node,
        )

    def _first(self, entity: str, version: Any, row_id: Any, statement: Any) -> Any:
        """``statement``'s first ``size`` changes after ``since`` as (version, entity, id)."""
        return select(
            statement.where(version > self.since)
            .with_only_columns(
                version.label("version"), sql_string(entity).label("entity"), row_id.label("row_id")
            )
            .order_by(version)
            .limit(self.size)
            .subquery()
        )

    def _pick(self, entity: str) -> Any:
        if entity == "guardianLink":
            link = models.GuardianLink
            return self._first(
                entity, link.change_version, link.id, restrict(select(link), link, self.caller)
            )
        if entity == "transcript":
            transcript = models.Transcript
            statement = restrict(select(transcript), transcript, self.caller)
            return self._first(entity, transcript.change_version, transcript.id, statement)
        model: Any = TRACKED[entity]
        statement = restrict(select(model), model, self.caller)
        return self._first(entity, model.change_version, model.id, statement)

    def _tombstones(self, kinds: list[str]) -> Any:
        """A deletion's first tombstone (one per school the record belonged to, all of one
        version) as (version, 'tombstone', id)."""
        tombstone = models.Tombstone
        statement = restrict(
            select(tombstone.change_version, tombstone.id).where(
                tombstone.change_version > self.since, tombstone.entity.in_(kinds)
            ),
            tombstone,
            self.caller,
        )
        first = (
            statement.ext(distinct_on(tombstone.change_version))
            .order_by(tombstone.change_version, tombstone.id)
            .limit(self.size)
            .subquery()
        )
        return select(
            first.c.change_version.label("version"),
            sql_string(_TOMBSTONE).label("entity"),
            first.c.id.label("row_id"),
        )

    @staticmethod
    def _audit(type_name: str, row: Any) -> list[Any]:
        ((entity, column, item),) = NODES[type_name].audit
        return [
            sql_string(entity).label("audit_entity"),
            cast(row.c[column], Integer).label("audit_id"),
            sql_string(item).label("audit_item"),
        ]

    def _built(self, entity: str, picked: Any) -> Any:
        """The lines of the picked changes of ``entity``."""
        mine = picked.c.entity == sql_string(entity)
        upsert = sql_string(UPSERT)
        if entity == "guardianLink":
            link = models.GuardianLink.__table__
            student = models.Student.__table__
            guardian = models.Guardian.__table__
            key = _key(
                self.caller,
                [
                    ("studentPersonalId", student.c.personal_id),
                    ("guardianPersonalId", guardian.c.personal_id),
                    ("guardianPhone", guardian.c.phone),
                ],
            )
            node = self._node("Student", student)
            source = (
                picked.join(link, link.c.id == picked.c.row_id)
                .join(student, student.c.id == link.c.student_id)
                .join(guardian, guardian.c.id == link.c.guardian_id)
            )
            audit = self._audit("Student", student)
        elif entity == "transcript":
            transcript = models.Transcript.__table__
            student = models.Student.__table__
            key = _key(
                self.caller,
                [
                    ("documentId", transcript.c.document_id),
                    ("version", transcript.c.version),
                    ("studentPersonalId", student.c.personal_id),
                ],
            )
            node = self._node("Transcript", transcript)
            source = picked.join(transcript, transcript.c.id == picked.c.row_id).outerjoin(
                student, student.c.id == transcript.c.student_id
            )
            audit = self._audit("Transcript", transcript)
        elif entity == _TOMBSTONE:
            tombstone = models.Tombstone.__table__
            operation = case(
                (tombstone.c.operation == sql_string(LEFT), sql_string(LEAVE)),
                (tombstone.c.operation == sql_string(DELETED), sql_string(DELETE)),
                else_=tombstone.c.operation,
            )
            line = self._line(
                picked.c.version,
                tombstone.c.entity,
                operation,
                _stored_key(self.caller, tombstone.c.natural_key),
                null(),
            )
            return (
                select(picked.c.version, line.label("line"))
                .add_columns(
                    cast(null(), String).label("audit_entity"),
                    cast(null(), Integer).label("audit_id"),
                    cast(null(), String).label("audit_item"),
                )
                .select_from(picked.join(tombstone, tombstone.c.id == picked.c.row_id))
                .where(mine)
            )
        else:
            table = TRACKED[entity].__table__
            type_name = NODE_TYPES[entity]
            pairs = [(name, table.c[column]) for name, column in NATURAL_KEYS[entity]]
            key = _key(self.caller, pairs)
            node = self._node(type_name, table)
            source = picked.join(table, table.c.id == picked.c.row_id)
            audit = self._audit(type_name, table)
        line = self._line(picked.c.version, sql_string(entity), upsert, key, node)
        return select(picked.c.version, line.label("line"), *audit).select_from(source).where(mine)

    def statement(self) -> Any:
        """``SELECT lines, last version, count[, written]`` of the chunk after ``:since``
        of at most ``:size`` changes, writing the access log of its nodes."""
        kinds = feed_kinds(self.caller)
        every = union_all(*[self._pick(entity) for entity in kinds], self._tombstones(kinds))
        merged = every.subquery("every")
        picked = select(merged).order_by(merged.c.version).limit(self.size).cte("picked")
        built = union_all(
            *[self._built(entity, picked) for entity in kinds], self._built(_TOMBSTONE, picked)
        )
        chunk = built.cte("chunk")
        log = access_log_written(
            chunk.c.audit_entity,
            chunk.c.audit_id,
            chunk.c.audit_item,
            chunk.c.audit_id.is_not(None),
        )
        lines = func.string_agg(
            cast(chunk.c.line, Text), aggregate_order_by(literal_column("E'\\n'"), chunk.c.version)
        )
        answer: list[Any] = [
            lines.label("lines"),
            func.max(chunk.c.version).label("last"),
            func.count().label("count"),
        ]
        if self.check:  # the entries written, to compare with the ordinary path's
            entry = func.json_build_array(log.c.entity, log.c.entity_id, log.c.item)
            answer.append(select(cast(func.json_agg(entry), Text)).scalar_subquery())
        return select(*answer).add_cte(log)


def compiled_feed(caller: Caller, dialect: Dialect, *, check: bool = False) -> CompiledStatement:
    """The chunk statement for ``caller``'s reach and scopes, built and compiled once (the
    compiled path's cache, :mod:`hub.fastpath.cache`); run it with the parameters
    ``since``, ``size`` and :func:`hub.fastpath.sql.caller_values`."""
    key = ("change feed", caller.school_ids, caller.scopes, check)
    return lookup(key) or compile_statement(
        key, FeedBuilder(caller, check=check).statement(), [], dialect
    )
