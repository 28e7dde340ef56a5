"""``/deals/pipeline``: the deals board by stage with sums per currency, and the chart of
pipeline value per stage and month."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template, request

from ..common import utcnow
from ..records.types import CURRENCIES, DEAL_STAGE_LABELS
from ..visibility import current_viewer
from . import queries
from .chart import geometry

bp = Blueprint("pipeline", __name__)


def _first_month(raw: str | None) -> date:
    """``?from=YYYY-MM``; else half a year back (the chart shows half a year back and ahead)."""
    try:
        year, month = (int(p) for p in (raw or "").split("-"))
        if 1900 <= year <= 2999:
            return date(year, month, 1)
    except ValueError:
        pass
    return queries.month_start(utcnow().date(), -5)


@bp.get("/deals/pipeline")
def index():
    viewer = current_viewer()
    columns = queries.board(viewer)
    in_use = queries.currencies(columns)
    currency = request.args.get("currency", "")
    if currency not in CURRENCIES:
        currency = in_use[0] if in_use else "EUR"
    first = _first_month(request.args.get("from"))
    chart = queries.by_month(viewer, currency, first, total=queries.deals_in(columns, currency))
    return render_template(
        "pipeline/index.html", columns=columns, currencies=in_use or [currency], currency=currency, chart=chart,
        svg=geometry(chart, DEAL_STAGE_LABELS), first=first,
        earlier=queries.month_start(first, -6), later=queries.month_start(first, 6),
    )
