#!/usr/bin/env bash
# Command (2): the whole test suite. Lint (ruff, import contracts, dead code), then pytest on SQLite, again on PostgreSQL (both
# with real Redis), then the browser tests in Debian's Chromium. Installs and starts
# PostgreSQL, Redis and Chromium where they are missing when run as root (scripts/services.sh).
# Extra arguments go to every pytest run, e.g. `scripts/test.sh -x -k audit`.
# Ends with one line "N passed, N failed" over all runs; exits non-zero if anything failed.
# shellcheck source=scripts/_venv.sh
source "$(dirname "$0")/_venv.sh"
# shellcheck source=scripts/services.sh
source "$ROOT/scripts/services.sh"
started=$(date +%s)
status=0

# The pip-packaged third-party module the registry tests discover through its entry point.
addon=tests/fixtures/tandem-sample-addon
if [ -d "$addon" ] && ! python -c "import tandem_sample_addon" 2>/dev/null; then
  echo "==> installing the third-party fixture module ($addon)"
  python -m pip install --quiet --no-deps -e "$addon" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
fi

echo "==> ruff check"
if ! ruff check --quiet .; then
  echo "ruff: the problems above fail the run" >&2
  status=1
fi

echo "==> lint-imports (the import contracts of .importlinter)"
if ! lint-imports --no-cache --config .importlinter >/dev/null 2>&1; then
  lint-imports --no-cache --config .importlinter 2>&1 | sed -n '/^Contracts/,$p' >&2
  echo "lint-imports: the broken import contracts above fail the run" >&2
  status=1
fi

echo "==> vulture (dead code; [tool.vulture] in pyproject.toml, scripts/vulture_whitelist.py)"
if ! vulture; then
  echo "vulture: the unused code above fails the run (remove it, or whitelist what is used" \
    "where vulture cannot see)" >&2
  status=1
fi

passed=0
failed=0
run() {
  local label=$1
  shift
  local log rc line p f t0
  log=$(mktemp)
  t0=$(date +%s)
  echo "==> pytest ($label)"
  set +e
  python -m pytest -q -p no:cacheprovider -rfEs "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  # pytest's last line, e.g. "2 failed, 120 passed, 1 skipped, 3 deselected in 9.10s".
  line=$(grep -E '^=* ?[0-9]+ (passed|failed|errors?|skipped|deselected)' "$log" | tail -1 || true)
  p=$(echo "$line" | awk '{for (i = 1; i < NF; i++) if ($(i+1) ~ /^passed/) s += $i} END {print s + 0}')
  f=$(echo "$line" | awk '{for (i = 1; i < NF; i++) if ($(i+1) ~ /^(failed|error)/) s += $i} END {print s + 0}')
  # Exit 5 = nothing selected: not a failure. Any other non-zero exit is one, even when
  # pytest died before its summary.
  if [ "$rc" != 0 ] && [ "$rc" != 5 ]; then
    status=1
    if [ "$f" = 0 ]; then
      echo "pytest ($label) exited $rc" >&2
      f=1
    fi
  fi
  # Here the services exist, so a test skipped for want of one is a failure.
  if grep -E '^SKIPPED .*(Redis|redis-server|Chromium|playwright)' "$log" >&2; then
    echo "pytest ($label): tests above were skipped although the services were set up" >&2
    status=1
    f=$((f + $(grep -cE '^SKIPPED .*(Redis|redis-server|Chromium|playwright)' "$log")))
  fi
  echo "    ($label: $(($(date +%s) - t0)) s)"
  passed=$((passed + p))
  failed=$((failed + f))
  rm -f "$log"
}

TANDEM_TEST_DB=sqlite run "SQLite" -m "not browser" "$@"
TANDEM_TEST_DB=postgresql run "PostgreSQL" -m "not browser" "$@"
TANDEM_TEST_DB=sqlite run "browser, Chromium" -m browser "$@"

echo "==> total $(($(date +%s) - started)) s"
echo "$passed passed, $failed failed"
if [ "$status" -ne 0 ]; then
  echo "FAILED (see above: ruff, or a pytest run that did not pass)" >&2
fi
exit $status
