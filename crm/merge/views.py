"""The merge page of a person or a company (``/people/<id>/merge``, ``/companies/<id>/merge``): pick
the other record, compare both side by side with a choice per differing field and a summary of
what moves, merge (POST). And the undo of a merge (``/merges/<entry id>/undo``), offered on the
survivor's page. The rules are :mod:`.services`'; this edge parses and renders."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..audit.models import AuditEntry
from ..auth.models import User
from ..common import to_id
from ..errors import Refused
from ..extensions import db
from ..groups.models import Group
from ..history.services import stored_custom
from ..input_types import parse_input
from ..records.loaders import load_for_write, load_record, reference
from ..records.types import BY_PLURAL, TYPES, RecordType
from ..visibility import current_viewer
from .forms import PickForm
from .schemas import CUSTOM_KEY, MergeInput
from .services import choice_keys, find_merge, may_merge, may_undo, mergeable, preview, undo_merge, undoable_merge_into
from .services import merge as merge_records

bp = Blueprint("merge", __name__)

#: labels of the plain fields on the comparison
LABELS = {
    "name": _l("Name"), "website": _l("Website"), "background": _l("Background"),
    "responsible_id": _l("Responsible"), "group_id": _l("Responsible group"), "salutation": _l("Salutation"),
    "title": _l("Title"), "first_name": _l("First name"), "last_name": _l("Last name"), "company_id": _l("Company"),
    "position": _l("Position"),
}

#: what moves, by the services' names
KINDS = {"notes": _l("Notes"), "tasks": _l("Tasks"), "files": _l("Files"), "people": _l("People"),
         "deals": _l("Deals"), "projects": _l("Projects")}


def _rtype(plural: str) -> RecordType:
    rtype = BY_PLURAL.get(plural)
    if rtype is None or not mergeable(rtype):
        abort(404)
    return rtype


def _load(rtype: RecordType, record_id: int):
    """The survivor, as every write loads it: hidden 404, restricted 403; and the role."""
    viewer = current_viewer()
    keep = load_record(rtype, record_id, write=True, viewer=viewer)
    if not may_merge(viewer):
        abort(403)
    return keep


def _shown(rtype: RecordType, key: str, obj, custom: dict[int, str | None], fields: dict[str, int]) -> str:
    """A field's value as the comparison shows it (a linked company by its name, as far as seen)."""
    if key.startswith(CUSTOM_KEY):
        return custom.get(fields[key[len(CUSTOM_KEY):]]) or ""
    value = getattr(obj, key)
    if value is None:
        return ""
    if key == "company_id":
        ref = reference("company", value)
        return "" if ref is None else (_("(deleted)") if ref.deleted else (
            str(TYPES["company"].hidden_label) if ref.hidden else ref.name))
    if key == "responsible_id":
        return db.session.scalar(select(User.name).where(User.id == value)) or ""
    if key == "group_id":
        return db.session.scalar(select(Group.name).where(Group.id == value)) or ""
    return str(value)


def _rows(rtype: RecordType, keep, other) -> list[dict]:
    from ..customfields.services import fields_for

    fields = {f.name: f.id for f in fields_for(rtype.key)}
    keep_custom, other_custom = stored_custom(rtype, keep.id), stored_custom(rtype, other.id)
    rows = []
    for key in choice_keys(rtype, current_viewer()):
        mine = _shown(rtype, key, keep, keep_custom, fields)
        theirs = _shown(rtype, key, other, other_custom, fields)
        label = key[len(CUSTOM_KEY):] if key.startswith(CUSTOM_KEY) else str(LABELS[key])
        rows.append({"key": key, "label": label, "keep": mine, "other": theirs, "differs": mine != theirs})
    return rows


@bp.route("/<any(people, companies):plural>/<int:record_id>/merge", methods=["GET", "POST"])
def merge(plural: str, record_id: int):
    rtype = _rtype(plural)
    keep = _load(rtype, record_id)
    viewer = current_viewer()
    source = request.form if request.method == "POST" else request.args
    pick = PickForm(formdata=request.args if request.method == "GET" else None)
    other, error, status = None, None, 200
    # the choices made so far (kept when a POST is refused: nothing the user picked is lost)
    chosen = {k[len("choice:"):]: v for k, v in request.form.items() if k.startswith("choice:")}
    raw = source.get("other_id")
    if raw:
        other_id = to_id(raw)
        try:
            if other_id is None:
                raise Refused(str(rtype.not_found))
            if other_id == keep.id:
                raise Refused(_("Choose another record to merge with."))
            other = load_for_write(rtype, other_id, viewer)
        except Refused as err:
            error, status, other = err.message, 400 if request.method == "POST" else 200, None
    if request.method == "POST" and other is not None:
        data = {"other_id": other.id, "choices": chosen,
                "keep_version": to_id(request.form.get("keep_version")),
                "other_version": to_id(request.form.get("other_version"))}
        try:
            done = merge_records(viewer, rtype, keep.id, parse_input(MergeInput, data))
            name = done.survivor.display_name
            db.session.commit()
        except Refused as err:
            db.session.rollback()
            error, status = err.message, err.status
            if err.fields:
                error = " ".join([error, *(str(m) for m in err.fields.values())])
            keep = _load(rtype, record_id)
            other = None
            try:
                other = load_for_write(rtype, data["other_id"], viewer)
            except Refused:
                pass
        else:
            flash(_("“%(other)s” was merged into “%(name)s”.", other=done.other_name, name=name), "success")
            return redirect(url_for(f"{rtype.plural}.detail", record_id=keep.id), code=303)
    ctx = {"rtype": rtype, "record": keep, "other": other, "error": error, "form": pick, "picked": {},
           "chosen": chosen}
    if other is not None:
        moving = preview(rtype, other.id, viewer)
        ctx.update(rows=_rows(rtype, keep, other), moving=[(KINDS[k], n) for k, n in moving.items()])
    return render_template("merge/merge.html", **ctx), status


@bp.post("/merges/<int:entry_id>/undo")
def undo(entry_id: int):
    viewer = current_viewer()
    entry = find_merge(entry_id, viewer)
    if entry is None:
        abort(404)
    details = entry.details or {}
    rtype = BY_PLURAL[details["record_type"]]
    try:
        undo_merge(entry, viewer)
        db.session.commit()
    except Refused as err:
        db.session.rollback()
        return render_template("merge/refused.html", message=err.message, rtype=rtype,
                               record_id=details["keep_id"]), err.status
    flash(_("The merge was undone."), "success")
    return redirect(url_for(f"{rtype.plural}.detail", record_id=details["keep_id"]), code=303)


@bp.app_template_global("merge_undo_entry")
def merge_undo_entry(rtype: RecordType, record) -> AuditEntry | None:
    """The merge the record's page offers to undo (:func:`undoable_merge_into`)."""
    return undoable_merge_into(rtype, record, current_viewer())


@bp.app_template_global("may_undo_merge")
def may_undo_merge(entry: AuditEntry) -> bool:
    """The audit log's Undo of a merge (the actor's own, an admin's any, not undone yet)."""
    return may_undo(entry, current_viewer())
