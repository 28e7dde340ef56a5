"""User administration (admins only): create, change, delete or deactivate users, end their
sessions. The settings pages and the JSON API call these with the same input models
(:mod:`crm.users.schemas`); every rule is here, every refusal a :class:`crm.errors.Refused`.

Audited: the creation and each change of a user (``user_created``, ``user_changed`` with the
changed attributes - a password only as "changed"), the default group, each membership added or
removed (the removals when a user is deleted too), a deletion, and ended sessions. The caller
commits: a change and its audit entries are one transaction.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from ..audit.models import AuditEntry
from ..audit.services import audit
from ..auth import sessions
from ..auth.models import User
from ..auth.services import create_user as create_login
from ..auth.services import find_user_by_email, hash_password, require_admin
from ..errors import Conflict, Invalid
from ..extensions import db
from ..groups import services as groups
from ..groups.models import BASIS_ID, Group, group_members
from ..notes.models import Note
from ..records.models import MODELS
from ..tasks.models import Task
from ..visibility import unscoped
from .schemas import UserCreate, UserUpdate

LAST_ADMIN = _l("At least one active admin must remain.")


def all_users() -> list[User]:
    """Every user, the active ones first, by name."""
    return list(db.session.scalars(select(User).order_by(User.active.desc(), User.name)))


def group_ids_of(user_ids: list[int]) -> dict[int, list[int]]:
    """The groups (besides Basis) of each user, by id."""
    out: dict[int, list[int]] = {uid: [] for uid in user_ids}
    for gid, uid in db.session.execute(
        select(group_members.c.group_id, group_members.c.user_id)
        .where(group_members.c.user_id.in_(user_ids)).order_by(group_members.c.group_id)
    ):
        out[uid].append(gid)
    return out


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


def is_last_admin(user: User) -> bool:
    """True when ``user`` is the only active admin."""
    others = db.session.scalar(select(func.count()).select_from(User).where(
        User.role == "admin", User.active.is_(True), User.id != user.id)) or 0
    return user.role == "admin" and user.active and others == 0


def _check_email_free(email: str, user: User | None = None) -> None:
    other = find_user_by_email(email)
    if other is not None and (user is None or other.id != user.id):
        message = _l("A user with this email exists already.")
        raise Conflict(message, {"email": message})


def _check_groups(default_group_id: int | None, group_ids: list[int] | None) -> None:
    """Every group named exists (an unknown id is refused, never skipped)."""
    wanted = set(group_ids or []) | ({default_group_id} if default_group_id else set())
    known = set(db.session.scalars(select(Group.id).where(Group.id.in_(wanted)))) if wanted else set()
    if default_group_id and default_group_id not in known:
        message = _l("There is no such group.")
        raise Invalid(fields={"default_group_id": message})
    if set(group_ids or []) - known:
        message = _l("There is no such group.")
        raise Invalid(fields={"group_ids": message})


def _basis_implied(default_group_id: int | None, group_ids: list[int] | None):
    """Basis as default group is what "no default group" means; everyone is in Basis anyway."""
    if default_group_id == BASIS_ID:
        default_group_id = None
    if group_ids is not None:
        group_ids = [gid for gid in group_ids if gid != BASIS_ID]
    return default_group_id, group_ids


def _set_memberships(actor, user: User, group_ids: list[int]) -> list[int]:
    """Make the user's groups (besides Basis) exactly ``group_ids``, each change audited (leaving
    their default group clears it: :func:`crm.groups.services.remove_member`). Returns the groups
    the user joined; the caller settles the default group (:func:`_settle_default`)."""
    wanted = set(group_ids)
    all_groups = list(db.session.scalars(select(Group).where(Group.id != BASIS_ID).order_by(Group.id)))
    for group in all_groups:
        if group.id not in wanted:
            groups.remove_member(actor, group, user)
    return [group.id for group in all_groups
            if group.id in wanted and groups.add_member(actor, group, user, adopt_default=False)]


def _settle_default(actor, user: User, default_group_id: int | None, chosen: bool, joined: list[int]) -> None:
    """Set the default group the admin chose (``chosen``; None means Basis); a user left without
    one who joined exactly one group gets that one, as when they join it on the group's page
    (:func:`crm.groups.services.add_member`). Joining several leaves the choice to the admin - and
    the record forms ask the user (:func:`crm.records.services.default_group_id`)."""
    if chosen:
        groups.set_default_group(actor, user, default_group_id)
    if user.default_group_id is None and len(joined) == 1:
        groups.set_default_group(actor, user, joined[0])


def create_user(actor, data: UserCreate) -> User:
    """Create a user with default group and memberships, each step audited."""
    require_admin(actor)
    default_group_id, group_ids = _basis_implied(data.default_group_id, data.group_ids)
    _check_email_free(data.email)
    _check_groups(default_group_id, group_ids)
    user = create_login(data.email, data.password, data.role, data.name, locale=data.locale)
    user.active = data.active
    audit(actor, "user_created", user=user.email, user_id=user.id, role=user.role)
    joined = [gid for gid in sorted(set(group_ids))
              if groups.add_member(actor, db.session.get(Group, gid), user, adopt_default=False)]
    _settle_default(actor, user, default_group_id, True, joined)  # one of the groups just given
    return user


@dataclass
class Updated:
    """What :func:`update_user` did: the changed attributes and whether the user's sessions (and
    API token) were ended - a page whose own user that was logs this browser in again."""

    changes: dict
    sessions_ended: bool


def update_user(actor, user: User, data: UserUpdate) -> Updated:
    """Change what ``data`` sets (a PATCH: fields not sent stay). The last active admin stays an
    active admin; a new password or a deactivation ends the user's sessions everywhere."""
    require_admin(actor)
    sent = data.model_fields_set
    default_group_id, group_ids = _basis_implied(data.default_group_id, data.group_ids)
    if "email" in sent:
        _check_email_free(data.email, user)
    if is_last_admin(user) and (("role" in sent and data.role != "admin") or ("active" in sent and not data.active)):
        raise Conflict(LAST_ADMIN, {"role" if "role" in sent and data.role != "admin" else "active": LAST_ADMIN})
    _check_groups(default_group_id if "default_group_id" in sent else None, group_ids)
    changes: dict = {}
    for attr in ("name", "email", "role", "active"):
        if attr in sent and getattr(user, attr) != getattr(data, attr):
            changes[attr] = getattr(data, attr)
            setattr(user, attr, getattr(data, attr))
    if "locale" in sent and user.locale != data.locale:
        changes["locale"] = data.locale
        user.locale = data.locale
    if "password" in sent and data.password is not None:
        user.password_hash = hash_password(data.password)
        changes["password"] = "changed"
    ended = "password" in changes or changes.get("active") is False
    if ended:
        sessions.end_all(user)  # logged out everywhere, API token revoked
    if changes:
        audit(actor, "user_changed", user=user.email, user_id=user.id, changes=changes)
    joined = _set_memberships(actor, user, group_ids) if group_ids is not None else []
    # after the memberships: it must be one of the user's groups
    _settle_default(actor, user, default_group_id, "default_group_id" in sent, joined)
    db.session.flush()
    return Updated(changes, ended)


def delete_user(actor, user: User) -> bool:
    """Delete a user who has never written, created, been responsible for or deleted anything;
    such a user is deactivated instead (and logged out). True if deleted, False if deactivated.
    One's own user and the last active admin are refused. Each membership the deletion drops is
    audited, as every membership change is."""
    require_admin(actor)
    if user.id == getattr(actor, "user_id", getattr(actor, "id", None)):
        message = _l("You cannot delete your own user.")
        raise Conflict(message)
    if is_last_admin(user):
        raise Conflict(LAST_ADMIN)
    if authored_count(user):
        if user.active:
            update_user(actor, user, UserUpdate(active=False))
        return False
    sessions.end_all(user)
    _set_memberships(actor, user, [])
    audit(actor, "user_deleted", user=user.email, user_id=user.id)
    db.session.delete(user)
    db.session.flush()
    return True


def end_sessions(actor, user: User) -> None:
    """"Sitzungen beenden": the user is logged out in every browser on every app server, and their
    API token stops working (a page ending its own user's sessions logs this browser in again)."""
    require_admin(actor)
    sessions.end_all(user)
    audit(actor, "sessions_ended", user=user.email, user_id=user.id)
