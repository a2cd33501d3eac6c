"""Each ticket's first response and resolution in working minutes, stamped when they
happen (the analytics' medians and p90 as SQL aggregates), filled in here for the tickets
already answered or resolved with the same SLA calendar function; tickets indexed by
reporter (the sales record rule: reported by me OR my customers') and by customer with the
resolution and the rating (a salesperson's overview figures over a period).

Revision ID: service_0004
Revises: service_0003
Create Date: 2026-12-05 04:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = "service_0004"
down_revision = "service_0003"
branch_labels = None
depends_on = None

BATCH = 5000


def _calendar(conn):
    """The SLA calendar as ``modules.service.services.sla.calendar`` builds it, from the
    stored ``service.working_hours`` setting (the default intervals without one)."""
    from modules.service.sla import WorkCalendar
    from modules.service.sla import chinese_workday
    from modules.service.sla import parse_intervals

    setting = sa.table("core_setting", sa.column("key", sa.String),
                       sa.column("value", sa.JSON))
    spec = conn.execute(sa.select(setting.c.value).where(
        setting.c.key == "service.working_hours")).scalar()
    return WorkCalendar(parse_intervals(spec), chinese_workday)


def _backfill(conn):
    from functools import lru_cache

    from modules.service.sla import WorkCalendar
    from modules.service.sla import ticket_minutes

    cal = _calendar(conn)
    cal = WorkCalendar(cal.intervals, lru_cache(maxsize=None)(cal.is_workday))
    ticket = sa.table(
        "service_ticket", sa.column("id", sa.Integer), sa.column("created_at", sa.DateTime),
        sa.column("first_response_at", sa.DateTime), sa.column("resolved_at", sa.DateTime),
        sa.column("sla_pauses", sa.JSON), sa.column("response_minutes", sa.Float),
        sa.column("resolution_minutes", sa.Float))
    last = 0
    while True:
        rows = conn.execute(
            sa.select(ticket.c.id, ticket.c.created_at, ticket.c.first_response_at,
                      ticket.c.resolved_at, ticket.c.sla_pauses)
            .where(ticket.c.id > last, sa.or_(ticket.c.first_response_at.is_not(None),
                                              ticket.c.resolved_at.is_not(None)))
            .order_by(ticket.c.id).limit(BATCH)).all()
        if not rows:
            return
        values = []
        for tid, created, responded, resolved, pauses in rows:
            response, resolution = ticket_minutes(cal, created, responded, resolved, pauses)
            values.append({"tid": tid, "response": response, "resolution": resolution})
        conn.execute(ticket.update().where(ticket.c.id == sa.bindparam("tid")).values(
            response_minutes=sa.bindparam("response"),
            resolution_minutes=sa.bindparam("resolution")), values)
        last = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table("service_ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("response_minutes", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("resolution_minutes", sa.Float(), nullable=True))
        batch_op.create_index("ix_service_ticket_created_by_id", ["created_by_id"],
                              unique=False)
        batch_op.create_index("ix_service_ticket_customer_resolved",
                              ["customer_id", "resolved_at", "sla_state"], unique=False)
        batch_op.create_index("ix_service_ticket_customer_rated",
                              ["customer_id", "rated_at", "rating"], unique=False)
    _backfill(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("service_ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_service_ticket_customer_rated")
        batch_op.drop_index("ix_service_ticket_customer_resolved")
        batch_op.drop_index("ix_service_ticket_created_by_id")
        batch_op.drop_column("resolution_minutes")
        batch_op.drop_column("response_minutes")
