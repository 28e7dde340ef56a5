"""German and English UI: the user's own setting, else the browser's preference."""
from __future__ import annotations

from flask import Flask, g, request
from flask_babel import get_locale
from flask_login import current_user

from .auth.models import LOCALES
from .extensions import babel


def ui_locale() -> str:
    """The UI language of the request ("de" or "en"); "de" outside a request."""
    try:
        return str(get_locale() or "de")
    except (RuntimeError, AttributeError):  # outside a request
        return "de"


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
