"""Administration in the API (admins only, 403 for everyone else): users, groups, custom fields and
the group-system switch. Input is checked by the settings forms, changes are made - and written to
the audit log - by the same service functions the settings pages call."""
from __future__ import annotations

from dataclasses import replace
from functools import wraps

from flask import abort, g, jsonify, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from ..customfields.models import CustomField
from ..customfields.services import (
    DefinitionError,
    FieldValueError,
    check_definition,
    create_field,
    delete_field,
    parse_options,
    update_field,
)
from ..extensions import db
from ..groups import services as groups
from ..groups.models import BASIS_ID, Group, group_members
from ..settings.forms import GroupDeleteForm, GroupForm
from ..settings.services import UserError, create_account_user
from ..settings.views import _field_form, _user_form, all_groups, all_users
from .errors import ApiError
from .inputs import (
    BOOL,
    ID,
    IDS,
    LINE,
    LINE_LIST,
    SECRET,
    Kind,
    check_types,
    form_errors,
    formdata,
    invalid,
    json_body,
)
from .serialize import field_json, group_json, user_json
from .views import ID as ID_RULE
from .views import bp

OPTIONS = replace(LINE_LIST, to_form=lambda v: ["\n".join(v)])
CHECKBOX = replace(BOOL, to_form=lambda v: ["y"] if v else [])

USER_INPUT: dict[str, Kind] = {
    "email": LINE, "name": LINE, "password": SECRET, "role": LINE, "default_group_id": ID,
    "locale": LINE, "active": CHECKBOX, "group_ids": IDS,
}
GROUP_INPUT: dict[str, Kind] = {"name": LINE, "member_ids": IDS}
FIELD_INPUT: dict[str, Kind] = {"entity": LINE, "name": LINE, "kind": LINE, "options": OPTIONS, "shared_with": IDS}
SETTINGS_INPUT: dict[str, Kind] = {"groups_enabled": BOOL}


def admin_only(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not g.api_user.is_admin:
            raise ApiError(403, "forbidden", _l("Only admins may do this."))
        return view(*args, **kwargs)
    return wrapper


def _group_error(err: groups.GroupError) -> ApiError:
    db.session.rollback()
    code = err.code or ("conflict" if err.status == 409 else "invalid")
    return ApiError(err.status, code, err.message, {err.field: err.message})


def _require(data: dict, *keys: str) -> None:
    missing = {k: _l("This field is required.") for k in keys if k not in data}
    if missing:
        raise invalid(missing)


# -- users -------------------------------------------------------------------------------------

def _user_groups(user_ids: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {uid: [] for uid in user_ids}
    for gid, uid in db.session.execute(
        select(group_members.c.group_id, group_members.c.user_id)
        .where(group_members.c.user_id.in_(user_ids)).order_by(group_members.c.group_id)
    ):
        out[uid].append(gid)
    return out


@bp.get("/users")
@admin_only
def users_list():
    users = all_users()
    memberships = _user_groups([u.id for u in users])
    return jsonify(items=[user_json(u, memberships[u.id]) for u in users])


@bp.post("/users")
@admin_only
def users_create():
    data = check_types(json_body(), USER_INPUT, read_only=("id", "created_at"))
    _require(data, "email", "name", "password")
    data.setdefault("active", True)
    if data.get("default_group_id") == BASIS_ID:
        data["default_group_id"] = None  # Basis is what "no default group" means
    data["group_ids"] = [gid for gid in data.get("group_ids") or [] if gid != BASIS_ID]  # everyone is in Basis
    form = _user_form(formdata=formdata(data, USER_INPUT, {"group_ids": "groups"}), meta={"csrf": False})
    if not form.validate():
        raise invalid(form_errors(form, {"groups": "group_ids"}))
    try:
        user = create_account_user(
            g.viewer, email=form.email.data, password=form.password.data, role=form.role.data,
            name=form.name.data, locale=form.locale.data or None, active=bool(form.active.data),
            default_group_id=form.default_group_id.data, group_ids=form.groups.data or [])
    except UserError as err:
        db.session.rollback()
        status, code = (409, "conflict") if err.field == "email" else (422, "invalid")
        raise ApiError(status, code, err.message, {err.field: err.message}) from None
    db.session.commit()
    return jsonify(user_json(user, _user_groups([user.id])[user.id])), 201


# -- groups ------------------------------------------------------------------------------------

def _group_or_404(group_id: int) -> Group:
    return db.session.get(Group, group_id) or abort(404)


@bp.get("/groups")
@admin_only
def groups_list():
    return jsonify(items=[group_json(grp, groups.member_ids(grp)) for grp in all_groups()])


@bp.post("/groups")
@admin_only
def groups_create():
    data = check_types(json_body(), GROUP_INPUT, read_only=("id", "builtin"))
    _require(data, "name")
    form = GroupForm(formdata=formdata(data, GROUP_INPUT, {"member_ids": "members"}), meta={"csrf": False})
    form.members.choices = [(u.id, u.name) for u in all_users() if u.active]
    if not form.validate():
        raise invalid(form_errors(form, {"members": "member_ids"}))
    try:
        group = groups.create_group(g.viewer, form.name.data, form.members.data or [])
    except groups.GroupError as err:
        raise _group_error(err) from None
    db.session.commit()
    return jsonify(group_json(group, groups.member_ids(group))), 201


@bp.get(f"/groups/<{ID_RULE}:group_id>")
@admin_only
def groups_get(group_id: int):
    group = _group_or_404(group_id)
    return jsonify(group_json(group, groups.member_ids(group)))


@bp.patch(f"/groups/<{ID_RULE}:group_id>")
@admin_only
def groups_update(group_id: int):
    group = _group_or_404(group_id)
    data = check_types(json_body(), GROUP_INPUT, read_only=("id", "builtin"))
    form = GroupForm(obj=group, formdata=formdata(data, GROUP_INPUT, {"member_ids": "members"}),
                     meta={"csrf": False})
    form.members.choices = [(u.id, u.name) for u in all_users() if u.active or u in group.members]
    sent = {"members" if k == "member_ids" else k for k in data}
    if not form.validate() and (errors := form_errors(form, {"members": "member_ids"}, only=sent)):
        raise invalid(errors)
    try:
        groups.update_group(g.viewer, group, form.name.data if "name" in data else None,
                            (form.members.data or []) if "member_ids" in data else None)
    except groups.GroupError as err:
        raise _group_error(err) from None
    db.session.commit()
    group = _group_or_404(group_id)
    return jsonify(group_json(group, groups.member_ids(group)))


@bp.delete(f"/groups/<{ID_RULE}:group_id>")
@admin_only
def groups_delete(group_id: int):
    group = _group_or_404(group_id)
    form = GroupDeleteForm(formdata=MultiDict({"move_to": request.args.get("move_to", "").strip()}),
                           meta={"csrf": False})
    form.move_to.choices = [(None, "—")] + [(grp.id, grp.name) for grp in all_groups() if grp.id != group.id]
    if not form.validate():
        raise invalid(form_errors(form))
    target = db.session.get(Group, form.move_to.data) if form.move_to.data else None
    try:
        groups.delete_group(g.viewer, group, target)
    except groups.GroupError as err:
        raise _group_error(err) from None
    db.session.commit()
    return "", 204


# -- custom fields -----------------------------------------------------------------------------

def _field_or_404(field_id: int) -> CustomField:
    return db.session.get(CustomField, field_id) or abort(404)


def _definition_error(err: DefinitionError) -> ApiError:
    db.session.rollback()
    status, code = (409, "conflict") if err.field == "name" else (422, "invalid")
    return ApiError(status, code, str(err), {err.field: str(err)})


@bp.get("/custom-fields")
@admin_only
def fields_list():
    fields = db.session.scalars(select(CustomField).order_by(CustomField.entity, CustomField.position,
                                                             CustomField.id))
    return jsonify(items=[field_json(f) for f in fields])


@bp.post("/custom-fields")
@admin_only
def fields_create():
    data = check_types(json_body(), FIELD_INPUT, read_only=("id", "position"))
    _require(data, "entity", "name", "kind")
    form = _field_form(formdata=formdata(data, FIELD_INPUT), meta={"csrf": False})
    if not form.validate():
        raise invalid(form_errors(form))
    options = parse_options(form.options.data)
    try:
        check_definition(form.entity.data, form.name.data, form.kind.data, options)
        field = create_field(g.viewer, form.entity.data, form.name.data, form.kind.data, options,
                             form.shared_with.data or [])
    except DefinitionError as err:
        raise _definition_error(err) from None
    except FieldValueError as err:
        db.session.rollback()
        raise invalid({"kind": str(err)}) from None
    db.session.commit()
    return jsonify(field_json(field)), 201


@bp.patch(f"/custom-fields/<{ID_RULE}:field_id>")
@admin_only
def fields_update(field_id: int):
    field = _field_or_404(field_id)
    data = check_types(json_body(), FIELD_INPUT, read_only=("id", "position"))
    fixed = {k: _l("Cannot be changed.") for k in ("entity", "kind") if k in data and data[k] != getattr(field, k)}
    if fixed:
        raise invalid(fixed)
    form = _field_form(field, formdata=formdata(data, FIELD_INPUT), meta={"csrf": False})
    form.entity.data, form.kind.data = field.entity, field.kind  # fixed once values exist (as the page)
    if not form.validate() and (errors := form_errors(form, only=set(data))):
        raise invalid(errors)
    name = form.name.data if "name" in data else field.name
    options = parse_options(form.options.data) if "options" in data else list(field.options or [])
    try:
        check_definition(field.entity, name, field.kind, options, exclude=field.id)
    except DefinitionError as err:
        raise _definition_error(err) from None
    update_field(g.viewer, field, name=name, options=options if "options" in data else None,
                 shared_with=(form.shared_with.data or []) if "shared_with" in data else None)
    db.session.commit()
    return jsonify(field_json(_field_or_404(field_id)))


@bp.delete(f"/custom-fields/<{ID_RULE}:field_id>")
@admin_only
def fields_delete(field_id: int):
    delete_field(g.viewer, _field_or_404(field_id))
    db.session.commit()
    return "", 204


# -- settings ----------------------------------------------------------------------------------

@bp.get("/settings")
@admin_only
def settings_get():
    return jsonify(groups_enabled=bool(groups.account().groups_enabled))


@bp.patch("/settings")
@admin_only
def settings_update():
    data = check_types(json_body(), SETTINGS_INPUT)
    if "groups_enabled" in data:
        groups.set_groups_enabled(g.viewer, data["groups_enabled"])
        db.session.commit()
    return jsonify(groups_enabled=bool(groups.account().groups_enabled))

