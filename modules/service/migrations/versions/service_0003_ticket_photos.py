"""Ticket photos: the image is in the storage (core.storage), the row keeps its key; open
tickets indexed by deadline (a partial index).

Revision ID: service_0003
Revises: service_0002
Create Date: 2026-12-05 01:20:00
"""

from alembic import op
import sqlalchemy as sa


revision = "service_0003"
down_revision = "service_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_ticket_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("caption", sa.String(length=200), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["service_ticket.id"],
            name=op.f("fk_service_ticket_photo_ticket_id_service_ticket"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["core_user.id"],
            name=op.f("fk_service_ticket_photo_uploaded_by_id_core_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_ticket_photo")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_service_ticket_photo_storage_key")),
    )
    with op.batch_alter_table("service_ticket_photo", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_ticket_photo_ticket_id"), ["ticket_id"], unique=False
        )
    open_where = sa.text("status IN ('pending', 'accepted', 'in_service', 'reopened')")
    op.create_index(
        "ix_service_ticket_open_due",
        "service_ticket",
        ["resolution_due_at"],
        unique=False,
        postgresql_where=open_where,
        sqlite_where=open_where,
    )


def downgrade() -> None:
    op.drop_index("ix_service_ticket_open_due", table_name="service_ticket")
    with op.batch_alter_table("service_ticket_photo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_ticket_photo_ticket_id"))
    op.drop_table("service_ticket_photo")
