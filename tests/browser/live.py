"""A real Kontor for a real browser: a freshly migrated database, a server on a free port, Chromium.

Used by the browser tests (tests/browser/conftest.py) and by docs/make_screenshots.py.

* Databases: SQLite files by default; PostgreSQL when ``DATABASE_URL`` names one. Each state
  (migrated + demo data) is built once as a template and copied per server: a file copy on SQLite,
  ``CREATE DATABASE … TEMPLATE …`` on PostgreSQL.
* Server: werkzeug's threaded WSGI server in a thread of this process, CSRF on as in production.
  Exceptions in a request are collected in ``LiveServer.errors``.
* Chromium: Debian's /usr/bin/chromium driven by Playwright, headless, without background networking.
"""
from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from flask import Flask, got_request_exception
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from tests.pgadmin import drop_database

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("KONTOR_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
DEMO_PASSWORD = "demo1234"
#: The admin of a fresh installation (state "fresh": migrated, one admin, nothing else).
FRESH_ADMIN = ("chefin@firma.example", "Anna Admin")

SERVER_CONFIG = {
    "SECRET_KEY": "browser-tests-secret-key",
    "WTF_CSRF_ENABLED": True,  # as in production: forms and htmx requests must carry the token
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # quick to build; the KDF is not under test here
    "JOBS_IMMEDIATE": True,  # a job runs when it is queued (no worker process beside the live server)
}


def database_url() -> str:
    return os.environ.get("DATABASE_URL", "")


def on_postgres() -> bool:
    return database_url().startswith(("postgresql", "postgres"))


def _pg(url: str):
    u = make_url(url.replace("postgres://", "postgresql://", 1))
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u


def _pg_admin(base):
    return create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")


def _recreate_pg(url, admin_of, template: str | None = None) -> str:
    """(Re)create the PostgreSQL database of ``url`` - empty, or a copy of ``template``."""
    admin = _pg_admin(admin_of)
    with admin.connect() as conn:
        drop_database(conn, url.database)
        copy = f' TEMPLATE "{template}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{url.database}"{copy}'))
    admin.dispose()
    return url.render_as_string(hide_password=False)


def _build(url: str, state: str) -> None:
    """Migrate an empty database and fill it: ``fresh`` (one admin) or a demo example."""
    from flask_migrate import upgrade

    from crm import create_app
    from crm.extensions import db

    app = create_app({**SERVER_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        if state == "fresh":
            from crm.auth.services import create_user

            create_user(FRESH_ADMIN[0], DEMO_PASSWORD, "admin", FRESH_ADMIN[1])
        else:
            from crm.demo import examples

            examples.load(state)
        db.session.commit()
        if url.startswith("sqlite"):
            db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            db.session.execute(text("PRAGMA journal_mode=DELETE"))
        db.session.remove()
        db.engine.dispose()


class Databases:
    """Template databases per state, built on first use, and fresh copies of them."""

    def __init__(self, workdir: Path, tag: str = "main"):
        self.workdir = workdir
        self.tag = tag
        self.templates: dict[str, str] = {}
        self.copies: list[str] = []
        self._n = itertools.count(1)

    def _name(self, suffix: str) -> str:
        base = _pg(database_url()).database or "kontor"
        return f"{base}_{self.tag}_{suffix}"[:63]

    def template(self, state: str) -> str:
        if state not in self.templates:
            if on_postgres():
                url = _pg(database_url()).set(database=self._name(f"tpl_{state}"))
                rendered = _recreate_pg(url, url)
            else:
                self.workdir.mkdir(parents=True, exist_ok=True)
                rendered = f"sqlite:///{self.workdir / f'template-{state}.sqlite3'}"
            _build(rendered, state)
            self.templates[state] = rendered
        return self.templates[state]

    def copy(self, state: str) -> str:
        """A new database holding the state, for one server."""
        template = self.template(state)
        n = next(self._n)
        if on_postgres():
            src = make_url(template)
            rendered = _recreate_pg(src.set(database=self._name(f"t{n}")), src, template=src.database)
        else:
            path = self.workdir / f"kontor-{n}.sqlite3"
            shutil.copy(make_url(template).database, path)
            rendered = f"sqlite:///{path}"
        self.copies.append(rendered)
        return rendered

    def drop(self, url: str) -> None:
        if url.startswith("sqlite"):
            path = Path(make_url(url).database)
            for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                p.unlink(missing_ok=True)
            return
        u = make_url(url)
        admin = _pg_admin(u)
        with admin.connect() as conn:
            drop_database(conn, u.database)
        admin.dispose()

    def close(self) -> None:
        for url in self.copies + list(self.templates.values()):
            self.drop(url)
        self.copies.clear()
        self.templates.clear()


class LiveServer:
    """Kontor served on 127.0.0.1 on a free port, in a thread of this process."""

    def __init__(self, database_url: str, config: dict | None = None):
        from crm import create_app

        self.database_url = database_url
        # uploads of the test, never into instance/ (removed again in stop)
        self.files = tempfile.mkdtemp(prefix="kontor-files-")
        self.app: Flask = create_app({**SERVER_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, "FILE_DIR": self.files,
                                      **(config or {})})
        self.errors: list[BaseException] = []
        got_request_exception.connect(self._record_error, self.app, weak=False)
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.port = self._server.server_port
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"kontor-{self.port}", daemon=True)

    def _record_error(self, sender, exception, **extra) -> None:
        self.errors.append(exception)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        got_request_exception.disconnect(self._record_error, self.app)
        from crm.extensions import db

        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()
        shutil.rmtree(self.files, ignore_errors=True)

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def run(self, fn: Callable, *args, **kwargs):
        """Call ``fn`` inside the app context (for checks and set-up straight in the database)."""
        from crm.extensions import db

        with self.app.app_context():
            try:
                return fn(*args, **kwargs)
            finally:
                db.session.remove()


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
