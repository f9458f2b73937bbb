"""Signing-provider columns without a check constraint

Which providers exist is the registry's to say (hub/adapters/signing/providers.py):
a new provider is a folder and a registry line, not a migration widening the
``provider`` check constraints of ``signing_certificates`` and ``signing_requests``.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 03:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("signing_certificates", "signing_requests")
PROVIDERS = ("BCY", "SMARTCA", "MYSIGN", "CSC", "PKCS11")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_provider"), type_="check")


def downgrade() -> None:
    allowed = ", ".join(f"'{p}'" for p in PROVIDERS)
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(
                op.f(f"ck_{table}_provider"), sa.text(f"provider IN ({allowed})")
            )
