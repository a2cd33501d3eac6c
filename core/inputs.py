"""Checks on raw input shared by the API, the pages and the callbacks (issue 14, finding 6):
JSON depth, NUL characters, and telling a value the database cannot hold from a bug."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.exc import DataError
from sqlalchemy.exc import StatementError

MAX_ID = 2**31 - 1  # PostgreSQL ``integer``; SQLite's 2**63 - 1 is above it
MAX_JSON_DEPTH = 32


def has_nul(value: Any, depth: int = 0) -> bool:
    """Whether a decoded value (str, or nested lists and dicts) holds a NUL character."""
    if isinstance(value, str):
        return "\x00" in value
    if depth > MAX_JSON_DEPTH:
        return False
    if isinstance(value, dict):
        return any(has_nul(k, depth + 1) or has_nul(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v, depth + 1) for v in value)
    return False


def json_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """How deeply ``value`` nests (lists and dicts), counting at most ``limit + 1``."""
    stack = [(value, 1)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def load_json(raw: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that raises ``ValueError`` (not ``RecursionError``) for a document
    nested too deeply, and for one nesting beyond ``max_depth``."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")  # UnicodeDecodeError is a ValueError
    try:
        value = json.loads(raw)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc
    if json_depth(value, max_depth) > max_depth:
        raise ValueError("JSON nested too deeply")
    return value


def is_unstorable(exc: BaseException) -> bool:
    """Whether ``exc`` says a value is out of the database's (or Python's) range."""
    if isinstance(exc, DataError | OverflowError | RecursionError):
        return True
    orig = getattr(exc, "orig", None)
    return isinstance(exc, StatementError) and isinstance(orig, OverflowError | ValueError)
