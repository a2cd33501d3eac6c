#!/usr/bin/env bash
# Regenerate the core's initial migration from the models (pre-release only: while
# core_0001 is the only core revision and no database in the field depends on it).
set -euo pipefail
cd "$(dirname "$0")/.."
if ls core/migrations/versions/ | grep -v '^core_0001_' | grep -q '\.py$'; then
  echo "core has revisions after core_0001 (core_0002 adds the auth-epoch triggers):" >&2
  echo "add a new revision with 'manage.py modules revision core -m ...' instead" >&2
  exit 1
fi
tmp=$(mktemp -d)
rm -f core/migrations/versions/core_0001_*.py
TANDEM_INSTANCE_PATH="$tmp" DATABASE_URL="sqlite:///$tmp/regen.sqlite" REDIS_URL= \
  .venv/bin/python manage.py modules revision core -m "core schema"
rm -rf "$tmp"
.venv/bin/ruff format -q core/migrations/versions/ || true
