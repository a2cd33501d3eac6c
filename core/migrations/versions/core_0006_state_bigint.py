"""core_state values as 64-bit integers

Revision ID: core_0006
Revises: core_0005
Create Date: 2026-12-05 04:20:00

``core_state['changes_pruned_upto']`` holds a change-event id (64-bit, like the events'
ids): a 32-bit column would overflow once the feed passed 2**31 events. PostgreSQL only:
SQLite's INTEGER is 64-bit already.
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0006"
down_revision = "core_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("core_state", "value", type_=sa.BigInteger(),
                        existing_type=sa.Integer(), existing_nullable=False)


def downgrade() -> None:
    # Refused by PostgreSQL ("integer out of range") while a value needs 64 bits.
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("core_state", "value", type_=sa.Integer(),
                        existing_type=sa.BigInteger(), existing_nullable=False)
