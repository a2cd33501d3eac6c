"""A customer may have several bindings (a company's contacts each bind and get verified
themselves): the binding's customer_id is no longer unique, only indexed.

Revision ID: wecom_crm_0003_multi_contact
Revises: wecom_crm_0002
Create Date: 2026-12-05 07:30:00
"""

from alembic import op


revision = "wecom_crm_0003_multi_contact"
down_revision = "wecom_crm_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("wecom_crm_binding", schema=None) as batch_op:
        batch_op.drop_constraint("uq_wecom_crm_binding_customer_id", type_="unique")
        batch_op.create_index("ix_wecom_crm_binding_customer_id", ["customer_id"], unique=False)


def downgrade() -> None:
    # One binding per customer again: each customer keeps his first; the others' followers
    # stay bound to their phone only (untied, as before a second contact could bind).
    op.execute(
        "UPDATE wecom_crm_binding SET customer_id = NULL WHERE customer_id IS NOT NULL AND id > "
        "(SELECT min(b.id) FROM wecom_crm_binding b WHERE b.customer_id = "
        "wecom_crm_binding.customer_id)"
    )
    with op.batch_alter_table("wecom_crm_binding", schema=None) as batch_op:
        batch_op.drop_index("ix_wecom_crm_binding_customer_id")
        batch_op.create_unique_constraint("uq_wecom_crm_binding_customer_id", ["customer_id"])
