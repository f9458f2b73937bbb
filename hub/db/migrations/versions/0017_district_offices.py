"""Officers of a district office (Phòng GDĐT): a department role limited to a district

An operator grants the department role for the whole Sở (``district_id`` NULL) or
for one district office (``hub people grant --district CODE``): such an officer's
dashboard and reads reach that district's schools only (issue 12, part 4). Schools
moving between districts or opening change what a district officer reaches, so they
bump the people revision of migration 0015 as the officers' own rows do.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP = "UPDATE api_clients_revision SET value = value + 1 WHERE id = 1"
SQLITE_TRIGGERS = (
    ("people_changed_schools_insert", "INSERT"),
    ("people_changed_schools_delete", "DELETE"),
    ("people_changed_schools_update", "UPDATE OF district_id"),
)


def upgrade() -> None:
    # A plain ADD COLUMN (no table rebuild on SQLite): migration 0015's triggers on
    # department_officers stay in place.
    op.add_column("department_officers", sa.Column("district_id", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.create_foreign_key(
            op.f("fk_department_officers_district_id_districts"),
            "department_officers",
            "districts",
            ["district_id"],
            ["id"],
        )
        op.execute(
            "CREATE TRIGGER people_changed AFTER INSERT OR UPDATE OF district_id OR DELETE "
            "ON schools FOR EACH STATEMENT EXECUTE FUNCTION hub_people_changed()"
        )
        return
    for name, event in SQLITE_TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON schools BEGIN {BUMP}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER people_changed ON schools")
        op.drop_constraint(
            op.f("fk_department_officers_district_id_districts"),
            "department_officers",
            type_="foreignkey",
        )
        op.drop_column("department_officers", "district_id")
        return
    for name, _ in SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER {name}")
    op.execute("ALTER TABLE department_officers DROP COLUMN district_id")
