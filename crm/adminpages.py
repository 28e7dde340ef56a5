"""What the administration pages (users, groups, custom fields, audit log, account and
extensions - all under ``/settings``) share: a blueprint for admins only."""
from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user


def _admins_only():
    if current_user.is_authenticated and current_user.is_admin:
        return None
    abort(403)  # explicit deny


def admin_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint under ``/settings`` whose every page answers 403 to anyone but an admin (the
    services refuse non-admins too)."""
    bp = Blueprint(name, import_name, url_prefix="/settings")
    bp.before_request(_admins_only)
    return bp
