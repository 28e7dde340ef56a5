"""Settings (admins only): account, extensions, users, groups, custom fields, audit log."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ..audit.models import AuditEntry
from ..audit.services import ACTIONS, audit
from ..auth import sessions
from ..auth.models import User
from ..auth.services import find_user_by_email, hash_password
from ..common import to_int
from ..customfields.models import CustomField
from ..customfields.services import (
    DefinitionError,
    FieldValueError,
    check_definition,
    create_field,
    delete_field,
    fields_for,
    move_field,
    parse_options,
    update_field,
)
from ..extensions import db
from ..groups import services as groups
from ..groups.models import BASIS_ID, Group
from ..notes.models import Note
from ..records.models import MODELS
from ..tasks.models import Task
from ..visibility import current_viewer, unscoped
from .forms import ENTITY_LABELS, AccountForm, ExtensionsForm, FieldForm, GroupDeleteForm, GroupForm, UserForm
from .services import UserError, create_account_user

bp = Blueprint("settings", __name__, url_prefix="/settings")


@bp.before_request
def admins_only():
    if not current_user.is_authenticated or not current_user.is_admin:
        abort(403)


def all_groups() -> list[Group]:
    return list(db.session.scalars(
        select(Group).options(selectinload(Group.members)).order_by(Group.id != BASIS_ID, Group.name)))


def all_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.active.desc(), User.name)))


@bp.get("")
def index():
    return redirect(url_for("settings.users"))


# -- account & extensions ----------------------------------------------------------------------

@bp.route("/account", methods=["GET", "POST"])
def account():
    acc = groups.account()
    form = AccountForm(obj=acc)
    if form.validate_on_submit():
        acc.name = form.name.data
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("settings.account"))
    return render_template("settings/account.html", form=form), 400 if form.errors else 200


@bp.route("/extensions", methods=["GET", "POST"])
def extensions():
    acc = groups.account()
    form = ExtensionsForm(obj=acc)
    if form.validate_on_submit():
        if groups.set_groups_enabled(current_viewer(), bool(form.groups_enabled.data)):
            db.session.commit()
            flash(_("The group system is now on.") if form.groups_enabled.data
                  else _("The group system is now off: everyone sees every record. "
                         "Group assignments are kept."), "success")
        return redirect(url_for("settings.extensions"))
    return render_template("settings/extensions.html", form=form, enabled=acc.groups_enabled)


# -- users -----------------------------------------------------------------------------------

def _user_form(user: User | None = None, **kwargs) -> UserForm:
    form = UserForm(obj=user, **kwargs)
    glist = all_groups()
    form.default_group_id.choices = [(None, _("Basis (default)"))] + [
        (g.id, g.name) for g in glist if g.id != BASIS_ID]
    form.groups.choices = [(g.id, g.name) for g in glist if g.id != BASIS_ID]
    if user is not None and request.method == "GET":
        form.groups.data = [g.id for g in glist if user in g.members]
        form.locale.data = user.locale or ""
    return form


def authored_count(user: User) -> int:
    """Anything the user wrote, created, is responsible for or deleted: such a user is deactivated,
    never deleted (deleting would set those records' user columns to NULL through the foreign key,
    records of groups the admin may not see among them: product.md §8)."""
    n = db.session.scalar(unscoped(select(func.count()).select_from(Note).where(Note.author_id == user.id))) or 0
    n += db.session.scalar(unscoped(select(func.count()).select_from(Task).where(
        or_(Task.created_by_id == user.id, Task.assignee_id == user.id)))) or 0
    n += db.session.scalar(unscoped(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.actor_id == user.id))) or 0
    for model in MODELS.values():
        n += db.session.scalar(unscoped(select(func.count()).select_from(model).where(
            or_(model.created_by_id == user.id, model.updated_by_id == user.id,
                model.responsible_id == user.id, model.deleted_by_id == user.id)))) or 0
    return n


def _last_admin(user: User) -> bool:
    others = db.session.scalar(select(func.count()).select_from(User).where(
        User.role == "admin", User.active.is_(True), User.id != user.id)) or 0
    return user.role == "admin" and user.active and others == 0


@bp.get("/users")
def users():
    return render_template("settings/users.html", users=all_users(), groups=all_groups())


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    form = _user_form()
    if request.method == "GET":
        form.active.data = True
    if form.validate_on_submit():
        try:
            user = create_account_user(
                current_viewer(), email=form.email.data, password=form.password.data, role=form.role.data,
                name=form.name.data, locale=form.locale.data or None, active=bool(form.active.data),
                default_group_id=form.default_group_id.data, group_ids=form.groups.data or [])
        except UserError as err:
            db.session.rollback()
            getattr(form, err.field).errors = [err.message]
        else:
            db.session.commit()
            flash(_("User %(name)s was created.", name=user.name), "success")
            return redirect(url_for("settings.users"))
    return render_template("settings/user_form.html", form=form, user=None), 400 if request.method == "POST" else 200


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user_edit(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    form = _user_form(user)
    if form.validate_on_submit():
        viewer = current_viewer()
        other = find_user_by_email(form.email.data)
        if other is not None and other.id != user.id:
            form.email.errors = [_("A user with this email exists already.")]
        elif _last_admin(user) and (form.role.data != "admin" or not form.active.data):
            form.role.errors = [_("At least one active admin must remain.")]
        else:
            changes = {}
            for attr in ("name", "role"):
                if getattr(user, attr) != getattr(form, attr).data:
                    changes[attr] = getattr(form, attr).data
                    setattr(user, attr, getattr(form, attr).data)
            email = form.email.data.strip().lower()
            if email != user.email:
                changes["email"] = email
                user.email = email
            if bool(form.active.data) != user.active:
                changes["active"] = bool(form.active.data)
                user.active = bool(form.active.data)
            user.locale = form.locale.data or None
            if form.password.data:
                user.password_hash = hash_password(form.password.data)
                changes["password"] = "changed"
            if "password" in changes or changes.get("active") is False:
                sessions.end_all(user)  # logged out everywhere, API token revoked
                if user.id == current_user.id and user.active:
                    sessions.begin(user)  # an admin's own password: this browser goes on
            if changes:
                audit(viewer, "user_changed", user=user.email, user_id=user.id, changes=changes)
            groups.set_default_group(viewer, user, form.default_group_id.data)
            wanted = set(form.groups.data or [])
            for group in all_groups():
                if group.id == BASIS_ID:
                    continue
                if group.id in wanted:
                    groups.add_member(viewer, group, user)
                else:
                    groups.remove_member(viewer, group, user)
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("settings.users"))
    return render_template("settings/user_form.html", form=form, user=user,
                           deletable=authored_count(user) == 0 and user.id != current_user.id,
                           session_count=sessions.count(user)), (
        400 if request.method == "POST" else 200)


@bp.post("/users/<int:user_id>/delete")
def user_delete(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    if user.id == current_user.id or authored_count(user) or _last_admin(user):
        flash(_("%(name)s has written or created something and can only be deactivated.",
                name=user.name), "error")
        return redirect(url_for("settings.user_edit", user_id=user.id))
    sessions.end_all(user)
    db.session.delete(user)
    db.session.commit()
    flash(_("User %(name)s was deleted.", name=user.name), "success")
    return redirect(url_for("settings.users"))


@bp.post("/users/<int:user_id>/sessions/end")
def user_end_sessions(user_id: int):
    """"Sitzungen beenden": the user is logged out in every browser on every app server, and their
    API token stops working. Ending one's own sessions keeps this browser logged in."""
    user = db.session.get(User, user_id) or abort(404)
    sessions.end_all(user)
    audit(current_viewer(), "sessions_ended", user=user.email, user_id=user.id)
    if user.id == current_user.id:
        sessions.begin(user)
    db.session.commit()
    if user.id == current_user.id:
        flash(_("You were logged out everywhere else; your API token was revoked."), "success")
    else:
        flash(_("%(name)s was logged out everywhere; their API token was revoked.", name=user.name), "success")
    return redirect(url_for("settings.user_edit", user_id=user.id))


# -- groups ----------------------------------------------------------------------------------

@bp.get("/groups")
def groups_index():
    glist = all_groups()
    form = GroupForm(formdata=None)
    form.members.choices = [(u.id, u.name) for u in all_users() if u.active]
    return render_template("settings/groups.html", groups=glist, counts=groups.record_counts(),
                           user_count=db.session.scalar(select(func.count()).select_from(User)),
                           form=form, enabled=groups.account().groups_enabled)


@bp.post("/groups")
def group_create():
    form = GroupForm()
    form.members.choices = [(u.id, u.name) for u in all_users() if u.active]
    if form.validate_on_submit():
        try:
            group = groups.create_group(current_viewer(), form.name.data, form.members.data or [])
        except groups.GroupError as err:
            db.session.rollback()
            form.name.errors = [err.message]
        else:
            db.session.commit()
            flash(_("Group %(name)s was created.", name=group.name), "success")
            return redirect(url_for("settings.groups_index"))
    return render_template("settings/groups.html", groups=all_groups(), counts=groups.record_counts(),
                           user_count=db.session.scalar(select(func.count()).select_from(User)),
                           form=form, enabled=groups.account().groups_enabled), 400


@bp.route("/groups/<int:group_id>", methods=["GET", "POST"])
def group_edit(group_id: int):
    group = db.session.get(Group, group_id) or abort(404)
    form = GroupForm(obj=group)
    form.members.choices = [(u.id, u.name) for u in all_users() if u.active or u in group.members]
    if request.method == "GET":
        form.members.data = [u.id for u in group.members]
    if form.validate_on_submit():
        viewer = current_viewer()
        try:
            groups.update_group(viewer, group, form.name.data, form.members.data or [])
        except groups.GroupError as err:
            db.session.rollback()
            group = db.session.get(Group, group_id)
            getattr(form, err.field if err.field in ("name", "members") else "name").errors = [err.message]
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("settings.groups_index"))
    return render_template("settings/group_form.html", group=group, form=form,
                           counts=groups.record_counts([group.id]).get(group.id, {})), (
        400 if request.method == "POST" else 200)


@bp.route("/groups/<int:group_id>/delete", methods=["GET", "POST"])
def group_delete(group_id: int):
    group = db.session.get(Group, group_id) or abort(404)
    if group.id == BASIS_ID:
        abort(403)
    form = GroupDeleteForm()
    form.move_to.choices = [(None, "—")] + [(g.id, g.name) for g in all_groups() if g.id != group.id]
    counts = groups.record_counts([group.id], trashed=True).get(group.id, {})  # the bin's move along
    if form.validate_on_submit():
        target = db.session.get(Group, form.move_to.data) if form.move_to.data else None
        try:
            groups.delete_group(current_viewer(), group, target)
        except groups.GroupError as err:
            db.session.rollback()
            group = db.session.get(Group, group_id)
            form.move_to.errors = [err.message]
        else:
            db.session.commit()
            flash(_("Group %(name)s was deleted.", name=group.name), "success")
            return redirect(url_for("settings.groups_index"))
    return render_template("settings/group_delete.html", group=group, form=form, counts=counts), (
        400 if request.method == "POST" else 200)


# -- custom fields ---------------------------------------------------------------------------

def _field_form(field: CustomField | None = None, **kwargs) -> FieldForm:
    form = FieldForm(obj=field, **kwargs)
    form.shared_with.choices = [(g.id, g.name) for g in all_groups()]
    if field is not None and request.method == "GET":
        form.shared_with.data = [g.id for g in field.shared_with]
        form.options.data = "\n".join(field.options or [])
    return form


@bp.get("/fields")
def fields():
    return render_template("settings/fields.html", entities=ENTITY_LABELS,
                           fields={e: fields_for(e, shares=True) for e in ENTITY_LABELS},
                           enabled=groups.account().groups_enabled)


@bp.route("/fields/new", methods=["GET", "POST"])
def field_new():
    form = _field_form()
    if request.method == "GET" and request.args.get("entity") in ENTITY_LABELS:
        form.entity.data = request.args["entity"]
    if form.validate_on_submit():
        options = parse_options(form.options.data)
        try:
            check_definition(form.entity.data, form.name.data, form.kind.data, options)
        except DefinitionError as err:
            getattr(form, err.field).errors = [str(err)]
        else:
            try:
                create_field(current_viewer(), form.entity.data, form.name.data, form.kind.data, options,
                             form.shared_with.data or [])
            except FieldValueError as err:
                db.session.rollback()
                form.kind.errors = [str(err)]
            else:
                db.session.commit()
                flash(_("Field %(name)s was created.", name=form.name.data), "success")
                return redirect(url_for("settings.fields"))
    return render_template("settings/field_form.html", form=form, field=None), (
        400 if request.method == "POST" else 200)


@bp.route("/fields/<int:field_id>", methods=["GET", "POST"])
def field_edit(field_id: int):
    field = db.session.get(CustomField, field_id) or abort(404)
    form = _field_form(field)
    # entity and kind are fixed once values exist
    form.entity.data, form.kind.data = field.entity, field.kind
    if form.validate_on_submit():
        options = parse_options(form.options.data)
        try:
            check_definition(field.entity, form.name.data, field.kind, options, exclude=field.id)
        except DefinitionError as err:
            getattr(form, err.field).errors = [str(err)]
        else:
            update_field(current_viewer(), field, name=form.name.data, options=options,
                         shared_with=form.shared_with.data or [])
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("settings.fields"))
    return render_template("settings/field_form.html", form=form, field=field), (
        400 if request.method == "POST" else 200)


@bp.post("/fields/<int:field_id>/move")
def field_move(field_id: int):
    field = db.session.get(CustomField, field_id) or abort(404)
    move_field(field, -1 if request.form.get("direction") == "up" else 1)
    db.session.commit()
    return redirect(url_for("settings.fields") + f"#fields-{field.entity}")


@bp.post("/fields/<int:field_id>/delete")
def field_delete(field_id: int):
    field = db.session.get(CustomField, field_id) or abort(404)
    name = field.name
    delete_field(current_viewer(), field)
    db.session.commit()
    flash(_("Field %(name)s and its values were deleted.", name=name), "success")
    return redirect(url_for("settings.fields"))


# -- audit log ---------------------------------------------------------------------------------

@bp.get("/audit")
def audit_log():
    action = request.args.get("action", "")
    page = max(1, min(to_int(request.args.get("page"), 1), 100_000))
    stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if action in ACTIONS:
        stmt = stmt.where(AuditEntry.action == action)
    else:
        action = ""
    per_page = 50
    entries = list(db.session.scalars(stmt.limit(per_page + 1).offset((page - 1) * per_page)))
    return render_template("settings/audit.html", entries=entries[:per_page], more=len(entries) > per_page,
                           page=page, action=action, actions=ACTIONS)
