"""Logins that end: server-side sessions on top of Flask-Login.

Flask's session is a signed cookie: on its own, a copy of it stays logged in after logout, and
nothing the server does ends it. So each login also gets a row in ``user_sessions`` (in the
database, so that every app server sees the same state): a random id goes into the signed cookie,
only its SHA-256 into the row. The user loader accepts a cookie only while its row exists (one
indexed join in the statement that loads the user anyway); logging out deletes the row, and a
password change, deactivation, deletion or an admin's "end sessions" deletes all rows of the
user. A row unused for ``SESSION_IDLE_DAYS`` is no longer accepted (and is purged at the next
login); ``last_seen_at`` is written at most once per ``TOUCH_EVERY``, never on every request.

Flask-Login's remember-me cookie is not used; should it be, a browser restored from it has no
session id and is refused, so it fails closed.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, request, session
from flask_login import login_user, logout_user
from sqlalchemy import delete, func, select, update

from ..common import utcnow
from ..extensions import db
from .models import User, UserSession

#: The key of the session id in Flask's signed session cookie.
SESSION_KEY = "_kontor_sid"
#: ``last_seen_at`` is written at most this often per session.
TOUCH_EVERY = timedelta(minutes=5)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _idle_limit():
    return utcnow() - timedelta(days=current_app.config["SESSION_IDLE_DAYS"])


def _cookie_digest() -> str | None:
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    return _digest(token)


def begin(user: User) -> None:
    """Log ``user`` in in this browser: a fresh Flask session (nothing of a previous one is kept)
    with a new server-side session's id in it. The caller commits."""
    token = secrets.token_urlsafe(32)
    db.session.execute(delete(UserSession).where(UserSession.last_seen_at < _idle_limit()))
    db.session.add(UserSession(id_hash=_digest(token), user_id=user.id,
                               user_agent=(request.user_agent.string or "")[:200] or None))
    session.clear()
    session[SESSION_KEY] = token
    login_user(user)


def end_current() -> None:
    """Log this browser out: its server-side session ends, so a copy of the cookie is dead too.
    The caller commits."""
    digest = _cookie_digest()
    if digest is not None:
        db.session.execute(delete(UserSession).where(UserSession.id_hash == digest))
    logout_user()
    session.clear()


def end_all(user: User) -> None:
    """End every session of ``user`` on every app server, and revoke the API token (whoever had
    the password or a session could have issued themselves one). The caller commits; a browser
    of ``user`` that should stay logged in calls :func:`begin` afterwards."""
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    user.api_token_hash = None
    user.api_token_created_at = None


def count(user: User) -> int:
    """The user's sessions still accepted (for the admin's user page)."""
    return db.session.scalar(select(func.count()).select_from(UserSession).where(
        UserSession.user_id == user.id, UserSession.last_seen_at >= _idle_limit())) or 0


def load_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the active user whose session this cookie's id names, in one
    statement; ``None`` (logged out) for an ended, idle or missing session."""
    if request.blueprint == "api":
        return None  # the API authenticates by bearer token only, never by the cookie
    digest = _cookie_digest()
    if digest is None or not (user_id.isascii() and user_id.isdigit() and len(user_id) <= 12):
        return None
    row = db.session.execute(
        select(User, UserSession.last_seen_at)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.id_hash == digest, User.id == int(user_id), User.active.is_(True),
               UserSession.last_seen_at >= _idle_limit())
    ).first()
    if row is None:
        return None
    user, last_seen = row
    now = utcnow()
    if now - last_seen >= TOUCH_EVERY:
        # On a connection of its own: the request's session stays untouched (nothing expired).
        with db.engine.begin() as conn:
            conn.execute(update(UserSession).where(UserSession.id_hash == digest).values(last_seen_at=now))
    return user
