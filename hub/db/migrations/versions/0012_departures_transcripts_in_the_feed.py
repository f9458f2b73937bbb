"""Departures and transcripts in the change feed; what the access log says was read

A pupil who leaves a school (moved to another, withdrawn) now belongs to no school
until another takes them: ``students.school_id`` becomes nullable. The school left
behind learns of it from a tombstone whose ``operation`` is ``left`` (deletions
keep ``deleted``). Published and superseded transcripts carry a change version so
downstream systems can follow them. Each access-log entry names what of the
person was read (``item``: record, transcript, guardians, document…).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 02:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("students", schema=None) as batch_op:
        batch_op.alter_column("school_id", existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table("tombstones", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("operation", sa.String(length=16), nullable=False, server_default="deleted")
        )
    with op.batch_alter_table("transcripts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("change_version", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_transcripts_change_version", ["change_version"], unique=False)
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("item", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_column("item")
    with op.batch_alter_table("transcripts", schema=None) as batch_op:
        batch_op.drop_index("ix_transcripts_change_version")
        batch_op.drop_column("change_version")
    with op.batch_alter_table("tombstones", schema=None) as batch_op:
        batch_op.drop_column("operation")
    with op.batch_alter_table("students", schema=None) as batch_op:
        batch_op.alter_column("school_id", existing_type=sa.Integer(), nullable=False)
