"""The test databases' teardown waits out an autovacuum worker instead of failing (CI saw
"must be a member of … pg_signal_backend" when DROP DATABASE … WITH (FORCE) met one)."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from tests import pgadmin

BUSY = "must be a member of the role whose process is being terminated or member of pg_signal_backend"


class FakeConn:
    def __init__(self, failures: int, message: str = BUSY):
        self.failures, self.message, self.calls = failures, message, 0

    def execute(self, stmt):
        self.calls += 1
        if self.calls <= self.failures:
            raise DBAPIError(str(stmt), {}, Exception(self.message))


def test_waits_for_a_busy_autovacuum_worker(monkeypatch):
    monkeypatch.setattr(pgadmin.time, "sleep", lambda s: None)
    conn = FakeConn(failures=3)
    pgadmin.drop_database(conn, "kontor_x")
    assert conn.calls == 4


def test_other_errors_and_a_worker_that_never_ends_are_raised(monkeypatch):
    monkeypatch.setattr(pgadmin.time, "sleep", lambda s: None)
    with pytest.raises(DBAPIError):
        pgadmin.drop_database(FakeConn(failures=1, message="permission denied to drop database"), "kontor_x")
    never = FakeConn(failures=100)
    with pytest.raises(DBAPIError):
        pgadmin.drop_database(never, "kontor_x", attempts=5)
    assert never.calls == 5
