"""Passwords, logins, API tokens."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from flask import current_app, g, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import Row, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..common import utcnow
from ..errors import Forbidden
from ..extensions import db
from . import throttle
from .models import ROLES, User

# Compared against when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH: dict[str, str] = {}


def require_admin(actor) -> None:
    """The permission of every administration service (users, groups, custom fields, settings):
    admins only. ``actor`` is a User or a Viewer; anything else is refused."""
    if actor is not None and getattr(actor, "role", None) == "admin":
        return
    raise Forbidden(_l("Only admins may do this."))  # explicit deny


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalize_email(email)))


@dataclass
class LoginResult:
    user: User | None
    locked_seconds: int = 0


def authenticate(email: str, password: str, address: str) -> LoginResult:
    """Check a login. Failed attempts are counted per address+email and per address; past the
    limit the pair is locked out for a while (counters live in the database)."""
    cfg = current_app.config
    email = normalize_email(email)
    keys = [f"login:{address}:{email}", f"login-ip:{address}"]
    limits = [cfg["LOGIN_MAX_FAILURES"], cfg["LOGIN_MAX_FAILURES"] * 10]
    locked = max(throttle.locked_for(k) for k in keys)
    if locked:
        return LoginResult(None, locked)
    user = find_user_by_email(email)
    method = cfg["PASSWORD_HASH_METHOD"]
    if user is None:
        check_password_hash(_DUMMY_HASH.setdefault(method, generate_password_hash("x", method=method)), password)
    ok = user is not None and user.active and check_password_hash(user.password_hash, password)
    if not ok:
        window = cfg["LOGIN_WINDOW_SECONDS"]
        locked = max(throttle.register_failure(k, lim, window) for k, lim in zip(keys, limits, strict=True))
        return LoginResult(None, locked)
    throttle.clear(keys[0])
    user.last_login_at = utcnow()
    db.session.commit()
    return LoginResult(user)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> str:
    """A new API token for the user; only its SHA-256 is stored, the old one stops working."""
    token = "ktr_" + secrets.token_urlsafe(32)
    user.api_token_hash = _token_digest(token)
    user.api_token_created_at = utcnow()
    db.session.commit()
    return token


def revoke_token(user: User) -> None:
    user.api_token_hash = None
    user.api_token_created_at = None
    db.session.commit()


def user_for_token(token: str) -> User | None:
    if not token or len(token) > 200:
        return None
    return db.session.scalar(
        select(User).where(User.api_token_hash == _token_digest(token), User.active.is_(True))
    )


def token_owner(token: str):
    """A subquery of the id of the active user owning ``token`` (no row if none): for a statement
    that checks the token while doing something else (the API's throttle)."""
    digest = _token_digest(token) if token and len(token) <= 200 else ""
    return select(User.id).where(User.api_token_hash == digest, User.active.is_(True)).subquery("owner")


def create_user(email: str, password: str, role: str, name: str | None = None,
                default_group_id: int | None = None, locale: str | None = None) -> User:
    """Create a user (the caller validates and commits). Raises ValueError on a clash."""
    email = normalize_email(email)
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if find_user_by_email(email) is not None:
        raise ValueError(f"a user with the email {email} exists already")
    user = User(
        email=email,
        name=(name or email.split("@")[0]).strip(),
        password_hash=hash_password(password),
        role=role,
        default_group_id=default_group_id,
        locale=locale,
    )
    db.session.add(user)
    db.session.flush()
    return user


def active_users() -> list[Row]:
    """Active users by name, each an ``id`` and a ``name`` (the responsible and assignee choices);
    read once per request. Rows, not users: every list page offers them all, and 500 users as
    objects of the session - each with its state, in the identity map - cost a list page at 1M
    people about 10 ms, mostly the garbage collector's passes over them (bench/NOTES.md)."""
    return _users(())[0]


def user_names(ids) -> dict[int, str]:
    """The names of the users ``ids`` (a record's responsible user, creator and last editor; None
    for none), read with :func:`active_users` in one statement - a deactivated user's too - so a
    page that shows both costs no statement per name."""
    return _users(ids)[1]


def _users(ids) -> tuple[list[Row], dict[int, str]]:
    wanted = {i for i in ids if i is not None}
    cached = g.get("_kontor_users") if has_request_context() else None
    if cached is not None and wanted <= cached[1].keys():
        return cached
    if cached is not None:
        wanted |= cached[1].keys()
    rows = db.session.execute(select(User.id, User.name, User.active)
                              .where(User.active.is_(True) | User.id.in_(wanted)).order_by(User.name)).all()
    users = ([r for r in rows if r.active], {r.id: r.name for r in rows})
    if has_request_context():
        g._kontor_users = users
    return users
