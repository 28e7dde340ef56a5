"""Saved list views: save the list's current filter under a name, delete a view. The list page
(``crm.records.pages``) offers the views and the form that saves one."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _

from ..errors import Refused, flash_refusal
from ..extensions import db
from ..records.queries import ListFilter
from ..records.types import BY_PLURAL, TYPES
from ..visibility import current_viewer
from .services import delete_view, save_view

bp = Blueprint("listviews", __name__, url_prefix="/views")


@bp.post("")
def save():
    rtype = BY_PLURAL.get(request.form.get("list", ""))
    if rtype is None:
        abort(404)
    flt = ListFilter.from_args(rtype, request.form)
    back = url_for(f"{rtype.plural}.index") + ("?" + urlencode(flt.pairs()) if flt.pairs() else "")
    try:
        view = save_view(current_viewer(), rtype.key, request.form.get("name", ""), flt,
                         shared=request.form.get("shared") == "y")
    except Refused as refused:
        db.session.rollback()
        flash_refusal(refused)
        return redirect(back)
    db.session.commit()
    flash(_("View “%(name)s” was saved.", name=view.name), "success")
    return redirect(back)


@bp.post("/<int:view_id>/delete")
def delete(view_id: int):
    try:
        view = delete_view(current_viewer(), view_id)
    except Refused:
        abort(404)
    name, entity = view.name, view.entity
    db.session.commit()
    flash(_("View “%(name)s” was deleted.", name=name), "success")
    return redirect(url_for(f"{TYPES[entity].plural}.index"))
