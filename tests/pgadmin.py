"""Dropping a PostgreSQL test database that may still be busy."""
from __future__ import annotations

import time

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError


def drop_database(conn, name: str, attempts: int = 20) -> None:
    """``DROP DATABASE … WITH (FORCE)`` on an AUTOCOMMIT connection. FORCE ends the sessions of
    our own role; an autovacuum worker busy in the database is not ours to end on PostgreSQL 15
    ("must be a member of the role whose process is being terminated"), so wait for it to finish."""
    for attempt in range(attempts):
        try:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except DBAPIError as err:
            if "pg_signal_backend" not in str(err) or attempt == attempts - 1:
                raise
            time.sleep(0.25 * (attempt + 1))
