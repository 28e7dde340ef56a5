"""CSV export of the people list (issue 17: "CSV export of 100k rows: constant statements,
streaming, ≥ 50,000 rows/s"), in-process, on one generated data set.

    .venv/bin/python bench/export.py --people 100000 [--database-url postgresql://…/name]
    .venv/bin/python bench/export.py --code /path/to/an/older/checkout …   # the same, older code
    .venv/bin/python bench/export.py --reuse --database-url …   # export what a run before generated

Generates ``--people`` people (and companies, deals, projects, tags in the proportions of
``bench/many_groups.py``) in 20 groups with the group system on, makes one extended user a member
of half of the groups (the other half's people are hidden, their companies restricted), and
exports ``/people/export.csv`` and ``/companies/export.csv``: rows, seconds, rows/s, statements.

The ratio column compares with a floor measured in the same run: the bare read of the same
rows' ids and names written with :mod:`csv` (no visibility, no links, no contact details), so a
noisy machine shows in both figures alike. "CPU s" is the CPU time of this process during the
export: on SQLite the whole work, on PostgreSQL without the database server's, which "server CPU s"
adds when the server runs on this machine (the CPU time of the database's client backends, read
from /proc; a parallel worker's is not in it). On a loaded machine the CPU columns compare; the
wall-clock ones wander.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def backends_cpu(db) -> float | None:
    """CPU seconds the PostgreSQL backends of this database have used so far (None: not
    PostgreSQL, or a server whose processes this machine does not show)."""
    from sqlalchemy import text

    if db.engine.dialect.name != "postgresql":
        return None
    with db.engine.connect() as conn:
        pids = conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND backend_type = 'client backend'")).all()
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--code", default=str(HERE.parent), help="the checkout whose crm package is measured")
    parser.add_argument("--reuse", action="store_true",
                        help="export the data a run before left in --database-url instead of generating it again")
    args = parser.parse_args()
    sys.path.insert(0, args.code)

    from flask_migrate import upgrade
    from sqlalchemy import event, insert, select, update

    from crm import create_app
    from crm.auth.models import User
    from crm.demo.generate import Counts, timed
    from crm.extensions import db
    from crm.groups.models import BASIS_ID, Group, group_members
    from crm.records.models import Company, Person
    from crm.settings.models import ACCOUNT_ID, Account

    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/export.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "EXPORT_JOB_ROWS": 10**9})
    n = args.people
    counts = Counts(companies=n // 5, people=n, deals=n * 3 // 10, projects=n // 10, groups=20,
                    users=10, notes=0, tasks=0, tags=30, basis_share=0.05)
    with app.app_context():
        upgrade(directory=str(Path(args.code) / "migrations"))
        db.session.execute(update(Account).where(Account.id == ACCOUNT_ID).values(groups_enabled=True))
        db.session.commit()
        reused = args.reuse and db.session.scalar(select(db.func.count()).select_from(Person)) > 0
        _done, seconds = ({}, 0.0) if reused else timed(counts, seed=11)
        groups = list(db.session.scalars(select(Group.id).where(Group.id != BASIS_ID).order_by(Group.id)))
        # (the user a run before made extended, if the data is reused)
        user = db.session.scalars(select(User).where(User.role == ("extended" if reused else "normal"))
                                  .order_by(User.id)).first()
        user.role = "extended"
        db.session.execute(group_members.delete().where(group_members.c.user_id == user.id))
        db.session.execute(insert(group_members), [{"group_id": g, "user_id": user.id} for g in groups[:10]])
        email = user.email
        db.session.commit()
        floors = {}
        for name, model, label in (("people", Person, Person.last_name), ("companies", Company, Company.name)):
            t0 = time.perf_counter()
            buf = io.StringIO()
            writer = csv.writer(buf)
            for row in db.session.execute(select(model.id, label).order_by(label, model.id)
                                          .execution_options(yield_per=1000)):
                writer.writerow(row)
                buf.seek(0)
                buf.truncate(0)
            floors[name] = time.perf_counter() - t0
        db.session.remove()
    print(f"{'reused the' if reused else 'generated'} {n} people in 20 groups in {seconds:.1f} s "
          f"({url.split(':')[0]}); the extended user is in 10 of them")

    statements: list[int] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(1)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
    client = app.test_client()
    client.post("/login", data={"email": email, "password": "demo1234"})
    print("| export | rows | seconds | rows/s | CPU s (this process) | server CPU s | statements "
          "| floor rows/s (all rows, id + name) | ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in ("people", "companies"):
        with app.app_context():
            server0 = backends_cpu(db)
        statements.clear()
        t0, cpu0 = time.perf_counter(), time.process_time()
        resp = client.get(f"/{name}/export.csv")
        body = b"".join(resp.response)  # streamed in pieces
        rows = body.count(b"\n") - 1  # (no line breaks inside the generated cells) less the header
        took, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        executed = len(statements)
        with app.app_context():
            server = backends_cpu(db)
            server = "-" if server is None or server0 is None else f"{server - server0:.2f}"
            total = db.session.scalar(select(db.func.count()).select_from(Person if name == "people" else Company))
        floor_rate = total / floors[name]
        rate = rows / took
        print(f"| {name} | {rows:,} | {took:.2f} | {rate:,.0f} | {cpu:.2f} | {server} | {executed} "
              f"| {floor_rate:,.0f} | {floor_rate / rate:.1f}× |", flush=True)


if __name__ == "__main__":
    main()
