"""JSON API v1 (interfaces.md): bearer tokens, records, groups, custom fields, settings, search.

Every request is authenticated by its ``Authorization: Bearer`` token alone - never by the session
cookie of the pages - and throttled per address and per token. The routes live in
:mod:`.records` and :mod:`.admin`; this module has the blueprint, authentication, tokens, search
and the OpenAPI document.
"""
from __future__ import annotations

import time

from flask import current_app, g, jsonify, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, cast, literal, select, union_all

from ..auth import throttle
from ..auth.models import User
from ..auth.schemas import TokenRequest
from ..auth.services import authenticate as check_login
from ..auth.services import issue_token, token_owner
from ..errors import Refused
from ..extensions import db
from ..records.types import TYPES
from ..search.queries import search as search_records
from ..visibility import set_viewer
from .base import ID, bp  # noqa: F401  (ID: for crm.api.admin)
from .errors import error_response
from .inputs import (
    int_arg,
    json_body,
    str_arg,
)
from .serialize import records_json

#: Throttling window in seconds; ``API_RATE_LIMIT`` requests per window per address and per token.
WINDOW = 60
#: Endpoints answered without a token.
PUBLIC = frozenset({"api.create_token", "api.openapi"})


@bp.errorhandler(Refused)
def refused(err: Refused):
    """The one mapping of a service's refusal to JSON (crm/errors.py)."""
    db.session.rollback()
    return error_response(err.status, err.code, err.message, err.fields, getattr(err, "headers", None))


def _too_many():
    """429 until the throttle's current one-minute window ends."""
    seconds = WINDOW - int(time.time()) % WINDOW
    return error_response(429, "too_many_requests", _l("Too many requests. Please slow down."),
                          headers={"Retry-After": str(seconds)})


@bp.before_request
def authenticate():
    """Throttle per address and per token; set the viewer from the token's user. Both counts and
    the token's check are one statement (the token's counter is keyed by its user, found in the
    same statement); the user is read after the commit, so it is not read twice."""
    limit = current_app.config["API_RATE_LIMIT"]
    address = f"api-ip:{request.remote_addr or '?'}"
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    owner = None
    if request.endpoint not in PUBLIC and scheme.lower() == "bearer":
        owner = token_owner(token.strip())
    keys = select(literal(address))
    if owner is not None:
        keys = union_all(keys, select(literal("api-token:") + cast(owner.c.id, String)))
    counted = throttle.hit_keys(keys, limit, WINDOW)
    if not counted[address]:
        return _too_many()
    if request.endpoint in PUBLIC:
        return None
    token_key = next((k for k in counted if k != address), None)
    if token_key is None:
        return error_response(401, "unauthorized", _l("A valid bearer token is required."),
                              headers={"WWW-Authenticate": 'Bearer realm="kontor"'})
    if not counted[token_key]:
        return _too_many()
    user = db.session.get(User, int(token_key.rsplit(":", 1)[1]))
    if user is None or not user.active:  # (deactivated meanwhile)
        return error_response(401, "unauthorized", _l("A valid bearer token is required."),
                              headers={"WWW-Authenticate": 'Bearer realm="kontor"'})
    g.api_user = user
    set_viewer(user)
    return None


@bp.after_request
def no_store(resp):
    resp.headers["Cache-Control"] = "no-store"
    return resp


# -- tokens ------------------------------------------------------------------------------------


@bp.post("/tokens")
def create_token():
    data = TokenRequest.parse(json_body())
    result = check_login(data.email, data.password, request.remote_addr or "?")
    if result.user is None and result.locked_seconds:
        return error_response(
            429, "locked", _l("Too many failed attempts. Please try again in %(minutes)d minutes.",
                              minutes=max(1, (result.locked_seconds + 59) // 60)),
            headers={"Retry-After": str(result.locked_seconds)})
    if result.user is None:
        return error_response(401, "invalid_credentials", _l("Email or password is wrong."))
    return jsonify(token=issue_token(result.user)), 201


# -- search ------------------------------------------------------------------------------------

@bp.get("/search")
def search():
    q = str_arg("q", 200)
    limit = int_arg("limit", 20, maximum=100)
    if not q:
        return jsonify(items=[])
    viewer = g.viewer
    hits = search_records(viewer, q, limit)
    items: dict[tuple[str, int], dict] = {}
    for rtype in TYPES.values():
        rows = [(h.id, h.full) for h in hits if h.rtype.key == rtype.key]
        for item in records_json(rtype, rows, viewer):
            items[(rtype.key, item["id"])] = item
    ordered = [items[(h.rtype.key, h.id)] for h in hits if (h.rtype.key, h.id) in items]
    return jsonify(items=ordered)


# -- OpenAPI -----------------------------------------------------------------------------------

@bp.get("/openapi.json")
def openapi():
    from .openapi import document

    return jsonify(document())


from . import admin, attached, files, jobs, merge, records  # noqa: E402,F401  (register their routes on bp)
