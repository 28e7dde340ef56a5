"""German and English UI: the user's own setting, else the browser's preference.

One rule for the language of work done later (the job queue: exports, imports, group assignments
and their undo, applying the rules): the job stores its requester's language when it is queued
(:func:`requester_locale`), and the worker runs the job's work inside
``force_locale(job_locale(job.locale, owner.locale))``. So a filter, a number or a date is read,
and a message is written, as the requester's page would have done - never in the worker's
default language."""
from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request
from flask_babel import get_locale
from flask_login import current_user

from .auth.models import LOCALES, User
from .extensions import babel, db

#: the language without an app (and the app's ``BABEL_DEFAULT_LOCALE``)
DEFAULT_LOCALE = "de"


def default_locale() -> str:
    """The account's language (``BABEL_DEFAULT_LOCALE``); German outside an app."""
    try:
        return current_app.config.get("BABEL_DEFAULT_LOCALE") or DEFAULT_LOCALE
    except RuntimeError:  # outside an app context
        return DEFAULT_LOCALE


def ui_locale() -> str:
    """The UI language now ("de" or "en"): the request's; in a job, its requester's (the worker
    runs it in ``force_locale``); else the default language. What forms and list filters read
    numbers in, and what a job queued by a request keeps."""
    try:
        locale = get_locale()
    except (RuntimeError, AttributeError):  # outside an app context
        locale = None
    return str(locale) if locale else default_locale()


def job_locale(*choices: str | None) -> str:
    """The language a job runs in: the first of ``choices`` that Kontor speaks - the one stored
    when it was queued, then (a job queued before the language was stored) its owner's setting -
    else the default language."""
    return next((c for c in choices if c in LOCALES), None) or default_locale()


def requester_locale(user_id: int | None) -> str:
    """The language a job keeps when it is queued: the request's (:func:`ui_locale`); queued
    outside a request (a command), its owner's setting, else the default language."""
    if has_request_context():
        return ui_locale()
    owner = db.session.get(User, user_id) if user_id else None
    return job_locale(owner.locale if owner else None)


def select_locale() -> str:
    try:
        # The API knows its user by the bearer token only, never by the session cookie.
        user = g.get("api_user") if request.path.startswith("/api/") else current_user
        if user and user.is_authenticated and user.locale in LOCALES:
            return user.locale
    except Exception:
        pass
    if request:
        return request.accept_languages.best_match(LOCALES, default="de")
    return "de"


def init_i18n(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
