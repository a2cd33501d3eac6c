"""Indexes for the overview's and the service analytics' aggregates over a period: tickets
resolved (with their SLA state), rated (with the score) and open by creation time, each
read by an index-only scan.

Revision ID: service_0002
Revises: service_0001
Create Date: 2026-12-05 01:25:00
"""

from alembic import op


revision = "service_0002"
down_revision = "service_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service_ticket", schema=None) as batch_op:
        batch_op.create_index("ix_service_ticket_rated", ["rated_at", "rating"], unique=False)
        batch_op.create_index("ix_service_ticket_resolved_sla", ["resolved_at", "sla_state"],
                              unique=False)
        batch_op.create_index("ix_service_ticket_status_created", ["status", "created_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("service_ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_service_ticket_status_created")
        batch_op.drop_index("ix_service_ticket_resolved_sla")
        batch_op.drop_index("ix_service_ticket_rated")
