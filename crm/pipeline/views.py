"""``/deals/pipeline``: the deals board by stage with sums per currency, and the chart of
pipeline value per stage and month; ``POST /deals/<id>/stage`` moves a deal to another stage
(the board's drag and drop, and its keyboard alternative: a form on each card)."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..common import to_id, to_int, utcnow
from ..errors import Invalid, Refused, flash_refusal
from ..extensions import db
from ..htmx import targets
from ..records.loaders import load_record
from ..records.schemas import record_input
from ..records.services import update_record
from ..records.types import CURRENCIES, DEAL_STAGE_LABELS, TYPES
from ..stages.models import DealStage
from ..stages.queries import reasons
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


def _reasons() -> dict:
    """What the board's won and lost cards need of the reasons: the choices per outcome, and every
    reason's name (a deleted one still shows on the deals that have it). One statement: the list is
    an admin's short one."""
    every = reasons(retired=True)
    return {"reason_choices": {kind: [r for r in every if r.outcome == kind and r.retired_at is None]
                               for kind in ("won", "lost")},
            "reason_names": {r.id: r.name for r in every}}


@bp.get("/deals/pipeline")
def index():
    viewer = current_viewer()
    columns = queries.board(viewer)
    in_use = queries.currencies(columns)
    currency = request.args.get("currency", "")
    if currency not in CURRENCIES:
        currency = in_use[0] if in_use else "EUR"
    first = _first_month(request.args.get("from"))
    days = queries.month_rows(viewer, currency, first)
    chart = queries.by_month(viewer, currency, first, total=queries.deals_in(columns, currency), days=days)
    forecast = queries.forecast(viewer, currency, first, columns=columns, days=days)
    return render_template(
        "pipeline/index.html", columns=columns, currencies=in_use or [currency], currency=currency, chart=chart,
        svg=geometry(chart, DEAL_STAGE_LABELS), first=first, forecast=forecast,
        earlier=queries.month_start(first, -6), later=queries.month_start(first, 6),
        lost_reasons=queries.lost_by_reason(columns), **_reasons(),
    )


#: the element the board's script swaps after a move (crm/htmx.py: the request names it)
BOARD = "pipeline-board"


@bp.post("/deals/<int:record_id>/stage")
def move(record_id: int):
    """Move a fully visible deal to the stage ``stage_id`` (hidden: 404 like an unknown id;
    restricted: 403), with the optional won/lost ``reason_id`` and ``reason_note``. ``version``: the
    version the board showed; a stale one is a 409. The board's script gets the board again, or the
    refusal as JSON; a plain form a redirect."""
    rtype = TYPES["deal"]
    obj = load_record(rtype, record_id, write=True)
    viewer = current_viewer()
    name, before = obj.name, obj.stage_id
    try:
        stage_id = to_id(request.form.get("stage_id"))
        if stage_id is None:
            raise Invalid(fields={"stage_id": _l("No such stage.")})
        # a won/lost reason and its note may come along (the keyboard form's fields); without
        # them, the service keeps the deal's reason within its outcome and clears it outside
        sent = {"stage_id": stage_id}
        if request.form.get("reason_id"):
            sent["reason_id"] = to_id(request.form.get("reason_id")) or -1  # (no id: refused as unknown)
        if request.form.get("reason_note"):
            sent["reason_note"] = request.form.get("reason_note")
        data = record_input("deal", sent, patch=True)
        if data.stage_id != obj.stage_id or len(sent) > 1:  # (dropped back where it was: nothing to save)
            update_record(rtype, obj, data, viewer, expected_version=to_int(request.form.get("version")))
    except Refused as refused:
        db.session.rollback()
        if targets(BOARD):
            return jsonify(error={"code": refused.code, "message": refused.message, "fields": refused.fields}), \
                refused.status
        flash_refusal(refused)
    else:
        db.session.commit()
        if targets(BOARD):
            return render_template("pipeline/_board.html", columns=queries.board(viewer), **_reasons())
        if stage_id == before:  # the card's reason form (or a move to where the deal is: nothing to say)
            if request.form.get("reason_id"):
                flash(_("The reason of “%(name)s” was saved.", name=name), "success")
        else:
            flash(_("“%(name)s” is now in the stage %(stage)s.", name=name,
                    stage=db.session.get(DealStage, obj.stage_id).name), "success")
    return redirect(url_for("pipeline.index") + f"#deal-{record_id}")
