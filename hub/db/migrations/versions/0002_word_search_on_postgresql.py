"""Name search by words on PostgreSQL: a stored tsvector and its GIN index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Trigram indexes answer "contains" well but poorly for what people type — words,
the last one unfinished, often two letters long ("vu thu ha"): each short word
matches hundreds of thousands of rows in a province. A 'simple' tsvector answers
"vu & thu & ha:*" by intersecting posting lists, and storing it keeps the
filter cheap when the planner walks the primary key instead.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("students", "staff")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_search_name_trgm")
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN search_words tsvector GENERATED ALWAYS AS "
            "(to_tsvector('simple'::regconfig, search_name)) STORED"
        )
        op.execute(f"CREATE INDEX ix_{table}_search_words ON {table} USING gin (search_words)")
        op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} DROP COLUMN search_words")
        op.execute(
            f"CREATE INDEX ix_{table}_search_name_trgm ON {table} "
            "USING gin (search_name gin_trgm_ops)"
        )
