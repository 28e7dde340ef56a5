"""``GET /healthz`` for the reverse proxy and monitoring: is the database reachable, are its
migrations current, and is the job queue's storage (Redis, or the SQLite file) reachable? JSON, no
login, 200 or 503, nothing about records (not even counts)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db, huey

bp = Blueprint("ops", __name__)

MIGRATIONS = Path(__file__).resolve().parent.parent.parent / "migrations"


@lru_cache(maxsize=1)
def code_heads() -> frozenset[str]:
    """The newest revisions the code knows (read once per process)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return frozenset(ScriptDirectory.from_config(cfg).get_heads())


def database_state(engine) -> tuple[str, str]:
    """("ok" | "unreachable", "ok" | "behind" | "ahead" | "missing" | "unknown") - the database,
    and its migrations compared with the code's. Its own short connection, outside any session."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            try:
                stored = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
            except SQLAlchemyError:
                return "ok", "missing"
    except SQLAlchemyError:
        return "unreachable", "unknown"
    heads = code_heads()
    if stored == heads:
        return "ok", "ok"
    if not stored:
        return "ok", "missing"
    return "ok", ("ahead" if stored - heads and not _known(stored) else "behind")


def _known(revisions: set[str]) -> bool:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.script.revision import ResolutionError

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(cfg)
    try:
        return all(script.get_revision(r) is not None for r in revisions)
    except ResolutionError:  # an id the code does not know: a newer database
        return False


def queue_state() -> str:
    """"ok" | "unreachable": the queue's storage answers (Redis: a round trip; SQLite: the file
    opens and reads); "immediate" when jobs run without a queue (the test suite)."""
    if huey.immediate:
        return "immediate"
    try:
        huey.storage.queue_size()
    except Exception:  # any failure of the broker (connection, file, permissions)
        return "unreachable"
    return "ok"


@bp.get("/healthz")
def healthz():
    database, migrations = database_state(db.engine)
    queue = queue_state()
    ok = database == "ok" and migrations == "ok" and queue != "unreachable"
    body = {"status": "ok" if ok else "error", "database": database, "migrations": migrations, "queue": queue}
    resp = jsonify(body)
    resp.status_code = 200 if ok else 503
    resp.headers["Cache-Control"] = "no-store"
    current_app.logger.debug("healthz %s", body)
    return resp
