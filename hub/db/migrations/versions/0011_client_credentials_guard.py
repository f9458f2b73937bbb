"""Guarding client credentials: token throttling, revocation at once, soft delete

- ``api_clients.credentials_version``: raised by every disable, delete and secret
  rotation; tokens carry the version they were issued under and are refused once
  it differs.
- ``api_clients.deleted_at``: clients are deleted softly, so the access log's client
  ids keep a name.
- ``api_clients_revision``: one row counting client changes, read by API processes
  that cannot LISTEN (SQLite).
- ``token_failures``: failed authentications at ``/oauth/token`` per client id and
  per source address, shared by every API process.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_clients") as batch:
        batch.add_column(
            sa.Column("credentials_version", sa.Integer(), server_default="1", nullable=False)
        )
        batch.add_column(sa.Column("deleted_at", sa.DateTime(), nullable=True))
    op.create_table(
        "api_clients_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_clients_revision")),
    )
    op.execute("INSERT INTO api_clients_revision (id, value) VALUES (1, 0)")
    op.create_table(
        "token_failures",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "subject", name=op.f("pk_token_failures")),
    )
    op.create_index(
        op.f("ix_token_failures_window_started_at"), "token_failures", ["window_started_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_token_failures_window_started_at"), table_name="token_failures")
    op.drop_table("token_failures")
    op.drop_table("api_clients_revision")
    with op.batch_alter_table("api_clients") as batch:
        batch.drop_column("deleted_at")
        batch.drop_column("credentials_version")
