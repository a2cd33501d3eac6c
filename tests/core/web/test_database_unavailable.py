"""Which database errors answer 503 (the database could not be reached: try again) and
which are bugs (a 500 with its traceback): core.web.errors.database_unavailable."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from psycopg import errors as pg
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.exc import InterfaceError
from sqlalchemy.exc import OperationalError

from core.web.errors import database_unavailable


@pytest.mark.parametrize(("orig", "unavailable"), [
    (psycopg.OperationalError("connection refused"), True),  # no server answered
    (pg.AdminShutdown("terminating connection due to administrator command"), True),
    (pg.CannotConnectNow("the database system is starting up"), True),
    (pg.TooManyConnections("sorry, too many clients already"), True),
    (pg.DeadlockDetected("deadlock detected"), False),
    (pg.LockNotAvailable("could not obtain lock"), False),
    (sqlite3.OperationalError("database is locked"), True),
    (sqlite3.OperationalError("no such table: crm_customer"), False),  # a missing migration
])
def test_only_an_unreachable_database_is_a_503(orig, unavailable):
    assert database_unavailable(OperationalError("SELECT 1", {}, orig)) is unavailable


def test_lost_connections_are_503s():
    assert database_unavailable(DisconnectionError("gone"))
    assert database_unavailable(InterfaceError("SELECT 1", {}, psycopg.InterfaceError("closed")))
    invalidated = OperationalError("SELECT 1", {}, pg.DeadlockDetected("x"),
                                   connection_invalidated=True)
    assert database_unavailable(invalidated)


def test_a_missing_table_in_a_request_is_a_500_not_a_503(make_app):
    """A page whose statement fails for a reason other than the connection answers 500 (on
    SQLite a missing table is an OperationalError, as a lost connection is)."""
    from core.extensions import db

    app = make_app()

    @app.route("/_test_bad_statement")
    def _bad() -> str:
        db.session.execute(db.text("SELECT * FROM no_such_table_here"))
        return "never"

    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert app.test_client().get("/_test_bad_statement").status_code == 500
