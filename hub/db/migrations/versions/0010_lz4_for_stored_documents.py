"""LZ4 for the stored documents on PostgreSQL

Transcripts keep their XML and PDF (up to ~230 KB once sealed) in the row, and a
signing request item its prepared documents; PostgreSQL compresses such values
with pglz by default, which cost more CPU than the signing itself in bulk
signing. LZ4 compresses these documents about as well at a fraction of the cost.
Values written before this keep their compression until rewritten. Nothing to do
on SQLite.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 14:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = {
    "transcripts": ("xml", "pdf"),
    "signing_request_items": ("prepared_xml", "prepared_pdf"),
}


def _set(compression: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in COLUMNS.items():
        changes = ", ".join(f"ALTER COLUMN {c} SET COMPRESSION {compression}" for c in columns)
        op.execute(f"ALTER TABLE {table} {changes}")


def upgrade() -> None:
    _set("lz4")


def downgrade() -> None:
    _set("pglz")
