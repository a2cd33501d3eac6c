"""Services hand out scoped statements only; the customer list page and the API listing
take them as they are and do not apply the record rules a second time."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy import select

from core.extensions import db
from modules.crm import queries
from modules.crm.models.customer import Customer
from tests.conftest import login
from tests.modules.crm.factories import ctx_for
from tests.modules.crm.factories import make_customer

# The sales rule is "own customers or the pool": its pool half, as SQL.
POOL_CLAUSE = "crm_customer.status = "


@contextmanager
def statements():
    seen: list[str] = []

    def record(conn, cursor, statement, *args):  # noqa: ANN001, ANN202
        seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _once_per_select(sql: str) -> bool:
    """The rule's clause once for each read of the table (a page reads it for the rows and
    for the count)."""
    return sql.count(POOL_CLAUSE) == sql.count("FROM crm_customer")


def _customer_pages(seen: list[str]) -> list[str]:
    return [s for s in seen if "FROM crm_customer" in s and "LIMIT" in s]


def test_scoping_a_scoped_statement_changes_nothing(people):
    ctx = ctx_for(people["a"])
    once = ctx.scoped(select(Customer), Customer)
    assert ctx.scoped(once, Customer) is once
    assert str(queries.search_customers(ctx)).count(POOL_CLAUSE) == 1


def test_list_page_and_api_listing_apply_the_rules_once(client, api, people):
    make_customer(people["a"], customer_name="甲")
    make_customer(None, customer_name="公海")
    with statements() as seen:
        body = api("a").get("/api/v1/customers").json
    assert {c["customer_name"] for c in body["data"]} == {"甲", "公海"}
    pages = _customer_pages(seen)
    assert pages and all(_once_per_select(s) for s in pages)

    login(client, people["a"])
    with statements() as seen:
        page = client.get("/crm/customers/").get_data(as_text=True)
    assert "甲" in page and "公海" in page
    pages = _customer_pages(seen)
    assert pages and all(_once_per_select(s) for s in pages)
