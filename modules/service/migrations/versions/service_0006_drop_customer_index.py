"""Drop the single-column index of the tickets by customer: the composite indexes
``ix_service_ticket_customer_resolved`` (customer_id, resolved_at, sla_state) and
``ix_service_ticket_customer_rated`` (customer_id, rated_at, rating) start with customer_id,
so either serves every lookup by customer (a customer's tickets, the foreign key's checks
when a customer is deleted) as well; the third index only cost every ticket write.

Revision ID: service_0006_drop_customer_index
Revises: service_0005
Create Date: 2026-12-05 07:40:00
"""

from alembic import op


revision = "service_0006_drop_customer_index"
down_revision = "service_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service_ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_service_ticket_customer_id")


def downgrade() -> None:
    with op.batch_alter_table("service_ticket", schema=None) as batch_op:
        batch_op.create_index("ix_service_ticket_customer_id", ["customer_id"], unique=False)
