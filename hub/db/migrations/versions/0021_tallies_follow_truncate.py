"""Report tallies follow a TRUNCATE of what they count

Migration 0019's triggers count rows as statements insert, update and delete them; a
TRUNCATE (an operator emptying a table by hand) fires none of them, and would leave the
tallies counting rows that are gone. On PostgreSQL a statement trigger on TRUNCATE now
empties the source's tallies in the same transaction. SQLite has no TRUNCATE (its
``DELETE FROM t`` fires the row triggers).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 14:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: source table → the tallies that count its rows (migration 0019).
TALLIES = {
    "transcripts": ("signing_tallies", "result_tallies"),
    "students": ("pupil_tallies",),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for source, tallies in TALLIES.items():
        emptied = " ".join(f"DELETE FROM {tally};" for tally in tallies)
        op.execute(
            f"CREATE FUNCTION hub_{source}_truncated() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {emptied} RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {source}_truncated_tallies AFTER TRUNCATE ON {source} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION hub_{source}_truncated()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for source in TALLIES:
        op.execute(f"DROP TRIGGER {source}_truncated_tallies ON {source}")
        op.execute(f"DROP FUNCTION hub_{source}_truncated()")
