"""Benchmark: what the assign dialog's confirmation computes, with and without the warning that
names who works on the moving records (task "hand", 2026-11-30).

    .venv/bin/python bench/assign_workers.py [--companies 10000] [--repeat 5]
    .venv/bin/python bench/assign_workers.py --database-url postgresql://…/an_empty_database

The data of ``bench/cascade.py`` (``crm.demo.generate``: 10,000 companies, about 40,000 people,
deals and projects, with responsible users and tasks); the actor an admin in every group; the
selection "all matching" companies with the full cascade into an empty group. Timed, alternately:
:func:`crm.records.assign.preview` (the counts the confirmation showed before) and
:func:`crm.records.assign.workers_losing_sight` (what it computes now besides). Prints the medians
and their ratio. Not a test.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cascade import build, setup_actor  # noqa: E402

from crm import create_app  # noqa: E402


def measure(url: str, companies: int, repeat: int) -> None:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        from crm.records.assign import CASCADE, preview, workers_losing_sight
        from crm.records.queries import ListFilter, ids_matching
        from crm.records.types import TYPES

        build(url, companies)
        viewer, target = setup_actor()
        rtype = TYPES["company"]
        ids = ids_matching(rtype, viewer, ListFilter())
        runs: dict[str, list[float]] = {"preview": [], "workers": []}
        for _ in range(repeat):
            t0 = time.perf_counter()
            counts = preview(rtype, ids, viewer, target, list(CASCADE))
            runs["preview"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            workers, _judged = workers_losing_sight(rtype, ids, viewer, target, list(CASCADE))
            runs["workers"].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in runs.items()}
        print(f"counts {counts}; workers {len(workers)} users, {sum(n for _, n in workers)} records")
        print(f"preview {med['preview'] * 1000:.0f} ms, workers {med['workers'] * 1000:.0f} ms "
              f"(x{med['workers'] / med['preview']:.2f}); runs {runs}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", help="an EMPTY database to use instead (e.g. PostgreSQL)")
    args = parser.parse_args()
    if args.database_url:
        measure(args.database_url, args.companies, args.repeat)
        return
    with tempfile.TemporaryDirectory() as tmp:
        measure(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args.companies, args.repeat)


if __name__ == "__main__":
    main()
