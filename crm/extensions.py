"""Flask extensions, created once and bound in the app factory."""
import functools
import threading

from flask import has_request_context
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from huey import Huey
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so Alembic can alter tables on SQLite (batch mode) and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


# ---------------------------------------------------------------------------------------------
# The job queue (Huey): configured from the Flask config in the app factory (configure_queue)
# ---------------------------------------------------------------------------------------------

#: One instance per process, like ``db``; its storage is chosen by :func:`configure_queue`:
#: a SQLite file under ``instance/`` (no extra server), Redis when ``REDIS_URL`` is set, and in
#: immediate mode (the test suite) no storage at all - a task runs when it is enqueued.
huey = Huey("kontor", storage_class=MemoryStorage, results=False, utc=True)
_queue_app: dict = {}


def configure_queue(app) -> None:
    """Point the queue at the storage the app's config names; tasks run in this app's context."""
    cfg = app.config
    huey.name = cfg["JOBS_QUEUE_NAME"]
    if cfg.get("REDIS_URL"):
        huey.storage_class, huey.storage_kwargs = RedisStorage, {"url": cfg["REDIS_URL"]}
    else:
        huey.storage_class, huey.storage_kwargs = SqliteStorage, {"filename": cfg["JOBS_SQLITE_PATH"]}
    huey._immediate = bool(cfg["JOBS_IMMEDIATE"])
    try:
        huey.storage = huey.create_storage()
    except Exception as err:  # the SQLite file cannot be created: the app still starts, /healthz says so
        huey.storage = _Unavailable(err)
    _queue_app["app"] = app


class _Unavailable:
    """Stands in for a queue storage that could not be opened: every use raises its error."""

    def __init__(self, error: Exception):
        self.error = error

    def __getattr__(self, name):
        raise self.error


def _in_app(fn, args, kwargs):
    """Call ``fn`` as the worker does: in an app context of its own (its own database session,
    removed afterwards), outside any request. In immediate mode a task is called inside the
    request that starts it: it then runs on a thread of its own (joined), so that neither the
    request's context (its viewer, the safety net's scope) nor its session reach into the job."""
    app = _queue_app["app"]

    def call():
        with app.app_context():
            try:
                return fn(*args, **kwargs)
            finally:
                db.session.remove()

    if not has_request_context():
        return call()
    box: dict = {}

    def target():
        try:
            box["value"] = call()
        except BaseException as err:  # handed to the caller below
            box["error"] = err

    thread = threading.Thread(target=target, name=f"job-{fn.__name__}")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def app_task(**options):
    """``huey.task`` for a function that needs the app (see :func:`_in_app`)."""
    def decorate(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            return _in_app(fn, args, kwargs)
        return huey.task(**options)(run)
    return decorate


def app_periodic_task(validate_datetime, **options):
    """``huey.periodic_task`` for a function that needs the app (see :func:`_in_app`)."""
    def decorate(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            return _in_app(fn, args, kwargs)
        return huey.periodic_task(validate_datetime, **options)(run)
    return decorate
