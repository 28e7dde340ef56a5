"""Group administration (admins only): create, rename, delete with a target for the records,
members, per-user default group, and the extension switch. Every change is audited; a refusal is
a :class:`crm.errors.Refused` (the pages and the API show its message and fields)."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update

from ..audit.services import audit
from ..auth.models import User
from ..auth.services import require_admin
from ..common import name_among
from ..errors import Conflict, Invalid
from ..extensions import db
from ..records.locking import lock_group
from ..records.models import MODELS
from ..records.services import GroupsOff, groups_off_message, groups_on
from ..records.types import TYPES
from ..settings.models import ACCOUNT_ID, Account
from ..visibility import unscoped
from .models import BASIS_ID, Group, HandOver, TypeDefault, group_contacts, group_members
from .queries import AccessState, UserImpact, contact_ids, current_state, impact, level_counts
from .schemas import (
    ContactChange,
    GroupCreate,
    GroupDelete,
    GroupUpdate,
    HandOverSet,
    ImpactRequest,
    MemberChange,
    TypeDefaultSet,
)


def _invalid(field: str, message) -> Invalid:
    return Invalid(fields={field: message})


def _conflict(field: str, message, code: str | None = None) -> Conflict:
    return Conflict(message, {field: message}, code=code)


def account() -> Account:
    acc = db.session.get(Account, ACCOUNT_ID)
    if acc is None:  # the first migration creates it; be forgiving with hand-made databases
        acc = Account(id=ACCOUNT_ID, name="Kontor", groups_enabled=False)
        db.session.add(acc)
        db.session.flush()
    return acc


def set_groups_enabled(actor, enabled: bool) -> bool:
    """Switch the group system; False if it was so already (nothing audited then)."""
    require_admin(actor)
    acc = account()
    if acc.groups_enabled == enabled:
        return False
    acc.groups_enabled = enabled
    audit(actor, "extension_switched", extension="groups", enabled=enabled)
    return True


def _clean_name(name: str) -> str:
    """Runs of whitespace inside a name count as one space (lengths and characters are the input
    model's rules, :mod:`crm.groups.schemas`)."""
    return " ".join(name.split())


def _unique(name: str, exclude_id: int | None = None) -> None:
    """No other group has this name (:func:`crm.common.name_among`; groups are a few hundred)."""
    stmt = select(Group.name)
    if exclude_id is not None:
        stmt = stmt.where(Group.id != exclude_id)
    if name_among(name, db.session.scalars(stmt)):
        raise _conflict("name", _l("A group of this name exists already."))


def create_group(actor, data: GroupCreate) -> Group:
    require_admin(actor)
    name, member_ids = _clean_name(data.name), data.member_ids
    _check_users(member_ids)
    _unique(name)
    group = Group(name=name)
    db.session.add(group)
    db.session.flush()
    audit(actor, "group_created", group=name, group_id=group.id)
    if member_ids:
        set_members(actor, group, member_ids)
    return group


def _rename(actor, group: Group, name: str) -> None:
    name = _clean_name(name)
    if name == group.name:
        return
    _unique(name, exclude_id=group.id)
    audit(actor, "group_renamed", group_id=group.id, before=group.name, group=name)
    group.name = name


def update_group(actor, group: Group, data: GroupUpdate) -> None:
    """Rename a group and/or set its members (what ``data`` sets). Basis keeps its name and its
    implicit membership of every user."""
    require_admin(actor)
    if data.member_ids is not None:
        _check_users(data.member_ids)
    if group.id == BASIS_ID:
        if data.name is not None and _clean_name(data.name) != group.name:
            raise _invalid("name", _l("Basis cannot be renamed."))
    else:
        if data.name is not None:
            _rename(actor, group, data.name)
        if data.member_ids is not None:
            set_members(actor, group, data.member_ids)
    if data.contact_ids is not None:  # after the members: a contact must be one
        set_contacts(actor, group, ContactChange(user_ids=data.contact_ids))


def record_counts(group_ids: list[int] | None = None, *, trashed: bool = False) -> dict[int, dict[str, int]]:
    """Records per group and type, across all groups (admin statistics, hence unscoped); records
    in the recycle bin, and the pending rows of a running import, only if ``trashed`` (they still
    belong to their group, and move along when it is deleted)."""
    out: dict[int, dict[str, int]] = {}
    for key, model in MODELS.items():
        stmt = select(model.group_id, func.count()).group_by(model.group_id)
        if not trashed:
            stmt = stmt.where(model.deleted_at.is_(None), model.pending_import_id.is_(None))
        if group_ids is not None:
            stmt = stmt.where(model.group_id.in_(group_ids))
        for gid, n in db.session.execute(unscoped(stmt)):
            out.setdefault(gid, {})[TYPES[key].plural] = n
    return out


def _move_target(group: Group, data: GroupDelete) -> Group | None:
    """The group a deleted group's records move to (None if none is named); refuses Basis and a
    target that is the group itself or does not exist."""
    if group.builtin or group.id == BASIS_ID:
        raise Conflict(_l("The group Basis cannot be deleted."))
    if data.move_to is None:
        return None
    if data.move_to == group.id:
        raise _invalid("move_to", _l("Choose another group for the records."))
    move_to = db.session.get(Group, data.move_to)
    if move_to is None:
        raise _invalid("move_to", _l("There is no such group."))
    return move_to


def delete_group(actor, group: Group, data: GroupDelete) -> dict[str, int]:
    """Delete a group. Its records move to ``move_to``, which is required while it holds any
    (those in the recycle bin included: they move along).

    While the group system is off, a group that holds records is not deleted: that would move
    its records, and no path changes a record's group then (product.md §8) - the admin switches
    it on first. An empty group can be deleted."""
    require_admin(actor)
    move_to = _move_target(group, data)
    # locked first: assignments into it running now finish before it is counted, later ones wait
    # and then find it gone (crm/records/locking.py); so is the target of the move
    # (both in the order of their ids, as every locker does: two deletes moving into each other's
    # group wait for each other instead of deadlocking)
    locks = sorted([(group.id, True)] + ([(move_to.id, False)] if move_to is not None else []))
    if any(lock_group(gid, exclusive=exclusive) is None for gid, exclusive in locks):
        raise Conflict(_l("The group no longer exists."), {"group": _l("The group no longer exists.")})
    counts = record_counts([group.id], trashed=True).get(group.id, {})
    if sum(counts.values()) and not groups_on(actor):
        raise _conflict("move_to", groups_off_message(), code=GroupsOff.code)
    if sum(counts.values()) and move_to is None:
        raise _conflict("move_to", _l("The group still holds records: choose the group they move to."))
    moved = {}
    if move_to is not None:
        for key, model in MODELS.items():
            result = db.session.execute(
                update(model).where(model.group_id == group.id)
                .values(group_id=move_to.id, version=model.version + 1)
                .execution_options(synchronize_session=False)
            )
            moved[TYPES[key].plural] = result.rowcount
    # the users whose default group it was: cleared, and audited as when they leave it (remove_member)
    for user in db.session.scalars(select(User).where(User.default_group_id == group.id).order_by(User.id)):
        set_default_group(actor, user, None)
    # (the foreign keys would take these along; said here, like the users' default group above)
    db.session.execute(delete(TypeDefault).where(TypeDefault.group_id == group.id))
    db.session.execute(delete(group_contacts).where(group_contacts.c.group_id == group.id))
    db.session.execute(delete(HandOver).where(
        (HandOver.source_group_id == group.id) | (HandOver.target_group_id == group.id)))
    audit(actor, "group_deleted", group=group.name, group_id=group.id,
          moved_to=move_to.name if move_to else None, counts=moved)
    db.session.delete(group)
    db.session.flush()
    return moved


def member_ids(group: Group) -> list[int]:
    if group.id == BASIS_ID:
        return list(db.session.scalars(select(User.id).order_by(User.id)))
    return list(db.session.scalars(
        select(group_members.c.user_id).where(group_members.c.group_id == group.id)
        .order_by(group_members.c.user_id)
    ))


def add_member(actor, group: Group, user: User, *, adopt_default: bool = True) -> bool:
    """Add ``user`` to ``group`` (audited); False if they were a member already. A user without a
    default group gets this one as theirs (audited), so that their new records go where they work,
    not to Basis - e.g. when they join again the group whose leaving cleared it (``adopt_default``
    False: the caller decides the default group itself, :func:`crm.users.services.update_user`)."""
    require_admin(actor)
    if group.id == BASIS_ID:
        return False  # everyone is always in Basis
    if user.id in member_ids(group):
        return False
    db.session.execute(group_members.insert().values(group_id=group.id, user_id=user.id))
    audit(actor, "member_added", group=group.name, group_id=group.id, user=user.email, user_id=user.id)
    if adopt_default and user.default_group_id is None:
        set_default_group(actor, user, group.id)
    return True


def remove_member(actor, group: Group, user: User) -> bool:
    """Take ``user`` out of ``group`` (audited); False if they were not a member."""
    require_admin(actor)
    if group.id == BASIS_ID:
        raise _invalid("member_ids", _l("Every user is always a member of Basis."))
    result = db.session.execute(
        delete(group_members).where(group_members.c.group_id == group.id, group_members.c.user_id == user.id)
    )
    if not result.rowcount:
        return False
    # a contact person of the group is one of its members (set_contacts): no longer
    db.session.execute(
        delete(group_contacts).where(group_contacts.c.group_id == group.id, group_contacts.c.user_id == user.id)
    )
    db.session.expire(group, ["contacts"])
    audit(actor, "member_removed", group=group.name, group_id=group.id, user=user.email, user_id=user.id)
    if user.default_group_id == group.id:  # no longer theirs: their new records go to Basis again
        set_default_group(actor, user, None)
    return True


def add_members(actor, group: Group, data: MemberChange) -> int:
    """Add many users to ``group`` at once (each audited); how many were not members yet."""
    require_admin(actor)
    _check_users(data.user_ids)
    if group.id == BASIS_ID:
        return 0  # everyone is always in Basis
    users = list(db.session.scalars(select(User).where(User.id.in_(data.user_ids)).order_by(User.id)))
    added = sum(add_member(actor, group, user) for user in users)
    db.session.expire(group, ["members"])
    return added


@dataclass
class Removed:
    """What :func:`remove_members` did: how many were members, and the names of those whose
    default group this was (it is cleared: the pages say so)."""

    count: int
    default_cleared: list[str]


def remove_members(actor, group: Group, data: MemberChange) -> Removed:
    """Take many users out of ``group`` at once (each audited)."""
    require_admin(actor)
    _check_users(data.user_ids)
    if group.id == BASIS_ID:
        raise _invalid("member_ids", _l("Every user is always a member of Basis."))
    users = list(db.session.scalars(select(User).where(User.id.in_(data.user_ids)).order_by(User.name, User.id)))
    cleared = [u.name for u in users if u.default_group_id == group.id]
    removed = sum(remove_member(actor, group, user) for user in users)
    db.session.expire(group, ["members"])
    return Removed(removed, cleared)


def member_candidates(actor, group: Group, q: str, limit: int = 50) -> list[User]:
    """Active users who are not members of ``group`` and whose name or email contains ``q``
    (case-insensitive), by name; at most ``limit``."""
    require_admin(actor)
    stmt = select(User).where(User.active.is_(True), User.id.not_in(
        select(group_members.c.user_id).where(group_members.c.group_id == group.id)))
    if q := q.strip():
        needle = q.lower()
        stmt = stmt.where(func.lower(User.name).contains(needle, autoescape=True)
                          | func.lower(User.email).contains(needle, autoescape=True))
    return list(db.session.scalars(stmt.order_by(User.name, User.id).limit(limit)))


def set_members(actor, group: Group, user_ids: list[int]) -> None:
    """Make the member list exactly ``user_ids`` (each change audited)."""
    require_admin(actor)
    _check_users(user_ids)
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))}
    if group.id == BASIS_ID:
        return
    current = set(member_ids(group))
    for uid in sorted(set(users) - current):
        add_member(actor, group, users[uid])
    for uid in sorted(current - set(users)):
        remove_member(actor, group, db.session.get(User, uid))
    db.session.expire(group, ["members"])


def set_contacts(actor, group: Group, data: ContactChange) -> bool:
    """Make ``data.user_ids`` exactly the group's contact persons (whom a user who sees one of its
    records restricted, or moves records into it, is told to ask). Each must be a member of the
    group (every user is one of Basis). Audited when the list changes; False if it did not."""
    require_admin(actor)
    _check_users(data.user_ids, "contact_ids")
    members = set(member_ids(group))
    if outside := [uid for uid in data.user_ids if uid not in members]:
        user = db.session.get(User, min(outside))
        raise _invalid("contact_ids", _l("%(name)s is not a member of the group.", name=user.name))
    before = contact_ids(group.id)
    if set(before) == set(data.user_ids):
        return False
    db.session.execute(delete(group_contacts).where(group_contacts.c.group_id == group.id))
    if data.user_ids:
        db.session.execute(group_contacts.insert(), [{"group_id": group.id, "user_id": uid}
                                                     for uid in sorted(data.user_ids)])
    db.session.expire(group, ["contacts"])
    names = list(db.session.scalars(select(User.name).where(User.id.in_(data.user_ids)).order_by(User.name)))
    audit(actor, "contacts_set", group=group.name, group_id=group.id, users=names,
          user_ids=sorted(data.user_ids))
    return True


def _check_users(user_ids: list[int], field: str = "member_ids") -> None:
    """Every user named exists (an unknown id is refused, never skipped)."""
    known = set(db.session.scalars(select(User.id).where(User.id.in_(user_ids)))) if user_ids else set()
    if unknown := set(user_ids) - known:
        raise _invalid(field, _l("There is no user with the id %(id)s.", id=min(unknown)))


def set_default_group(actor, user: User, group_id: int | None) -> None:
    """The group ``user``'s new records get by default (None: Basis); audited when it changes."""
    require_admin(actor)
    if group_id is not None and db.session.get(Group, group_id) is None:
        raise _invalid("default_group_id", _l("There is no such group."))
    if group_id is not None and group_id != BASIS_ID and db.session.scalar(
            select(group_members.c.user_id).where(group_members.c.group_id == group_id,
                                                  group_members.c.user_id == user.id)) is None:
        # a default group the user is not in would silently mean Basis when they create a record
        raise _invalid("default_group_id", _l("The default group must be one of the user's groups: "
                                              "make them a member of it too, or choose another."))
    if user.default_group_id == group_id:
        return
    user.default_group_id = group_id
    name = db.session.get(Group, group_id).name if group_id else None
    audit(actor, "default_group_set", user=user.email, user_id=user.id, group=name)


def handovers_of(group: Group) -> list[tuple[Group, str]]:
    """The hand-over targets of ``group``: (target group, label), by the target's name."""
    return [(target, label) for target, label in db.session.execute(
        select(Group, HandOver.label).join(HandOver, HandOver.target_group_id == Group.id)
        .where(HandOver.source_group_id == group.id).order_by(Group.name))]


def set_handover(actor, group: Group, data: HandOverSet) -> None:
    """Allow the members of ``group`` to hand its records over to ``data.target_id`` (or relabel
    that hand-over). Audited."""
    require_admin(actor)
    target = db.session.get(Group, data.target_id)
    if target is None:
        raise _invalid("target_id", _l("There is no such group."))
    if target.id == group.id:
        raise _invalid("target_id", _l("Choose another group."))
    label = " ".join(data.label.split())
    current = db.session.get(HandOver, (group.id, target.id))
    if current is not None and current.label == label:
        return
    if current is None:
        db.session.add(HandOver(source_group_id=group.id, target_group_id=target.id, label=label))
    else:
        current.label = label
    audit(actor, "handover_set", group=group.name, group_id=group.id, target=target.name, target_id=target.id,
          label=label)
    db.session.flush()


def remove_handover(actor, group: Group, target_id: int) -> bool:
    """No longer let the members of ``group`` hand records over to ``target_id``; False if they
    could not. Audited."""
    require_admin(actor)
    current = db.session.get(HandOver, (group.id, target_id))
    if current is None:
        return False
    target = db.session.get(Group, target_id)
    db.session.delete(current)
    audit(actor, "handover_removed", group=group.name, group_id=group.id, target=target.name, target_id=target_id)
    db.session.flush()
    return True


def type_defaults() -> dict[str, TypeDefault]:
    """The default group per record type that has one (record type key -> its setting)."""
    return {td.record_type: td for td in db.session.scalars(select(TypeDefault))}


def set_type_default(actor, data: TypeDefaultSet) -> bool:
    """Set (or, with no ``group_id``, remove) the group new records of ``data.record_type`` go to,
    whoever creates them (:func:`crm.records.services.group_for_new` applies it). Audited when it
    changes; False if it did not."""
    require_admin(actor)
    if data.group_id is not None and db.session.get(Group, data.group_id) is None:
        raise _invalid("group_id", _l("There is no such group."))
    current = db.session.get(TypeDefault, data.record_type)
    allow_own = data.allow_own if data.group_id is not None else False
    if (current.group_id if current else None) == data.group_id and (
            current is None or current.allow_own == allow_own):
        return False
    if data.group_id is None:
        db.session.delete(current)
    elif current is None:
        db.session.add(TypeDefault(record_type=data.record_type, group_id=data.group_id, allow_own=allow_own))
    else:
        current.group_id, current.allow_own = data.group_id, allow_own
    name = db.session.get(Group, data.group_id).name if data.group_id else None
    audit(actor, "type_default_set", record_type=data.record_type, group=name, group_id=data.group_id,
          allow_own=allow_own)
    db.session.flush()
    return True


# --------------------------------------------------------------------------------------------
# Impact preview and access review (admins; counts only, nothing is written)
# --------------------------------------------------------------------------------------------

def preview_members(actor, group: Group, user_ids: list[int]) -> list[UserImpact]:
    """Whose counts change, and how, if ``group``'s member list became exactly ``user_ids``
    (what :func:`set_members` would do; Basis changes nothing)."""
    require_admin(actor)
    _check_users(user_ids)
    state = current_state()
    if group.id == BASIS_ID:
        return []
    return impact(state, state.with_members(group.id, user_ids))


def preview_delete(actor, group: Group, data: GroupDelete) -> list[UserImpact]:
    """Whose counts change if ``group`` is deleted, its records moving to ``data.move_to``; the
    same refusals as :func:`delete_group` for Basis, the target and records left without one."""
    require_admin(actor)
    move_to = _move_target(group, data)
    state = current_state()
    if sum(record_counts([group.id], trashed=True).get(group.id, {}).values()):
        if not state.enabled:
            raise _conflict("move_to", groups_off_message(), code=GroupsOff.code)
        if move_to is None:
            raise _conflict("move_to", _l("The group still holds records: choose the group they move to."))
    return impact(state, state.without_group(group.id, move_to.id if move_to else None))


def preview_switch(actor, enabled: bool) -> list[UserImpact]:
    """Whose counts change if the group system is switched on or off."""
    require_admin(actor)
    state = current_state()
    return impact(state, state.with_enabled(enabled))


def _shared_with_known(state: AccessState, group_ids) -> None:
    """A field's ``shared_with`` names groups there are."""
    if unknown := set(group_ids) - state.groups:
        raise _invalid("shared_with", _l("There is no group with the id %(id)s.", id=min(unknown)))


def preview_sharing(actor, field_id: int, group_ids: list[int]) -> list[UserImpact]:
    """Whose counts change if the custom field ``field_id`` is shared with exactly ``group_ids``."""
    require_admin(actor)
    state = current_state()
    _shared_with_known(state, group_ids)
    if field_id not in state.shares:
        raise _invalid("field_id", _l("There is no such field."))
    return impact(state, state.with_shares(field_id, group_ids))


def preview_new_field(actor, entity: str, group_ids: list[int]) -> list[UserImpact]:
    """Whose counts change if a new custom field of record type ``entity`` is created shared with
    ``group_ids`` (what :func:`crm.customfields.services.create_field` would do): the members of
    those groups see the records of that type in the other groups restricted."""
    require_admin(actor)
    if entity not in TYPES:
        raise _invalid("entity", _l("Not a valid choice."))
    state = current_state()
    _shared_with_known(state, group_ids)
    return impact(state, state.with_new_field(entity, group_ids))


def access_review(actor) -> tuple[AccessState, dict]:
    """Every active user's groups and their counts of full / restricted / hidden records per type
    (the access review: "who can see our customer data?")."""
    require_admin(actor)
    state = current_state()
    return state, level_counts(state)


def _required(data: ImpactRequest, *names: str) -> None:
    if missing := [n for n in names if getattr(data, n) is None]:
        raise Invalid(fields={n: _l("This field is required.") for n in missing})


def preview(actor, data: ImpactRequest) -> list[UserImpact]:
    """The impact preview of any one change (the API's single entry point)."""
    require_admin(actor)
    if data.change == "groups_enabled":
        _required(data, "groups_enabled")
        return preview_switch(actor, data.groups_enabled)
    if data.change == "sharing":
        _required(data, "field_id", "shared_with")
        return preview_sharing(actor, data.field_id, data.shared_with)
    if data.change == "new_field":
        _required(data, "entity", "shared_with")
        return preview_new_field(actor, data.entity, data.shared_with)
    _required(data, "group_id", *(["member_ids"] if data.change == "members" else []))
    group = db.session.get(Group, data.group_id)
    if group is None:
        raise _invalid("group_id", _l("There is no such group."))
    if data.change == "members":
        return preview_members(actor, group, data.member_ids)
    if data.change == "delete_group":
        return preview_delete(actor, group, GroupDelete(move_to=data.move_to))
    raise _invalid("change", _l("Not allowed."))  # explicit deny: a change the preview does not know
