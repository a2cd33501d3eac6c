#!/usr/bin/env bash
# Regenerate a module's initial migration (<module>_0001) from its models (pre-release only:
# while <module>_0001 is the module's only revision).
# Usage: scripts/regen_module_migration.sh crm
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TANDEM_INSTANCE_PATH="$tmp" DATABASE_URL="sqlite:///$tmp/regen.sqlite" REDIS_URL=
export TANDEM_MODULE_PATHS='["tests/fixtures/addons"]'
# Third-party packages' revisions may depend on the one being regenerated: leave them out,
# except when regenerating one of them.
if ! [ -d "modules/$name" ] && ! [ -d "tests/fixtures/addons/$name" ]; then :; else
  export TANDEM_NO_ENTRY_POINTS=1
fi
read -r dir deps < <(.venv/bin/python - "$name" <<'PY'
import sys
from core.registry.discovery import discover
from core.registry.graph import closure, topo_order
mods = discover(["tests/fixtures/addons"])
name = sys.argv[1]
need = closure([name], mods) - {name}
print(mods[name].migrations_dir, " ".join(topo_order(need, mods)))
PY
)
mkdir -p "$dir"
rm -f "$dir/${name}_0001_"*.py
.venv/bin/python manage.py db upgrade >/dev/null
if [ -n "${deps:-}" ]; then .venv/bin/python manage.py modules install $deps >/dev/null; fi
.venv/bin/python manage.py modules revision "$name" -m "$name schema"
.venv/bin/ruff format -q "$dir" || true
