"""The board's figures kept as sums per group (issue 17): what the pipeline page adds up, already
added up for each group, so that its figures read a few rows per group the viewer sees in full
instead of every deal (300,000 for a user in 200 groups at a million people).

* ``deal_sums`` - per group, stage, won/lost reason, currency, responsible user and stage kind:
  how many deals and their value in cents (the board's columns, the lost reasons, the weighted
  forecast per user);
* ``deal_month_sums`` - per group, currency, month of the target date, stage and kind: the same
  (the chart and the forecast per month). A deal without a target date is in ``deal_sums`` only.

Only the deals that exist count: not in the recycle bin, not pending in an unfinished import
(what :func:`crm.visibility.not_trashed` says). "None" is stored as 0 (no reason, nobody
responsible), so that the key has no NULL and each sum has one row. A row whose deals went
elsewhere stays with 0 deals and 0 cents; the queries skip it.

Triggers on ``deals`` keep the sums for every write path (the ORM services, bulk ``UPDATE``s of a
group assignment or its undo, the recycle bin, an import's last step, cascading deletes), in the
same transaction as the change: SQLite adds and subtracts per row; PostgreSQL once per statement
from its transition tables, in the order of the key (the rows of a statement are locked in one
order). ``demo generate`` drops them while it loads and fills the sums once (:func:`refill`).
``tests/test_deal_sums.py`` checks the sums against the deals after every kind of change, and
``tests/test_migrations.py`` the triggers against a migrated database's.

The sums are read through :class:`crm.visibility.GroupSums`: a row is there for a viewer who sees
its group's records in full, as the deals it adds up are.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class DealSum(db.Model):
    __tablename__ = "deal_sums"
    #: the sums of a viewer who sees many groups, in the order they are added up (crm.pipeline.queries):
    #: SQLite walks it without sorting (a user in 200 groups at 1M people: 30,000 rows in 13-17 ms
    #: instead of 59 ms); a viewer in a few groups reads the key's groups
    __table_args__ = (Index("ix_deal_sums_added", "stage_id", "reason_id", "currency", "responsible_id", "kind",
                            "group_id", "deals", "cents"),)

    group_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: 0: none
    reason_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    #: 0: nobody
    responsible_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the stage's kind, as ``deals.stage`` holds it
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    deals: Mapped[int] = mapped_column(BigInteger, default=0)
    cents: Mapped[int] = mapped_column(BigInteger, default=0)


class DealMonthSum(db.Model):
    __tablename__ = "deal_month_sums"
    __table_args__ = (Index("ix_deal_month_sums_added", "currency", "month", "stage_id", "kind", "group_id",
                            "deals", "cents"),)

    group_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    #: the first day of the target date's month
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    stage_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    deals: Mapped[int] = mapped_column(BigInteger, default=0)
    cents: Mapped[int] = mapped_column(BigInteger, default=0)


# ---------------------------------------------------------------------------------------------
# The triggers (used by the migration, ``demo generate`` and the tests)
# ---------------------------------------------------------------------------------------------

_SUM_KEY = "group_id, stage_id, reason_id, currency, responsible_id, kind"
_MONTH_KEY = "group_id, currency, month, stage_id, kind"
#: the deals' columns a sum depends on: an update of none of them changes no sum
WATCHED = ("group_id", "stage_id", "reason_id", "currency", "responsible_id", "stage", "value_cents",
           "target_date", "deleted_at", "pending_import_id")
TRIGGERS = ("deal_sums_insert", "deal_sums_update", "deal_sums_delete")
_PG_FUNCTIONS = tuple(f"kontor_{name}" for name in TRIGGERS)


def _live(row: str) -> str:
    return f"{row}.deleted_at IS NULL AND {row}.pending_import_id IS NULL"


def _upsert(table: str, key: str) -> str:
    return (f" ON CONFLICT ({key}) DO UPDATE SET deals = {table}.deals + excluded.deals, "
            f"cents = {table}.cents + excluded.cents")


def _sqlite_sums(row: str, sign: str) -> list[str]:
    """The two upserts of one deal (``NEW`` or ``OLD``) adding (``sign`` "") or taking away ("-")."""
    return [
        f"INSERT INTO deal_sums ({_SUM_KEY}, deals, cents) SELECT {row}.group_id, {row}.stage_id, "
        f"coalesce({row}.reason_id, 0), {row}.currency, coalesce({row}.responsible_id, 0), {row}.stage, "
        f"{sign}1, {sign}coalesce({row}.value_cents, 0) WHERE {_live(row)}" + _upsert("deal_sums", _SUM_KEY),
        f"INSERT INTO deal_month_sums ({_MONTH_KEY}, deals, cents) SELECT {row}.group_id, {row}.currency, "
        f"substr({row}.target_date, 1, 8) || '01', {row}.stage_id, {row}.stage, {sign}1, "
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


def _pg_changes(table: str, sign: str) -> str:
    return (f"SELECT group_id, stage_id, coalesce(reason_id, 0) AS reason_id, currency, "
            f"coalesce(responsible_id, 0) AS responsible_id, stage AS kind, target_date, {sign}1 AS n, "
            f"{sign}coalesce(value_cents, 0) AS c FROM {table} r WHERE {_live('r')}")


def _pg_function(name: str, changes: str) -> str:
    having = "HAVING sum(n) <> 0 OR sum(c) <> 0"
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        f"INSERT INTO deal_sums ({_SUM_KEY}, deals, cents) SELECT {_SUM_KEY}, sum(n), sum(c) "
        f"FROM ({changes}) ch GROUP BY {_SUM_KEY} {having} ORDER BY {_SUM_KEY}"
        + _upsert("deal_sums", _SUM_KEY) + ";\n"
        f"INSERT INTO deal_month_sums ({_MONTH_KEY}, deals, cents) SELECT group_id, currency, "
        f"date_trunc('month', target_date)::date AS month, stage_id, kind, sum(n), sum(c) "
        f"FROM ({changes}) ch WHERE target_date IS NOT NULL GROUP BY 1, 2, 3, 4, 5 {having} "
        f"ORDER BY 1, 2, 3, 4, 5" + _upsert("deal_month_sums", _MONTH_KEY) + ";\n"
        "RETURN NULL;\nEND\n$$"
    )


def _pg_triggers() -> list[str]:
    new, old = _pg_changes("new_rows", ""), _pg_changes("old_rows", "-")
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


def drop_functions(conn) -> None:
    """PostgreSQL: the triggers' functions (after :func:`drop_triggers`), for the downgrade."""
    if conn.dialect.name == "postgresql":
        for name in _PG_FUNCTIONS:
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}()")


def _month_sql(dialect: str, column: str) -> str:
    return (f"date_trunc('month', {column})::date" if dialect == "postgresql"
            else f"substr({column}, 1, 8) || '01'")


def refill(conn) -> None:
    """The sums anew from the deals (a migration, ``demo generate`` after its load, or if they
    were ever in doubt), in the caller's transaction."""
    live = _live("deals")
    month = _month_sql(conn.dialect.name, "target_date")
    conn.exec_driver_sql("DELETE FROM deal_sums")
    conn.exec_driver_sql("DELETE FROM deal_month_sums")
    conn.exec_driver_sql(
        f"INSERT INTO deal_sums ({_SUM_KEY}, deals, cents) SELECT group_id, stage_id, coalesce(reason_id, 0), "
        f"currency, coalesce(responsible_id, 0), stage, count(*), coalesce(sum(value_cents), 0) FROM deals "
        f"WHERE {live} GROUP BY group_id, stage_id, coalesce(reason_id, 0), currency, coalesce(responsible_id, 0), "
        f"stage")
    conn.exec_driver_sql(
        f"INSERT INTO deal_month_sums ({_MONTH_KEY}, deals, cents) SELECT group_id, currency, {month}, stage_id, "
        f"stage, count(*), coalesce(sum(value_cents), 0) FROM deals WHERE {live} AND target_date IS NOT NULL "
        f"GROUP BY group_id, currency, {month}, stage_id, stage")
