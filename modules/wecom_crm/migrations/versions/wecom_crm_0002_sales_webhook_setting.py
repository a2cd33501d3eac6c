"""The sales group's robot for new opportunities is a setting of the WeCom bridge
(``wecom_crm.sales_webhook``), no longer of crm (``crm.sales_webhook``): a stored value
moves with it.

Revision ID: wecom_crm_0002
Revises: wecom_crm_0001
Create Date: 2026-12-04 23:00:00
"""

from alembic import op


revision = "wecom_crm_0002"
down_revision = "wecom_crm_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE core_setting SET key = 'wecom_crm.sales_webhook' "
        "WHERE key = 'crm.sales_webhook' AND NOT EXISTS "
        "(SELECT 1 FROM core_setting AS s WHERE s.key = 'wecom_crm.sales_webhook')"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE core_setting SET key = 'crm.sales_webhook' "
        "WHERE key = 'wecom_crm.sales_webhook' AND NOT EXISTS "
        "(SELECT 1 FROM core_setting AS s WHERE s.key = 'crm.sales_webhook')"
    )
