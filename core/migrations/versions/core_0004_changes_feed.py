"""changes feed: the changes outbox and webhook subscriptions with their delivery log

Revision ID: core_0004
Revises: core_0003
Create Date: 2026-12-05 01:30:00

``core_change_event`` is written by ``core.changes.capture`` in the transaction of each
change of a module's record (issue 19 #5); ``core_webhook_subscription`` and
``core_webhook_delivery`` push the same events to integrators' URLs.
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0004"
down_revision = "core_0003"
branch_labels = None
depends_on = None

EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "core_change_event",
        sa.Column("id", EVENT_ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("module", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("changed", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_change_event")),
    )
    with op.batch_alter_table("core_change_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_core_change_event_at"), ["at"], unique=False)
        batch_op.create_index("ix_core_change_event_record", ["model", "record_id"],
                              unique=False)

    op.create_table(
        "core_webhook_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("modules", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("last_event_id", EVENT_ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["core_user.id"],
                                name=op.f("fk_core_webhook_subscription_owner_id_core_user"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_webhook_subscription")),
    )
    with op.batch_alter_table("core_webhook_subscription", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_core_webhook_subscription_owner_id"), ["owner_id"],
                              unique=False)

    op.create_table(
        "core_webhook_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("event_id", EVENT_ID, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["core_webhook_subscription.id"],
            name=op.f("fk_core_webhook_delivery_subscription_id_core_webhook_subscription"),
            ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_webhook_delivery")),
        sa.UniqueConstraint("subscription_id", "event_id",
                            name=op.f("uq_core_webhook_delivery_subscription_id_event_id")),
    )
    with op.batch_alter_table("core_webhook_delivery", schema=None) as batch_op:
        batch_op.create_index("ix_core_webhook_delivery_due", ["status", "next_attempt_at"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_core_webhook_delivery_subscription_id"),
                              ["subscription_id"], unique=False)


def downgrade() -> None:
    op.drop_table("core_webhook_delivery")
    op.drop_table("core_webhook_subscription")
    op.drop_table("core_change_event")
