"""The module contracts of ``.importlinter`` fail on a violating import (written into a
copy of the code): a service or query reaching for the web edge, a module importing one its
manifest does not depend on, an import cycle inside a module."""

from __future__ import annotations

import pytest

from tests.core.architecture.test_import_contracts import _add_import
from tests.core.architecture.test_import_contracts import _lint
from tests.core.architecture.test_import_contracts import code_copy  # noqa: F401 (fixture)

EDGE = ("a module's services and queries never import flask, flask_login, markupsafe or a "
        "web package BROKEN")
MANIFEST = "a module imports another only when its manifest depends on it (directly or not) BROKEN"
CYCLES = ("no import cycles in a module (between the children of every package of modules) "
          "BROKEN")


@pytest.mark.parametrize(("file", "statement", "broken"), [
    ("modules/pool/queries.py", "from flask import request  # noqa", EDGE),
    ("modules/crm/services/follow_ups.py", "import markupsafe  # noqa", EDGE),
    ("modules/crm/services/customers.py", "import modules.crm.web.customers  # noqa", EDGE),
    ("modules/crm/services/opportunities.py", "import modules.wecom.client  # noqa", MANIFEST),
    ("modules/crm/queries.py", "import modules.pool.queries  # noqa", MANIFEST),
    ("modules/crm/cards.py", "import modules.crm.bot  # noqa", CYCLES),
])
def test_a_violating_module_import_fails_the_check(code_copy, file, statement, broken):  # noqa: F811
    _add_import(code_copy / file, statement)
    result = _lint(code_copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert broken in " ".join(result.stdout.split()), result.stdout
