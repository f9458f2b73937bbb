"""Report tallies: the department's counts kept by the database as rows change

A province has two million pupils and as many transcripts a year; counting them by
school at each request takes most of a second. Three tables keep the counts instead
(``hub.db.tallies`` reads them):

- ``signing_tallies``: current transcripts by school, year and state;
- ``result_tallies``: current transcripts by school, year, grade and the year's
  results (learning, conduct, promotion outcome);
- ``pupil_tallies``: pupils by school, whether they have a personal ID, and what the
  population database said of it.

Each row is a delta (``n`` = +k or −k) that a trigger on the source table writes in
the transaction that changes the source rows, so a count (the sum of its key's rows)
is never behind nor ahead of the rows it counts, whatever writes them (the API, a
job, a seed's COPY, psql). Triggers only insert: two transactions never wait on one
count row. PostgreSQL's are statement triggers over transition tables (a COPY of two
million rows writes a few thousand deltas, and an UPDATE that leaves a row's keys
alone writes none); SQLite's are row triggers that fire only when a counted column
changes. Compaction (``hub.db.tallies.compact``) folds the deltas into one row per
key.

A class's grade is read when its transcript is counted: a class never changes grade.

And one index: the active certificates of staff with their validity, so the coverage
report (time-dependent, so not a tally) reads who holds a valid one from the index.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 13:00:00
"""

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


@dataclass(frozen=True)
class Tally:
    """What a tally counts: rows ``r`` of ``source`` where ``where`` holds (with the
    row ``c`` of ``join`` when there is one), grouped by ``keys`` (column → SQL over
    ``r``/``c``); ``watched`` are the source columns the count depends on."""

    table: str
    source: str
    keys: dict[str, str]
    where: str
    watched: tuple[str, ...]
    join: tuple[str, str] | None = None  # (table alias, condition)


TALLIES = (
    Tally(
        table="signing_tallies",
        source="transcripts",
        keys={
            "school_id": "r.school_id",
            "school_year_id": "r.school_year_id",
            "state": "r.state",
        },
        where="r.is_current",
        watched=("is_current", "school_id", "school_year_id", "state"),
    ),
    Tally(
        table="result_tallies",
        source="transcripts",
        keys={
            "school_id": "r.school_id",
            "school_year_id": "r.school_year_id",
            "grade": "c.grade",
            "learning_result": "r.learning_result",
            "conduct_result": "r.conduct_result",
            "outcome": "r.outcome",
        },
        where="r.is_current",
        watched=(
            "is_current",
            "school_id",
            "school_year_id",
            "class_id",
            "learning_result",
            "conduct_result",
            "outcome",
        ),
        join=("classes c", "c.id = r.class_id"),
    ),
    Tally(
        table="pupil_tallies",
        source="students",
        keys={
            "school_id": "r.school_id",
            "has_personal_id": "r.personal_id IS NOT NULL",
            "identity_status": "r.identity_status",
        },
        where="r.school_id IS NOT NULL",
        watched=("school_id", "personal_id", "identity_status"),
    ),
)


def _select(tally: Tally, rows: str, n: str) -> str:
    """The tally's keys and ``n`` for each row of ``rows`` (a table or transition table)."""
    keys = ", ".join(f"{sql} AS {name}" for name, sql in tally.keys.items())
    join = f" JOIN {tally.join[0]} ON {tally.join[1]}" if tally.join else ""
    return f"SELECT {keys}, {n} AS n FROM {rows} r{join} WHERE {tally.where}"


def _grouped(tally: Tally, inner: str) -> str:
    columns = ", ".join(tally.keys)
    return (
        f"INSERT INTO {tally.table} ({columns}, n) SELECT {columns}, sum(n) FROM ({inner}) d "
        f"GROUP BY {columns} HAVING sum(n) <> 0"
    )


def _postgresql(tally: Tally) -> list[str]:
    function = f"hub_{tally.table}"
    both = _select(tally, "new_rows", "1") + " UNION ALL " + _select(tally, "old_rows", "-1")
    body = f"""
CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_grouped(tally, _select(tally, "new_rows", "1"))};
  ELSIF TG_OP = 'DELETE' THEN
    {_grouped(tally, _select(tally, "old_rows", "-1"))};
  ELSE
    {_grouped(tally, both)};
  END IF;
  RETURN NULL;
END $$"""
    transitions = {
        "INSERT": "NEW TABLE AS new_rows",
        "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "DELETE": "OLD TABLE AS old_rows",
    }
    return [body] + [
        f"CREATE TRIGGER {tally.table}_{event.lower()} AFTER {event} ON {tally.source} "
        f"REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        for event, transition in transitions.items()
    ]


def _sqlite_insert(tally: Tally, row: str, n: int) -> str:
    """One row's delta: ``r`` is NEW or OLD in a SQLite row trigger."""

    def of(sql: str) -> str:
        return sql.replace("r.", f"{row}.")

    keys = ", ".join(of(sql) for sql in tally.keys.values())
    where = of(tally.where)
    if tally.join:
        where = f"{of(tally.join[1])} AND {where}"
        source = f" FROM {tally.join[0]}"
    else:
        source = ""
    return (
        f"INSERT INTO {tally.table} ({', '.join(tally.keys)}, n) "
        f"SELECT {keys}, {n}{source} WHERE {where}"
    )


def _sqlite(tally: Tally) -> list[str]:
    changed = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in tally.watched)
    name = tally.table
    return [
        f"CREATE TRIGGER {name}_insert AFTER INSERT ON {tally.source} "
        f"BEGIN {_sqlite_insert(tally, 'NEW', 1)}; END",
        f"CREATE TRIGGER {name}_delete AFTER DELETE ON {tally.source} "
        f"BEGIN {_sqlite_insert(tally, 'OLD', -1)}; END",
        f"CREATE TRIGGER {name}_update AFTER UPDATE ON {tally.source} WHEN {changed} "
        f"BEGIN {_sqlite_insert(tally, 'OLD', -1)}; {_sqlite_insert(tally, 'NEW', 1)}; END",
    ]


def _identity_status() -> sa.Enum:
    return sa.Enum(
        "UNVERIFIED",
        "VERIFIED",
        "MISMATCH",
        "UNKNOWN",
        name="identity_status",
        native_enum=False,
        create_constraint=True,
        length=24,
    )


def upgrade() -> None:
    tally_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "signing_tallies",
        sa.Column("id", tally_id, nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("school_year_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_tallies")),
    )
    op.create_index(
        "ix_signing_tallies_year_school", "signing_tallies", ["school_year_id", "school_id"]
    )
    op.create_table(
        "result_tallies",
        sa.Column("id", tally_id, nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("school_year_id", sa.Integer(), nullable=False),
        sa.Column("grade", sa.SmallInteger(), nullable=False),
        sa.Column("learning_result", sa.String(length=16), nullable=True),
        sa.Column("conduct_result", sa.String(length=16), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_tallies")),
    )
    op.create_index(
        "ix_result_tallies_year_school", "result_tallies", ["school_year_id", "school_id"]
    )
    op.create_table(
        "pupil_tallies",
        sa.Column("id", tally_id, nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("has_personal_id", sa.Boolean(), nullable=False),
        sa.Column("identity_status", _identity_status(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pupil_tallies")),
    )
    op.create_index("ix_pupil_tallies_school", "pupil_tallies", ["school_id"])
    # The coverage report's "who holds a valid certificate", from the index alone.
    active = sa.text("status = 'ACTIVE' AND staff_id IS NOT NULL")
    op.create_index(
        "ix_signing_certificates_active_staff",
        "signing_certificates",
        ["staff_id", "valid_to", "valid_from", "retired_at"],
        postgresql_where=active,
        sqlite_where=active,
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    for tally in TALLIES:
        # What is there already, counted once; the triggers count every change after.
        op.execute(_grouped(tally, _select(tally, tally.source, "1")))
        for statement in _postgresql(tally) if postgresql else _sqlite(tally):
            op.execute(statement)


def downgrade() -> None:
    op.drop_index("ix_signing_certificates_active_staff", "signing_certificates")
    postgresql = op.get_bind().dialect.name == "postgresql"
    for tally in TALLIES:
        for event in ("insert", "update", "delete"):
            on = f" ON {tally.source}" if postgresql else ""
            op.execute(f"DROP TRIGGER {tally.table}_{event}{on}")
        if postgresql:
            op.execute(f"DROP FUNCTION hub_{tally.table}()")
        op.drop_table(tally.table)
