"""Settings -> Custom fields (admins only): the fields per record type, define, edit (name,
options, sharing), move, delete. The forms parse; :mod:`crm.customfields.services` decides,
audits and refuses."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..adminpages import admin_blueprint
from ..errors import Refused, apply_to_form
from ..extensions import db
from ..forms_common import lines
from ..groups.models import BASIS_ID, Group
from ..groups.services import account, preview_new_field, preview_sharing
from ..settings.forms import ENTITY_LABELS, FieldForm
from ..visibility import current_viewer
from . import services
from .models import CustomField
from .schemas import FieldCreate, FieldUpdate

bp = admin_blueprint("fields", __name__)

#: the name of the submit button that asks for the impact preview instead of the change
PREVIEW = "preview"


def _form(field: CustomField | None = None) -> FieldForm:
    form = FieldForm(obj=field)
    form.shared_with.choices = [(g.id, g.name) for g in db.session.scalars(
        select(Group).order_by(Group.id != BASIS_ID, Group.name))]
    if field is not None and request.method == "GET":
        form.shared_with.data = [g.id for g in field.shared_with]
        form.options.data = "\n".join(field.options or [])
    return form


@bp.get("/fields")
def index():
    return render_template("settings/fields.html", entities=ENTITY_LABELS,
                           fields={e: services.fields_for(e, shares=True) for e in ENTITY_LABELS},
                           enabled=account().groups_enabled)


@bp.route("/fields/new", methods=["GET", "POST"])
def new():
    form = _form()
    if request.method == "GET" and request.args.get("entity") in ENTITY_LABELS:
        form.entity.data = request.args["entity"]
    impact = None
    if form.validate_on_submit():
        shared = form.shared_with.data or []
        try:
            if PREVIEW in request.form:  # what sharing the new field would change; nothing is saved
                impact = preview_new_field(current_viewer(), form.entity.data, shared)
            else:
                services.create_field(current_viewer(), FieldCreate.parse({
                    "entity": form.entity.data, "name": form.name.data, "kind": form.kind.data,
                    "options": lines(form.options.data), "shared_with": shared}))
        except Refused as refused:
            db.session.rollback()
            apply_to_form(form, refused)
            if shared and PREVIEW not in request.form:  # the page asks again: it shows what saving would do
                try:
                    impact = preview_new_field(current_viewer(), form.entity.data, shared)
                except Refused:
                    impact = None
        else:
            if PREVIEW in request.form:
                return render_template("settings/field_form.html", form=form, field=None, impact=impact)
            db.session.commit()
            flash(_("Field %(name)s was created.", name=form.name.data), "success")
            return redirect(url_for("fields.index"))
    return render_template("settings/field_form.html", form=form, field=None, impact=impact), (
        400 if request.method == "POST" else 200)


@bp.route("/fields/<int:field_id>", methods=["GET", "POST"])
def edit(field_id: int):
    field = db.session.get(CustomField, field_id) or abort(404)
    form = _form(field)
    form.entity.data, form.kind.data = field.entity, field.kind  # fixed once created: shown, not posted
    impact = None
    if form.validate_on_submit():
        try:
            data = FieldUpdate.parse({"name": form.name.data, "options": lines(form.options.data),
                                      "shared_with": form.shared_with.data or []})
            if PREVIEW in request.form:  # what the new sharing would change; nothing is saved
                impact = preview_sharing(current_viewer(), field.id, data.shared_with)
            else:
                services.update_field(current_viewer(), field, data)
        except Refused as refused:
            db.session.rollback()
            field = db.session.get(CustomField, field_id)
            apply_to_form(form, refused)
        else:
            if impact is None:
                db.session.commit()
                flash(_("Saved."), "success")
                return redirect(url_for("fields.index"))
    return render_template("settings/field_form.html", form=form, field=field, impact=impact), (
        400 if request.method == "POST" and impact is None else 200)


@bp.post("/fields/<int:field_id>/move")
def move(field_id: int):
    field = db.session.get(CustomField, field_id) or abort(404)
    services.move_field(current_viewer(), field, -1 if request.form.get("direction") == "up" else 1)
    db.session.commit()
    return redirect(url_for("fields.index") + f"#fields-{field.entity}")


@bp.post("/fields/<int:field_id>/delete")
def delete(field_id: int):
    field = db.session.get(CustomField, field_id) or abort(404)
    name = field.name
    services.delete_field(current_viewer(), field)
    db.session.commit()
    flash(_("Field %(name)s and its values were deleted.", name=name), "success")
    return redirect(url_for("fields.index"))
