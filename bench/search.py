"""Benchmark of the global search (not a test: it prints numbers).

    .venv/bin/python bench/search.py            # 100,000 people on SQLite (a temporary file)
    .venv/bin/python bench/search.py --smoke    # a small run that only checks the script works
    DATABASE_URL=postgresql://… .venv/bin/python bench/search.py --pg   # the same on PostgreSQL
                                                 (the database is emptied first!)

What it does:

1. migrates a fresh database and fills it with ``crm.demo.generate`` (20,000 companies, 100,000
   people, 20,000 deals, 5,000 projects, 100,000 notes in 20 groups); the search index is written by the
   triggers as the rows go in, so the time includes keeping the index;
2. moves the records of Basis into the other groups (one bulk UPDATE per table, the index
   follows by trigger), so that a member of one group sees about 5 % of everything;
3. times ``search()`` over a few hundred varied queries (names, prefixes of 1-4 letters, first and
   last name, email and phone fragments, company and deal names, words that match nothing) for
   three viewers: the extension off (sees all), a member of one group (sees ~5 %), and the same
   member with a company and person field shared (sees ~5 % in full, the rest restricted);
4. times two baselines over the same queries in the same run, so the numbers can be read on
   any machine: the text filter of the list pages (``LIKE`` on name and contact details, what
   search used before the index) and the first page of the people list (an everyday query);
5. times the home page's activity stream (three "load more" pages) for the same viewers, over
   the generated notes and records.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import g  # noqa: E402 - after the path above
from sqlalchemy import func, select, text, update  # noqa: E402

from crm import create_app  # noqa: E402
from crm.extensions import db  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--companies", type=int, default=20_000)
    ap.add_argument("--deals", type=int, default=20_000)
    ap.add_argument("--projects", type=int, default=5_000)
    ap.add_argument("--groups", type=int, default=20)
    ap.add_argument("--notes", type=int, default=100_000, help="for the activity stream")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--limit", type=int, default=5, help="hits per type (the live search shows 5)")
    ap.add_argument("--smoke", action="store_true", help="tiny data, few queries")
    ap.add_argument("--pg", action="store_true", help="use DATABASE_URL (PostgreSQL) instead of SQLite")
    ap.add_argument("--keep", metavar="FILE", help="SQLite file to keep (and to reuse when it exists)")
    ap.add_argument("--reuse", action="store_true", help="PostgreSQL: measure the data of the last run")
    args = ap.parse_args()
    if args.smoke:
        args.people, args.companies, args.deals, args.projects, args.queries, args.notes = 500, 100, 100, 50, 30, 500
    return args


def make_queries(n: int, seed: int = 7) -> list[str]:
    from crm.demo import words
    from crm.models import ContactDetail, Deal, Person

    rnd = random.Random(seed)
    people = db.session.execute(select(Person.id, Person.first_name, Person.last_name)).all()
    deals = db.session.scalars(select(Deal.name)).all()
    phones = db.session.scalars(select(ContactDetail.value).where(ContactDetail.kind == "phone")).all()
    company_words = words.COMPANY_STEMS + words.COMPANY_KINDS
    makers = [
        lambda: rnd.choice(people)[2],                                  # a last name
        lambda: rnd.choice(people)[1],                                  # a first name
        lambda: rnd.choice(people)[2][: rnd.randint(1, 4)],             # a prefix while typing
        lambda: "{1} {2}".format(*rnd.choice(people)),                  # first and last name
        lambda: "{1} {2}".format(*rnd.choice(people))[:-rnd.randint(1, 4)],
        lambda: f"p{rnd.choice(people)[0]}@people",                     # an email
        lambda: f"p{str(rnd.choice(people)[0])[:3]}",                   # the start of an email
        lambda: rnd.choice(phones)[: rnd.randint(6, 12)],               # a phone number, started
        lambda: rnd.choice(phones).replace("+49 ", "0")[:9],            # ... written nationally
        lambda: rnd.choice(company_words)[: rnd.randint(3, 8)],         # a company
        lambda: rnd.choice(deals) if deals else "Anlage",               # a deal
        lambda: rnd.choice(["Zyxwv", "Qwertz Asdf", "xx-404", "Nirgendwo"]),  # nothing
    ]
    return [rnd.choice(makers)() for _ in range(n)]


def timed(fn, queries: list[str]) -> tuple[list[float], list[float]]:
    """Milliseconds of ``fn(q)`` for each query: wall clock, and CPU time of this process (with
    SQLite the database works in this process too, so CPU time is what a search costs even when
    other programs compete for the processor)."""
    wall, cpu = [], []
    for q in queries:
        t0, c0 = time.perf_counter(), time.process_time()
        fn(q)
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return wall, cpu


def pct(ms: list[float], p: float) -> float:
    ms = sorted(ms)
    return ms[min(len(ms) - 1, round(p * (len(ms) - 1)))]


def summary(times: tuple[list[float], list[float]]) -> tuple[float, float, float, float, float]:
    """p50, p95 and max of the wall clock; p50 and p95 of the CPU time."""
    wall, cpu = times
    return statistics.median(wall), pct(wall, 0.95), max(wall), statistics.median(cpu), pct(cpu, 0.95)


def main() -> None:
    args = parse_args()
    tmp = None
    reuse = False
    if args.pg:
        url = os.environ["DATABASE_URL"]
        reuse = args.reuse
    elif args.keep:
        reuse = os.path.exists(args.keep)
        url = f"sqlite:///{os.path.abspath(args.keep)}"
    else:
        tmp = tempfile.TemporaryDirectory(prefix="kontor-bench-")
        url = f"sqlite:///{tmp.name}/bench.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        if not reuse:
            prepare(app, args)
        run(app, args)
    if tmp:
        tmp.cleanup()


def prepare(app, args) -> None:
    from flask_migrate import upgrade

    from crm.demo.generate import Counts, generate

    if args.pg:
        db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.session.commit()
    upgrade(directory=str(ROOT / "migrations"))
    counts = Counts(companies=args.companies, people=args.people, deals=args.deals, projects=args.projects,
                    groups=args.groups, users=20, notes=args.notes)
    t0 = time.perf_counter()
    generate(counts, seed=1)
    db.session.commit()
    gen = time.perf_counter() - t0
    docs = db.session.scalar(text("SELECT count(*) FROM search_docs"))
    print(f"{db.engine.dialect.name}: generated {args.companies:,} companies, {args.people:,} people, "
          f"{args.deals:,} deals, {args.projects:,} projects, {args.notes:,} notes in {gen:.1f} s "
          f"(search index written by the triggers: {docs:,} docs)")

    from crm.models import MODELS

    t0 = time.perf_counter()
    moved = 0
    n_groups = args.groups - 1
    for model in MODELS.values():
        moved += db.session.execute(
            update(model).where(model.group_id == 1).values(group_id=2 + model.id % n_groups)
            .execution_options(synchronize_session=False)
        ).rowcount
    db.session.commit()
    print(f"moved {moved:,} records out of Basis in {time.perf_counter() - t0:.1f} s "
          f"(bulk UPDATE; the index follows by trigger)")
    if db.engine.dialect.name == "postgresql":
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))


def viewers():
    from crm.models import CustomField, Group, Person, custom_field_shares
    from crm.visibility import Viewer

    group = db.session.scalar(select(Group.id).where(Group.id != 1).order_by(Group.id))
    share = []
    for entity in ("company", "person"):
        name = f"Status {entity}"
        f = db.session.scalar(select(CustomField).where(CustomField.entity == entity, CustomField.name == name))
        if f is None:  # (a kept database has them from the last run)
            f = CustomField(entity=entity, name=name, kind="select", options=["A", "B"])
            db.session.add(f)
            db.session.flush()
            db.session.execute(custom_field_shares.insert().values(field_id=f.id, group_id=group))
        share.append((entity, f.id))
    db.session.commit()
    small = Viewer(1, "normal", True, frozenset({1, group}))
    shared = Viewer(1, "normal", True, frozenset({1, group}), {e: frozenset({fid}) for e, fid in share})
    total = db.session.scalar(select(func.count()).select_from(Person))
    seen = db.session.scalar(select(func.count()).select_from(Person).where(Person.group_id.in_(small.group_ids)))
    return [
        ("extension off (sees all)", Viewer(1, "normal", False, frozenset({1}))),
        (f"one group (sees {seen / max(total, 1):.1%})", small),
        ("one group + shared fields (rest restricted)", shared),
    ]


def run(app, args) -> None:
    from crm.home.queries import activity
    from crm.records.queries import ListFilter, filtered, list_select
    from crm.records.types import TYPES
    from crm.search.queries import search

    queries = make_queries(args.queries)
    cases = viewers()
    print(f"\n{len(queries)} queries, {args.limit} hits per type (live search); times in ms\n")
    print(f"{'':46} {'':26} {'wall clock':>23}   {'CPU time':>15}")
    print(f"{'viewer':46} {'what':26} {'p50':>7} {'p95':>7} {'max':>7}   {'p50':>7} {'p95':>7}")

    def like_search(viewer, q):
        # the search before the index: the list filter (LIKE) on all four types
        for rtype in TYPES.values():
            model = rtype.model
            db.session.execute(select(model.id).where(filtered(rtype, viewer, ListFilter(q=q)))
                               .order_by(model.sort_key, model.id).limit(args.limit)).all()

    def list_page(viewer, q):
        db.session.execute(list_select(TYPES["person"], viewer, ListFilter()).limit(50)).all()

    def stream_pages(viewer, _q, pages=3):
        cursor = None
        for _ in range(pages):
            _events, cursor = activity(viewer, cursor)
            if cursor is None:
                break

    results = {}
    for label, viewer in cases:
        with app.test_request_context():
            g.viewer = viewer  # the request's safety net is on, as in the app
            for q in queries[:10]:
                search(viewer, q, args.limit)  # warm up
            live = summary(timed(partial(search, viewer, limit=args.limit), queries))
            page = summary(timed(partial(search, viewer, limit=50), queries))
            base_like = summary(timed(partial(like_search, viewer), queries[: max(10, len(queries) // 5)]))
            base_list = summary(timed(partial(list_page, viewer), queries[:50]))
            stream = summary(timed(partial(stream_pages, viewer), queries[:20]))
            db.session.rollback()
        results[label] = live
        rows = (("search (live, 5 per type)", live), ("search (page, 50 per type)", page),
                ("baseline: LIKE list filter", base_like), ("baseline: people list page", base_list),
                ("activity stream, 3 pages", stream))
        for what, (p50, p95, mx, c50, c95) in rows:
            print(f"{label:46} {what:26} {p50:7.2f} {p95:7.2f} {mx:7.2f}   {c50:7.2f} {c95:7.2f}")
        print(f"{'':46} {'ratio p50 LIKE / search':26} {base_like[0] / live[0]:7.1f}x")
        print(f"{'':46} {'ratio p50 search / list':26} {live[0] / base_list[0]:7.2f}x")
        print()
    worst = max(r[1] for r in results.values())
    worst_cpu = max(r[4] for r in results.values())
    print(f"worst p95 of the live search: {worst:.1f} ms wall clock, {worst_cpu:.1f} ms CPU "
          f"(target: under 50 ms); load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
