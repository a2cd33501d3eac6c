"""wecom: group-robot deliveries claimed and confirmed

Revision ID: wecom_0002
Revises: wecom_0001
Create Date: 2026-12-05 04:25:00
"""

import sqlalchemy as sa
from alembic import op

revision = "wecom_0002"
down_revision = "wecom_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wecom_webhook_delivery",
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("webhook", sa.String(length=64), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("notification_id", name=op.f("pk_wecom_webhook_delivery")),
    )


def downgrade() -> None:
    op.drop_table("wecom_webhook_delivery")
