# Sourced by test.sh: make sure PostgreSQL, Redis and Chromium are there and running.
# As root on Debian it installs and starts what is missing; otherwise it says what is missing.
set -euo pipefail
missing=()
as_root() { [ "$(id -u)" = 0 ]; }
apt_updated=0
apt_install() {
  if ! as_root || ! command -v apt-get >/dev/null; then return 1; fi
  if [ $apt_updated = 0 ]; then apt-get update -qq >/dev/null; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# PostgreSQL on 127.0.0.1:5432, user postgres without a password (trust on loopback).
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if ! command -v pg_ctlcluster >/dev/null; then
    echo "==> installing PostgreSQL"; apt_install postgresql || true
  fi
  if command -v pg_ctlcluster >/dev/null && as_root; then
    version=$(ls /etc/postgresql | sort -V | tail -1)
    hba=/etc/postgresql/$version/main/pg_hba.conf
    if ! grep -q "tandem-tests" "$hba"; then
      sed -i '1i host all all 127.0.0.1/32 trust # tandem-tests' "$hba"
    fi
    echo "==> starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  fi
  pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null || missing+=("PostgreSQL on 127.0.0.1:5432")
fi

# Redis on 127.0.0.1:6379.
if ! (command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1); then
  command -v redis-server >/dev/null || { echo "==> installing Redis"; apt_install redis-server || true; }
  if command -v redis-server >/dev/null; then
    echo "==> starting Redis"
    mkdir -p /tmp/tandem-redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /tmp/tandem-redis --logfile /tmp/tandem-redis/redis.log || true
    for _ in $(seq 1 20); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.5; done
  fi
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || missing+=("Redis on 127.0.0.1:6379")
fi

# Debian's Chromium for the browser tests (Playwright drives it; its own download is blocked).
if [ ! -x /usr/bin/chromium ]; then
  echo "==> installing Chromium"; apt_install chromium || true
  [ -x /usr/bin/chromium ] || missing+=("Chromium at /usr/bin/chromium (Debian package chromium)")
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "Missing for the test suite (run as root on Debian to install them automatically):" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 2
fi
