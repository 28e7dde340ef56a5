"""The board's figures kept as sums per group (issue 17): what the pipeline page adds up, already
added up for each group, so that its figures read a few rows per group the viewer sees in full
instead of every deal (300,000 for a user in 200 groups at a million people).

* ``deal_sums`` - per group, stage, won/lost reason, currency, responsible user (of an open
  deal: what the forecast weighs per user; a won or lost deal counts as nobody's here) and stage
  kind: how many deals and their value in cents (the board's columns, the lost reasons, the
  weighted forecast per user);
* ``deal_month_sums`` - per group, currency, month of the target date, stage and kind: the same
  (the chart and the forecast per month). A deal without a target date is in ``deal_sums`` only.

Only the deals that exist count: not in the recycle bin, not pending in an unfinished import
(what :func:`crm.visibility.not_trashed` says). "None" is stored as 0 (no reason, nobody
responsible), so that a key has no NULL.

Triggers on ``deals`` keep the sums for every write path (the ORM services, bulk ``UPDATE``s of a
group assignment or its undo, the recycle bin, an import's last step, cascading deletes), in the
same transaction as the change:

* SQLite (one writer at a time anyway) adds to and subtracts from the one row of each key, per
  deal; a key whose deals went elsewhere keeps its row with 0 deals and 0 cents.
* PostgreSQL appends, per statement, one row per key the statement changed (from its transition
  tables): the change in deals and cents. Writers never update a shared row, so none waits for
  another's sums or deadlocks on them (a colleague's save beside a group assignment of 10,000
  companies, two saves in one group and stage). :func:`compact` adds up the rows of each key
  every minute (the job worker); the figures add up whatever rows there are.

Not covered by the triggers: ``TRUNCATE deals`` (on PostgreSQL no row trigger fires) and, on
SQLite, ``INSERT OR REPLACE`` into ``deals`` (the replaced row's delete trigger fires only with
``recursive_triggers`` on); nothing in Kontor writes deals so. A deal needs its ``stage_id`` (the
ORM fills it in from the kind, crm/stages/models.py): a Core insert without one is refused.

So a key's figure is the sum of its rows on both databases; the queries add up per key and leave
out the keys with no deals. ``demo generate`` drops the triggers while it loads and fills the sums
once (:func:`refill`). ``tests/test_deal_sums.py`` checks the sums against the deals after every
kind of change, and that the triggers are those the migrations made.

The sums are read through :class:`crm.visibility.GroupSums`: a row is there for a viewer who sees
its group's records in full, as the deals it adds up are.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

SUM_KEY = ("group_id", "stage_id", "reason_id", "currency", "responsible_id", "kind")
MONTH_KEY = ("group_id", "currency", "month", "stage_id", "kind")


def _key_indexes(table: str, key: tuple[str, ...]) -> tuple[Index, Index]:
    """The key, unique on SQLite (its triggers add to the one row of a key), not on PostgreSQL (its
    triggers append rows that :func:`compact` merges); the group first, for a viewer in a few."""
    return (Index(f"uq_{table}_key", *key, unique=True).ddl_if(dialect="sqlite"),
            Index(f"ix_{table}_key", *key).ddl_if(dialect="postgresql"))


class DealSum(db.Model):
    __tablename__ = "deal_sums"
    #: "added": the sums of a viewer who sees many groups, in the order they are added up
    #: (crm.pipeline.queries): SQLite walks it without sorting (a user in 200 groups at 1M people,
    #: when a row per user of won and lost deals made 30,000 rows: 13-17 ms instead of 59 ms)
    __table_args__ = (*_key_indexes("deal_sums", SUM_KEY),
                      Index("ix_deal_sums_added", *SUM_KEY[1:], "group_id", "deals", "cents"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    group_id: Mapped[int] = mapped_column(Integer)
    stage_id: Mapped[int] = mapped_column(Integer)
    #: 0: none
    reason_id: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    #: of an open deal; 0: nobody, or the deal is won or lost
    responsible_id: Mapped[int] = mapped_column(Integer)
    #: the stage's kind, as ``deals.stage`` holds it
    kind: Mapped[str] = mapped_column(String(8))
    #: (PostgreSQL: a change, until :func:`compact` adds up the rows of its key)
    deals: Mapped[int] = mapped_column(BigInteger)
    cents: Mapped[int] = mapped_column(BigInteger)


class DealMonthSum(db.Model):
    __tablename__ = "deal_month_sums"
    __table_args__ = (*_key_indexes("deal_month_sums", MONTH_KEY),
                      Index("ix_deal_month_sums_added", "currency", "month", "stage_id", "kind", "group_id",
                            "deals", "cents"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    group_id: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    #: the first day of the target date's month
    month: Mapped[date] = mapped_column(Date)
    stage_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))
    deals: Mapped[int] = mapped_column(BigInteger)
    cents: Mapped[int] = mapped_column(BigInteger)


#: made on one database only (Alembic's comparison leaves them out, migrations/env.py)
DIALECT_INDEXES = frozenset(f"{kind}_{table}_key" for kind in ("uq", "ix")
                            for table in ("deal_sums", "deal_month_sums"))


# ---------------------------------------------------------------------------------------------
# The triggers (``demo generate`` and the tests; the revisions write theirs out)
# ---------------------------------------------------------------------------------------------

_SUM_KEY = ", ".join(SUM_KEY)
_MONTH_KEY = ", ".join(MONTH_KEY)
#: the deals' columns a sum depends on: an update of none of them changes no sum
WATCHED = ("group_id", "stage_id", "reason_id", "currency", "responsible_id", "stage", "value_cents",
           "target_date", "deleted_at", "pending_import_id")
TRIGGERS = ("deal_sums_insert", "deal_sums_update", "deal_sums_delete")


def _responsible(row: str) -> str:
    """The responsible user of an open deal, else 0 (a third of the rows at 1M people, 50 users)."""
    return f"CASE WHEN {row}stage = 'open' THEN coalesce({row}responsible_id, 0) ELSE 0 END"


def _live(row: str) -> str:
    return f"{row}.deleted_at IS NULL AND {row}.pending_import_id IS NULL"


def _month_sql(dialect: str, column: str) -> str:
    """The first day of the month of a date ``column`` (SQLite keeps dates as 'YYYY-MM-DD')."""
    return (f"date_trunc('month', {column})::date" if dialect == "postgresql"
            else f"substr({column}, 1, 8) || '01'")


def _upsert(table: str, key: str) -> str:
    return (f" ON CONFLICT ({key}) DO UPDATE SET deals = {table}.deals + excluded.deals, "
            f"cents = {table}.cents + excluded.cents")


def _sqlite_sums(row: str, sign: str) -> list[str]:
    """The two upserts of one deal (``NEW`` or ``OLD``) adding (``sign`` "") or taking away ("-")."""
    return [
        f"INSERT INTO deal_sums ({_SUM_KEY}, deals, cents) SELECT {row}.group_id, {row}.stage_id, "
        f"coalesce({row}.reason_id, 0), {row}.currency, {_responsible(row + '.')}, {row}.stage, "
        f"{sign}1, {sign}coalesce({row}.value_cents, 0) WHERE {_live(row)}" + _upsert("deal_sums", _SUM_KEY),
        f"INSERT INTO deal_month_sums ({_MONTH_KEY}, deals, cents) SELECT {row}.group_id, {row}.currency, "
        f"{_month_sql('sqlite', row + '.target_date')}, {row}.stage_id, {row}.stage, {sign}1, "
        f"{sign}coalesce({row}.value_cents, 0) WHERE {_live(row)} AND {row}.target_date IS NOT NULL"
        + _upsert("deal_month_sums", _MONTH_KEY),
    ]


def _sqlite_triggers() -> list[str]:
    body = {
        "insert": _sqlite_sums("NEW", ""),
        "delete": _sqlite_sums("OLD", "-"),
        "update": _sqlite_sums("OLD", "-") + _sqlite_sums("NEW", ""),
    }
    event = {"insert": "INSERT", "delete": "DELETE", "update": f"UPDATE OF {', '.join(WATCHED)}"}
    return [f"CREATE TRIGGER deal_sums_{op} AFTER {event[op]} ON deals FOR EACH ROW BEGIN "
            + "; ".join(stmts) + "; END" for op, stmts in body.items()]


def _changes(table: str, sign: str) -> str:
    """Each existing deal of ``table`` as the change it makes to its sums (``sign`` "": adds it,
    "-": takes it away), under the sums' column names."""
    return (f"SELECT group_id, stage_id, coalesce(reason_id, 0) AS reason_id, currency, "
            f"{_responsible('')} AS responsible_id, stage AS kind, target_date, {sign}1 AS n, "
            f"{sign}coalesce(value_cents, 0) AS c FROM {table} r WHERE {_live('r')}")


def _adding(changes: str, dialect: str) -> list[str]:
    """The two statements that add ``changes`` (:func:`_changes`) to the sums as new rows, one per
    key: a PostgreSQL trigger's, and :func:`refill`'s on both databases."""
    having = "HAVING sum(n) <> 0 OR sum(c) <> 0"
    return [
        f"INSERT INTO deal_sums ({_SUM_KEY}, deals, cents) SELECT {_SUM_KEY}, sum(n), sum(c) "
        f"FROM ({changes}) ch GROUP BY {_SUM_KEY} {having}",
        f"INSERT INTO deal_month_sums ({_MONTH_KEY}, deals, cents) SELECT group_id, currency, "
        f"{_month_sql(dialect, 'target_date')} AS month, stage_id, kind, sum(n), sum(c) "
        f"FROM ({changes}) ch WHERE target_date IS NOT NULL GROUP BY 1, 2, 3, 4, 5 {having}",
    ]


def _pg_function(name: str, changes: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        + "".join(f"{stmt};\n" for stmt in _adding(changes, "postgresql"))
        + "RETURN NULL;\nEND\n$$"
    )


def _pg_triggers() -> list[str]:
    new, old = _changes("new_rows", ""), _changes("old_rows", "-")
    return [
        _pg_function("kontor_deal_sums_insert", new),
        _pg_function("kontor_deal_sums_delete", old),
        _pg_function("kontor_deal_sums_update", f"{old} UNION ALL {new}"),
        "CREATE TRIGGER deal_sums_insert AFTER INSERT ON deals REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION kontor_deal_sums_insert()",
        "CREATE TRIGGER deal_sums_delete AFTER DELETE ON deals REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION kontor_deal_sums_delete()",
        # (PostgreSQL takes no column list with transition tables: an update of other columns finds
        # every sum unchanged and writes none)
        "CREATE TRIGGER deal_sums_update AFTER UPDATE ON deals REFERENCING OLD TABLE AS old_rows "
        "NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION kontor_deal_sums_update()",
    ]


def trigger_sql(dialect: str) -> list[str]:
    return _pg_triggers() if dialect == "postgresql" else _sqlite_triggers()


def drop_triggers(conn) -> None:
    pg = conn.dialect.name == "postgresql"
    for name in TRIGGERS:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}" + (" ON deals" if pg else ""))


def create_triggers(conn) -> None:
    drop_triggers(conn)
    for stmt in trigger_sql(conn.dialect.name):
        conn.exec_driver_sql(stmt)


def refill(conn) -> None:
    """The sums anew from the deals (a migration, ``demo generate`` after its load, or if they
    were ever in doubt), in the caller's transaction. (SQLite: the sums' indexes built anew after
    the rows went in - at 1M people the figures of a user in 200 groups read them in 35-40 ms
    instead of 58-60.)"""
    if conn.dialect.name == "postgresql":
        # no deal changes meanwhile, and a compaction running now finishes first: the DELETE below
        # then sees the row it wrote (else that row stays, and the sums of its key count twice)
        conn.exec_driver_sql("LOCK TABLE deals IN SHARE MODE")
        conn.exec_driver_sql("LOCK TABLE deal_sums, deal_month_sums IN SHARE ROW EXCLUSIVE MODE")
    conn.exec_driver_sql("DELETE FROM deal_sums")
    conn.exec_driver_sql("DELETE FROM deal_month_sums")
    for stmt in _adding(_changes("deals", ""), conn.dialect.name):
        conn.exec_driver_sql(stmt)
    if conn.dialect.name == "sqlite":  # (indexes written in one go, not left half-full by the rows' order)
        conn.exec_driver_sql("REINDEX deal_sums")
        conn.exec_driver_sql("REINDEX deal_month_sums")


#: the advisory lock a compaction holds (a number of its own: no other code takes advisory locks)
_COMPACTING = 7_260_012


def compact(conn) -> int:
    """PostgreSQL: the rows of each key that has several, added up into one (a key whose deals all
    went elsewhere: none); SQLite keeps one row per key anyway. Returns the rows taken away.

    The triggers only ever insert, so a writer never waits for another writer's sums (two saves in
    one group and stage, a save beside a long group assignment or an import's last step) and no
    two transactions lock sum rows in opposite orders. This takes away rows that are committed
    (what its statement sees); rows inserted meanwhile stay for the next time. A second ``compact``
    at the same time returns at once (an advisory lock); :func:`refill` waits for a running one.
    Run every minute by the job worker (crm/jobs/services.py)."""
    if conn.dialect.name != "postgresql":
        return 0
    # one compaction at a time (two workers' periodic jobs): the other one has nothing to do
    if not conn.exec_driver_sql(f"SELECT pg_try_advisory_xact_lock({_COMPACTING})").scalar_one():
        return 0
    taken = 0
    for table, key in (("deal_sums", _SUM_KEY), ("deal_month_sums", _MONTH_KEY)):
        taken += conn.exec_driver_sql(
            f"WITH keys AS (SELECT {key} FROM {table} GROUP BY {key} HAVING count(*) > 1), "
            f"gone AS (DELETE FROM {table} t USING keys WHERE "
            + " AND ".join(f"t.{k} = keys.{k}" for k in key.split(", "))
            + f" RETURNING t.*), added AS (INSERT INTO {table} ({key}, deals, cents) SELECT {key}, sum(deals), "
            f"sum(cents) FROM gone GROUP BY {key} HAVING sum(deals) <> 0 OR sum(cents) <> 0) "
            f"SELECT count(*) FROM gone").scalar_one()
    return taken
