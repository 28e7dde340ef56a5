"""Global search across the four record types: the live list under the header's search box
(htmx, HX-Target "search-live") and the full results page ``/search?q=``."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from ..htmx import targets
from ..visibility import current_viewer
from .queries import search

bp = Blueprint("search", __name__)

#: hits per record type: under the search box, and on the results page
LIVE_LIMIT = 5
PAGE_LIMIT = 50
#: the live list starts at this many characters
LIVE_MIN = 2


@bp.get("/search")
def index():
    q = " ".join((request.args.get("q") or "").split())[:200]
    if targets("search-live"):
        results = search(current_viewer(), q, limit=LIVE_LIMIT) if len(q) >= LIVE_MIN else []
        return render_template("search/_live.html", q=q if len(q) >= LIVE_MIN else "", results=results)
    results = search(current_viewer(), q, limit=PAGE_LIMIT) if q else []
    return render_template("search/index.html", q=q, results=results, limit=PAGE_LIMIT)
