#!/usr/bin/env bash
# Regenerate the core's initial migration from the models (pre-release only: while
# core_0001 is the only core revision and no database in the field depends on it).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f core/migrations/versions/core_0001_*.py
TANDEM_INSTANCE_PATH="$tmp" DATABASE_URL="sqlite:///$tmp/regen.sqlite" REDIS_URL= \
  .venv/bin/python manage.py modules revision core -m "core schema"
rm -rf "$tmp"
.venv/bin/ruff format -q core/migrations/versions/ || true
