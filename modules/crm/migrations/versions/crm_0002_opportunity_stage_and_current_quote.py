"""Opportunities keep the furthest stage they reached and their last follow-up time; the
database allows one current quote per opportunity.

Revision ID: crm_0002
Revises: crm_0001
Create Date: 2026-11-30 23:05:00
"""

from alembic import op
import sqlalchemy as sa


revision = "crm_0002"
down_revision = "crm_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("crm_opportunity", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stage_reached", sa.String(length=16), nullable=False, server_default="new")
        )
        batch_op.add_column(sa.Column("followed_up_at", sa.DateTime(timezone=True), nullable=True))
    # Existing rows: an open or won opportunity has reached its status; a lost one reached
    # "quoted" if it was quoted, "contacted" if it was followed up, else "new".
    op.execute(
        "UPDATE crm_opportunity SET stage_reached = status "
        "WHERE status IN ('contacted', 'quoted', 'negotiating', 'won')"
    )
    op.execute(
        "UPDATE crm_opportunity SET stage_reached = 'quoted' WHERE status = 'lost' AND EXISTS "
        "(SELECT 1 FROM crm_quote q WHERE q.opportunity_id = crm_opportunity.id)"
    )
    op.execute(
        "UPDATE crm_opportunity SET stage_reached = 'contacted' WHERE status = 'lost' "
        "AND stage_reached = 'new' AND EXISTS "
        "(SELECT 1 FROM crm_follow_up f WHERE f.opportunity_id = crm_opportunity.id)"
    )
    op.execute(
        "UPDATE crm_opportunity SET followed_up_at = (SELECT max(f.follow_up_at) "
        "FROM crm_follow_up f WHERE f.opportunity_id = crm_opportunity.id)"
    )
    # Of several current quotes (saved at once before this), the newest stays current.
    op.execute(
        "UPDATE crm_quote SET is_current = false WHERE is_current AND id < (SELECT max(q2.id) "
        "FROM crm_quote q2 WHERE q2.opportunity_id = crm_quote.opportunity_id AND q2.is_current)"
    )
    with op.batch_alter_table("crm_quote", schema=None) as batch_op:
        batch_op.create_index(
            "uq_crm_quote_current",
            ["opportunity_id"],
            unique=True,
            postgresql_where=sa.text("is_current"),
            sqlite_where=sa.text("is_current"),
        )


def downgrade() -> None:
    with op.batch_alter_table("crm_quote", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_crm_quote_current",
            postgresql_where=sa.text("is_current"),
            sqlite_where=sa.text("is_current"),
        )
    with op.batch_alter_table("crm_opportunity", schema=None) as batch_op:
        batch_op.drop_column("followed_up_at")
        batch_op.drop_column("stage_reached")
