"""auth epoch: a counter the database moves on every change to who may do what

Revision ID: core_0002
Revises: core_0001
Create Date: 2026-12-01 01:20:00

``core_state['auth_epoch']`` is bumped by triggers, inside the changing transaction, on any
write to users, role memberships, grants, teams and API tokens (revocation), whichever code
or tool writes. Processes keep what they read about a request's user (his row and roles,
his grants, his team) for as long as the epoch they read at the start of the request is the
same (``core.security.principal``). It starts at a random value, so a cache built on one
database never matches another database's epoch.
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "core_0002"
down_revision = "core_0001"
branch_labels = None
depends_on = None

BUMP = "UPDATE core_state SET value = value + 1 WHERE key = 'auth_epoch'"
# table → the columns whose update matters (None: every update)
WATCHED = {
    "core_user": None,
    "core_user_role": None,
    "core_role_permission": None,
    "core_team": None,
    "core_api_token": ("revoked_at", "user_id", "token_hash"),
}


def upgrade() -> None:
    op.get_bind().execute(
        sa.text("INSERT INTO core_state (key, value) VALUES ('auth_epoch', :start)"),
        {"start": secrets.randbelow(2**30)},
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION core_bump_auth_epoch() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN {BUMP}; RETURN NULL; END $$"
        )
        for table, columns in WATCHED.items():
            update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
            op.execute(
                f"CREATE TRIGGER {table}_auth_epoch AFTER INSERT OR {update} OR DELETE "
                f"OR TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION "
                "core_bump_auth_epoch()"
            )
    else:  # SQLite: row triggers, one per event
        for table, columns in WATCHED.items():
            update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
            for name, event in (("ins", "INSERT"), ("upd", update), ("del", "DELETE")):
                op.execute(
                    f"CREATE TRIGGER {table}_auth_epoch_{name} AFTER {event} ON {table} "
                    f"BEGIN {BUMP}; END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_auth_epoch ON {table}")
        op.execute("DROP FUNCTION IF EXISTS core_bump_auth_epoch()")
    else:
        for table in WATCHED:
            for name in ("ins", "upd", "del"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_auth_epoch_{name}")
    op.execute("DELETE FROM core_state WHERE key = 'auth_epoch'")
