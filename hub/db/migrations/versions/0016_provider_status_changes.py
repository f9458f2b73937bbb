"""Signing providers' status changes, for the pages' banner and the outage mails

The API processes' health checks of the signing providers (issue 12, part 3) write
each change of a provider's status (UP, DEGRADED, DOWN) here, numbered per provider:
every API process and the department's dashboard read the same history, and the
unique (provider, sequence) lets exactly one process record a change — the one that
then mails the people who sign with that provider.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "provider_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=24), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_status_changes")),
        sa.UniqueConstraint(
            "provider", "sequence", name=op.f("uq_provider_status_changes_provider")
        ),
    )


def downgrade() -> None:
    op.drop_table("provider_status_changes")
