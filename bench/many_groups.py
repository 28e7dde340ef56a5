"""Pages for users in 1, 20 and 200 groups (issue 17), in-process, on one generated data set.

    .venv/bin/python bench/many_groups.py --people 10000 [--database-url postgresql://…/name]
    .venv/bin/python bench/many_groups.py --code /path/to/an/older/checkout …   # the same, older code

Generates ``--people`` people (companies, deals, projects, notes in the proportions of
``bench/run.py``) in ``--groups`` groups, then makes three normal users members of the first 1, 20
and 200 of them and measures, with the group system on, the home page, search, the people list
sorted by last change and by name, the deals sorted by value and the pipeline: p50 wall and CPU
time over ``--rounds`` requests, the statements per request and the most bound parameters of one
statement. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

PAGES = [("home", "/"), ("search", "/search?q=Becker"), ("people sorted", "/people?sort=updated&dir=desc"),
         ("people by name", "/people"), ("deals by value", "/deals?sort=value&dir=desc"),
         ("pipeline", "/deals/pipeline")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--database-url")
    parser.add_argument("--code", default=str(HERE.parent), help="the checkout whose crm package is measured")
    parser.add_argument("--reuse", action="store_true", help="measure a database this script made before "
                        "(--database-url, or a SQLite file as sqlite:////path) instead of generating one")
    args = parser.parse_args()
    sys.path.insert(0, args.code)

    from flask_migrate import upgrade
    from sqlalchemy import insert, select, update

    from crm import create_app
    from crm.auth.models import User
    from crm.demo.generate import Counts, timed
    from crm.extensions import db
    from crm.groups.models import BASIS_ID, Group, group_members
    from crm.settings.models import ACCOUNT_ID, Account

    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/many.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
    n = args.people
    counts = Counts(companies=n // 5, people=n, deals=n * 3 // 10, projects=n // 10, groups=args.groups,
                    users=50, notes=n, tasks=n // 20, tags=30, basis_share=0.01)
    sizes = (1, 20, args.groups)
    with app.app_context():
        if not args.reuse:
            upgrade(directory=str(Path(args.code) / "migrations"))
            db.session.execute(update(Account).where(Account.id == ACCOUNT_ID).values(groups_enabled=True))
            db.session.commit()
            _done, seconds = timed(counts, seed=7)
        groups = list(db.session.scalars(select(Group.id).where(Group.id != BASIS_ID).order_by(Group.id)))
        users = list(db.session.scalars(select(User).where(User.role == "normal").order_by(User.id).limit(3)))
        emails = {}
        for size, user in zip(sizes, users, strict=True):
            if not args.reuse:
                db.session.execute(group_members.delete().where(group_members.c.user_id == user.id))
                db.session.execute(insert(group_members), [{"group_id": g, "user_id": user.id} for g in groups[:size]])
            emails[size] = user.email
        db.session.commit()
        db.session.remove()
    if args.reuse:
        print(f"measured on {url.split(':')[0]} as made before")
    else:
        print(f"generated {n} people in {args.groups} groups in {seconds:.1f} s ({url.split(':')[0]})")

    from pagetimer import listen, time_page

    stats: list[tuple[int, int]] = []
    listen(app, db, stats)
    print("| page | groups | p50 ms | p50 CPU ms | statements | max parameters | status |")
    print("|---|---|---|---|---|---|---|")
    for size in sizes:
        client = app.test_client()
        client.post("/login", data={"email": emails[size], "password": "demo1234"})
        for name, path in PAGES:
            wall, cpu, status = time_page(client, path, args.rounds, stats)
            print(f"| {name} | {size} | {wall:.1f} | {cpu:.1f} | "
                  f"{len(stats)} | {max((p for _s, p in stats), default=0)} | {status} |", flush=True)


if __name__ == "__main__":
    main()
