#!/usr/bin/env bash
# Command (2): the whole test suite, on SQLite and on PostgreSQL, with real Redis, plus the
# browser tests in Chromium. Installs and starts what is missing when run as root.
source "$(dirname "$0")/_venv.sh"
source "$ROOT/scripts/services.sh"
if [ -d tests/fixtures/tandem-sample-addon ] && ! python -c "import tandem_sample_addon" 2>/dev/null; then
  echo "==> installing the third-party fixture module (tests/fixtures/tandem-sample-addon)"
  python -m pip install --quiet -e tests/fixtures/tandem-sample-addon
fi
echo "==> ruff"
ruff check --quiet .

passed=0; failed=0; status=0
run() {
  local label=$1; shift
  echo "==> pytest ($label)"
  local log; log=$(mktemp)
  set +e
  python -m pytest -q -p no:cacheprovider "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  # pytest exits 5 when a selection holds no test: not a failure of the suite.
  if [ "$rc" != 0 ] && [ "$rc" != 5 ]; then status=1; fi
  # pytest's summary line, e.g. "3 failed, 120 passed, 1 skipped in 9.1s".
  local line; line=$(grep -E '[0-9]+ (passed|failed|errors?)' "$log" | tail -1 || true)
  local p f
  p=$(echo "$line" | awk '{for(i=1;i<NF;i++) if ($(i+1) ~ /^passed/) s+=$i} END{print s+0}')
  f=$(echo "$line" | awk '{for(i=1;i<NF;i++) if ($(i+1) ~ /^(failed|error)/) s+=$i} END{print s+0}')
  passed=$((passed + p)); failed=$((failed + f))
  rm -f "$log"
}
TANDEM_TEST_DB=sqlite run sqlite -m "not browser" tests
TANDEM_TEST_DB=postgresql run postgresql -m "not browser" tests
TANDEM_TEST_DB=sqlite run browser -m browser tests
echo "$passed passed, $failed failed"
exit $status
