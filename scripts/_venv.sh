# shellcheck shell=bash
# Sourced by demo.sh and test.sh: create .venv and install the project into it when needed
# (again only when pyproject.toml changed), then put .venv/bin first on PATH.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Tandem needs Python 3.11 or newer as '$PYTHON' (set PYTHON=/path/to/python3.11)." >&2
    exit 2
  fi
  echo "==> creating the virtual environment (.venv)"
  if ! "$PYTHON" -m venv .venv; then
    echo "Could not create .venv: on Debian/Ubuntu install python3-venv first." >&2
    exit 2
  fi
fi
stamp=.venv/.tandem-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "==> installing Tandem and its dependencies into .venv (pip)"
  .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
  # (this machine's pip config names extra index folders that may not exist: not our news)
  .venv/bin/python -m pip install --quiet -e ".[dev]" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  touch "$stamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"
export VIRTUAL_ENV="$ROOT/.venv"
