"""The dashboard of the home page, loaded by it on its own (htmx), or as a page of its own."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from ..htmx import targets
from ..records.types import TYPES
from ..tasks.services import today
from ..visibility import current_viewer
from .queries import dashboard_for

bp = Blueprint("dashboard", __name__)


@bp.get("/dashboard")
def index():
    board = dashboard_for(current_viewer(), current_user.id, today())
    ctx = {"board": board, "deal_type": TYPES["deal"]}
    if targets("dashboard"):
        return render_template("dashboard/_dashboard.html", **ctx)
    return render_template("dashboard/page.html", **ctx)
