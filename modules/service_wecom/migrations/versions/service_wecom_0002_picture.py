"""service_wecom: customers' pictures fetched by a job

Revision ID: service_wecom_0002
Revises: service_wecom_0001
Create Date: 2026-12-05 04:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = "service_wecom_0002"
down_revision = "service_wecom_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_wecom_picture",
        sa.Column("msgid", sa.String(length=64), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("pic_url", sa.String(length=1000), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=255), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["service_ticket.id"],
                                name=op.f("fk_service_wecom_picture_ticket_id_service_ticket"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("msgid", name=op.f("pk_service_wecom_picture")),
    )
    op.create_index(op.f("ix_service_wecom_picture_ticket_id"), "service_wecom_picture",
                    ["ticket_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_service_wecom_picture_ticket_id"), table_name="service_wecom_picture")
    op.drop_table("service_wecom_picture")
