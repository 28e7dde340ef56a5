"""Settings -> Papierkorb: the recycle bin page (product.md §8).

Every user who may delete sees it: admins every trashed record whose group they fully see, others
the ones they deleted themselves and still fully see. Restore per record; admins also purge one
record ("Endgültig löschen") or every expired one. The rules are in :mod:`.trash`; a record this
user may not act on answers 404, the same as an id that never existed.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ..common import to_int
from ..extensions import db
from ..htmx import redirect_htmx
from ..visibility import current_viewer
from .loaders import reference
from .trash import RETENTION_DAYS, NotAllowed, NotInTrash, purge, restore_record, trash_count, trash_page
from .types import BY_PLURAL

bp = Blueprint("trash", __name__, url_prefix="/settings/trash")
PLURALS = "any(companies, people, deals, projects)"


@bp.before_request
def deleters_only():
    if not current_user.is_authenticated or not current_user.can_delete:
        abort(403)


def _back():
    page = to_int(request.values.get("page"), 1) or 1
    return redirect_htmx(url_for("trash.index", page=page if page > 1 else None))


@bp.get("")
def index():
    viewer = current_viewer()
    per_page = current_app.config["PAGE_SIZE"]
    page = max(1, min(to_int(request.args.get("page"), 1), 100_000))
    total = trash_count(viewer)
    pages = max(1, -(-total // per_page))
    rows = trash_page(viewer, per_page, (min(page, pages) - 1) * per_page)
    return render_template("settings/trash.html", rows=rows, total=total, page=page, pages=pages,
                           retention=RETENTION_DAYS)


@bp.post(f"/<{PLURALS}:plural>/<int:record_id>/restore")
def restore(plural: str, record_id: int):
    rtype = BY_PLURAL[plural]
    try:
        restore_record(rtype, record_id, current_viewer())
    except NotInTrash:
        abort(404)
    db.session.commit()
    restored = reference(rtype.key, record_id)
    flash(_("“%(name)s” is back from the recycle bin.", name=restored.name if restored else ""), "success")
    return _back()


@bp.post(f"/<{PLURALS}:plural>/<int:record_id>/purge")
def purge_one(plural: str, record_id: int):
    """Endgültig löschen (admins): one record, whatever its age."""
    rtype = BY_PLURAL[plural]
    try:
        done = purge(current_user, older_than_days=None, viewer=current_viewer(), records={rtype.key: [record_id]})
    except NotAllowed:
        abort(403)
    if not done[plural]:
        db.session.rollback()
        abort(404)
    db.session.commit()
    flash(_("Deleted for good."), "success")
    return _back()


@bp.post("/purge-expired")
def purge_expired():
    """Abgelaufene jetzt löschen (admins): every record of the bin this admin sees that is older
    than the retention time - what the daily job would remove next."""
    try:
        done = purge(current_user, older_than_days=RETENTION_DAYS, viewer=current_viewer())
    except NotAllowed:
        abort(403)
    db.session.commit()
    n = sum(v for k, v in done.items() if k != "links")
    flash(ngettext("%(num)s record deleted for good.", "%(num)s records deleted for good.", n), "success")
    return _back()
