"""Settings -> Audit log (admins only): every entry, newest first, filtered by action."""
from __future__ import annotations

from flask import render_template, request
from sqlalchemy import select

from ..adminpages import admin_blueprint
from ..common import to_int
from ..extensions import db
from .models import AuditEntry
from .services import ACTIONS

bp = admin_blueprint("audit", __name__)

PER_PAGE = 50


@bp.get("/audit")
def log():
    action = request.args.get("action", "")
    page = max(1, min(to_int(request.args.get("page"), 1), 100_000))
    stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if action in ACTIONS:
        stmt = stmt.where(AuditEntry.action == action)
    else:
        action = ""
    entries = list(db.session.scalars(stmt.limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)))
    return render_template("settings/audit.html", entries=entries[:PER_PAGE], more=len(entries) > PER_PAGE,
                           page=page, action=action, actions=ACTIONS)
