"""The request lifecycle of the web pages: login gate, the viewer, security headers, errors."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, abort, g, render_template, request, url_for
from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .common import is_web_address
from .decimals import format_money, format_shown
from .extensions import db, login_manager
from .htmx import is_htmx, redirect_htmx
from .i18n import ui_locale
from .plurals import record_count
from .visibility import set_viewer

#: Endpoints a visitor may reach without logging in.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "static", "ops.healthz"})

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths may be redirected to after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def init_web(app: Flask) -> None:
    from .auth import sessions

    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.session_protection = "strong"

    # the user of the session cookie, while its server-side session lives (crm/auth/sessions.py)
    login_manager.user_loader(sessions.load_user)

    @app.before_request
    def refuse_nul_bytes():
        """No text column can hold a NUL byte (PostgreSQL refuses it): say so instead of failing."""
        sources = [request.args]
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            sources.append(request.form)  # (other bodies are left unread: the API limits their size first)
        for values in sources:
            if any("\x00" in v for vs in values.listvalues() for v in vs):
                abort(400, description=_l("The request contains a NUL character, which cannot be stored."))

    @app.before_request
    def gate():
        if request.blueprint == "api":
            return None  # the API authenticates each request by its bearer token
        if request.endpoint in PUBLIC_ENDPOINTS:
            return None
        if not current_user.is_authenticated:
            if request.endpoint is None:
                return None  # unknown URL: the 404 page, which shows nothing
            return redirect_htmx(url_for("auth.login", next=safe_next(request.full_path.rstrip("?"))))
        set_viewer(current_user)
        return None

    @app.after_request
    def headers(resp):
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        resp.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config["KONTOR_HTTPS"]:
            resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        resp.vary.add("HX-Request")
        resp.vary.add("HX-Target")
        if request.endpoint != "static" and (g.get("viewer") is not None or current_user.is_authenticated):
            # pages, partials, CSV exports and API answers of a user: never kept by any cache
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    def wants_json() -> bool:
        return request.path.startswith("/api/")

    @app.errorhandler(CSRFError)
    def csrf_error(err):
        if wants_json():
            from .api.errors import error_response

            return error_response(400, "csrf", err.description)
        return render_template("errors/error.html", code=400, message=_l(
            "The form expired or was sent from elsewhere. Please reload the page and try again."
        )), 400

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        if wants_json():
            from .api.errors import http_error_response

            return http_error_response(err)
        if err.code == 404:
            # The same page for a record that does not exist and one the user may not see.
            return render_template("errors/404.html", error_page=True), 404
        if err.code == 403:
            # a reason given with the refusal (abort(403, description=...)), else the general one
            said = err.description if err.description != type(err).description else None
            return render_template("errors/error.html", code=403, message=said or _l(
                "You may not do this here."
            )), 403
        if err.code == 413:
            return render_template("errors/error.html", code=413, message=_l(
                "The upload is too large."
            )), 413
        messages = {
            400: _l("The request could not be understood. Please reload the page and try again."),
            405: _l("This action is not available here."),
            429: _l("Too many requests. Please wait a moment."),
        }
        message = messages.get(err.code, _l("Something went wrong. Please reload the page and try again."))
        if err.code == 400 and err.description != type(err).description:
            message = err.description  # a message of Kontor's own (abort(400, description=...))
        return render_template("errors/error.html", code=err.code, message=message), err.code

    @app.errorhandler(500)
    def server_error(err):
        db.session.rollback()
        if wants_json():
            from .api.errors import error_response

            return error_response(500, "server_error", _l("Something went wrong on our side."))
        return render_template("errors/error.html", code=500, message=_l(
            "Something went wrong on our side. Nothing was saved."
        )), 500

    from .notes.forms import KIND_LABELS
    from .records.forms import FIELD_ORDER
    from .records.types import (
        BY_PLURAL,
        DEAL_STAGE_LABELS,
        PROJECT_STATUS_LABELS,
        TYPES,
    )
    from .settings.forms import ENTITY_LABELS, ROLE_LABELS
    from .settings.forms import KIND_LABELS as FIELD_KIND_LABELS
    from .tasks.forms import GROUP_LABELS as TASK_GROUP_LABELS

    AUDIT_LABELS = {
        "extension_switched": _l("Extension switched"), "group_created": _l("Group created"),
        "group_renamed": _l("Group renamed"), "group_deleted": _l("Group deleted"),
        "member_added": _l("Member added"), "member_removed": _l("Member removed"),
        "field_created": _l("Field defined"), "field_renamed": _l("Field renamed"),
        "field_deleted": _l("Field deleted"), "field_shared": _l("Field sharing changed"),
        "group_assigned": _l("Group assigned"), "assignment_undone": _l("Assignment undone"),
        "user_created": _l("User created"), "user_changed": _l("User changed"), "user_deleted": _l("User deleted"),
        "default_group_set": _l("Default group set"), "import": _l("Import"),
        "import_undone": _l("Import undone"), "sessions_ended": _l("Sessions ended"),
        "records_deleted": _l("Moved to the recycle bin"),
        "records_restored": _l("Restored from the recycle bin"), "records_purged": _l("Recycle bin emptied"),
        "file_uploaded": _l("File uploaded"), "file_deleted": _l("File deleted"),
        "contacts_set": _l("Contact persons set"), "type_default_set": _l("Default group of a type set"),
        "handover_set": _l("Hand-over allowed"), "handover_removed": _l("Hand-over removed"),
        "stage_created": _l("Stage created"), "stage_changed": _l("Stage changed"),
        "stage_deleted": _l("Stage deleted"),
        "reason_created": _l("Reason created"), "reason_changed": _l("Reason renamed"),
        "reason_deleted": _l("Reason deleted"),
        "rule_created": _l("Assignment rule created"), "rule_changed": _l("Assignment rule changed"),
        "rule_deleted": _l("Assignment rule deleted"), "rules_applied": _l("Assignment rules applied"),
        "records_merged": _l("Records merged"), "merge_undone": _l("Merge undone"),
    }
    list_columns = {
        "company": [_l("Website"), _l("Tags"), _l("Responsible"), _l("Last change")],
        "person": [_l("Company"), _l("Position"), _l("Tags"), _l("Last change")],
        "deal": [_l("Company"), _l("Value"), _l("Stage"), _l("Target date")],
        "project": [_l("Company"), _l("Status"), _l("Target date")],
    }

    from .records.trash import RETENTION_DAYS
    from .stages.queries import reason_names, stage_names

    app.jinja_env.globals.update(
        trash_retention_days=RETENTION_DAYS,
        get_locale=get_locale,
        record_types=TYPES,
        record_types_by_plural=BY_PLURAL,
        ref_plural=lambda key: TYPES[key].plural,
        list_columns=list_columns,
        stage_labels=DEAL_STAGE_LABELS,
        deal_stage_names=stage_names,
        deal_reason_names=reason_names,
        status_labels=PROJECT_STATUS_LABELS,
        note_kinds=KIND_LABELS,
        task_groups=TASK_GROUP_LABELS,
        role_labels=ROLE_LABELS,
        entity_labels=ENTITY_LABELS,
        field_kind_labels=FIELD_KIND_LABELS,
        form_fields=FIELD_ORDER,
        new_note_form=_new_note_form,
        new_task_form=_new_task_form,
        today=_today,
        audit_labels=AUDIT_LABELS,
        record_url_parts=record_url_parts,
    )

    @app.context_processor
    def template_globals():
        return {"viewer": g.get("viewer"), "is_htmx": is_htmx()}

    app.jinja_env.filters["date"] = lambda d, fmt="medium": format_date(d, fmt) if d else ""
    app.jinja_env.filters["datetime"] = lambda d, fmt="short": format_datetime(d, fmt) if d else ""
    app.jinja_env.filters["decimal"] = lambda n: format_decimal(n) if n is not None else ""
    # an amount in cents (a deal's value, a sum): the UI language's standard currency format
    app.jinja_env.globals["money_text"] = lambda cents, currency: format_money(cents, currency or "EUR", ui_locale())
    app.jinja_env.globals["record_count"] = record_count
    # a stored number in full (a custom number field: every decimal, not rounded to three)
    app.jinja_env.filters["number"] = lambda n: format_shown(n, ui_locale()) if n is not None else ""
    app.jinja_env.filters["isodate"] = _isodate
    app.jinja_env.tests["web_address"] = is_web_address  # only these become links
    app.jinja_env.add_extension("jinja2.ext.do")


def _isodate(text: str | None) -> str:
    from datetime import date

    try:
        return format_date(date.fromisoformat(text), "medium") if text else ""
    except ValueError:
        return text or ""


def _new_note_form():
    from .notes.forms import NoteForm

    return NoteForm(formdata=None)


def _new_task_form():
    from flask_login import current_user

    from .tasks.forms import task_form

    form = task_form(formdata=None)
    form.assignee_id.data = current_user.id
    return form


#: the record id :func:`record_url_parts` builds a link with, to find where a record's id goes
_SOME_ID = 987654321


def record_url_parts(endpoint: str) -> tuple[str, str]:
    """A record link of ``endpoint`` (``record_id`` its one argument) as the text before and after
    the id: a page that links many records builds the link once and puts each id between the two
    (a ``url_for`` costs as much as the rest of a list row or a board card)."""
    before, after = url_for(endpoint, record_id=_SOME_ID).rsplit(str(_SOME_ID), 1)
    return before, after


def _today():
    from datetime import datetime

    from flask_babel import get_timezone

    return datetime.now(get_timezone()).date()
