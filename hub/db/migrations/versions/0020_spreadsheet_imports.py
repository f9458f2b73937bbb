"""Spreadsheet imports: the uploaded file, its parts, and the file given back

Schools without a vendor app send their students, staff, guardian links and
gradebooks as spreadsheets (issue 14). An upload is an IMPORT job
(``hub.jobs.imports``): ``spreadsheet_imports`` keeps the file as sent and, once every
part is written, the same file with a result column; ``spreadsheet_import_parts``
keeps each part's rows as read and, once written, each row's verdict, so a job
interrupted midway resumes at the parts not yet written. ``running_key`` is unique
while the job runs (NULL after), so the same file sent again meanwhile shares it.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "spreadsheet_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("layout", sa.String(length=32), nullable=False),
        sa.Column("file_format", sa.String(length=8), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("running_key", sa.String(length=200), nullable=True),
        sa.Column("upload", sa.LargeBinary(), nullable=False),
        sa.Column("result", sa.LargeBinary(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_spreadsheet_imports_job_id_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spreadsheet_imports")),
        sa.UniqueConstraint("job_id", name=op.f("uq_spreadsheet_imports_job_id")),
        sa.UniqueConstraint("running_key", name=op.f("uq_spreadsheet_imports_running_key")),
    )
    with op.batch_alter_table("spreadsheet_imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spreadsheet_imports_sha256"), ["sha256"], unique=False)
    op.create_table(
        "spreadsheet_import_parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.Column("written", sa.Boolean(), nullable=False),
        sa.Column("verdicts", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["spreadsheet_imports.id"],
            name=op.f("fk_spreadsheet_import_parts_import_id_spreadsheet_imports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spreadsheet_import_parts")),
        sa.UniqueConstraint(
            "import_id", "part", name=op.f("uq_spreadsheet_import_parts_import_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("spreadsheet_import_parts")
    with op.batch_alter_table("spreadsheet_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spreadsheet_imports_sha256"))
    op.drop_table("spreadsheet_imports")
