"""Throttling with counters in the database, so that every app server sees the same counts."""
from __future__ import annotations

import time

from sqlalchemy import Select, case, delete, literal, select, true

from ..extensions import db
from .models import RateCounter


def _now() -> int:
    return int(time.time())


def _insert():
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _upsert_increment(key: str, window_start: int) -> RateCounter:
    """Increment the counter for ``key`` in the window starting at ``window_start`` (a fresh window
    resets the count). Works on SQLite and PostgreSQL through ``INSERT … ON CONFLICT``."""
    table = RateCounter.__table__
    stmt = _insert()(table).values(key=key, window_start=window_start, count=1, locked_until=0)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "count": db.case(
                (table.c.window_start == window_start, table.c.count + 1), else_=1
            ),
            "window_start": window_start,
        },
    )
    db.session.execute(stmt)
    return db.session.execute(
        select(RateCounter).where(RateCounter.key == key).execution_options(populate_existing=True)
    ).scalar_one()


def locked_for(key: str) -> int:
    """Seconds left of a lockout on ``key``, 0 if none."""
    row = db.session.scalar(select(RateCounter.locked_until).where(RateCounter.key == key))
    left = (row or 0) - _now()
    return max(left, 0)


def register_failure(key: str, max_failures: int, window: int) -> int:
    """Count a failure; once ``max_failures`` are reached in the window, lock for ``window``
    seconds. Returns the seconds of lockout now in force. Commits, so it survives the request."""
    now = _now()
    counter = _upsert_increment(key, now - now % window)
    if counter.count >= max_failures:
        counter.locked_until = now + window
    db.session.commit()
    return max(counter.locked_until - now, 0)


def clear(key: str) -> None:
    db.session.execute(delete(RateCounter).where(RateCounter.key == key))
    db.session.commit()


def hit_keys(keys: Select, limit: int, window: int = 60) -> dict[str, bool]:
    """Count one request against each key that ``keys`` (a select of one string column) yields,
    in one statement (``INSERT … SELECT … ON CONFLICT … RETURNING``), so that a key may depend on a
    lookup made in the same statement (a token's owner). Commits. Returns, per key counted,
    whether it is still within ``limit`` per ``window`` seconds."""
    now = _now()
    start = now - now % window
    table = RateCounter.__table__
    src = keys.subquery("keys")
    rows = (
        select(src.c[0], literal(start), literal(1), literal(0))
        .where(true())  # (SQLite: an INSERT … SELECT with ON CONFLICT needs a WHERE to parse)
    )
    stmt = _insert()(table).from_select(["key", "window_start", "count", "locked_until"], rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "count": case((table.c.window_start == start, table.c.count + 1), else_=1),
            "window_start": start,
        },
    ).returning(table.c.key, table.c.count)
    counts = {key: count <= limit for key, count in db.session.execute(stmt)}
    db.session.commit()
    return counts
