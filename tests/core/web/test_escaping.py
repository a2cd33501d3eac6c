"""``html_text``: the list cells' escaper writes what ``markupsafe.escape`` writes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from markupsafe import Markup
from markupsafe import escape

from core.web.escaping import html_text


def test_every_special_character_is_an_entity() -> None:
    assert html_text("""<a href="x" title='y'>&amp;</a>""") == (
        "&lt;a href=&#34;x&#34; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;")


@pytest.mark.parametrize("value", [
    "", "EQ-2026-000123", "客户 <甲> & '乙' \"丙\"", "&lt;", 0, 42, -7, 2.5,
    Decimal("12.30"), date(2026, 12, 5), Markup("<b>kept</b>"), True,
])
def test_same_text_as_markupsafe(value: object) -> None:
    assert html_text(value) == str(escape(value))


def test_none_is_empty() -> None:
    assert html_text(None) == ""


def test_a_str_subclass_is_escaped_by_its_own_rules() -> None:
    class Loud(str):
        def __html__(self) -> str:
            return "<i>loud</i>"

    assert html_text(Loud("<x>")) == "<i>loud</i>"
