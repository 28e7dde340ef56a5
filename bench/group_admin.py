"""Benchmark: the impact preview of adding a user to a group holding N records, and the access
review of U users x G groups (issue 18: <= 1 s at 100k records, <= 2 s at 200 x 200).

    .venv/bin/python bench/group_admin.py [--records 100000] [--users 200] [--groups 200] [--repeat 3]
                                          [--database-url postgresql://…/empty_db]

A temporary SQLite database (migrated like production) gets ``--records`` records from
``crm.demo.generate`` (companies, people, deals and projects as 2 : 5 : 2 : 1) over ``--groups``
groups and ``--users`` users; then every record is put into one group, "the big group" (so it
holds all N, nobody being a member of it yet but the admin). Timed, medians of ``--repeat`` runs:

* **impact preview**: :func:`crm.groups.services.preview_members` of the big group with one more
  member - the counts per type that become full for that user;
* **access review**: :func:`crm.groups.services.access_review` - every active user's counts of
  full / restricted / hidden records per type.

Both only read. Printed with the counts they answered, so a wrong-but-fast answer shows.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select, text, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crm import create_app  # noqa: E402  (after the sys.path line)
from crm.extensions import db  # noqa: E402


def build(records: int, users: int, groups: int) -> tuple[int, int]:
    """The data; returns (the big group's id, the admin's user id)."""
    from flask_migrate import upgrade

    from crm.auth.models import User
    from crm.demo.generate import Counts, generate
    from crm.groups.models import Group, group_members
    from crm.records.models import MODELS
    from crm.settings.models import ACCOUNT_ID, Account

    upgrade(directory=str(ROOT / "migrations"))
    tenth = max(records // 10, 1)
    generate(Counts(companies=2 * tenth, people=5 * tenth, deals=2 * tenth, projects=tenth,
                    groups=groups, users=users), seed=11)
    big = db.session.scalar(select(Group.id).where(Group.id != 1).order_by(Group.id))
    for model in MODELS.values():
        db.session.execute(update(model).values(group_id=big))
    admin = db.session.scalar(select(User.id).where(User.role == "admin").order_by(User.id))
    db.session.execute(group_members.delete().where(group_members.c.group_id == big))
    db.session.execute(group_members.insert().values(group_id=big, user_id=admin))
    db.session.get(Account, ACCOUNT_ID).groups_enabled = True
    db.session.commit()
    return big, admin


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def measure(url: str, records: int, users: int, groups: int, repeat: int) -> dict:
    from crm.auth.models import User
    from crm.groups import services
    from crm.groups.models import Group
    from crm.records.models import MODELS
    from crm.visibility import viewer_for

    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        t_build, (big, admin_id) = timed(lambda: build(records, users, groups))
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        admin = db.session.get(User, admin_id)
        viewer = viewer_for(admin)
        group = db.session.get(Group, big)
        newcomer = db.session.scalar(select(User.id).where(User.id != admin_id, User.role != "admin")
                                     .order_by(User.id))
        engine = db.engine.dialect.name
        version = db.session.scalar(text("select sqlite_version()" if engine == "sqlite" else "show server_version"))
        runs: dict[str, list[float]] = {"impact": [], "review": []}
        for _ in range(repeat):
            t, lines = timed(lambda: services.preview_members(viewer, group, [admin_id, newcomer]))
            runs["impact"].append(t)
            db.session.rollback()
            t, (state, counts) = timed(lambda: services.access_review(viewer))
            runs["review"].append(t)
            db.session.rollback()
        line = next(x for x in lines if x.person.id == newcomer)
        gained = {key: line.after[key].full - line.before[key].full for key in line.changed_types()}
        held = sum(db.session.scalar(select(func.count()).select_from(m)) for m in MODELS.values())
        db.session.remove()
        db.engine.dispose()
    return {"engine": engine, "version": version, "records": held, "users": len(state.users),
            "groups": groups, "build_seconds": t_build, "gained": gained, "review_users": len(counts),
            "median": {k: statistics.median(v) for k, v in runs.items()}, "runs": runs}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="records in the big group (default 100,000)")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", help="an EMPTY database to use instead (e.g. PostgreSQL)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        r = measure(args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args.records, args.users,
                    args.groups, args.repeat)
    med, runs = r["median"], r["runs"]
    print(f"{r['records']:,} records in one group, {r['users']} active users, {r['groups']} groups on "
          f"{r['engine']} {r['version']} (built in {r['build_seconds']:.1f} s)")
    print(f"impact preview (one user joins the group): {med['impact']:.3f} s   "
          f"(runs: {', '.join(f'{x:.3f}' for x in runs['impact'])}); the newcomer gains full view of "
          + ", ".join(f"{n:,} {k}" for k, n in sorted(r["gained"].items())))
    print(f"access review ({r['review_users']} users x {r['groups']} groups): {med['review']:.3f} s   "
          f"(runs: {', '.join(f'{x:.3f}' for x in runs['review'])})")
    print(f"ratio review / impact in this run: {med['review'] / med['impact']:.1f}")
    return r


if __name__ == "__main__":
    main()
