#!/usr/bin/env bash
# Command (1): install into .venv, create the database, install the default modules, load
# the demo data (printing the demo logins) and serve the back-office on http://127.0.0.1:5000.
# Safe to run again: it only brings schema, modules and demo data up to date.
#
# By default everything is embedded: SQLite at instance/tandem.sqlite, background jobs
# in-process, no Redis. DATABASE_URL, REDIS_URL and TANDEM_* in the environment (or
# instance/config.py) are honoured when set on purpose. HOST and PORT change the address;
# links in chat cards and e-mails point there (TANDEM_BASE_URL, unless set on purpose).
# shellcheck source=scripts/_venv.sh
source "$(dirname "$0")/_venv.sh"
if [ -n "${DATABASE_URL:-}" ]; then
  echo "==> database: DATABASE_URL=$(echo "$DATABASE_URL" | sed -E 's#//[^@/]*@#//…@#')"
else
  echo "==> database: embedded SQLite (instance/tandem.sqlite)"
fi
export HOST="${HOST:-127.0.0.1}" PORT="${PORT:-5000}"  # core.config derives TANDEM_BASE_URL
echo "==> schema"
python manage.py db upgrade
echo "==> default modules"
python manage.py modules install --default
echo "==> demo data"
python manage.py demo load
exec python manage.py run --host "$HOST" --port "$PORT"
