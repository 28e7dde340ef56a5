"""Kontor: a self-hosted CRM for small teams, with a group system that decides who sees what."""
from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_sqlalchemy.session import Session as FSASession
from sqlalchemy import event
from sqlalchemy.engine import Engine

from . import models  # noqa: F401  (registers every table)
from .config import build_config
from .extensions import configure_queue, csrf, db, login_manager, migrate
from .visibility import check_registry, install_safety_net

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(build_config(Path(app.instance_path), overrides))
    if app.config["KONTOR_PROXY_FIX"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["KONTOR_PROXY_FIX"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    from .common import IdConverter

    app.url_map.converters["int"] = IdConverter
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    configure_queue(app)
    login_manager.init_app(app)

    from .i18n import init_i18n
    from .web import init_web

    init_i18n(app)
    install_safety_net(FSASession)
    if app.debug or app.testing:
        check_registry()  # a model or table nobody declared for the safety net stops the start
    init_web(app)

    from .api.views import bp as api_bp
    from .audit.views import bp as audit_bp
    from .auth.views import bp as auth_bp
    from .customfields.views import bp as fields_bp
    from .dashboard.views import bp as dashboard_bp
    from .files.views import bp as files_bp
    from .groups.views import bp as groups_bp
    from .history.views import bp as history_bp
    from .home.views import bp as home_bp
    from .imports.views import bp as imports_bp
    from .jobs.views import bp as jobs_bp
    from .listviews.views import bp as listviews_bp
    from .merge.views import bp as merge_bp
    from .notes.views import bp as notes_bp
    from .pipeline.views import bp as pipeline_bp
    from .records.trash_views import bp as trash_bp
    from .records.views import register_record_blueprints
    from .rules.views import bp as rules_bp
    from .search.views import bp as search_bp
    from .settings.views import bp as settings_bp
    from .stages.views import bp as stages_bp
    from .tasks.views import bp as tasks_bp
    from .users.views import bp as users_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(home_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(pipeline_bp)  # /deals/pipeline, before the deals' own routes
    register_record_blueprints(app)
    app.register_blueprint(notes_bp)
    app.register_blueprint(history_bp)
    app.register_blueprint(tasks_bp)
    app.register_blueprint(files_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(listviews_bp)
    app.register_blueprint(merge_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(settings_bp)
    app.register_blueprint(users_bp)
    app.register_blueprint(groups_bp)
    app.register_blueprint(fields_bp)
    app.register_blueprint(stages_bp)
    app.register_blueprint(rules_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(trash_bp)
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)  # the API authenticates by bearer token only, never by the session cookie

    from .ops.health import bp as ops_bp
    from .ops.requestlog import init_request_log

    app.register_blueprint(ops_bp)
    init_request_log(app)

    from .cli import register_cli

    register_cli(app)
    return app


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """SQLite: enforce foreign keys, write-ahead log for concurrent readers, wait on locks."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.execute("PRAGMA mmap_size=268435456")  # reads of a large database straight from the page cache
    cursor.close()
