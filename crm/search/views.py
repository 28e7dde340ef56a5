"""Global search across the four record types."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from ..htmx import targets
from ..visibility import current_viewer
from .queries import search

bp = Blueprint("search", __name__)


@bp.get("/search")
def index():
    q = (request.args.get("q") or "").strip()[:200]
    results = search(current_viewer(), q, limit=8 if targets("search-live") else 50) if q else []
    if targets("search-live"):
        return render_template("search/_live.html", q=q, results=results)
    return render_template("search/index.html", q=q, results=results)
