"""``demo generate``: a large synthetic data set for load tests, inserted in batches.

Ids are assigned here, so that people, deals and projects can point at their companies without
reading anything back. The small tables (groups, users, tags) go in through Core ``INSERT``
statements; the large ones (records, contact details, tag links, notes, tasks) as tuples through
the driver (:func:`_write`): PostgreSQL's ``COPY``, on SQLite multi-row ``INSERT``s on the raw cursor -
without SQLAlchemy's per-row work (a dict per row, compiled parameters), which took most of the time.
The random choices are made in the same order as before, so a seed gives the same data.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Table, func, insert, select, text

from ..auth.models import User
from ..auth.services import hash_password
from ..common import utcnow
from ..extensions import db
from ..groups.models import BASIS_ID, Group, group_members
from ..history.models import RecordEvent
from ..history.services import start_histories
from ..notes.models import Note
from ..records.models import TAG_TABLES, Company, ContactDetail, Deal, Person, Project, Tag, sort_key
from ..stages.queries import all_stages
from ..tasks.models import Task
from . import words

BATCH = 5000
SQLITE_CACHE_KIB = 2 * 1024 * 1024
#: bound values per multi-row INSERT on SQLite (its limit is 32,766)
SQLITE_VALUES = 10_000
#: PostgreSQL: memory for building an index after the load (for this transaction only)
PG_INDEX_MEMORY = "512MB"


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


def _write(table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Rows of ``table`` as tuples in the order of ``columns``, in the session's transaction. A
    column left out gets its Python-side scalar default (what a Core ``INSERT`` would have put),
    or the database's default; a left-out column with a computed default is a mistake."""
    if not rows:
        return
    tail: list = []
    names = list(columns)
    for col in table.columns:
        if col.name in columns or col.default is None:
            continue
        if not col.default.is_scalar:
            raise ValueError(f"{table.name}.{col.name} has a computed default: give it a value")
        names.append(col.name)
        tail.append(col.default.arg)
    if tail:
        extra = tuple(tail)
        rows = [row + extra for row in rows]
    conn = db.session.connection()
    raw = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    # SQLite: the values as SQLAlchemy would bind them (dates and times as its strings, booleans as 0/1)
    processors = [(i, proc) for i, name in enumerate(names)
                  if (proc := table.c[name].type._cached_bind_processor(conn.dialect)) is not None]
    if processors:
        converted = []
        for row in rows:
            values = list(row)
            for i, proc in processors:
                if values[i] is not None:
                    values[i] = proc(values[i])
            converted.append(values)
        rows = converted
    # many rows per statement: a third of the time of executemany's one row per statement
    per = max(1, SQLITE_VALUES // len(names))
    one = "(" + ", ".join("?" * len(names)) + ")"
    head = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES "
    cur = raw.cursor()
    try:
        for start in range(0, len(rows), per):
            part = rows[start:start + per]
            cur.execute(head + ", ".join([one] * len(part)), [v for row in part for v in row])
    finally:
        cur.close()


#: a batch of rows: the table, its columns, the rows as tuples in that order
Batches = Iterator[tuple[Table, tuple[str, ...], list[tuple]]]


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

    # the first id of every table, and the stages, read before the first batch is made
    cid0, pid0, deal0, project0 = (_next_id(model) for model in (Company, Person, Deal, Project))
    detail0, nid0, task0 = _next_id(ContactDetail), _next_id(Note), _next_id(Task)
    # a stage of the pipeline (open ones twice as often), with its kind
    weighted_stages = [(s.kind, s.id) for s in all_stages() for _ in range(2 if s.kind == "open" else 1)]

    def tag_links(key: str, ids: range) -> Batches:
        if tag_ids:
            rows = [(rid, rnd.choice(tag_ids)) for rid in ids if rnd.random() < 0.25]
            yield TAG_TABLES[key], (f"{key}_id", "tag_id"), rows

    def pick_group() -> int:
        if rnd.random() < counts.basis_share or len(group_ids) == 1:
            return BASIS_ID
        return rnd.choice(group_ids[1:])

    # the columns every record has, in the order of common()
    record = ("id", "group_id", "responsible_id", "created_by_id", "updated_by_id", "created_at", "updated_at",
              "version")

    def common(rid: int, group: int) -> tuple:
        owner = rnd.choice(user_ids)
        return (rid, group, owner, owner, owner, now, now - timedelta(minutes=rid % 100000), 1)

    detail_columns = ("id", "kind", "label", "value", "position", "company_id", "person_id")
    company_groups: list[int] = []
    person_company: list[int | None] = []

    def companies() -> Batches:
        cities = words.NORTH + words.SOUTH + words.MIDDLE
        detail_id = detail0
        for start in range(0, counts.companies, BATCH):
            rows, details = [], []
            for i in range(start, min(start + BATCH, counts.companies)):
                cid = cid0 + i
                group = pick_group()
                company_groups.append(group)
                city = rnd.choice(cities)
                name = (f"{rnd.choice(words.COMPANY_STEMS)} {rnd.choice(words.COMPANY_KINDS)} {cid} "
                        f"{rnd.choice(words.LEGAL)}")
                rows.append((*common(cid, group), name, sort_key(name), f"https://c{cid}.example",
                             f"Sitz in {city[0]}."))
                details.append((detail_id, "email", "", f"info@c{cid}.example", 0, cid, None))
                detail_id += 1
            yield Company.__table__, (*record, "name", "sort_key", "website", "background"), rows
            yield ContactDetail.__table__, detail_columns, details
            yield from tag_links("company", range(rows[0][0], rows[-1][0] + 1))

    def company_for() -> tuple[int | None, int]:
        if not company_groups or rnd.random() < 0.1:
            return None, pick_group()
        idx = rnd.randrange(len(company_groups))
        return cid0 + idx, company_groups[idx]

    def people() -> Batches:
        first_names = words.FIRST_F + words.FIRST_M
        detail_id = detail0 + counts.companies
        for start in range(0, counts.people, BATCH):
            rows, details = [], []
            for i in range(start, min(start + BATCH, counts.people)):
                pid = pid0 + i
                company_id, group = company_for()
                person_company.append(company_id)
                first, last = rnd.choice(first_names), rnd.choice(words.LAST)
                head = common(pid, group)
                rows.append((*head, "", "", first, last, sort_key(last, first), company_id,
                             rnd.choice(words.POSITIONS) if company_id else "", ""))
                details.append((detail_id, "email", "", f"p{pid}@people.example", 0, None, pid))
                details.append((detail_id + 1, "phone", "", f"+49 {30 + pid % 900} {1000000 + pid}", 0, None, pid))
                detail_id += 2
            yield Person.__table__, (*record, "salutation", "title", "first_name", "last_name", "sort_key",
                                     "company_id", "position", "background"), rows
            yield ContactDetail.__table__, detail_columns, details
            yield from tag_links("person", range(rows[0][0], rows[-1][0] + 1))

    def linked() -> tuple[int | None, int | None, int]:
        if person_company and rnd.random() < 0.8:
            idx = rnd.randrange(len(person_company))
            company_id = person_company[idx]
            group = company_groups[company_id - cid0] if company_id else pick_group()
            return company_id, pid0 + idx, group
        company_id, group = company_for()
        return company_id, None, group

    def projects_or_deals(model, rid0: int, n: int, columns: tuple[str, ...], extra: Callable[[], tuple]) -> Batches:
        names = ["Anlage", "Wartung", "Erweiterung", "Umbau", "Lieferung"]
        for start in range(0, n, BATCH):
            rows = []
            for i in range(start, min(start + BATCH, n)):
                company_id, person_id, group = linked()
                name = f"{rnd.choice(names)} {rid0 + i}"
                head = common(rid0 + i, group)
                rows.append((*head, name, sort_key(name), company_id, person_id, *extra()))
            yield model.__table__, (*record, "name", "sort_key", "company_id", "person_id", *columns), rows
            yield from tag_links(model.KEY, range(rows[0][0], rows[-1][0] + 1))

    def deal() -> tuple:
        return (rnd.randint(10, 5000) * 10000, "EUR", *rnd.choice(weighted_stages),
                today + timedelta(days=rnd.randint(-200, 300)), "")

    def project() -> tuple:
        return (rnd.choice(["planned", "active", "done"]), today - timedelta(days=rnd.randint(0, 300)),
                today + timedelta(days=rnd.randint(0, 300)), "")

    def notes() -> Batches:
        for start in range(0, counts.notes, BATCH):
            rows = []
            for i in range(start, min(start + BATCH, counts.notes)):
                key = "person" if counts.people and (rnd.random() < 0.6 or not counts.companies) else "company"
                rid = (pid0 + rnd.randrange(counts.people) if key == "person"
                       else cid0 + rnd.randrange(max(counts.companies, 1)))
                at = now - timedelta(minutes=rnd.randint(0, 500000))
                rows.append((nid0 + i, f"Notiz {nid0 + i}: Telefonat, Rückruf vereinbart.", "call",
                             rnd.choice(user_ids), at, at, rid if key == "company" else None,
                             rid if key == "person" else None, None, None))
            yield Note.__table__, ("id", "body", "kind", "author_id", "occurred_at", "created_at", "company_id",
                                   "person_id", "deal_id", "project_id"), rows

    def tasks() -> Batches:
        """On people, companies and deals, a few private ones; a quarter of them done."""
        targets = [(k, n) for k, n in (("person", counts.people), ("company", counts.companies),
                                       ("deal", counts.deals)) if n]
        first = {"person": pid0, "company": cid0, "deal": deal0}
        slots = {"company": 0, "person": 1, "deal": 2, "project": 3}
        for start in range(0, counts.tasks, BATCH):
            rows = []
            for i in range(start, min(start + BATCH, counts.tasks)):
                links = [None, None, None, None]
                if targets and rnd.random() < 0.9:
                    key, n = rnd.choice(targets)
                    links[slots[key]] = first[key] + rnd.randrange(n)
                done_ = rnd.random() < 0.25
                due = today + timedelta(days=rnd.randint(-30, 90)) if rnd.random() < 0.8 else None
                rows.append((task0 + i, f"Aufgabe {task0 + i}: Angebot nachfassen", due, rnd.choice(user_ids),
                             rnd.choice(user_ids), done_, now if done_ else None, now, *links))
            yield Task.__table__, ("id", "title", "due_date", "assignee_id", "created_by_id", "done", "done_at",
                                   "created_at", "company_id", "person_id", "deal_id", "project_id"), rows

    def everything() -> Batches:
        yield from companies()
        yield from people()
        yield from projects_or_deals(Deal, deal0, counts.deals, ("value_cents", "currency", "stage", "stage_id",
                                                                  "target_date", "description"), deal)
        yield from projects_or_deals(Project, project0, counts.projects, ("status", "start_date", "target_date",
                                                                           "description"), project)
        yield from notes()
        yield from tasks()

    for table, columns, rows in everything():
        _write(table, columns, rows)
        tick(len(rows))
    done.update(companies=counts.companies, people=counts.people, deals=counts.deals, projects=counts.projects,
                notes=counts.notes, tasks=counts.tasks)
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


#: the tables that generating and the search fill write in bulk. (Not the histories' events:
#: ``start_histories`` asks its index for every record whether it has an event yet - without it
#: SQLite reads every event written so far for each record.)
BULK_TABLES = (Company.__table__, Person.__table__, Deal.__table__, Project.__table__, ContactDetail.__table__,
               *TAG_TABLES.values(), Note.__table__, Task.__table__)


def _all_empty(conn, tables: tuple[str, ...]) -> bool:
    return not conn.exec_driver_sql(
        "SELECT " + " OR ".join(f"EXISTS (SELECT 1 FROM {t})" for t in tables)).scalar()


def _secondary_indexes(conn, tables: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, DDL) of the B-tree indexes of ``tables`` that no constraint (primary key, UNIQUE)
    owns, as the catalog has them: re-running the DDL makes the same index."""
    names = ", ".join(f"'{t}'" for t in tables)
    if conn.dialect.name == "postgresql":
        # (not the search docs' GIN index: filled through its pending list it cost less than built
        # after the load - 19-25 s against 22-29 s for docs and index at 100k, bench/NOTES.md)
        # (pg_get_indexdef is what pg_indexes.indexdef shows)
        return [tuple(r) for r in conn.exec_driver_sql(
            "SELECT ic.relname, pg_get_indexdef(ix.indexrelid) FROM pg_index ix "
            "JOIN pg_class ic ON ic.oid = ix.indexrelid JOIN pg_am am ON am.oid = ic.relam "
            "JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            f"WHERE n.nspname = current_schema() AND t.relname IN ({names}) AND am.amname = 'btree' "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid) "
            "ORDER BY t.relname, ic.relname")]
    # (the indexes SQLite makes for a primary key or UNIQUE constraint have no sql)
    return [tuple(r) for r in conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({names}) ORDER BY tbl_name, name")]


def _foreign_keys(conn, tables: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """PostgreSQL: (table, name, definition) of the foreign keys of ``tables``, as the catalog has
    them; ``ALTER TABLE … ADD CONSTRAINT name definition`` makes the same constraint again."""
    names = ", ".join(f"'{t}'" for t in tables)
    return [tuple(r) for r in conn.exec_driver_sql(
        "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        f"WHERE c.contype = 'f' AND n.nspname = current_schema() AND t.relname IN ({names}) "
        "ORDER BY t.relname, c.conname")]


@contextmanager
def _indexes_after_load(conn):
    """The standard bulk load, when generating starts on empty tables: their secondary indexes
    (and on PostgreSQL their foreign keys) are dropped, the rows go in, and they are made again
    from their catalog DDL - an index in one sort instead of an insert at a random place for every
    row; a foreign key checked by one join of the whole table instead of a lookup per row (on
    PostgreSQL a trigger call each; the histories' events included). Runs in the caller's
    transaction: a failure takes the drops back with the rows, and a row that breaks a foreign key
    fails the final check, so nothing is committed. With rows in any of the tables nothing
    changes: their indexes stay, the load inserts into them as before."""
    from ..search.schema import has_index

    tables = tuple(t.name for t in BULK_TABLES) + (("search_docs",) if has_index(conn) else ())
    events = RecordEvent.__tablename__
    if not _all_empty(conn, (*tables, events)):
        yield
        return
    saved = _secondary_indexes(conn, tables)
    keys = _foreign_keys(conn, (*tables, events)) if conn.dialect.name == "postgresql" else []
    for table, name, _definition in keys:
        conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ddl in saved:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    if conn.dialect.name == "postgresql":
        # sorts for the indexes in memory (the default 64 MB spills the larger ones to disk)
        conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{PG_INDEX_MEMORY}'")
    for _name, ddl in saved:
        conn.exec_driver_sql(ddl)
    for table, name, definition in keys:
        conn.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def _begin(conn) -> None:
    """SQLite: open the transaction now, so that the DDL of the load (search triggers, indexes)
    is part of it; the driver would start it only at the first INSERT, running DDL before that
    on its own."""
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        if not raw.in_transaction:
            raw.execute("BEGIN")


def timed(counts: Counts, seed: int = 1, progress=None) -> tuple[dict, float]:
    """Generate and commit. The search index and the deals' sums per group are filled once at the
    end (``rebuild``, ``refill``) instead of row by row by their triggers, which would double the
    time; the triggers are back before the commit, and also if generating fails. On empty tables
    their secondary indexes are made after the load (:func:`_indexes_after_load`)."""
    from ..pipeline import models as deal_sums
    from ..search import schema

    t0 = time.perf_counter()
    conn = db.session.connection()
    _begin(conn)
    schema.drop_triggers(conn)
    deal_sums.drop_triggers(conn)
    try:
        with _indexes_after_load(conn):
            done = generate(counts, seed, progress)
            start_histories()
            schema.rebuild(db.session.connection())  # (re-creates the triggers first)
            deal_sums.create_triggers(db.session.connection())
            deal_sums.refill(db.session.connection())
        db.session.commit()
        if db.session.get_bind().dialect.name == "postgresql":
            # the planner's statistics now, not when autovacuum comes by: on fresh tables without
            # them PostgreSQL chose plans that made a people export 6× slower (bench/export.py)
            db.session.execute(text("ANALYZE"))
            db.session.commit()
    except BaseException:
        db.session.rollback()
        schema.create_triggers(db.session.connection())  # (in case the drop outlived the rollback)
        deal_sums.create_triggers(db.session.connection())
        db.session.commit()
        raise
    return done, time.perf_counter() - t0
