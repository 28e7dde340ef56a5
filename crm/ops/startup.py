"""Start-up checks for the web server (``gunicorn.conf.py`` runs them before any worker starts):
Kontor refuses to start, with one clear line, instead of answering 500 on every page when the
database is unreachable or not migrated, or ``instance/`` is not writable. ``flask db upgrade``
does not run them (it is what makes the database current)."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from sqlalchemy.engine import make_url

from .health import database_state


class NotReady(Exception):
    """Why Kontor cannot start, in one line."""


def _writable(folder: Path) -> bool:
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".kontor-check-"):
            return True
    except OSError:
        return False


def check(app: Flask) -> None:
    """Raise :class:`NotReady` with the first problem found."""
    instance = Path(app.instance_path)
    if not instance.is_dir() or not _writable(instance):
        raise NotReady(f"{instance} is not a writable folder (Kontor keeps its secret key and, by default, "
                       f"its SQLite database there): create it or fix its owner/permissions")
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        folder = Path(url.database).resolve().parent
        if not _writable(folder):
            raise NotReady(f"the SQLite database's folder {folder} is not writable")
    from ..extensions import db

    with app.app_context():
        database, migrations = database_state(db.engine)
        db.engine.dispose()  # no connection inherited by the forked workers
    shown = url.render_as_string(hide_password=True)
    if database != "ok":
        raise NotReady(f"the database {shown} is unreachable: check DATABASE_URL and that the server runs")
    if migrations == "ahead":
        raise NotReady(f"the database {shown} was migrated by a newer Kontor than this one")
    if migrations != "ok":
        raise NotReady(f"the database {shown} is not migrated: run `flask --app app db upgrade` first")


def check_or_exit(factory: Callable[[], Flask]) -> None:
    """For gunicorn's ``on_starting``: build the app and check it; on a problem print the one line
    and stop the process (exit code 3, as gunicorn exits when a worker cannot boot). Building the
    app already fails on an unwritable ``instance/`` without ``SECRET_KEY`` (it keeps the
    generated key there): that is one line too."""
    try:
        check(factory())
    except NotReady as err:
        problem = str(err)
    except OSError as err:
        problem = f"{err.filename or 'instance/'} cannot be written ({err.strerror})"
    else:
        return
    os.write(2, f"Kontor cannot start: {problem}\n".encode())
    os._exit(3)
