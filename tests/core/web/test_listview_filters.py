"""A list filter's control: the request's value, escaped, in labels of the reader's
language (the labels' HTML is kept per app and language; the value never is)."""

from __future__ import annotations

from flask_babel import force_locale

from core.web.listview import Filter


def test_a_filter_input_carries_the_value_escaped_and_labels_in_the_reader_language(app):
    since = Filter("from", "起始日期", column=None, kind="date_from")
    with app.test_request_context('/?from=<b>"x"'):
        html = str(since.control())
    assert 'name="from" value="&lt;b&gt;&#34;x&#34;" placeholder="起始日期"' in html
    assert html.endswith(' type="date">') and "<b>" not in html
    with app.test_request_context("/?from=2026-01-01"), force_locale("en"):
        html = str(since.control())
    assert 'value="2026-01-01" placeholder="From" aria-label="From"' in html
    with app.test_request_context("/"):  # and back: the other language's labels
        html = str(since.control())
    assert 'value="" placeholder="起始日期"' in html


def test_a_number_filter_input_has_no_date_type(app):
    least = Filter("min", "最低金额", column=None, kind="number_min")
    with app.test_request_context("/?min=5000"):
        html = str(least.control())
    assert html == ('<input class="form-control form-control-sm" name="min" value="5000" '
                    'placeholder="最低金额" aria-label="最低金额" title="最低金额">')


def test_a_condition_filter_applies_its_choice_clause_as_written(app):
    """A ``condition`` filter puts the clause of the chosen value in the WHERE as it is (no
    ``CASE`` flag around it), and answers 400 for a value it does not offer."""
    from sqlalchemy import column
    from sqlalchemy import select
    from sqlalchemy import table
    from werkzeug.exceptions import BadRequest

    parts = table("parts", column("id"), column("on_hand"), column("minimum"))
    low = Filter("low", "库存预警", {"1": parts.c.on_hand < parts.c.minimum},
                 {"1": "低于最低库存"}, kind="condition")
    stmt = low.apply(select(parts.c.id), "1")
    assert str(stmt).split("WHERE ", 1)[1] == "parts.on_hand < parts.minimum"
    with app.test_request_context("/?low=1"):
        assert 'value="1" selected' in str(low.control())
    try:
        low.apply(select(parts.c.id), "0")
    except BadRequest:
        pass
    else:
        raise AssertionError("a value the filter does not offer answered no 400")
