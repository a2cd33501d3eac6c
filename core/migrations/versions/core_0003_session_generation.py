"""session generation: logout, password changes and role changes end browser sessions

Revision ID: core_0003
Revises: core_0002
Create Date: 2026-12-04 22:45:00

``core_user.session_generation`` is stored in each browser session at login; a session whose
value differs from the user's row is over. Logout, a password change or reset, disabling the
user and a change of his roles or team move it (issue 14, finding 8).
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0003"
down_revision = "core_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("core_user") as batch:
        batch.add_column(sa.Column("session_generation", sa.Integer(), server_default="0",
                                   nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("core_user") as batch:
        batch.drop_column("session_generation")
