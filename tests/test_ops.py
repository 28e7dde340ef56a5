"""Operations (issue 16): ``GET /healthz``, ``backup`` / ``restore`` with a round trip, the start-up
checks for the web server, and the request log."""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text

from crm import create_app
from crm.extensions import db
from crm.models import Company
from crm.ops import health, startup
from crm.ops.requestlog import JsonFormatter
from tests.conftest import ON_PG, TEST_CONFIG

ROOT = Path(__file__).resolve().parent.parent


# --- /healthz ---------------------------------------------------------------------------------

def test_healthz_answers_without_login_and_says_nothing_of_records(client, make):
    make.company("Geheim GmbH")
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert resp.get_json() == {"status": "ok", "database": "ok", "migrations": "ok",
                               "queue": "immediate"}
    assert resp.headers["Cache-Control"] == "no-store"


def test_healthz_is_503_when_the_database_is_behind_the_code(client, monkeypatch):
    monkeypatch.setattr(health, "code_heads", lambda: frozenset({"zz_a_revision_not_run_yet"}))
    resp = client.get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json() == {"status": "error", "database": "ok", "migrations": "behind",
                               "queue": "immediate"}


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/no/such/folder/x.db"})
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json() == {"status": "error", "database": "unreachable", "migrations": "unknown",
                               "queue": "immediate"}


def test_healthz_reports_the_job_queue(database_url, tmp_path):
    """With a real queue (not the tests' immediate mode): "ok" while its SQLite file can be
    opened, 503 "unreachable" when it cannot."""
    good = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, "JOBS_IMMEDIATE": False, "REDIS_URL": "",
                       "JOBS_SQLITE_PATH": str(tmp_path / "jobs.sqlite3")})
    resp = good.test_client().get("/healthz")
    assert (resp.status_code, resp.get_json()["queue"]) == (200, "ok")
    bad = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, "JOBS_IMMEDIATE": False, "REDIS_URL": "",
                      "JOBS_SQLITE_PATH": str(tmp_path / "no" / "such" / "folder" / "jobs.sqlite3")})
    resp = bad.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json() == {"status": "error", "database": "ok", "migrations": "ok", "queue": "unreachable"}


def test_healthz_reports_an_unreachable_redis(database_url):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, "JOBS_IMMEDIATE": False,
                      "REDIS_URL": "redis://127.0.0.1:1/0"})
    resp = app.test_client().get("/healthz")
    assert (resp.status_code, resp.get_json()["queue"]) == (503, "unreachable")


# --- start-up checks --------------------------------------------------------------------------

def test_start_up_passes_on_a_migrated_database(app):
    startup.check(app)


def test_start_up_refuses_an_unmigrated_database(tmp_path):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/empty.db"})
    with pytest.raises(startup.NotReady, match=r"is not migrated: run `flask --app app db upgrade` first"):
        startup.check(app)


def test_start_up_refuses_an_unreachable_database(tmp_path):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI":
                      "postgresql+psycopg://nobody:secret@127.0.0.1:1/none?connect_timeout=2"})
    with pytest.raises(startup.NotReady, match="is unreachable") as err:
        startup.check(app)
    assert "secret" not in str(err.value)


def test_start_up_refuses_an_instance_folder_it_cannot_write(app, tmp_path):
    not_a_folder = tmp_path / "instance"
    not_a_folder.write_text("")
    app.instance_path = str(not_a_folder)
    with pytest.raises(startup.NotReady, match="is not a writable folder"):
        startup.check(app)


def test_the_web_server_stops_with_one_line(tmp_path):
    """What gunicorn's ``on_starting`` runs (gunicorn.conf.py): one line on stderr, exit code 3."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/empty.db"}
    done = subprocess.run(
        [sys.executable, "-c", "from crm import create_app; from crm.ops.startup import check_or_exit; "
                               "check_or_exit(create_app)"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    assert done.stderr.strip().splitlines() == [
        f"Kontor cannot start: the database sqlite:///{tmp_path}/empty.db is not migrated: "
        "run `flask --app app db upgrade` first"]


def test_a_web_worker_leaves_what_it_loaded_out_of_the_collectors_full_passes():
    """gunicorn.conf.py's ``post_worker_init``: what a worker holds once it has loaded Kontor (three
    quarters of its objects) is frozen, so that a full garbage collection - which took ~100 ms
    over everything, once in every few dozen requests - reads only what came after
    (bench/worker_tail.py: the slowest of 600 requests 156-184 ms without, 60-83 ms with it)."""
    import gc
    import runpy

    hook = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["post_worker_init"]
    gc.unfreeze()
    try:
        hook(None)
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()


# --- request log ------------------------------------------------------------------------------

def test_one_log_line_per_request_with_user_status_duration_and_statements(client, make, caplog):
    u = make.user("admin")
    with caplog.at_level(logging.INFO, logger="kontor.requests"):
        client.get("/deals")  # to the login page
        make.login(client, u)
        client.get("/companies?q=geheim")
        client.get("/companies/999999")
    lines = [r for r in caplog.records if r.name == "kontor.requests"]
    assert [(r.request["method"], r.request["path"], r.request["status"], r.request["user_id"])
            for r in lines] == [("GET", "/deals", 302, None), ("POST", "/login", 302, None),
                                ("GET", "/companies", 200, u.id), ("GET", "/companies/999999", 404, u.id)]
    lines = lines[2:]
    first = lines[0].request
    assert first["user_id"] == u.id and first["statements"] > 0 and first["duration_ms"] >= 0
    assert "geheim" not in lines[0].getMessage()  # (no query string: it may hold names)
    # JSON with KONTOR_LOG_FORMAT=json: one object per line
    out = json.loads(JsonFormatter().format(lines[0]))
    assert {k: out[k] for k in ("method", "path", "status", "user_id")} == {
        "method": "GET", "path": "/companies", "status": 200, "user_id": u.id}
    assert out["level"] == "info" and out["time"].endswith("Z")


# --- backup and restore -----------------------------------------------------------------------

def _names() -> list[str]:
    db.session.expire_all()
    return sorted(db.session.scalars(select(Company.name)))


@pytest.mark.skipif(ON_PG and not (shutil.which("pg_dump") and shutil.which("pg_restore")),
                    reason="pg_dump/pg_restore not installed")
def test_backup_and_restore_round_trip(app, make, tmp_path):
    make.company("Vorher GmbH", tags=["Messe"], emails=["info@vorher.example"])
    make.company("Bleibt AG")
    runner = app.test_cli_runner()
    target = tmp_path / "kontor.backup"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Backup written to {target}")
    # a second backup never overwrites the first
    again = runner.invoke(args=["backup", str(target)])
    assert again.exit_code == 1 and "exists already" in again.output
    # changes after the backup ...
    make.company("Danach GmbH")
    db.session.execute(text("DELETE FROM companies WHERE name = 'Bleibt AG'"))
    db.session.commit()
    assert _names() == ["Danach GmbH", "Vorher GmbH"]
    db.session.remove()
    # ... are gone after the restore; the search index came back with the data
    result = runner.invoke(args=["restore", str(target)], input="y\n")
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(f"Restored from {target}.")
    assert _names() == ["Bleibt AG", "Vorher GmbH"]
    from crm.search.queries import search

    with make.acting_as(app, make.user("admin")) as viewer:
        assert [h.name for h in search(viewer, "vorher")] == ["Vorher GmbH"]
        assert search(viewer, "danach") == []


def test_restore_refuses_what_is_not_a_kontor_backup(app, make, tmp_path):
    make.company("Bleibt AG")
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    result = app.test_cli_runner().invoke(args=["restore", "--yes", str(junk)])
    assert result.exit_code == 1
    assert _names() == ["Bleibt AG"]
    missing = app.test_cli_runner().invoke(args=["restore", "--yes", str(tmp_path / "nothing")])
    assert missing.exit_code == 1 and "does not exist" in missing.output


@pytest.mark.skipif(ON_PG, reason="the SQLite file copy")
def test_a_sqlite_backup_is_consistent_with_a_pending_write_ahead_log(app, make, tmp_path):
    """Writes still in the WAL (not yet in the main file, where ``cp`` would miss them) are in the
    backup: it is taken through SQLite, not from the file."""
    import sqlite3

    live = Path(db.engine.url.database)
    keep = sqlite3.connect(live)  # an open reader keeps the WAL from being checkpointed away
    keep.execute("SELECT 1 FROM companies").fetchall()
    make.company("Im WAL GmbH")
    assert Path(f"{live}-wal").stat().st_size > 0
    target = tmp_path / "b.sqlite3"
    assert app.test_cli_runner().invoke(args=["backup", str(target)]).exit_code == 0
    keep.close()
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT name FROM companies").fetchall() == [("Im WAL GmbH",)]
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    copy.close()
