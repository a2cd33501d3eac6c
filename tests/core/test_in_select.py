"""``core.db.in_select``: ``IN (SELECT …)`` with an index-friendly ``= ANY (ARRAY(…))`` twin
on PostgreSQL, the same rows on both databases (also negated, and for an empty result)."""

from __future__ import annotations

from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from core.db import in_select
from core.extensions import db
from core.security.models import User


def test_rendering_by_database():
    clause = in_select(User.id, select(User.id).where(User.username == "a"))
    pg = str(select(User.id).where(clause).compile(dialect=postgresql.dialect()))
    lite = str(select(User.id).where(clause).compile(dialect=sqlite.dialect()))
    assert "(core_user.id IN (SELECT" in pg and "AND core_user.id = ANY (ARRAY(SELECT" in pg
    assert "core_user.id IN (SELECT" in lite and "= 1" not in lite


def test_same_rows_as_in(make_user):
    users = [make_user("sales", username=name) for name in ("ann", "bob", "cy")]

    def ids(clause):
        return sorted(db.session.scalars(select(User.id).where(clause)))

    named = select(User.id).where(User.username.in_(["ann", "cy"]))
    nobody = select(User.id).where(User.username == "nobody")
    assert ids(in_select(User.id, named)) == sorted([users[0].id, users[2].id])
    assert ids(in_select(User.id, named)) == ids(User.id.in_(named))
    assert ids(~in_select(User.id, named)) == ids(~User.id.in_(named))
    assert ids(in_select(User.id, nobody)) == []
    assert ids(or_(User.username == "bob", in_select(User.id, nobody))) == [users[1].id]
