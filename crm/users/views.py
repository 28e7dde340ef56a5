"""Settings -> Users (admins only): the list, the new-user and edit forms, delete, end sessions.
The forms parse; :mod:`crm.users.services` decides, audits and refuses."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..adminpages import admin_blueprint
from ..auth import sessions
from ..auth.models import User
from ..errors import Refused, apply_to_form, flash_refusal
from ..extensions import db
from ..groups.models import BASIS_ID, Group
from ..settings.forms import UserEditForm, UserForm
from ..visibility import current_viewer
from . import services
from .schemas import UserCreate, UserUpdate

bp = admin_blueprint("users", __name__)

#: service input names -> form field names
FORM_NAMES = {"group_ids": "groups"}


def _groups() -> list[Group]:
    return list(db.session.scalars(
        select(Group).options(selectinload(Group.members)).order_by(Group.id != BASIS_ID, Group.name)))


def _form(form_class, user: User | None = None) -> UserForm:
    form = form_class(obj=user)
    glist = [g for g in _groups() if g.id != BASIS_ID]
    form.default_group_id.choices = [(None, _("Basis (default)"))] + [(g.id, g.name) for g in glist]
    form.groups.choices = [(g.id, g.name) for g in glist]
    if user is not None and request.method == "GET":
        form.groups.data = [g.id for g in glist if user in g.members]
        form.locale.data = user.locale or ""
    return form


def _input(form: UserForm) -> dict:
    """What the form says, as the service's input (an empty password: none given)."""
    data = {"name": form.name.data, "email": form.email.data, "role": form.role.data,
            "locale": form.locale.data or None, "active": bool(form.active.data),
            "default_group_id": form.default_group_id.data, "group_ids": form.groups.data or []}
    if form.password.data:
        data["password"] = form.password.data
    return data


@bp.get("/users")
def index():
    return render_template("settings/users.html", users=services.all_users(), groups=_groups())


@bp.route("/users/new", methods=["GET", "POST"])
def new():
    form = _form(UserForm)
    if request.method == "GET":
        form.active.data = True
    if form.validate_on_submit():
        try:
            user = services.create_user(current_viewer(), UserCreate.parse(_input(form)))
        except Refused as refused:
            db.session.rollback()
            apply_to_form(form, refused, FORM_NAMES)
        else:
            db.session.commit()
            flash(_("User %(name)s was created.", name=user.name), "success")
            return redirect(url_for("users.index"))
    return render_template("settings/user_form.html", form=form, user=None), 400 if request.method == "POST" else 200


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    form = _form(UserEditForm, user)
    if form.validate_on_submit():
        try:
            done = services.update_user(current_viewer(), user, UserUpdate.parse(_input(form)))
        except Refused as refused:
            db.session.rollback()
            user = db.session.get(User, user_id)
            apply_to_form(form, refused, FORM_NAMES)
        else:
            if done.sessions_ended and user.id == current_user.id and user.active:
                sessions.begin(user)  # an admin's own password: this browser goes on
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("users.index"))
    return render_template("settings/user_form.html", form=form, user=user,
                           deletable=services.authored_count(user) == 0 and user.id != current_user.id,
                           session_count=sessions.count(user)), (
        400 if request.method == "POST" else 200)


@bp.post("/users/<int:user_id>/delete")
def delete(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    name = user.name
    try:
        deleted = services.delete_user(current_viewer(), user)
    except Refused as refused:
        db.session.rollback()
        flash_refusal(refused)
        return redirect(url_for("users.edit", user_id=user_id))
    db.session.commit()
    if deleted:
        flash(_("User %(name)s was deleted.", name=name), "success")
        return redirect(url_for("users.index"))
    flash(_("%(name)s has written or created something and was deactivated instead.", name=name), "success")
    return redirect(url_for("users.edit", user_id=user_id))


@bp.post("/users/<int:user_id>/sessions/end")
def end_sessions(user_id: int):
    """"Sitzungen beenden": the user is logged out in every browser on every app server, and their
    API token stops working. Ending one's own sessions keeps this browser logged in."""
    user = db.session.get(User, user_id) or abort(404)
    services.end_sessions(current_viewer(), user)
    if user.id == current_user.id:
        sessions.begin(user)
    db.session.commit()
    if user.id == current_user.id:
        flash(_("You were logged out everywhere else; your API token was revoked."), "success")
    else:
        flash(_("%(name)s was logged out everywhere; their API token was revoked.", name=user.name), "success")
    return redirect(url_for("users.edit", user_id=user.id))
