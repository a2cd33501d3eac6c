#!/usr/bin/env bash
# Command (2): the whole test suite. Lint (ruff, import contracts, dead code), then pytest on SQLite and on PostgreSQL side by side
# (both with real Redis), then the browser tests in Debian's Chromium. Installs and starts
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

# Security scans (issue 14): bandit must report no high-severity finding (the known
# exceptions are marked in the code with `# nosec <id>` and a reason, and listed in
# pyproject.toml [tool.bandit]); pip-audit must find no known vulnerability in the installed
# dependencies. pip-audit asks PyPI's vulnerability service: when it cannot reach it, this
# says so and does not fail the run.
echo "==> bandit (high severity)"
if ! bandit -q -c pyproject.toml -r core modules --severity-level high; then
  echo "bandit: the high-severity findings above fail the run" >&2
  status=1
fi
echo "==> pip-audit"
audit_json=$(mktemp)
set +e
timeout 300 pip-audit --progress-spinner off --local -f json -o "$audit_json" 2>/dev/null
audit_rc=$?
set -e
python - "$audit_json" "$audit_rc" <<'PY' || status=1
import json, sys
path, rc = sys.argv[1], int(sys.argv[2])
try:
    deps = json.load(open(path)).get("dependencies", [])
except (OSError, ValueError):
    deps = []
audited = [d for d in deps if "skip_reason" not in d]
vulnerable = [d for d in audited if d.get("vulns")]
if not audited:
    print(f"pip-audit: could not reach its vulnerability service (exit {rc}, "
          f"{len(deps)} packages not audited): NOT CHECKED, not failing the run")
    sys.exit(0)
for dep in vulnerable:
    ids = ", ".join(v["id"] for v in dep["vulns"])
    print(f"pip-audit: {dep['name']} {dep.get('version')}: {ids}", file=sys.stderr)
print(f"pip-audit: {len(audited)} packages audited, {len(vulnerable)} with known vulnerabilities")
sys.exit(1 if vulnerable else 0)
PY
rm -f "$audit_json"

passed=0
failed=0

# One pytest run, its output kept in a log ($2) and its exit code in "$2.rc".
pytest_run() {
  local log=$1
  shift
  set +e
  python -m pytest -q -p no:cacheprovider -rfEs "$@" >"$log" 2>&1
  echo $? >"$log.rc"
  set -e
}

# A finished run: its output shown, its counts added, its failures (and a test skipped
# for want of a service that is set up here) marked.
collect() {
  local label=$1 log=$2 seconds=$3 rc line p f
  rc=$(cat "$log.rc" 2>/dev/null || echo 1)
  echo "==> pytest ($label)"
  cat "$log"
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
  echo "    ($label: $seconds)"
  passed=$((passed + p))
  failed=$((failed + f))
  rm -f "$log" "$log.rc"
}

# The SQLite and PostgreSQL runs go side by side (each test run has its own databases; a
# good part of the PostgreSQL run is the server's work, on the other core), their outputs
# shown one after the other; then the browser run, alone (its live servers and Chromium
# time their waits).
sqlite_log=$(mktemp)
postgres_log=$(mktemp)
t0=$(date +%s)
echo "==> pytest (SQLite and PostgreSQL, side by side)"
TANDEM_TEST_DB=sqlite pytest_run "$sqlite_log" -m "not browser" "$@" &
sqlite_pid=$!
TANDEM_TEST_DB=postgresql pytest_run "$postgres_log" -m "not browser" "$@"
postgres_seconds=$(($(date +%s) - t0))
wait "$sqlite_pid" || true
both_seconds=$(($(date +%s) - t0))
collect "SQLite" "$sqlite_log" "$both_seconds s, side by side with PostgreSQL"
collect "PostgreSQL" "$postgres_log" "$postgres_seconds s, side by side with SQLite"
browser_log=$(mktemp)
t0=$(date +%s)
TANDEM_TEST_DB=sqlite pytest_run "$browser_log" -m browser "$@"
collect "browser, Chromium" "$browser_log" "$(($(date +%s) - t0)) s"

echo "==> total $(($(date +%s) - started)) s"
echo "$passed passed, $failed failed"
if [ "$status" -ne 0 ]; then
  echo "FAILED (see above: ruff, or a pytest run that did not pass)" >&2
fi
exit $status
