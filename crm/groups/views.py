"""Settings -> Groups (admins only): the list with record counts, create, rename and members,
delete with a target group for the records. The forms parse; :mod:`crm.groups.services` decides,
audits and refuses."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..adminpages import admin_blueprint
from ..auth.models import User
from ..errors import Refused, apply_to_form
from ..extensions import db
from ..settings.forms import GroupDeleteForm, GroupForm
from ..visibility import current_viewer
from . import services
from .models import BASIS_ID, Group
from .schemas import GroupCreate, GroupDelete, GroupUpdate

bp = admin_blueprint("groups", __name__)

#: service input names -> form field names
FORM_NAMES = {"member_ids": "members"}


def all_groups() -> list[Group]:
    return list(db.session.scalars(
        select(Group).options(selectinload(Group.members)).order_by(Group.id != BASIS_ID, Group.name)))


def _users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.active.desc(), User.name)))


def _index_page(form: GroupForm, status: int = 200):
    return render_template("settings/groups.html", groups=all_groups(), counts=services.record_counts(),
                           user_count=db.session.scalar(select(func.count()).select_from(User)),
                           form=form, enabled=services.account().groups_enabled), status


@bp.get("/groups")
def index():
    form = GroupForm(formdata=None)
    form.members.choices = [(u.id, u.name) for u in _users() if u.active]
    return _index_page(form)


@bp.post("/groups")
def create():
    form = GroupForm()
    form.members.choices = [(u.id, u.name) for u in _users() if u.active]
    if form.validate_on_submit():
        try:
            group = services.create_group(current_viewer(), GroupCreate.parse(
                {"name": form.name.data, "member_ids": form.members.data or []}))
        except Refused as refused:
            db.session.rollback()
            apply_to_form(form, refused, FORM_NAMES)
        else:
            db.session.commit()
            flash(_("Group %(name)s was created.", name=group.name), "success")
            return redirect(url_for("groups.index"))
    return _index_page(form, 400)


@bp.route("/groups/<int:group_id>", methods=["GET", "POST"])
def edit(group_id: int):
    group = db.session.get(Group, group_id) or abort(404)
    form = GroupForm(obj=group)
    form.members.choices = [(u.id, u.name) for u in _users() if u.active or u in group.members]
    if request.method == "GET":
        form.members.data = [u.id for u in group.members]
    if form.validate_on_submit():
        try:
            services.update_group(current_viewer(), group, GroupUpdate.parse(
                {"name": form.name.data, "member_ids": form.members.data or []}))
        except Refused as refused:
            db.session.rollback()
            group = db.session.get(Group, group_id)
            apply_to_form(form, refused, FORM_NAMES)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("groups.index"))
    return render_template("settings/group_form.html", group=group, form=form,
                           counts=services.record_counts([group.id]).get(group.id, {})), (
        400 if request.method == "POST" else 200)


@bp.route("/groups/<int:group_id>/delete", methods=["GET", "POST"])
def delete(group_id: int):
    group = db.session.get(Group, group_id) or abort(404)
    if group.id == BASIS_ID and request.method == "GET":
        abort(403)  # Basis offers no delete page; a post is refused by the service
    form = GroupDeleteForm()
    form.move_to.choices = [(None, "—")] + [(g.id, g.name) for g in all_groups() if g.id != group.id]
    counts = services.record_counts([group.id], trashed=True).get(group.id, {})  # the bin's move along
    if form.validate_on_submit():
        try:
            services.delete_group(current_viewer(), group, GroupDelete.parse({"move_to": form.move_to.data}))
        except Refused as refused:
            db.session.rollback()
            group = db.session.get(Group, group_id)
            apply_to_form(form, refused)
        else:
            db.session.commit()
            flash(_("Group %(name)s was deleted.", name=group.name), "success")
            return redirect(url_for("groups.index"))
    return render_template("settings/group_delete.html", group=group, form=form, counts=counts), (
        403 if group.id == BASIS_ID else 400 if request.method == "POST" else 200)
