"""The list behind "Show them" on the page of a bulk assignment job, task "show" (2026-11-30): before,
the whole companies list (what the link opened); now the list narrowed to the records the job moved
(``?assignment=<job id>``: the job's row read by its primary key, then the assignment's change rows
by their (audit_id, record_type) index). Also the filter with someone else's job and with an id no
job has, which must cost alike (they answer alike). All alternately in one process on one data set.

    .venv/bin/python bench/show_them.py --people 10000 --moved 400 [--database-url postgresql+psycopg://…]
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--moved", type=int, default=400, help="companies the job moves")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))

    from flask_migrate import upgrade
    from sqlalchemy import insert, select, update

    from crm import create_app
    from crm.auth.models import User
    from crm.common import utcnow
    from crm.demo.generate import Counts, timed
    from crm.extensions import db
    from crm.groups.models import BASIS_ID, Group, group_members
    from crm.jobs.models import Job
    from crm.models import Company
    from crm.records.assign import assign_group
    from crm.records.types import TYPES
    from crm.settings.models import ACCOUNT_ID, Account
    from crm.visibility import viewer_for

    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/show.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})
    n = args.people
    counts = Counts(companies=n // 5, people=n, deals=n * 3 // 10, projects=n // 10, groups=args.groups,
                    users=50, basis_share=0.2)
    with app.app_context():
        upgrade(directory=str(HERE.parent / "migrations"))
        db.session.execute(update(Account).where(Account.id == ACCOUNT_ID).values(groups_enabled=True))
        db.session.commit()
        timed(counts, seed=7)
        first, second = db.session.scalars(select(Group.id).where(Group.id != BASIS_ID).order_by(Group.id).limit(2))
        users = db.session.scalars(select(User).where(User.role == "normal").order_by(User.id).limit(2)).all()
        owner, other = users
        for u in users:  # both in the two groups: the other user sees the moved companies too
            db.session.execute(group_members.delete().where(group_members.c.user_id == u.id))
            db.session.execute(insert(group_members), [{"group_id": g, "user_id": u.id} for g in (first, second)])
        db.session.commit()
        ids = list(db.session.scalars(select(Company.id).where(Company.group_id == first).order_by(Company.id)
                                      .limit(args.moved)))
        result = assign_group(TYPES["company"], ids, second, viewer_for(db.session.get(User, owner.id)))
        job = Job(kind="assign", user_id=owner.id, status="done", params={"type": "company"}, result=result,
                  finished_at=utcnow())
        db.session.add(job)
        db.session.commit()
        job_id, moved = job.id, result["updated"]["companies"]
        emails = owner.email, other.email
    clients = []
    for email in emails:
        c = app.test_client()
        assert c.post("/login", data={"email": email, "password": "demo1234"}).status_code == 302
        clients.append(c)
    mine, theirs = clients
    cases = {
        "before: /companies": (mine, "/companies"),
        "after: ?assignment=<own job>": (mine, f"/companies?assignment={job_id}"),
        "someone else's job": (theirs, f"/companies?assignment={job_id}"),
        "an id no job has": (theirs, f"/companies?assignment={job_id + 1000}"),
    }
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(args.rounds):
        for name, (client, path) in cases.items():
            start = time.perf_counter()
            resp = client.get(path)
            times[name].append((time.perf_counter() - start) * 1000)
            assert resp.status_code == 200
    shown = mine.get(f"/companies?assignment={job_id}").get_data(as_text=True)
    print(f"{url.split(':')[0]}: {n} people, {n // 5} companies; the job moved {moved} companies")
    count = re.search(r'id="list-count"[^>]*>(.*?)</', shown, re.DOTALL).group(1)
    print("  the filtered list counts:", " ".join(count.split()))
    base = statistics.median(times["before: /companies"])
    for name, values in times.items():
        p50 = statistics.median(values)
        print(f"  {name:32} p50 {p50:7.1f} ms  ({p50 / base:.2f}x)")


if __name__ == "__main__":
    main()
