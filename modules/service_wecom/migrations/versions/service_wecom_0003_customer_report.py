"""service_wecom: which follower reported which ticket

Revision ID: service_wecom_0003
Revises: service_wecom_0002
Create Date: 2026-12-05 04:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = "service_wecom_0003"
down_revision = "service_wecom_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_wecom_report",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["service_ticket.id"],
                                name=op.f("fk_service_wecom_report_ticket_id_service_ticket"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_service_wecom_report")),
    )
    op.create_index(op.f("ix_service_wecom_report_openid"), "service_wecom_report", ["openid"])


def downgrade() -> None:
    op.drop_index(op.f("ix_service_wecom_report_openid"), table_name="service_wecom_report")
    op.drop_table("service_wecom_report")
