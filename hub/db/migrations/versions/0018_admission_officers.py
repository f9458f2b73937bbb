"""Admission officers: people who read, on the hub's pages, what an admission service reads

An operator makes a person an officer of an admission service (an API client of kind
ADMISSION) with ``hub people grant --admission CLIENT_ID`` (issue 12, part 6): the
officer looks up a pupil's transcript under the family's consent to that service. The
person's roles are cached with the service's scopes and reach (hub.auth.people), so
a change to an officer's row, and a change to an admission service that can take
what it reads away (disabled, deleted, its scopes, level or grants), bump the people
revision of migration 0015 as the other roles do.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-09 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP = "UPDATE api_clients_revision SET value = value + 1 WHERE id = 1"
#: table → the events that can take what an admission officer reads away.
WATCHED: dict[str, tuple[str, ...]] = {
    "admission_officers": ("INSERT", "UPDATE", "DELETE"),
    "api_clients": ("UPDATE OF name, kind, scopes, org_level, disabled, deleted_at", "DELETE"),
    "api_client_grants": ("INSERT", "UPDATE", "DELETE"),
}


def _trigger_name(table: str, event: str) -> str:
    return f"people_changed_{table}_{event.split()[0].lower()}"


def upgrade() -> None:
    op.create_table(
        "admission_officers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("personal_id", sa.String(length=12), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("granted_by", sa.String(length=64), nullable=False),
        sa.Column(
            "granted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["api_clients.client_id"],
            name=op.f("fk_admission_officers_client_id_api_clients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admission_officers")),
        sa.UniqueConstraint("personal_id", name=op.f("uq_admission_officers_personal_id")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # hub_people_changed() (migration 0015) bumps the revision and notifies "*".
        for table, events in WATCHED.items():
            op.execute(
                f"CREATE TRIGGER people_changed AFTER {' OR '.join(events)} ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION hub_people_changed()"
            )
        return
    for table, events in WATCHED.items():
        for event in events:
            op.execute(
                f"CREATE TRIGGER {_trigger_name(table, event)} AFTER {event} ON {table} "
                f"BEGIN {BUMP}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER people_changed ON {table}")
    else:
        for table, events in WATCHED.items():
            for event in events:
                op.execute(f"DROP TRIGGER {_trigger_name(table, event)}")
    op.drop_table("admission_officers")
