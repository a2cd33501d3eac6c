"""Templates' ``_()``: new-style gettext (safe text, escaped variables, ``%%`` a percent
sign), also for the texts it returns without formatting them."""

from __future__ import annotations

from typing import Any

from flask import render_template_string
from flask_babel import force_locale
from markupsafe import Markup


def test_text_without_variables_is_safe_markup(app_ctx: Any) -> None:
    with app_ctx.test_request_context():
        assert render_template_string("{{ _('<b>粗</b>') }}") == "<b>粗</b>"


def test_percent_signs_are_formatted_with_or_without_variables(app_ctx: Any) -> None:
    with app_ctx.test_request_context():
        assert render_template_string("{{ _('50%% 完成') }}") == "50% 完成"
        assert render_template_string("{{ _('%(n)s%% 完成', n=5) }}") == "5% 完成"


def test_variables_are_escaped(app_ctx: Any) -> None:
    with app_ctx.test_request_context():
        html = render_template_string("{{ _('共 %(n)s 条', n=v) }}", v="<i>")
        assert html == "共 &lt;i&gt; 条"
        assert render_template_string("{{ _('共 %(n)s 条', n=v) }}", v=Markup("<i>")) == (
            "共 <i> 条")


def test_translated_in_the_request_locale(app_ctx: Any) -> None:
    with app_ctx.test_request_context(), force_locale("en"):
        assert render_template_string("{{ _('筛选') }}") == "Filter"
