"""Benchmark: a rule set of 50 assignment rules applied to N existing companies (preview and apply).

    .venv/bin/python bench/rules.py [--size 10000] [--repeat 3] [--database-url postgresql://…/empty_db]

A temporary SQLite database (migrated like production) gets N companies with their people, deals and
projects from ``crm.demo.generate``, each company an address with a random postcode, and 50 company
rules on two-digit postcode prefixes ("10" … "59"), each naming one of the 20 groups, half of them
taking the company's people, deals and projects along. The admin is in every group (every record
fully visible). Timed, each in a transaction rolled back after:

* the **preview**: :func:`crm.rules.services.preview` (the facts of every company, the first
  matching rule, the counts per target group through :func:`crm.records.assign.preview`);
* the **apply**: :func:`crm.rules.services.apply` (one bulk assignment per target group);
* the **longest step**: on the job queue the apply is one write transaction per bulk assignment
  (:func:`crm.rules.services.steps` / ``apply_step``): the longest one, the most a colleague's
  save waits for the apply on SQLite (each step rolled back after it);
* the **bound**: :func:`crm.rules.services.work_bound`, the counts by which the page and the apply
  decide between the request and the job queue before any rule is evaluated.

It prints the medians and checks that the preview's counts equal what the apply moved. The issue
asks for 100k companies (about 500k records with their people, deals and projects): ``--size 100000
--repeat 1`` takes many minutes here.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crm import create_app  # noqa: E402  (after the sys.path line)
from crm.extensions import db  # noqa: E402

RULES = 50


def build(companies: int) -> None:
    from flask_migrate import upgrade

    from crm.demo.generate import Counts, generate
    from crm.groups.models import Group
    from crm.records.models import Company, ContactDetail
    from crm.rules.models import AssignmentRule

    upgrade(directory=str(ROOT / "migrations"))
    generate(Counts(companies=companies, people=companies * 5 // 2, deals=companies, projects=companies // 2,
                    groups=20, users=5), seed=7)
    rnd = random.Random(7)
    ids = list(db.session.scalars(select(Company.id)))
    for start in range(0, len(ids), 5000):
        db.session.execute(insert(ContactDetail), [
            {"kind": "address", "value": f"Hauptstraße {rnd.randint(1, 99)}\n{rnd.randint(10000, 99999)} Stadt",
             "position": 0, "label": "", "company_id": cid} for cid in ids[start:start + 5000]])
    groups = list(db.session.scalars(select(Group.id).order_by(Group.id)))
    db.session.add_all([
        AssignmentRule(record_type="company", position=i + 1, name=f"PLZ {10 + i}", group_id=groups[i % len(groups)],
                       conditions=[{"kind": "postcode", "value": str(10 + i)}], follow=i % 2 == 0)
        for i in range(RULES)])
    db.session.commit()


def setup_admin():
    """An admin in every group, the group system on (as the cascade benchmark's actor)."""
    from cascade import admin_in_every_group

    return admin_in_every_group()


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def measure(url: str, size: int, repeat: int) -> dict:
    from crm.rules import services

    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        t_build, _ = timed(lambda: build(size))
        viewer = setup_admin()
        engine = db.engine.dialect.name
        version = db.session.scalar(text("select sqlite_version()" if engine == "sqlite" else "show server_version"))
        runs: dict[str, list[float]] = {"bound": [], "preview": [], "apply": [], "longest step": []}
        for _ in range(repeat):
            t, bound = timed(lambda: services.work_bound(viewer, "company"))
            runs["bound"].append(t)
            db.session.rollback()
            t, moves = timed(lambda: services.preview(viewer, "company"))
            runs["preview"].append(t)
            db.session.rollback()
            t, results = timed(lambda: services.apply(viewer, "company"))
            runs["apply"].append(t)
            db.session.rollback()
            # on the job queue each step of the apply is a write transaction of its own (issue 16):
            # the longest of them is how long a colleague's save can wait (rolled back one by one)
            steps = services.steps(viewer, "company")
            db.session.rollback()
            longest = 0.0
            for move, ids in steps:
                t, _ = timed(lambda m=move, i=ids: services.apply_step(viewer, "company", m, i))
                longest = max(longest, t)
                db.session.rollback()
            runs["longest step"].append(longest)
            previewed = {m.group_id: m.counts for m in moves}
            applied: dict[int, dict] = {}
            for r in results:  # (a group's records may take several assignments: STEP_SIZE)
                into = applied.setdefault(r["group_id"], {})
                for plural, n in r["updated"].items():
                    into[plural] = into.get(plural, 0) + n
            assert previewed == applied, (previewed, applied)
        moved = sum(sum(c.values()) for c in applied.values())
        db.session.remove()
        db.engine.dispose()
    return {"engine": engine, "version": version, "companies": size, "rules": RULES, "build_seconds": t_build,
            "targets": len(applied), "assignments": len(results), "moved_total": moved, "bound": bound,
            "median": {k: statistics.median(v) for k, v in runs.items()}, "runs": runs}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="how many companies (default 10,000)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", help="an EMPTY database to use instead (e.g. PostgreSQL)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        r = measure(args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args.size, args.repeat)
    med, runs = r["median"], r["runs"]
    print(f"{r['rules']} rules, {r['companies']:,} companies on {r['engine']} {r['version']} "
          f"(built in {r['build_seconds']:.1f} s)")
    print(f"moves {r['moved_total']:,} records into {r['targets']} groups in {r['assignments']} bulk assignments "
          "(preview = apply: checked)")
    print(f"bound    {r['bound']:,} records could move (counts only: request or job queue)")
    for key in ("bound", "preview", "apply", "longest step"):
        print(f"{key:12s} {med[key]:.3f} s   (runs: {', '.join(f'{x:.3f}' for x in runs[key])})")
    return r


if __name__ == "__main__":
    main()
