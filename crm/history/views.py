"""A record's change history ("Verlauf"): the record page opens it on demand (htmx), or as a page
of its own. Only for a record the viewer fully sees: hidden -> 404, restricted -> 403 (like its
notes)."""
from __future__ import annotations

from flask import Blueprint, render_template

from ..htmx import targets
from ..records.loaders import load_record
from ..records.types import BY_PLURAL
from ..visibility import current_viewer
from .queries import history_of

bp = Blueprint("history", __name__)

PLURALS = "any(companies, people, deals, projects)"


@bp.get(f"/<{PLURALS}:plural>/<int:record_id>/history")
def record_history(plural: str, record_id: int):
    rtype = BY_PLURAL[plural]
    record = load_record(rtype, record_id, write=True)
    ctx = {"rtype": rtype, "record": record, "entries": history_of(rtype, record.id, current_viewer())}
    if targets("history-body"):
        return render_template("history/_entries.html", **ctx)
    return render_template("history/page.html", **ctx)
