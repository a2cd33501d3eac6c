# shellcheck shell=bash
# Sourced by test.sh (after _venv.sh): make sure the services the suite uses are there.
#   PostgreSQL  TANDEM_TEST_PG_URL     (default postgres@127.0.0.1:5432, no password)
#   Redis       TANDEM_TEST_REDIS_URL  (default 127.0.0.1:6379 db 15) and the redis-server
#               binary (some tests start a private server on a free port)
#   Chromium    /usr/bin/chromium (Debian's; Playwright drives it, its own download is blocked)
# As root on Debian/Ubuntu it installs (apt-get) and starts whatever is missing on this
# machine; otherwise it names what is missing and exits non-zero.
set -euo pipefail

PG_URL=${TANDEM_TEST_PG_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres}
REDIS_TEST_URL=${TANDEM_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}
missing=()

is_root() { [ "$(id -u)" = 0 ]; }
can_apt() { is_root && command -v apt-get >/dev/null; }
apt_updated=0
apt_install() {
  can_apt || return 1
  if [ "$apt_updated" = 0 ]; then
    apt-get update -qq >/dev/null || true
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Exactly the connections the tests make, through the venv's drivers.
pg_ok() {
  python - "$PG_URL" >/dev/null 2>&1 <<'EOF'
import sys
from sqlalchemy import create_engine, text
engine = create_engine(sys.argv[1], connect_args={"connect_timeout": 3})
with engine.connect() as conn:
    conn.execute(text("SELECT 1"))
EOF
}
redis_ok() {
  python - "$REDIS_TEST_URL" >/dev/null 2>&1 <<'EOF'
import sys
import redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=3).ping()
EOF
}
wait_for() {  # wait_for CHECK SECONDS
  local i
  for ((i = 0; i < $2 * 2; i++)); do "$1" && return 0; sleep 0.5; done
  return 1
}

# --------------------------------------------------------------------------- PostgreSQL
if ! pg_ok; then
  if [ -n "${TANDEM_TEST_PG_URL:-}" ]; then
    missing+=("PostgreSQL at TANDEM_TEST_PG_URL=$TANDEM_TEST_PG_URL (not reachable)")
  else
    if ! command -v pg_ctlcluster >/dev/null && can_apt; then
      echo "==> installing PostgreSQL (apt-get)"
      apt_install postgresql || true
    fi
    if command -v pg_ctlcluster >/dev/null && is_root; then
      version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
      if [ -z "$version" ]; then
        version=$(ls /usr/lib/postgresql | sort -V | tail -1)
        pg_createcluster "$version" main >/dev/null
      fi
      hba=/etc/postgresql/$version/main/pg_hba.conf
      # The suite connects as postgres over TCP without a password: trust loopback only.
      if ! grep -q "tandem-tests" "$hba"; then
        { printf 'host all postgres 127.0.0.1/32 trust # tandem-tests\n'
          printf 'host all postgres ::1/128 trust # tandem-tests\n'
          cat "$hba"; } >"$hba.tandem" && cat "$hba.tandem" >"$hba" && rm -f "$hba.tandem"
      fi
      echo "==> starting PostgreSQL $version"
      if pg_ctlcluster "$version" main status >/dev/null 2>&1; then
        pg_ctlcluster --skip-systemctl-redirect "$version" main reload || true
      else
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
      fi
      wait_for pg_ok 30 || true
    fi
    pg_ok || missing+=("PostgreSQL on 127.0.0.1:5432 accepting user postgres without a password (Debian package postgresql)")
  fi
fi

# -------------------------------------------------------------------------------- Redis
if ! command -v redis-server >/dev/null && can_apt; then
  echo "==> installing Redis (apt-get)"
  apt_install redis-server || true
fi
command -v redis-server >/dev/null || missing+=("redis-server (Debian package redis-server)")
if ! redis_ok; then
  if [ -z "${TANDEM_TEST_REDIS_URL:-}" ] && command -v redis-server >/dev/null; then
    echo "==> starting Redis on 127.0.0.1:6379"
    mkdir -p /tmp/tandem-redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /tmp/tandem-redis --logfile /tmp/tandem-redis/redis.log >/dev/null || true
    wait_for redis_ok 10 || true
  fi
  redis_ok || missing+=("Redis at ${TANDEM_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}")
fi

# ----------------------------------------------------------------------------- Chromium
if [ ! -x /usr/bin/chromium ] && can_apt; then
  echo "==> installing Chromium (apt-get)"
  # A CJK font so that pages and screenshots show the Chinese UI text.
  apt_install chromium fonts-wqy-microhei || true
fi
[ -x /usr/bin/chromium ] || missing+=("Chromium at /usr/bin/chromium (Debian package chromium)")

# ----------------------------------------------------------------------------- nginx
# Optional: tests/core/ops/test_deploy.py puts docs/deploy.md's nginx site in front of its two
# gunicorn nodes when nginx is there, and says it skipped that part otherwise.
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ] && can_apt; then
  echo "==> installing nginx (apt-get)"
  apt_install nginx-light || apt_install nginx || true
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "The test suite needs services that are missing here:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  if ! is_root; then
    echo "Run this command as root on Debian/Ubuntu to install and start them," >&2
    echo "or install them yourself (see README.md)." >&2
  fi
  exit 2
fi
