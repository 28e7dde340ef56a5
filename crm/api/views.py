"""JSON API v1 (interfaces.md): bearer tokens, records, groups, custom fields, settings, search."""
from __future__ import annotations

from flask import Blueprint, g, request
from flask_login import login_user  # noqa: F401

from ..auth.services import user_for_token
from ..visibility import set_viewer
from .errors import ApiError, error_response

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.errorhandler(ApiError)
def api_error(err: ApiError):
    return error_response(err.status, err.code, err.message, err.fields)


@bp.before_request
def authenticate():
    if request.endpoint in ("api.create_token", "api.openapi"):
        return None
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    user = user_for_token(token) if token else None
    if user is None:
        return error_response(401, "unauthorized", "A valid bearer token is required.")
    g.api_user = user
    set_viewer(user)
    return None
