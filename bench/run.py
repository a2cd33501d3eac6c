"""Run benchmarks: ``.venv/bin/python bench/run.py [NAME …] [--scale N] [--database-url URL]``.

Without ``--database-url`` a throw-away PostgreSQL database is created on
127.0.0.1:5432 and dropped afterwards. Results are printed as Markdown tables and written to
``bench/results/<name>.md`` (git-ignored).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="*", help="benchmarks (bench/bench_<name>.py)")
    parser.add_argument("--scale", type=float, default=1.0, help="data size multiplier")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    names = args.names or sorted(p.stem[6:] for p in (ROOT / "bench").glob("bench_*.py"))
    dbname = None
    url = args.database_url
    if url is None:
        dbname = f"tandem_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{dbname}"'))
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + dbname
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    try:
        for name in names:
            module = importlib.import_module(f"bench.bench_{name}")
            report = module.main(url, scale=args.scale, repeat=args.repeat,
                                 instance=tempfile.mkdtemp(prefix="tandem-bench-"))
            print(report)
            (out / f"{name}.md").write_text(report + "\n", encoding="utf-8")
    finally:
        if dbname:
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
