"""service_wecom: when the customer was told that his picture could not be received (once
per picture, by the job that tells him).

Revision ID: service_wecom_0004
Revises: service_wecom_0003
Create Date: 2026-12-05 07:40:00
"""

from alembic import op
import sqlalchemy as sa


# Not "service_wecom_0004_picture_failure": 34 characters, alembic_version.version_num
# holds 32 (PostgreSQL refuses it).
revision = "service_wecom_0004"
down_revision = "service_wecom_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service_wecom_picture", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("service_wecom_picture", schema=None) as batch_op:
        batch_op.drop_column("notified_at")
