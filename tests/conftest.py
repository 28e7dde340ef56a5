"""Test fixtures: a fresh, migrated database per test, on SQLite (default) or on PostgreSQL when
``DATABASE_URL`` names one (as ``.ci/run`` does).

* SQLite: the migrations run once per test session into a template file, which each test copies.
* PostgreSQL: one database per xdist worker, migrated once; each test empties every table, sets
  every sequence back to 1 and puts the built-in rows back.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from crm import create_app
from crm.extensions import db
from tests.pgadmin import drop_database

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("DATABASE_URL", "")
ON_PG = DATABASE_URL.startswith(("postgresql", "postgres"))

TEST_CONFIG = {
    "SECRET_KEY": "test-secret-key-not-for-production",
    "TESTING": True,
    "WTF_CSRF_ENABLED": False,
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
}


def _pg_url(worker: str) -> str:
    url = make_url(DATABASE_URL.replace("postgres://", "postgresql://", 1))
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url.set(database=f"{url.database}_{worker}").render_as_string(hide_password=False)


def _create_pg_database(url: str) -> None:
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        drop_database(conn, target.database)
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory, worker_id):
    if ON_PG:
        url = _pg_url(worker_id)
        _create_pg_database(url)
        _migrate(url)
        return url
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    _migrate(f"sqlite:///{path}")
    return path


def _empty_pg() -> None:
    """Every table emptied (children first; the tables triggers write - the search index, the
    deals' sums - once more at the end, whatever a trigger wrote meanwhile) and every sequence
    back to 1. ``DELETE`` and not ``TRUNCATE``: on tables of a few rows it takes some 60 ms where
    ``TRUNCATE … RESTART IDENTITY`` takes 600 ms (it makes new files for every table and index) -
    per test."""
    tables = list(reversed(db.metadata.sorted_tables))
    for table in tables + [t for t in tables if t.name.startswith(("search", "deal_sums", "deal_month_sums"))]:
        db.session.execute(table.delete())
    db.session.execute(text(
        "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'S' AND n.nspname = current_schema()"))
    db.session.commit()
    from crm.bootstrap import seed_builtin_rows

    seed_builtin_rows()


@pytest.fixture
def database_url(database_template, tmp_path) -> str:
    if ON_PG:
        return database_template
    path = tmp_path / "kontor.sqlite3"
    shutil.copy(database_template, path)
    return f"sqlite:///{path}"


class FreshContextClient(FlaskClient):
    """Each request runs in its own app context, as in production: its own ``g`` (viewer, logged-in
    user, CSRF token) and its own database session, even though the test holds an app context
    open for its factories. Tests see a request's writes after ``db.session.expire_all()``."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url,
                      "FILE_DIR": str(tmp_path / "files")})
    app.test_client_class = FreshContextClient
    with app.app_context():
        if ON_PG:
            _empty_pg()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make(app):
    """Factories for users, groups and records (see tests/factories.py)."""
    from tests import factories

    return factories


# The adversarial suite's figures (tests/adversarial/figures.py): imported here so that the
# xdist controller, which never loads tests/adversarial/conftest.py, sums up the workers' counts.
from tests.adversarial.figures import (  # noqa: E402,F401
    pytest_configure,
    pytest_sessionfinish,
    pytest_sessionstart,
    pytest_terminal_summary,
)
