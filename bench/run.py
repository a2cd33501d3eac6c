"""Run benchmarks: ``.venv/bin/python bench/run.py [NAME …] [--scale N] [--database-url URL]``.

Without ``--database-url`` each benchmark gets a throw-away PostgreSQL database on
127.0.0.1:5432, dropped afterwards. Results are printed as Markdown tables and written to
``bench/results/<name>.md`` (git-ignored).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import traceback
import uuid
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The server where throw-away databases are created (as for the tests).
PG_ADMIN = os.environ.get(
    "TANDEM_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _create_database() -> tuple[str, str]:
    name = f"tandem_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def _drop_database(name: str) -> None:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> int:
    available = sorted(p.stem.removeprefix("bench_") for p in (ROOT / "bench").glob("bench_*.py"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks to run: {', '.join(available)}")
    parser.add_argument("--scale", type=float, default=1.0, help="data size multiplier")
    parser.add_argument("--repeat", type=int, default=300, help="timed runs per case")
    parser.add_argument(
        "--database-url", default=None, help="use this (empty) database instead of a new one"
    )
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(available))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)} (available: {', '.join(available)})")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    failed = []
    for name in args.names or available:
        # Each benchmark gets a database of its own, so one's data cannot skew another's.
        dbname, url = (None, args.database_url) if args.database_url else _create_database()
        try:
            module = importlib.import_module(f"bench.bench_{name}")
            with tempfile.TemporaryDirectory(prefix="tandem-bench-") as instance:
                report = module.main(url, scale=args.scale, repeat=args.repeat, instance=instance)
            print(report, flush=True)
            (out / f"{name}.md").write_text(report + "\n", encoding="utf-8")
        except Exception:  # noqa: BLE001 - report it and go on with the next benchmark
            traceback.print_exc()
            failed.append(name)
        finally:
            if dbname:
                _drop_database(dbname)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
