"""import log: who imported which file, when, with which counts and error report

Revision ID: core_0005
Revises: core_0004
Create Date: 2026-12-05 01:30:00

``core_import_log`` (issue 19 #3): one row per dry run or import of an Excel/CSV file.
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0005"
down_revision = "core_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "core_import_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("stored_file", sa.String(length=255), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("processed_rows", sa.Integer(), nullable=False),
        sa.Column("created_rows", sa.Integer(), nullable=False),
        sa.Column("error_rows", sa.Integer(), nullable=False),
        sa.Column("error_report", sa.String(length=255), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("dry_run_of_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["core_user.id"],
                                name=op.f("fk_core_import_log_actor_id_core_user"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["dry_run_of_id"], ["core_import_log.id"],
                                name=op.f("fk_core_import_log_dry_run_of_id_core_import_log"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_import_log")),
    )
    with op.batch_alter_table("core_import_log") as batch:
        batch.create_index(batch.f("ix_core_import_log_actor_id"), ["actor_id"], unique=False)
        batch.create_index(batch.f("ix_core_import_log_created_at"), ["created_at"],
                           unique=False)
        batch.create_index(batch.f("ix_core_import_log_kind"), ["kind"], unique=False)


def downgrade() -> None:
    op.drop_table("core_import_log")
