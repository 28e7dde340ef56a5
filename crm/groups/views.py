"""Settings -> Groups (admins only): the list with record counts, create, rename and members,
delete with a target group for the records. The forms parse; :mod:`crm.groups.services` decides,
audits and refuses."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..adminpages import admin_blueprint
from ..auth.models import User
from ..common import to_id, to_int, utcnow
from ..errors import Refused, apply_to_form, flash_refusal
from ..extensions import db
from ..records.csvrows import _cell, csv_stream
from ..records.types import TYPES
from ..settings.forms import ROLE_LABELS, GroupDeleteForm, GroupForm
from ..visibility import current_viewer
from . import services
from .models import BASIS_ID, Group
from .queries import contact_ids
from .schemas import (
    RECORD_TYPES,
    ContactChange,
    GroupCreate,
    GroupDelete,
    GroupUpdate,
    HandOverSet,
    MemberChange,
    TypeDefaultSet,
)

bp = admin_blueprint("groups", __name__)

#: the name of the submit button that asks for the impact preview instead of the change
PREVIEW = "preview"

#: service input names -> form field names
FORM_NAMES = {"member_ids": "members"}


def all_groups() -> list[Group]:
    return list(db.session.scalars(
        select(Group).options(selectinload(Group.members)).order_by(Group.id != BASIS_ID, Group.name)))


def _users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.active.desc(), User.name)))


def _index_page(form: GroupForm, status: int = 200):
    return render_template("settings/groups.html", groups=all_groups(), counts=services.record_counts(),
                           defaults=services.type_defaults(),
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


@bp.post("/groups/defaults")
def set_defaults():
    """The default group of each record type (one select and one checkbox per type), in one
    transaction."""
    try:
        for key in RECORD_TYPES:
            raw = request.form.get(f"group_{key}", "")
            services.set_type_default(current_viewer(), TypeDefaultSet.parse({
                "record_type": key,
                "group_id": to_int(raw, raw) or None,  # a number if written as one, for the model to check
                "allow_own": request.form.get(f"allow_own_{key}") == "y"}))
    except Refused as refused:
        db.session.rollback()
        flash_refusal(refused)
    else:
        db.session.commit()
        flash(_("Default groups saved."), "success")
    return redirect(url_for("groups.index"))


@bp.route("/groups/<int:group_id>", methods=["GET", "POST"])
def edit(group_id: int):
    group = db.session.get(Group, group_id) or abort(404)
    form = GroupForm(obj=group)
    form.members.choices = [(u.id, u.name) for u in _users() if u.active or u in group.members]
    if request.method == "GET":
        form.members.data = [u.id for u in group.members]
    impact = None
    if form.validate_on_submit():
        try:
            data = GroupUpdate.parse({"name": form.name.data, "member_ids": form.members.data or []})
            if PREVIEW in request.form:  # what the new member list would change; nothing is saved
                impact = services.preview_members(current_viewer(), group, data.member_ids)
            else:
                services.update_group(current_viewer(), group, data)
        except Refused as refused:
            db.session.rollback()
            group = db.session.get(Group, group_id)
            apply_to_form(form, refused, FORM_NAMES)
        else:
            if impact is None:
                db.session.commit()
                flash(_("Saved."), "success")
                return redirect(url_for("groups.index"))
    return _edit_page(group, form, impact), 400 if request.method == "POST" and impact is None else 200


def _edit_page(group: Group, form: GroupForm, impact=None, added_impact=None):
    """The group's page: its form, and the member search (``?q=``) with the add and remove
    lists that scale to many users."""
    q = request.args.get("q", "")
    return render_template("settings/group_form.html", group=group, form=form, impact=impact,
                           q=q, candidates=services.member_candidates(current_viewer(), group, q),
                           added_impact=added_impact, contact_ids=set(contact_ids(group.id)),
                           handovers=services.handovers_of(group),
                           other_groups=[g for g in all_groups() if g.id not in (group.id, BASIS_ID)],
                           counts=services.record_counts([group.id]).get(group.id, {}))


def _member_ids_posted() -> list:
    return [int(v) if v.isascii() and v.isdigit() and len(v) <= 12 else v for v in request.form.getlist("user_ids")]


@bp.post("/groups/<int:group_id>/members/add")
def add_members(group_id: int):
    """Add the ticked users of the search to the group (or, with ``preview``, show what that
    would change)."""
    group = db.session.get(Group, group_id) or abort(404)
    try:
        data = MemberChange.parse({"user_ids": _member_ids_posted()})
        if PREVIEW in request.form:
            impact = services.preview_members(current_viewer(), group,
                                              services.member_ids(group) + data.user_ids)
            form = GroupForm(formdata=None, obj=group)
            form.members.choices = [(u.id, u.name) for u in _users() if u.active or u in group.members]
            form.members.data = [u.id for u in group.members]
            return _edit_page(group, form, added_impact=impact)
        added = services.add_members(current_viewer(), group, data)
    except Refused as refused:
        db.session.rollback()
        flash_refusal(refused)
    else:
        db.session.commit()
        flash(ngettext("%(num)s member added.", "%(num)s members added.", added), "success")
    return redirect(url_for("groups.edit", group_id=group_id, q=request.args.get("q") or None))


@bp.post("/groups/<int:group_id>/members/remove")
def remove_members(group_id: int):
    """Take the ticked members out of the group."""
    group = db.session.get(Group, group_id) or abort(404)
    try:
        removed = services.remove_members(current_viewer(), group,
                                          MemberChange.parse({"user_ids": _member_ids_posted()}))
    except Refused as refused:
        db.session.rollback()
        flash_refusal(refused)
    else:
        db.session.commit()
        message = ngettext("%(num)s member removed.", "%(num)s members removed.", removed.count)
        if removed.default_cleared:  # their new records no longer go to this group: say so
            message += " " + _("The default group of %(names)s was cleared.", names=", ".join(removed.default_cleared))
        flash(message, "success")
    return redirect(url_for("groups.edit", group_id=group_id))


@bp.post("/groups/<int:group_id>/contacts")
def set_contacts(group_id: int):
    """Name the ticked members as the group's contact persons (whom to ask about its records)."""
    group = db.session.get(Group, group_id) or abort(404)
    try:
        services.set_contacts(current_viewer(), group, ContactChange.parse({"user_ids": _member_ids_posted()}))
    except Refused as refused:
        db.session.rollback()
        flash_refusal(refused)
    else:
        db.session.commit()
        flash(_("Contact persons saved."), "success")
    return redirect(url_for("groups.edit", group_id=group_id))


@bp.post("/groups/<int:group_id>/handovers")
def add_handover(group_id: int):
    """Let the group's members hand its records over to another group (or relabel that)."""
    group = db.session.get(Group, group_id) or abort(404)
    raw = request.form.get("target_id", "")
    try:
        services.set_handover(current_viewer(), group, HandOverSet.parse({
            "target_id": to_int(raw, raw or None),  # a number if written as one, for the model to check
            "label": request.form.get("label", "")}))
    except Refused as refused:
        db.session.rollback()
        flash_refusal(refused)
    else:
        db.session.commit()
        flash(_("Hand-over saved."), "success")
    return redirect(url_for("groups.edit", group_id=group_id))


@bp.post("/groups/<int:group_id>/handovers/remove")
def remove_handover(group_id: int):
    """No longer let the group's members hand records over to the group ``target_id`` names."""
    group = db.session.get(Group, group_id) or abort(404)
    target_id = to_id(request.form.get("target_id", ""))
    if target_id is not None and services.remove_handover(current_viewer(), group, target_id):
        db.session.commit()
        flash(_("Hand-over removed."), "success")
    return redirect(url_for("groups.edit", group_id=group_id))


@bp.route("/groups/<int:group_id>/delete", methods=["GET", "POST"])
def delete(group_id: int):
    group = db.session.get(Group, group_id) or abort(404)
    if group.id == BASIS_ID and request.method == "GET":
        abort(403)  # Basis offers no delete page; a post is refused by the service
    form = GroupDeleteForm()
    form.move_to.choices = [(None, "—")] + [(g.id, g.name) for g in all_groups() if g.id != group.id]
    counts = services.record_counts([group.id], trashed=True).get(group.id, {})  # the bin's move along
    impact = None
    if form.validate_on_submit():
        try:
            data = GroupDelete.parse({"move_to": form.move_to.data})
            if PREVIEW in request.form:  # what the deletion would change; nothing is deleted
                impact = services.preview_delete(current_viewer(), group, data)
            else:
                services.delete_group(current_viewer(), group, data)
        except Refused as refused:
            db.session.rollback()
            group = db.session.get(Group, group_id)
            apply_to_form(form, refused)
        else:
            if impact is None:
                db.session.commit()
                flash(_("Group %(name)s was deleted.", name=group.name), "success")
                return redirect(url_for("groups.index"))
    return render_template("settings/group_delete.html", group=group, form=form, counts=counts, impact=impact), (
        403 if group.id == BASIS_ID else 400 if request.method == "POST" and impact is None else 200)


def _review():
    """The access review's parts: the groups (Basis first), the users with their groups and their
    counts per record type and level."""
    state, counts = services.access_review(current_viewer())
    groups = list(db.session.execute(select(Group.id, Group.name).order_by(Group.id != BASIS_ID, Group.name)))
    rows = [(person, {BASIS_ID} | state.members.get(person.id, frozenset()), counts[person.id])
            for person in state.users]
    return groups, rows, state.enabled


@bp.get("/access-review")
def access_review():
    groups, rows, enabled = _review()
    return render_template("settings/access_review.html", groups=groups, rows=rows, enabled=enabled)


@bp.get("/access-review.csv")
def access_review_csv():
    """The access review as CSV: one line per active user, a column per group (x: member) and per
    record type and level (how many records)."""
    groups, rows, _enabled = _review()
    levels = (("full", _("full")), ("restricted", _("restricted")), ("hidden", _("hidden")))
    header = [_("Name"), _("Email"), _("Role"), *(name for _gid, name in groups),
              *(f"{rt.label_plural}: {label}" for rt in TYPES.values() for _key, label in levels)]
    lines = [[person.name, person.email, ROLE_LABELS[person.role], *("x" if gid in member_of else ""
                                                                      for gid, _name in groups),
              *(counts[key].get(level) for key in TYPES for level, _label in levels)]
             for person, member_of, counts in rows]
    resp = Response(stream_with_context(csv_stream([_cell(v) for v in line] for line in [header, *lines])),
                    mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="access-review-{utcnow():%Y-%m-%d}.csv"'
    return resp
