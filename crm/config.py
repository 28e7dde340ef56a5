"""Configuration from the environment (see README, "Configuration")."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else generated once and kept in instance/ (never committed)."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def account_timezone() -> str:
    """The account's time zone (``KONTOR_TIMEZONE``, Europe/Berlin by default): its "today" is the
    tasks' today, whatever the server's clock says."""
    return os.environ.get("KONTOR_TIMEZONE", "Europe/Berlin")


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def build_config(instance_path: Path, overrides: dict | None = None) -> dict:
    overrides = dict(overrides or {})
    url = overrides.get("SQLALCHEMY_DATABASE_URI") or os.environ.get("DATABASE_URL")
    if not url:
        url = f"sqlite:///{instance_path / 'kontor.sqlite3'}"
    if url.startswith("postgres://"):  # the spelling Heroku-style hosts hand out
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    secure = _bool("KONTOR_HTTPS")
    config = {
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(url),
        "SECRET_KEY": overrides.get("SECRET_KEY") or _secret_key(instance_path),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "SESSION_COOKIE_NAME": "kontor_session",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PREFERRED_URL_SCHEME": "https" if secure else "http",
        "KONTOR_HTTPS": secure,
        "KONTOR_PROXY_FIX": int(os.environ.get("KONTOR_PROXY_FIX", "0") or 0),
        "WTF_CSRF_TIME_LIMIT": None,  # token lives as long as the session
        # A login unused this long ends (its row in user_sessions is no longer accepted).
        "SESSION_IDLE_DAYS": float(os.environ.get("KONTOR_SESSION_IDLE_DAYS", "14") or 14),
        "WTF_CSRF_SSL_STRICT": secure,
        "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "de",
        "BABEL_DEFAULT_TIMEZONE": account_timezone(),
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
        "PASSWORD_HASH_METHOD": os.environ.get("KONTOR_PASSWORD_HASH", "scrypt"),
        # Failed logins: this many per address+email in the window, then a temporary lockout.
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_WINDOW_SECONDS": 15 * 60,
        "API_RATE_LIMIT": int(os.environ.get("KONTOR_API_RATE_LIMIT", "600")),  # requests per minute
        # The job queue (crm/jobs): Redis when REDIS_URL is set (several app servers), else a SQLite
        # file under instance/; immediate (a job runs when it is started, no worker) in the tests.
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "JOBS_QUEUE_NAME": os.environ.get("KONTOR_QUEUE_NAME", "kontor"),
        "JOBS_SQLITE_PATH": os.environ.get("KONTOR_QUEUE_FILE", str(instance_path / "jobs.sqlite3")),
        "JOBS_IMMEDIATE": _bool("KONTOR_JOBS_IMMEDIATE", bool(overrides.get("TESTING"))),
        # a running job whose worker has not reported for this long is taken up again once, then failed
        # a CSV export of more rows than this runs as a job (a download from the job's page),
        # kept this many hours
        "EXPORT_JOB_ROWS": int(os.environ.get("KONTOR_EXPORT_JOB_ROWS", "5000") or 5000),
        "EXPORT_KEEP_HOURS": int(os.environ.get("KONTOR_EXPORT_KEEP_HOURS", "24") or 24),
        "HANDOVER_UNDO_MINUTES": int(os.environ.get("KONTOR_HANDOVER_UNDO_MINUTES", "10") or 10),
        "JOBS_STALE_SECONDS": int(os.environ.get("KONTOR_JOBS_STALE_SECONDS", "120") or 120),
        # a group assignment (or its undo) moving more records than this runs as a job
        "BULK_JOB_THRESHOLD": int(os.environ.get("KONTOR_BULK_JOB_THRESHOLD", "2000") or 2000),
        # Attached files (crm/files): the store (local directory or an S3-compatible bucket) and the
        # largest file accepted, in MB
        "FILE_STORAGE": os.environ.get("KONTOR_FILE_STORAGE", "local").strip().lower() or "local",
        "FILE_DIR": os.environ.get("KONTOR_FILE_DIR", str(instance_path / "files")),
        "S3_BUCKET": os.environ.get("KONTOR_S3_BUCKET", ""),
        "S3_ENDPOINT_URL": os.environ.get("KONTOR_S3_ENDPOINT_URL", ""),
        "S3_REGION": os.environ.get("KONTOR_S3_REGION", ""),
        "S3_ACCESS_KEY_ID": os.environ.get("KONTOR_S3_ACCESS_KEY_ID", ""),
        "S3_SECRET_ACCESS_KEY": os.environ.get("KONTOR_S3_SECRET_ACCESS_KEY", ""),
        "S3_PREFIX": os.environ.get("KONTOR_S3_PREFIX", ""),
        "MAX_UPLOAD_MB": int(os.environ.get("KONTOR_MAX_UPLOAD_MB", "25") or 25),
        "PAGE_SIZE": 50,
        "COUNT_CAP": 10_000,
    }
    config.update(overrides)
    return config


def engine_options(url: str) -> dict:
    # The safety net gives each kind of viewer (groups on/off, restricted types, admin) its own
    # variant of every statement: a larger compiled cache than SQLAlchemy's 500 keeps them all.
    cache = {"query_cache_size": 4000}
    if url.startswith("sqlite"):
        return {**cache, "connect_args": {"timeout": 30, "check_same_thread": False}}
    # PostgreSQL's JIT compiles a statement whose cost estimate is high before running it: the CSV
    # export's one statement (a subquery per custom field, contact kind and the tags) spent 8 of
    # its 12 s on 11k people compiling (bench/export.py). Kontor's statements are short; JIT never
    # pays for them.
    # A server-side cursor (``yield_per``: only the CSV export uses one, and reads it to its end)
    # is planned for all of its rows, not for the first 10 % (PostgreSQL's default): for the
    # first 10 % the planner read a people export's rows by the sort index, each record's group
    # and company by a lookup of its own, for 1.6 times the server's CPU time of reading the
    # viewer's groups' rows and sorting them (bench/export.py, 100k people).
    return {**cache, "pool_size": 10, "max_overflow": 10, "pool_pre_ping": True, "pool_recycle": 1800,
            "connect_args": {"options": "-c jit=off -c cursor_tuple_fraction=1"}}
