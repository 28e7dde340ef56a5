"""``demo generate``: a large synthetic data set for load tests, inserted in batches.

Rows go in through Core ``INSERT`` statements in batches (executemany), with ids assigned here so
that people, deals and projects can point at their companies without reading anything back.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, insert, select, text

from ..auth.models import User
from ..auth.services import hash_password
from ..common import utcnow
from ..extensions import db
from ..groups.models import BASIS_ID, Group, group_members
from ..history.services import start_histories
from ..notes.models import Note
from ..records.models import TAG_TABLES, Company, ContactDetail, Deal, Person, Project, Tag, sort_key
from ..stages.queries import all_stages
from ..tasks.models import Task
from . import words

BATCH = 5000
SQLITE_CACHE_KIB = 2 * 1024 * 1024


@dataclass
class Counts:
    companies: int = 1000
    people: int = 5000
    deals: int = 1500
    projects: int = 500
    groups: int = 20
    users: int = 50
    notes: int = 0
    tasks: int = 0
    #: distinct tag names; about a quarter of the records carry one of them
    tags: int = 0
    #: share of the records that stay in Basis (everyone sees Basis); the rest spreads over the groups
    basis_share: float = 0.2


def _next_id(model) -> int:
    return (db.session.scalar(select(func.max(model.id))) or 0) + 1


def _insert(table, rows: list[dict]) -> None:
    if rows:
        db.session.execute(insert(table), rows)


def generate(counts: Counts, seed: int = 1, progress: Callable[[int], None] | None = None,
             password: str = "demo1234") -> dict[str, int]:
    """Insert the data set (the caller commits). ``progress(n)`` is called with rows written."""
    if db.session.get_bind().dialect.name == "sqlite":
        # a page cache large enough for the indexes of a million records: inserts at random places
        # of the sort-key and group indexes stay in memory instead of spilling to the write-ahead log
        db.session.execute(text(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}"))
    rnd = random.Random(seed)
    now = utcnow()
    today = date.today()
    tick = progress or (lambda n: None)
    done: dict[str, int] = {}

    # groups and users
    gid0 = _next_id(Group)
    groups = [{"id": gid0 + i, "name": f"Gruppe {gid0 + i:04d}", "builtin": False, "created_at": now}
              for i in range(max(0, counts.groups - 1))]
    _insert(Group.__table__, groups)
    group_ids = [BASIS_ID] + [g["id"] for g in groups]
    done["groups"] = len(groups)
    tick(len(groups))
    uid0 = _next_id(User)
    pw = hash_password(password)
    users = []
    members = []
    for i in range(counts.users):
        uid = uid0 + i
        users.append({"id": uid, "email": f"user{uid:05d}@generated.example", "name": f"{rnd.choice(words.FIRST_F + words.FIRST_M)} {rnd.choice(words.LAST)}",
                      "password_hash": pw, "role": "admin" if i == 0 else rnd.choice(["normal", "normal", "extended"]),
                      "active": True, "created_at": now})
        for g in rnd.sample(group_ids[1:], min(len(group_ids) - 1, rnd.randint(1, 3))):
            members.append({"group_id": g, "user_id": uid})
    _insert(User.__table__, users)
    _insert(group_members, members)
    user_ids = [u["id"] for u in users] or [None]
    done["users"] = len(users)
    tick(len(users))

    tag_ids: list[int] = []
    if counts.tags:
        tid0 = _next_id(Tag)
        tag_ids = [tid0 + i for i in range(counts.tags)]
        _insert(Tag.__table__, [{"id": t, "name": f"Tag {t:04d}", "key": f"tag {t:04d}"} for t in tag_ids])
        tick(len(tag_ids))

    def tag_links(key: str, ids: range) -> None:
        if tag_ids:
            rows = [{f"{key}_id": rid, "tag_id": rnd.choice(tag_ids)} for rid in ids if rnd.random() < 0.25]
            _insert(TAG_TABLES[key], rows)
            tick(len(rows))

    def pick_group() -> int:
        if rnd.random() < counts.basis_share or len(group_ids) == 1:
            return BASIS_ID
        return rnd.choice(group_ids[1:])

    def common(rid: int, group: int) -> dict:
        owner = rnd.choice(user_ids)
        return {"id": rid, "group_id": group, "responsible_id": owner, "created_by_id": owner,
                "updated_by_id": owner, "created_at": now, "updated_at": now - timedelta(minutes=rid % 100000),
                "version": 1}

    # companies
    cid0 = _next_id(Company)
    company_groups: list[int] = []
    detail_id = _next_id(ContactDetail)
    for start in range(0, counts.companies, BATCH):
        rows, details = [], []
        for i in range(start, min(start + BATCH, counts.companies)):
            cid = cid0 + i
            group = pick_group()
            company_groups.append(group)
            city = rnd.choice(words.NORTH + words.SOUTH + words.MIDDLE)
            name = f"{rnd.choice(words.COMPANY_STEMS)} {rnd.choice(words.COMPANY_KINDS)} {cid} {rnd.choice(words.LEGAL)}"
            rows.append({**common(cid, group), "name": name, "sort_key": sort_key(name),
                         "website": f"https://c{cid}.example", "background": f"Sitz in {city[0]}."})
            details.append({"id": detail_id, "kind": "email", "label": "", "value": f"info@c{cid}.example",
                            "position": 0, "company_id": cid, "person_id": None})
            detail_id += 1
        _insert(Company.__table__, rows)
        _insert(ContactDetail.__table__, details)
        tick(len(rows) + len(details))
        tag_links("company", range(rows[0]["id"], rows[-1]["id"] + 1))
    done["companies"] = counts.companies

    def company_for() -> tuple[int | None, int]:
        if not company_groups or rnd.random() < 0.1:
            return None, pick_group()
        idx = rnd.randrange(len(company_groups))
        return cid0 + idx, company_groups[idx]

    # people
    pid0 = _next_id(Person)
    person_company: list[int | None] = []
    for start in range(0, counts.people, BATCH):
        rows, details = [], []
        for i in range(start, min(start + BATCH, counts.people)):
            pid = pid0 + i
            company_id, group = company_for()
            person_company.append(company_id)
            first, last = rnd.choice(words.FIRST_F + words.FIRST_M), rnd.choice(words.LAST)
            rows.append({**common(pid, group), "salutation": "", "title": "", "first_name": first,
                         "last_name": last, "sort_key": sort_key(last, first), "company_id": company_id,
                         "position": rnd.choice(words.POSITIONS) if company_id else "", "background": ""})
            details.append({"id": detail_id, "kind": "email", "label": "", "value": f"p{pid}@people.example",
                            "position": 0, "company_id": None, "person_id": pid})
            details.append({"id": detail_id + 1, "kind": "phone", "label": "",
                            "value": f"+49 {30 + pid % 900} {1000000 + pid}", "position": 0,
                            "company_id": None, "person_id": pid})
            detail_id += 2
        _insert(Person.__table__, rows)
        _insert(ContactDetail.__table__, details)
        tick(len(rows) + len(details))
        tag_links("person", range(rows[0]["id"], rows[-1]["id"] + 1))
    done["people"] = counts.people

    def linked() -> tuple[int | None, int | None, int]:
        if person_company and rnd.random() < 0.8:
            idx = rnd.randrange(len(person_company))
            company_id = person_company[idx]
            group = company_groups[company_id - cid0] if company_id else pick_group()
            return company_id, pid0 + idx, group
        company_id, group = company_for()
        return company_id, None, group

    stages = all_stages()

    def stage() -> dict:
        """A stage of the pipeline (open ones twice as often), with its kind."""
        s = rnd.choice([s for s in stages for _ in range(2 if s.kind == "open" else 1)])
        return {"stage": s.kind, "stage_id": s.id}

    for model, n, extra in (
        (Deal, counts.deals, lambda: {"value_cents": rnd.randint(10, 5000) * 10000, "currency": "EUR",
                                      **stage(),
                                      "target_date": today + timedelta(days=rnd.randint(-200, 300)),
                                      "description": ""}),
        (Project, counts.projects, lambda: {"status": rnd.choice(["planned", "active", "done"]),
                                            "start_date": today - timedelta(days=rnd.randint(0, 300)),
                                            "target_date": today + timedelta(days=rnd.randint(0, 300)),
                                            "description": ""}),
    ):
        rid0 = _next_id(model)
        for start in range(0, n, BATCH):
            rows = []
            for i in range(start, min(start + BATCH, n)):
                company_id, person_id, group = linked()
                name = f"{rnd.choice(['Anlage', 'Wartung', 'Erweiterung', 'Umbau', 'Lieferung'])} {rid0 + i}"
                rows.append({**common(rid0 + i, group), "name": name, "sort_key": sort_key(name),
                             "company_id": company_id, "person_id": person_id, **extra()})
            _insert(model.__table__, rows)
            tick(len(rows))
            tag_links(model.KEY, range(rows[0]["id"], rows[-1]["id"] + 1))
        done[model.__tablename__] = n

    nid0 = _next_id(Note)
    for start in range(0, counts.notes, BATCH):
        rows = []
        for i in range(start, min(start + BATCH, counts.notes)):
            key = "person" if counts.people and (rnd.random() < 0.6 or not counts.companies) else "company"
            rid = pid0 + rnd.randrange(counts.people) if key == "person" else cid0 + rnd.randrange(max(counts.companies, 1))
            at = now - timedelta(minutes=rnd.randint(0, 500000))
            rows.append({"id": nid0 + i, "body": f"Notiz {nid0 + i}: Telefonat, Rückruf vereinbart.", "kind": "call",
                         "author_id": rnd.choice(user_ids), "occurred_at": at, "created_at": at,
                         "company_id": rid if key == "company" else None,
                         "person_id": rid if key == "person" else None, "deal_id": None, "project_id": None})
        _insert(Note.__table__, rows)
        tick(len(rows))
    done["notes"] = counts.notes

    # tasks: on people, companies and deals, a few private ones; a quarter of them done
    task0 = _next_id(Task)
    targets = [(k, n) for k, n in (("person", counts.people), ("company", counts.companies),
                                   ("deal", counts.deals)) if n]
    first = {"person": pid0, "company": cid0, "deal": _next_id(Deal) - counts.deals}
    for start in range(0, counts.tasks, BATCH):
        rows = []
        for i in range(start, min(start + BATCH, counts.tasks)):
            links = {f"{k}_id": None for k in ("company", "person", "deal", "project")}
            if targets and rnd.random() < 0.9:
                key, n = rnd.choice(targets)
                links[f"{key}_id"] = first[key] + rnd.randrange(n)
            done_ = rnd.random() < 0.25
            rows.append({"id": task0 + i, "title": f"Aufgabe {task0 + i}: Angebot nachfassen",
                         "due_date": today + timedelta(days=rnd.randint(-30, 90)) if rnd.random() < 0.8 else None,
                         "assignee_id": rnd.choice(user_ids), "created_by_id": rnd.choice(user_ids),
                         "done": done_, "done_at": now if done_ else None, "created_at": now, **links})
        _insert(Task.__table__, rows)
        tick(len(rows))
    done["tasks"] = counts.tasks
    _fix_sequences()
    return done


def _fix_sequences() -> None:
    """Ids were assigned here: move PostgreSQL's sequences past them."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for table in ("groups", "users", "tags", "companies", "people", "deals", "projects", "contact_details", "notes",
                  "tasks"):
        db.session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))"
        ))


def total_rows(counts: Counts) -> int:
    """Rows written, not counting tag links (random: about a quarter of the records)."""
    return (counts.groups + counts.users + counts.companies * 2 + counts.people * 3 + counts.deals
            + counts.projects + counts.notes + counts.tasks + counts.tags)


def timed(counts: Counts, seed: int = 1, progress=None) -> tuple[dict, float]:
    """Generate and commit. The search index is filled once at the end (``rebuild``) instead of
    row by row by its triggers, which would double the time; the triggers are back before the
    commit, and also if generating fails."""
    from ..search import schema

    t0 = time.perf_counter()
    schema.drop_triggers(db.session.connection())
    try:
        done = generate(counts, seed, progress)
        start_histories()
        schema.rebuild(db.session.connection())  # (re-creates the triggers first)
        db.session.commit()
        if db.session.get_bind().dialect.name == "postgresql":
            # the planner's statistics now, not when autovacuum comes by: on fresh tables without
            # them PostgreSQL chose plans that made a people export 6× slower (bench/export.py)
            db.session.execute(text("ANALYZE"))
            db.session.commit()
    except BaseException:
        db.session.rollback()
        schema.create_triggers(db.session.connection())  # (SQLite runs DDL outside a transaction)
        db.session.commit()
        raise
    return done, time.perf_counter() - t0
