"""Who holds which role changed: the API processes forget the people they cached

A person-bound token and a browser session read the person's roles from the records
(hub.auth.people). API processes cache them, so every change that can take a role
away (an assignment, a homeroom class, a guardian link, a department officer, a
person's record deleted or its personal ID changed, an app's grant revoked) raises
``api_clients_revision`` as client changes do and, on PostgreSQL, notifies
``hub_api_clients`` with ``*``: the listeners empty their caches at once; on SQLite
the counter is polled.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 04:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: table → the events that can take a role away (columns for UPDATE OF).
WATCHED: dict[str, tuple[str, ...] | None] = {
    "staff_assignments": None,
    "department_officers": None,
    "guardian_links": ("student_id", "guardian_id", "verified"),
    "classes": ("homeroom_teacher_id", "school_year_id"),
    "staff": ("personal_id",),
    "guardians": ("personal_id",),
    "students": ("personal_id",),
    # A revoked grant (hub.auth.grants): its access tokens stop at once too.
    "oauth_refresh_tokens": ("revoked_at",),
}
BUMP = "UPDATE api_clients_revision SET value = value + 1 WHERE id = 1"


def _sqlite_triggers(table: str, columns: tuple[str, ...] | None) -> list[tuple[str, str]]:
    events = ["INSERT", "DELETE"] if columns is None else ["DELETE"]
    events.append("UPDATE" if columns is None else f"UPDATE OF {', '.join(columns)}")
    return [(f"people_changed_{table}_{event.split()[0].lower()}", event) for event in events]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""CREATE FUNCTION hub_people_changed() RETURNS trigger AS $$
            BEGIN
                {BUMP};
                PERFORM pg_notify('hub_api_clients', '*');
                RETURN NULL;
            END $$ LANGUAGE plpgsql"""
        )
        for table, columns in WATCHED.items():
            events = (
                "INSERT OR UPDATE OR DELETE"
                if columns is None
                else f"UPDATE OF {', '.join(columns)} OR DELETE"
            )
            op.execute(
                f"CREATE TRIGGER people_changed AFTER {events} ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION hub_people_changed()"
            )
        return
    for table, columns in WATCHED.items():
        for name, event in _sqlite_triggers(table, columns):
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {BUMP}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER people_changed ON {table}")
        op.execute("DROP FUNCTION hub_people_changed()")
        return
    for table, columns in WATCHED.items():
        for name, _ in _sqlite_triggers(table, columns):
            op.execute(f"DROP TRIGGER {name}")
