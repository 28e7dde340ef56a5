"""``flask --app app backup PATH`` / ``restore PATH``: a consistent copy of the database while
Kontor runs, and putting one back.

* SQLite: the online backup API (``sqlite3.Connection.backup``) copies page by page from a
  consistent snapshot, write-ahead log included - unlike ``cp`` of the live file, which may
  catch it half-written. The copy is checked (``PRAGMA integrity_check``) before it counts.
  A restore copies the file back the same way, into the live database (other connections wait
  a moment), after checking that it is a Kontor database.
* PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --if-exists`` when they are
  installed (the major version should match the server's); else the commands to run by hand.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from ..extensions import db


class BackupError(click.ClickException):
    """One clear line, exit code 1."""


def _url():
    return make_url(db.engine.url.render_as_string(hide_password=False))


def _sqlite_file(url) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory database cannot be backed up")
    return Path(url.database)


def _libpq_url(url) -> str:
    """The URL for pg_dump/pg_restore: libpq knows no "+psycopg", and the password goes through
    the environment (:func:`_pg_env`), not the command line, which ``ps`` shows."""
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _pg_env(url) -> dict:
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return env


def _pg_tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (apt-get install postgresql-client); by hand: {hint}")
    return path


def _check_sqlite(path: Path) -> None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
            version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as err:
        raise BackupError(f"{path} is not a Kontor database ({err})") from None
    if result != "ok":
        raise BackupError(f"{path} is damaged: {result}")
    if version is None:
        raise BackupError(f"{path} is not a Kontor database (no migration version)")


def backup_to(target: Path) -> str:
    """Write the backup; returns a line that says what was written."""
    url = _url()
    if target.exists():
        raise BackupError(f"{target} exists already; choose a new file")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    if url.get_backend_name() == "sqlite":
        source = _sqlite_file(url)
        tmp = target.with_name(target.name + ".part")
        src = sqlite3.connect(source)
        dst = sqlite3.connect(tmp)
        try:
            with dst:
                src.backup(dst, pages=1024)
        finally:
            dst.close()
            src.close()
        try:
            _check_sqlite(tmp)
        except BackupError:
            tmp.unlink(missing_ok=True)
            raise
        tmp.replace(target)
        return f"Backup written to {target} ({target.stat().st_size} bytes)."
    hint = f"pg_dump --format=custom --file {target} \"$DATABASE_URL\""
    cmd = [_pg_tool("pg_dump", hint), "--format=custom", "--no-owner", "--file", str(target),
           "--dbname", _libpq_url(url)]
    done = subprocess.run(cmd, env=_pg_env(url), capture_output=True, text=True)
    if done.returncode != 0:
        target.unlink(missing_ok=True)
        lines = done.stderr.strip().splitlines()
        raise BackupError(f"pg_dump failed: {lines[-1] if lines else done.returncode}")
    return f"Backup written to {target} ({target.stat().st_size} bytes)."


def restore_from(source: Path) -> str:
    """Replace the database's content with the backup's; returns a line that says what happened."""
    url = _url()
    if not source.is_file():
        raise BackupError(f"{source} does not exist")
    if url.get_backend_name() == "sqlite":
        _check_sqlite(source)
        target = _sqlite_file(url)
        db.session.remove()
        db.engine.dispose()
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(target)
        try:
            dst.execute("PRAGMA busy_timeout=30000")
            with dst:
                src.backup(dst)
        finally:
            dst.close()
            src.close()
    else:
        hint = f"pg_restore --clean --if-exists --no-owner --dbname \"$DATABASE_URL\" {source}"
        db.session.remove()
        db.engine.dispose()
        cmd = [_pg_tool("pg_restore", hint), "--clean", "--if-exists", "--no-owner", "--single-transaction",
               "--dbname", _libpq_url(url), str(source)]
        done = subprocess.run(cmd, env=_pg_env(url), capture_output=True, text=True)
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines()
            raise BackupError(f"pg_restore failed: {lines[-1] if lines else done.returncode}")
    from .health import database_state

    _db, migrations = database_state(db.engine)
    note = "" if migrations == "ok" else " Run `flask --app app db upgrade` before starting Kontor."
    return f"Restored from {source}.{note}"


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Write a consistent copy of the database to PATH (safe while Kontor runs)."""
    click.echo(backup_to(path))


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask: replace the database's content.")
@with_appcontext
def restore_command(path: Path, yes: bool) -> None:
    """Replace the database's content with the backup at PATH. Stop Kontor first."""
    if not yes:
        click.confirm("This replaces everything in the database with the backup. Continue?", abort=True)
    click.echo(restore_from(path))
