"""One log line per request: method, path (no query string: it may hold searched names), status,
duration, user id and the number of SQL statements. Text by default; JSON (one object per line,
for a log collector) with ``KONTOR_LOG_FORMAT=json``. Logger ``kontor.requests``, level INFO.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time

from flask import Flask, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

logger = logging.getLogger("kontor.requests")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "request", None) or {"message": record.getMessage()}
        out = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
               "level": record.levelname.lower(), **fields}
        return json.dumps(out, ensure_ascii=False)


    converter = time.gmtime


class TextFormatter(logging.Formatter):
    converter = time.gmtime


def configure(app: Flask) -> None:
    """The handler (stderr, as gunicorn's own logs), unless the tests or the host set one up."""
    logger.disabled = False  # (Alembic's fileConfig disables the loggers that exist when it runs)
    if app.testing or logger.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    fmt = app.config.get("KONTOR_LOG_FORMAT") or os.environ.get("KONTOR_LOG_FORMAT") or "text"
    if fmt.strip().lower() == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)sZ %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


@event.listens_for(Engine, "before_cursor_execute")
def _count(conn, cursor, statement, parameters, context, executemany) -> None:
    if has_request_context():
        g._kontor_statements = g.get("_kontor_statements", 0) + 1


def init_request_log(app: Flask) -> None:
    configure(app)

    def _start() -> None:
        g._kontor_started = time.perf_counter()

    # first of all: the login gate's redirect ends the request before later functions run
    app.before_request_funcs.setdefault(None, []).insert(0, _start)

    @app.after_request
    def _log(resp):
        started = g.get("_kontor_started")
        if started is None or request.endpoint == "static":
            return resp
        viewer = g.get("viewer")
        fields = {
            "method": request.method,
            "path": request.path,
            "status": resp.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "user_id": getattr(viewer, "user_id", None),
            "statements": g.get("_kontor_statements", 0),
        }
        logger.info("%(method)s %(path)s %(status)s %(duration_ms)sms user=%(user_id)s statements=%(statements)s",
                    fields, extra={"request": fields})
        return resp
