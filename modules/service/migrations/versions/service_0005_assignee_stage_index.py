"""An index of the tickets by assignee, stage and status: an engineer's kanban column (his
tickets, or the unassigned open ones, in one stage) read through the record rule's
BitmapOr without the rows of the other columns.

Revision ID: service_0005
Revises: service_0004
Create Date: 2026-12-05 05:40:00
"""

from alembic import op


revision = "service_0005"
down_revision = "service_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service_ticket", schema=None) as batch_op:
        batch_op.create_index("ix_service_ticket_assignee_stage",
                              ["assignee_id", "stage", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("service_ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_service_ticket_assignee_stage")
