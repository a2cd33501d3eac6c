#!/usr/bin/env bash
# Command (1): install into .venv, create the embedded SQLite database in instance/,
# install the default modules, load demo data and serve http://127.0.0.1:5000.
source "$(dirname "$0")/_venv.sh"
# The demo runs on the embedded default unless DATABASE_URL / REDIS_URL are set on purpose.
python manage.py db upgrade
python manage.py modules install --default
python manage.py demo load
exec python manage.py run --host 127.0.0.1 --port "${PORT:-5000}"
