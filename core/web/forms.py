"""The form flow every back-office form shares: validate, call the service inside a unit of
work, put service errors back on their fields (the user's input is kept), or flash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash
from flask_wtf import FlaskForm

from core.errors import NotFoundError
from core.errors import TandemError
from core.services import unit_of_work
from core.web.context import web_ctx


def submit(form: FlaskForm, action: Callable[[Any], Any]) -> tuple[bool, Any]:
    """On a valid POST run ``action(ctx)`` in one unit of work. Returns ``(done, result)``;
    on a refusal the messages land on the fields named by ``exc.fields`` (else flashed)."""
    if not form.validate_on_submit():
        return False, None
    ctx = web_ctx()
    try:
        with unit_of_work(ctx):
            result = action(ctx)
    except TandemError as exc:
        placed = False
        for name, message in exc.fields.items():
            field = getattr(form, name, None)
            if field is not None:
                field.errors = [*list(field.errors), message]
                placed = True
        if not placed or exc.message:
            flash(exc.message, "danger")
        return False, None
    return True, result


def run_action(action: Callable[[Any], Any], done: str, target: str) -> Any:
    """A button's POST: run ``action(ctx)`` in one unit of work, flash ``done`` or the
    refusal, and go back to ``target``; a record the user may not see answers 404."""
    from flask import redirect


    ctx = web_ctx()
    try:
        with unit_of_work(ctx):
            action(ctx)
        flash(done, "success")
    except NotFoundError:
        raise  # the app's 404 page (core.web.errors)
    except TandemError as exc:
        flash(exc.message, "danger")
    return redirect(target)
