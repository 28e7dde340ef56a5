"""Administration in the API (admins only, 403 for everyone else): users, groups, custom fields and
the group-system switch. A JSON body is validated into the same input models the settings pages
build (crm/users, crm/groups, crm/customfields, crm/settings ``schemas``) and handed to the same
services, which decide, audit and refuse (a :class:`crm.errors.Refused`, answered once by the
blueprint's error handler). Answers are the output models of those packages."""
from __future__ import annotations

from functools import wraps

from flask import abort, g, jsonify, request
from pydantic import BaseModel
from sqlalchemy import select

from ..auth.models import User
from ..auth.services import require_admin
from ..customfields import services as fields
from ..customfields.models import CustomField
from ..customfields.schemas import FieldCreate, FieldList, FieldOut, FieldUpdate
from ..extensions import db
from ..groups import services as groups
from ..groups.models import BASIS_ID, Group
from ..groups.queries import contact_ids
from ..groups.schemas import (
    AccessReviewOut,
    GroupCreate,
    GroupDelete,
    GroupList,
    GroupOut,
    GroupUpdate,
    HandOverList,
    HandOverOut,
    HandOverSet,
    ImpactOut,
    ImpactRequest,
    LevelCounts,
    ReviewGroup,
    ReviewUser,
    TypeChange,
    TypeDefaultList,
    TypeDefaultOut,
    TypeDefaultSet,
    UserImpactOut,
)
from ..records.types import TYPES
from ..rules import services as rules
from ..rules.models import AssignmentRule
from ..rules.schemas import RuleChange, RuleInput, RuleList, RuleOut
from ..settings import services as settings
from ..settings.schemas import SettingsUpdate
from ..users import services as users
from ..users.schemas import UserCreate, UserList, UserOut, UserUpdate
from .inputs import json_body
from .serialize import timestamp
from .views import ID, bp


def admin_only(view):
    """Refuse non-admins before anything else (an unknown id is a 403 for them too)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        require_admin(g.api_user)
        return view(*args, **kwargs)
    return wrapper


def _json(model: BaseModel, status: int = 200):
    return jsonify(model.model_dump(mode="json")), status


# -- users -------------------------------------------------------------------------------------

def user_out(user: User, group_ids: list[int] | None = None) -> UserOut:
    if group_ids is None:
        group_ids = users.group_ids_of([user.id])[user.id]
    return UserOut(id=user.id, email=user.email, name=user.name, role=user.role, active=bool(user.active),
                   locale=user.locale, default_group_id=user.default_group_id, group_ids=group_ids,
                   created_at=timestamp(user.created_at))


def _user_or_404(user_id: int) -> User:
    return db.session.get(User, user_id) or abort(404)


@bp.get("/users")
@admin_only
def users_list():
    items = users.all_users()
    memberships = users.group_ids_of([u.id for u in items])
    return _json(UserList(items=[user_out(u, memberships[u.id]) for u in items]))


@bp.post("/users")
@admin_only
def users_create():
    user = users.create_user(g.viewer, UserCreate.parse(json_body()))
    db.session.commit()
    return _json(user_out(user), 201)


@bp.get(f"/users/<{ID}:user_id>")
@admin_only
def users_get(user_id: int):
    return _json(user_out(_user_or_404(user_id)))


@bp.patch(f"/users/<{ID}:user_id>")
@admin_only
def users_update(user_id: int):
    """Everything the user page can change, audited as the page audits it. A new password or a
    deactivation ends the user's sessions and revokes their API token (one's own included)."""
    user = _user_or_404(user_id)
    users.update_user(g.viewer, user, UserUpdate.parse(json_body()))
    db.session.commit()
    return _json(user_out(_user_or_404(user_id)))


@bp.delete(f"/users/<{ID}:user_id>")
@admin_only
def users_delete(user_id: int):
    """204 when deleted; a user who has written, created, been responsible for or deleted
    anything is deactivated instead: 200 and the user (``active: false``)."""
    user = _user_or_404(user_id)
    deleted = users.delete_user(g.viewer, user)
    db.session.commit()
    if deleted:
        return "", 204
    return _json(user_out(_user_or_404(user_id)))


# -- groups ------------------------------------------------------------------------------------

def group_out(group: Group) -> GroupOut:
    return GroupOut(id=group.id, name=group.name, builtin=bool(group.builtin or group.id == BASIS_ID),
                    member_ids=groups.member_ids(group), contact_ids=contact_ids(group.id))


def _group_or_404(group_id: int) -> Group:
    return db.session.get(Group, group_id) or abort(404)


@bp.get("/groups")
@admin_only
def groups_list():
    items = db.session.scalars(select(Group).order_by(Group.id != BASIS_ID, Group.name))
    return _json(GroupList(items=[group_out(grp) for grp in items]))


@bp.post("/groups")
@admin_only
def groups_create():
    group = groups.create_group(g.viewer, GroupCreate.parse(json_body()))
    db.session.commit()
    return _json(group_out(group), 201)


@bp.get(f"/groups/<{ID}:group_id>")
@admin_only
def groups_get(group_id: int):
    return _json(group_out(_group_or_404(group_id)))


@bp.patch(f"/groups/<{ID}:group_id>")
@admin_only
def groups_update(group_id: int):
    groups.update_group(g.viewer, _group_or_404(group_id), GroupUpdate.parse(json_body()))
    db.session.commit()
    return _json(group_out(_group_or_404(group_id)))


def _move_to() -> int | str | None:
    """``?move_to=G`` as the model's input: a number if written as one (the model checks it is an
    id), else the text itself (which the model refuses), None if absent or empty."""
    raw = request.args.get("move_to", "").strip()
    if not raw:
        return None
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 12 else raw


@bp.delete(f"/groups/<{ID}:group_id>")
@admin_only
def groups_delete(group_id: int):
    group = _group_or_404(group_id)
    groups.delete_group(g.viewer, group, GroupDelete.parse({"move_to": _move_to()}))
    db.session.commit()
    return "", 204


# -- hand-over targets ----------------------------------------------------------------------------

def _handovers(group: Group) -> HandOverList:
    return HandOverList(items=[HandOverOut(target_id=target.id, target=target.name, label=label)
                               for target, label in groups.handovers_of(group)])


@bp.get(f"/groups/<{ID}:group_id>/handovers")
@admin_only
def handovers_get(group_id: int):
    return _json(_handovers(_group_or_404(group_id)))


@bp.put(f"/groups/<{ID}:group_id>/handovers")
@admin_only
def handovers_set(group_id: int):
    """Let the members of the group hand its records over to ``target_id`` (or relabel it)."""
    group = _group_or_404(group_id)
    groups.set_handover(g.viewer, group, HandOverSet.parse(json_body()))
    db.session.commit()
    return _json(_handovers(group))


@bp.delete(f"/groups/<{ID}:group_id>/handovers/<{ID}:target_id>")
@admin_only
def handovers_delete(group_id: int, target_id: int):
    if not groups.remove_handover(g.viewer, _group_or_404(group_id), target_id):
        abort(404)
    db.session.commit()
    return "", 204


# -- impact preview and access review ----------------------------------------------------------

def _levels(levels) -> LevelCounts:
    return LevelCounts(full=levels.full, restricted=levels.restricted, hidden=levels.hidden)


@bp.post("/impact")
@admin_only
def impact_preview():
    """What a change would do to whom (counts only); nothing is changed."""
    lines = groups.preview(g.viewer, ImpactRequest.parse(json_body()))
    db.session.rollback()  # nothing was written; end the read transaction
    return _json(ImpactOut(users=[
        UserImpactOut(user_id=line.person.id, name=line.person.name, changes={
            key: TypeChange(before=_levels(line.before[key]), after=_levels(line.after[key]))
            for key in line.changed_types()})
        for line in lines]))


@bp.get("/access-review")
@admin_only
def access_review():
    state, counts = groups.access_review(g.viewer)
    group_rows = db.session.execute(select(Group.id, Group.name).order_by(Group.id))
    return _json(AccessReviewOut(
        groups_enabled=state.enabled,
        groups=[ReviewGroup(id=gid, name=name) for gid, name in group_rows],
        users=[ReviewUser(id=p.id, name=p.name, email=p.email, role=p.role,
                          group_ids=sorted({BASIS_ID} | state.members.get(p.id, frozenset())),
                          counts={key: _levels(levels) for key, levels in counts[p.id].items()})
               for p in state.users]))


# -- default group per record type ---------------------------------------------------------------

def _type_defaults() -> TypeDefaultList:
    defaults = groups.type_defaults()
    return TypeDefaultList(items=[
        TypeDefaultOut(record_type=key, group_id=td.group_id if td else None, allow_own=bool(td and td.allow_own))
        for key in TYPES for td in [defaults.get(key)]])


@bp.get("/type-defaults")
@admin_only
def type_defaults_get():
    return _json(_type_defaults())


@bp.patch("/type-defaults")
@admin_only
def type_defaults_set():
    groups.set_type_default(g.viewer, TypeDefaultSet.parse(json_body()))
    db.session.commit()
    return _json(_type_defaults())


# -- assignment rules ----------------------------------------------------------------------------

def _rule_or_404(rule_id: int) -> AssignmentRule:
    return db.session.get(AssignmentRule, rule_id) or abort(404)


@bp.get("/assignment-rules")
@admin_only
def rules_list():
    return _json(RuleList(items=[RuleOut.of(r) for r in rules.all_rules()]))


@bp.post("/assignment-rules")
@admin_only
def rules_create():
    rule = rules.create_rule(g.viewer, RuleInput.parse(json_body()))
    db.session.commit()
    return _json(RuleOut.of(rule), 201)


@bp.patch(f"/assignment-rules/<{ID}:rule_id>")
@admin_only
def rules_update(rule_id: int):
    rules.update_rule(g.viewer, _rule_or_404(rule_id), RuleChange.parse(json_body()))
    db.session.commit()
    return _json(RuleOut.of(_rule_or_404(rule_id)))


@bp.delete(f"/assignment-rules/<{ID}:rule_id>")
@admin_only
def rules_delete(rule_id: int):
    rules.delete_rule(g.viewer, _rule_or_404(rule_id))
    db.session.commit()
    return "", 204


# -- custom fields -----------------------------------------------------------------------------

def field_out(field: CustomField) -> FieldOut:
    return FieldOut(id=field.id, entity=field.entity, name=field.name, kind=field.kind,
                    options=list(field.options or []), shared_with=[grp.id for grp in field.shared_with],
                    position=field.position)


def _field_or_404(field_id: int) -> CustomField:
    return db.session.get(CustomField, field_id) or abort(404)


@bp.get("/custom-fields")
@admin_only
def fields_list():
    items = db.session.scalars(select(CustomField).order_by(CustomField.entity, CustomField.position,
                                                            CustomField.id))
    return _json(FieldList(items=[field_out(f) for f in items]))


@bp.post("/custom-fields")
@admin_only
def fields_create():
    field = fields.create_field(g.viewer, FieldCreate.parse(json_body()))
    db.session.commit()
    return _json(field_out(field), 201)


@bp.patch(f"/custom-fields/<{ID}:field_id>")
@admin_only
def fields_update(field_id: int):
    fields.update_field(g.viewer, _field_or_404(field_id), FieldUpdate.parse(json_body()))
    db.session.commit()
    return _json(field_out(_field_or_404(field_id)))


@bp.delete(f"/custom-fields/<{ID}:field_id>")
@admin_only
def fields_delete(field_id: int):
    fields.delete_field(g.viewer, _field_or_404(field_id))
    db.session.commit()
    return "", 204


# -- settings ----------------------------------------------------------------------------------

@bp.get("/settings")
@admin_only
def settings_get():
    return _json(settings.current_settings(g.viewer))


@bp.patch("/settings")
@admin_only
def settings_update():
    settings.update_settings(g.viewer, SettingsUpdate.parse(json_body()))
    db.session.commit()
    return _json(settings.current_settings(g.viewer))
