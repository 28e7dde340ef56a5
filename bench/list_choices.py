"""The companies list for a user who sees the other groups' companies restricted (a company field
shared with their one group), task "ux" (2026-11-30): the tag and group filter's choices as before
(the tags; the user's own groups) and as now (``queries.tag_and_group_choices``: the groups seen
restricted too, in the tags' statement), alternately in one process on one data set.

    .venv/bin/python bench/list_choices.py --people 10000 --groups 200 [--database-url postgresql+psycopg://…]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))

    from flask_migrate import upgrade
    from sqlalchemy import delete, insert, select, update

    from crm import create_app
    from crm.auth.models import User
    from crm.customfields.models import CustomField
    from crm.demo.generate import Counts, timed
    from crm.extensions import db
    from crm.groups.models import BASIS_ID, Group, group_members
    from crm.records import queries
    from crm.settings.models import ACCOUNT_ID, Account

    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/choices.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
    n = args.people
    counts = Counts(companies=n // 5, people=n, deals=n * 3 // 10, projects=n // 10, groups=args.groups,
                    users=50, notes=n, tasks=n // 20, tags=30, basis_share=0.01)
    with app.app_context():
        upgrade(directory=str(HERE.parent / "migrations"))
        db.session.execute(update(Account).where(Account.id == ACCOUNT_ID).values(groups_enabled=True))
        db.session.commit()
        timed(counts, seed=7)
        first = db.session.scalar(select(Group.id).where(Group.id != BASIS_ID).order_by(Group.id))
        user = db.session.scalars(select(User).where(User.role == "normal").order_by(User.id)).first()
        db.session.execute(delete(group_members).where(group_members.c.user_id == user.id))
        db.session.execute(insert(group_members), [{"group_id": first, "user_id": user.id}])
        field = CustomField(entity="company", name="Kundenstatus", kind="text", options=[])
        field.shared_with = [db.session.get(Group, first)]
        db.session.add(field)
        db.session.commit()
        email = user.email
    client = app.test_client()
    client.post("/login", data={"email": email, "password": "demo1234"})
    now = queries.tag_and_group_choices

    def before(rtype, viewer):
        return queries.all_tags(rtype, viewer), viewer.groups if viewer.groups_enabled else ()

    times: dict[str, list[float]] = {"before": [], "after": []}
    offered = 0
    for i in range(args.rounds * 2):
        which = "before" if i % 2 == 0 else "after"
        queries.tag_and_group_choices = before if which == "before" else now
        start = time.perf_counter()
        resp = client.get("/companies")
        times[which].append((time.perf_counter() - start) * 1000)
        assert resp.status_code == 200
        if which == "after":
            choices = resp.get_data(as_text=True).split('name="group_id"', 1)[1].split("</select>", 1)[0]
            offered = choices.count("<option") - 1
    was, now_ms = statistics.median(times["before"]), statistics.median(times["after"])
    print(f"{url.split(':')[0]}: {n} people, {n // 5} companies, {args.groups} groups; groups offered now: {offered}")
    print(f"companies list p50: before {was:.1f} ms, after {now_ms:.1f} ms ({now_ms / was:.2f}x)")


if __name__ == "__main__":
    main()
