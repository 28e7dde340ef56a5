"""The one place that decides who sees which record (product.md §4).

Three levels for a user ``u`` and a record ``r`` in group ``g``:

* **full** - the group system is off, or ``u`` is a member of ``g`` (everyone is in Basis);
* **restricted** - not full, but a custom field of ``r``'s type is shared with one of ``u``'s
  groups: ``u`` sees the display name, the group name and those shared fields;
* **hidden** - otherwise.

A record in the recycle bin (``deleted_at`` set) is hidden from everyone, whatever the group: every
predicate below says ``deleted_at IS NULL`` (:func:`not_trashed`), and so does the safety net.

Everything else asks this module: the SQL predicates :func:`visible_to` and
:func:`fully_visible_to` (and their variants for things attached to records) are used by every
list, count, search, export, API and related-list query. On top, :func:`install_safety_net` adds
the same criteria to every ORM SELECT in a request (``do_orm_execute`` + ``with_loader_criteria``),
so that a query that forgets its predicate still cannot return a hidden row. The safety net does
not cover ``Session.get()`` of objects already in the identity map, Core statements or bulk
UPDATE/DELETE; code doing those must use the predicates explicitly.

The only way around the safety net is :func:`unscoped`, for the few admin queries that need it
(group record counts, the audit log, the "who can see this" panel). Grep for ``unscoped(``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from flask import g, has_request_context
from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    event,
    exists,
    false,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import ORMExecuteState, aliased, with_loader_criteria
from sqlalchemy.sql.elements import ColumnElement

from .common import RECORD_KEYS
from .customfields.models import CustomField, CustomFieldValue, custom_field_shares
from .extensions import db
from .groups.models import BASIS_ID, group_members
from .notes.models import Note
from .records.models import MODELS, ContactDetail
from .settings.models import ACCOUNT_ID, Account
from .tasks.models import Task

Level = Literal["full", "restricted", "hidden"]
FULL: Level = "full"
RESTRICTED: Level = "restricted"
HIDDEN: Level = "hidden"

_UNSCOPED = "kontor_unscoped"


@dataclass(frozen=True)
class Viewer:
    """What one user may see, computed once per request from plain values."""

    user_id: int
    role: str
    groups_enabled: bool
    group_ids: frozenset[int]
    #: per record type: ids of the custom fields shared with one of the user's groups
    shared_fields: Mapping[str, frozenset[int]] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def shared_field_ids(self, key: str) -> frozenset[int]:
        return self.shared_fields.get(key, frozenset()) if self.groups_enabled else frozenset()

    def sees_restricted(self, key: str) -> bool:
        """True when every record of this type the user is not fully allowed is restricted
        (rather than hidden): some field of the type is shared with one of the user's groups."""
        return bool(self.shared_field_ids(key))

    def level(self, key: str, group_id: int) -> Level:
        if not self.groups_enabled or group_id in self.group_ids:
            return FULL
        if self.sees_restricted(key):
            return RESTRICTED
        return HIDDEN

    def is_member(self, group_id: int) -> bool:
        return group_id in self.group_ids


def viewer_for(user) -> Viewer:
    """Read the extension switch, the user's groups and the fields shared with them, in one
    statement (three small selects glued by UNION ALL: it runs on every request)."""
    member_of = select(group_members.c.group_id).where(group_members.c.user_id == user.id)
    no_text = cast(null(), String)
    stmt = union_all(
        select(literal("enabled"), case((Account.groups_enabled, 1), else_=0), no_text)
        .where(Account.id == ACCOUNT_ID),
        select(literal("group"), group_members.c.group_id, no_text).where(group_members.c.user_id == user.id),
        select(literal("shared"), CustomField.id, CustomField.entity)
        .join(custom_field_shares, custom_field_shares.c.field_id == CustomField.id)
        .where(or_(custom_field_shares.c.group_id == BASIS_ID, custom_field_shares.c.group_id.in_(member_of))),
    )
    enabled = False
    group_ids = {BASIS_ID}
    shared: dict[str, set[int]] = {}
    for kind, number, entity in db.session.execute(unscoped(stmt)):
        if kind == "enabled":
            enabled = bool(number)
        elif kind == "group":
            group_ids.add(number)
        else:
            shared.setdefault(entity, set()).add(number)
    return Viewer(
        user_id=user.id,
        role=user.role,
        groups_enabled=enabled,
        group_ids=frozenset(group_ids),
        shared_fields={k: frozenset(v) for k, v in shared.items()},
    )


def current_viewer() -> Viewer:
    """The request's viewer; set once per request by the app (pages) or the API's token check."""
    viewer = g.get("viewer")
    if viewer is None:
        raise RuntimeError("no viewer for this request")
    return viewer


def set_viewer(user) -> Viewer:
    g.viewer = viewer = viewer_for(user)
    return viewer


# --------------------------------------------------------------------------------------------
# SQL predicates
# --------------------------------------------------------------------------------------------

def _key(model) -> str:
    return sa_inspect(model).mapper.class_.KEY


def group_fully_visible_to(group_id, viewer: Viewer) -> ColumnElement[bool]:
    """``group_id`` (a column naming a group: where a record is, was, or was assigned to) is a
    group whose records the viewer sees in full."""
    if not viewer.groups_enabled:
        return true()
    return group_id.in_(viewer.group_ids)


def not_trashed(model) -> ColumnElement[bool]:
    """Records of ``model`` that are not in the recycle bin: part of every predicate below."""
    return model.deleted_at.is_(None)


def fully_visible_to(model, viewer: Viewer) -> ColumnElement[bool]:
    """Records of ``model`` (a record class or an alias of one) the viewer sees in full."""
    if not viewer.groups_enabled:
        return not_trashed(model)
    return and_(not_trashed(model), group_fully_visible_to(model.group_id, viewer))


def visible_to(model, viewer: Viewer) -> ColumnElement[bool]:
    """Records of ``model`` the viewer sees at all (full or restricted)."""
    if not viewer.groups_enabled or viewer.sees_restricted(_key(model)):
        return not_trashed(model)
    return and_(not_trashed(model), model.group_id.in_(viewer.group_ids))


def restricted_to(model, viewer: Viewer) -> ColumnElement[bool]:
    """Records the viewer sees, but only restricted."""
    if not viewer.groups_enabled or not viewer.sees_restricted(_key(model)):
        return false()
    return and_(not_trashed(model), model.group_id.not_in(viewer.group_ids))


def trashed_fully_visible_to(model, viewer: Viewer) -> ColumnElement[bool]:
    """Records in the recycle bin whose group the viewer sees in full (the recycle bin page, and
    a link to such a record, which reads "(deleted)" to this viewer and "hidden" to others).
    Statements with it must be :func:`unscoped` (the safety net hides the recycle bin)."""
    return and_(model.deleted_at.is_not(None), group_fully_visible_to(model.group_id, viewer))


def is_full_column(model, viewer: Viewer):
    """A boolean column for list queries: is this row fully visible?"""
    if not viewer.groups_enabled or not viewer.sees_restricted(_key(model)):
        return literal(True)
    return case((model.group_id.in_(viewer.group_ids), True), else_=False)


def masked(model, viewer: Viewer, column):
    """``column`` for fully visible rows, NULL for restricted ones: for list columns and sort keys
    that a restricted row must not reveal (not even through its position in a sorted list)."""
    if not viewer.groups_enabled or not viewer.sees_restricted(_key(model)):
        return column
    return case((model.group_id.in_(viewer.group_ids), column), else_=None)


#: Private aliases for the "attached to a visible record" subqueries: an alias that never appears
#: in a caller's query, so the EXISTS correlates to the attached row only (never to a records table
#: the caller happens to select from).
_OWNERS = {k: aliased(m, name=f"vis_{k}") for k, m in MODELS.items()}


def _owner_visible(key: str, fk, ids) -> ColumnElement[bool]:
    """``fk`` points at a record of type ``key`` that is not in the recycle bin and is in one of
    the groups ``ids`` (``None``: any group). A correlated EXISTS (one primary-key lookup per row)
    rather than ``fk IN (SELECT id ...)``, which databases build into a list of every visible
    record first: at a million records that is the slow part."""
    owner = _OWNERS[key]
    conds = [owner.id == fk, not_trashed(owner)]
    if ids is not None:
        conds.append(owner.group_id.in_(ids))
    return exists().where(*conds)


def _attached_to_full(cls, viewer: Viewer) -> ColumnElement[bool]:
    """Things that belong to a record (notes, contact details, tasks, field values): attached to a
    record the viewer fully sees."""
    ids = tuple(sorted(viewer.group_ids)) if viewer.groups_enabled else None
    return or_(*(_owner_visible(k, getattr(cls, f"{k}_id"), ids) for k in RECORD_KEYS))


def note_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    return _attached_to_full(Note, viewer)


def contact_detail_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    ids = tuple(sorted(viewer.group_ids)) if viewer.groups_enabled else None
    return or_(
        _owner_visible("company", ContactDetail.company_id, ids),
        _owner_visible("person", ContactDetail.person_id, ids),
    )


def _private_task(viewer: Viewer) -> ColumnElement[bool]:
    return and_(
        *(getattr(Task, f"{k}_id").is_(None) for k in RECORD_KEYS),
        or_(Task.created_by_id == viewer.user_id, Task.assignee_id == viewer.user_id),
    )


def task_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Tasks of fully visible records, and one's own tasks without a record."""
    return or_(_attached_to_full(Task, viewer), _private_task(viewer))


def field_value_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Custom field values: all of a fully visible record, the shared ones of restricted ones."""
    shared = [
        and_(CustomFieldValue.field_id.in_(ids), _owner_visible(k, getattr(CustomFieldValue, f"{k}_id"), None))
        for k in RECORD_KEYS
        if (ids := viewer.shared_field_ids(k))
    ]
    return or_(_attached_to_full(CustomFieldValue, viewer), *shared)


def tag_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Tags on at least one record the viewer fully sees. A tag only on hidden or restricted
    records is one of their hidden fields: for this viewer it does not exist (its name, spelling
    and links), however it is looked up (filter choices, a name typed into a form or the API)."""
    from .records.models import TAG_TABLES, Tag

    return or_(*(
        exists().where(table.c.tag_id == Tag.id, _OWNERS[key].id == table.c[f"{key}_id"],
                       fully_visible_to(_OWNERS[key], viewer))
        for key, table in TAG_TABLES.items()
    ))


# --------------------------------------------------------------------------------------------
# The request-scoped safety net
# --------------------------------------------------------------------------------------------

def unscoped(statement):
    """Opt a statement out of the safety net. Only for admin queries that must count or list
    across all groups; the caller is responsible for what it shows. Grep-able on purpose."""
    return statement.execution_options(**{_UNSCOPED: True})


_VC, _VP, _VD, _VJ = (_OWNERS[k] for k in RECORD_KEYS)


def _not_trashed() -> list:
    """Loader criteria that hide the recycle bin from everyone, whatever the group system says:
    trashed records, and what is attached to them (notes, tasks, contact details, field values).
    Added to the net's other criteria (which are ANDed with these); the recycle bin page, restore
    and purge read the bin through :func:`unscoped`."""
    opts = [
        with_loader_criteria(model, lambda cls: cls.deleted_at.is_(None), include_aliases=True)
        for model in MODELS.values()
    ]
    # Positive tests ("no link, or a link to a record not in the bin"): the record classes'
    # criteria above apply to the private aliases inside these EXISTS too, so "EXISTS a trashed
    # owner" could never be true.
    for attached in (Note, Task, CustomFieldValue):
        opts.append(with_loader_criteria(
            attached,
            lambda cls: and_(
                or_(cls.company_id.is_(None), exists().where(_VC.id == cls.company_id, _VC.deleted_at.is_(None))),
                or_(cls.person_id.is_(None), exists().where(_VP.id == cls.person_id, _VP.deleted_at.is_(None))),
                or_(cls.deal_id.is_(None), exists().where(_VD.id == cls.deal_id, _VD.deleted_at.is_(None))),
                or_(cls.project_id.is_(None), exists().where(_VJ.id == cls.project_id, _VJ.deleted_at.is_(None))),
            ),
            include_aliases=True,
        ))
    opts.append(with_loader_criteria(
        ContactDetail,
        lambda cls: and_(
            or_(cls.company_id.is_(None), exists().where(_VC.id == cls.company_id, _VC.deleted_at.is_(None))),
            or_(cls.person_id.is_(None), exists().where(_VP.id == cls.person_id, _VP.deleted_at.is_(None))),
        ),
        include_aliases=True,
    ))
    return opts


def _net_options(viewer: Viewer | None) -> list:
    """Loader criteria for one request. Each lambda closes over plain values only (``ids``,
    ``uid``, ``shared``): SQLAlchemy caches the lambda's SQL and turns those into bound parameters,
    so a function call in there would be frozen into the cache for the next user."""
    if viewer is None:
        # Inside a request without a viewer (not logged in): no record of any kind.
        return [
            with_loader_criteria(m, lambda cls: false(), include_aliases=True)
            for m in (*MODELS.values(), Note, Task, ContactDetail, CustomFieldValue)
        ]
    uid = viewer.user_id
    if not viewer.groups_enabled:
        # Everyone sees every record (but the recycle bin); tasks without a record stay private.
        return [
            *_not_trashed(),
            with_loader_criteria(
                Task,
                lambda cls: or_(
                    cls.company_id.is_not(None), cls.person_id.is_not(None),
                    cls.deal_id.is_not(None), cls.project_id.is_not(None),
                    cls.created_by_id == uid, cls.assignee_id == uid,
                ),
                include_aliases=True,
            ),
        ]
    ids = tuple(sorted(viewer.group_ids))
    shared = tuple(sorted(set().union(*(viewer.shared_field_ids(k) for k in RECORD_KEYS))))
    opts = _not_trashed() + [
        with_loader_criteria(model, lambda cls: cls.group_id.in_(ids), include_aliases=True)
        for key, model in MODELS.items()
        if not viewer.sees_restricted(key)
    ]
    # The lambdas use the private aliases (_VC, _VP, _VD, _VJ) in correlated EXISTS, like
    # _owner_visible: see there why not IN (SELECT ...).
    opts.append(with_loader_criteria(
        ContactDetail,
        lambda cls: or_(
            exists().where(_VC.id == cls.company_id, _VC.group_id.in_(ids)),
            exists().where(_VP.id == cls.person_id, _VP.group_id.in_(ids)),
        ),
        include_aliases=True,
    ))
    for attached in (Note,):
        opts.append(with_loader_criteria(
            attached,
            lambda cls: or_(
                exists().where(_VC.id == cls.company_id, _VC.group_id.in_(ids)),
                exists().where(_VP.id == cls.person_id, _VP.group_id.in_(ids)),
                exists().where(_VD.id == cls.deal_id, _VD.group_id.in_(ids)),
                exists().where(_VJ.id == cls.project_id, _VJ.group_id.in_(ids)),
            ),
            include_aliases=True,
        ))
    opts.append(with_loader_criteria(
        Task,
        lambda cls: or_(
            exists().where(_VC.id == cls.company_id, _VC.group_id.in_(ids)),
            exists().where(_VP.id == cls.person_id, _VP.group_id.in_(ids)),
            exists().where(_VD.id == cls.deal_id, _VD.group_id.in_(ids)),
            exists().where(_VJ.id == cls.project_id, _VJ.group_id.in_(ids)),
            and_(
                cls.company_id.is_(None), cls.person_id.is_(None), cls.deal_id.is_(None),
                cls.project_id.is_(None), or_(cls.created_by_id == uid, cls.assignee_id == uid),
            ),
        ),
        include_aliases=True,
    ))
    opts.append(with_loader_criteria(
        CustomFieldValue,
        lambda cls: or_(
            exists().where(_VC.id == cls.company_id, _VC.group_id.in_(ids)),
            exists().where(_VP.id == cls.person_id, _VP.group_id.in_(ids)),
            exists().where(_VD.id == cls.deal_id, _VD.group_id.in_(ids)),
            exists().where(_VJ.id == cls.project_id, _VJ.group_id.in_(ids)),
            cls.field_id.in_(shared),
        ),
        include_aliases=True,
    ))
    return opts


def _scope(state: ORMExecuteState) -> None:
    if not state.is_select or state.is_column_load:
        return
    if state.execution_options.get(_UNSCOPED):
        return
    if not has_request_context():
        return  # command line, migrations, tests working below the web layer
    viewer = g.get("viewer")
    cached = g.get("_kontor_net")
    if cached is None or cached[0] is not viewer:
        # built once per request and viewer (the options are immutable and hold plain values only)
        cached = g._kontor_net = (viewer, _net_options(viewer))
    state.statement = state.statement.options(*cached[1])


def install_safety_net(session_class) -> None:
    if not event.contains(session_class, "do_orm_execute", _scope):
        event.listen(session_class, "do_orm_execute", _scope)


# --------------------------------------------------------------------------------------------
# "Who can see this?"
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AccessLine:
    user_id: int
    name: str
    email: str
    level: Level
    #: (kind, detail) pairs: ("member", group name) / ("basis", "Basis") / ("shared", (field, group))
    reasons: tuple


def viewers_of_all_users() -> list[tuple]:
    """(user, Viewer) for every active user, built from three queries (no query per user)."""
    from .auth.models import User

    session = db.session
    enabled = bool(session.scalar(unscoped(select(Account.groups_enabled).where(Account.id == ACCOUNT_ID))))
    users = list(session.scalars(unscoped(select(User).where(User.active.is_(True)).order_by(User.name))))
    member: dict[int, set[int]] = {}
    for gid, uid in session.execute(unscoped(select(group_members.c.group_id, group_members.c.user_id))):
        member.setdefault(uid, set()).add(gid)
    shares = session.execute(unscoped(
        select(CustomField.entity, CustomField.id, custom_field_shares.c.group_id)
        .join(custom_field_shares, custom_field_shares.c.field_id == CustomField.id)
    )).all()
    out = []
    for user in users:
        groups = frozenset({BASIS_ID} | member.get(user.id, set()))
        shared: dict[str, set[int]] = {}
        for entity, field_id, gid in shares:
            if gid in groups:
                shared.setdefault(entity, set()).add(field_id)
        out.append((user, Viewer(user.id, user.role, enabled, groups,
                                 {k: frozenset(v) for k, v in shared.items()})))
    return out


def access_report(key: str, group_id: int, viewer: Viewer) -> list[AccessLine]:
    """For a record of type ``key`` in ``group_id``: who sees it at which level, and why
    (product.md §8). An admin gets every active user's line; anyone else only their own line, with
    nothing about other users or shares with groups they are not in."""
    from .auth.models import User
    from .groups.models import Group

    names = dict(db.session.execute(unscoped(select(Group.id, Group.name))).all())
    fields = dict(db.session.execute(unscoped(select(CustomField.id, CustomField.name))).all())
    share_groups: dict[int, set[int]] = {}
    for fid, gid in db.session.execute(unscoped(select(custom_field_shares.c.field_id,
                                                        custom_field_shares.c.group_id))):
        share_groups.setdefault(fid, set()).add(gid)
    if viewer.is_admin:
        pairs = viewers_of_all_users()
    else:
        pairs = [(db.session.scalar(unscoped(select(User).where(User.id == viewer.user_id))), viewer)]
    lines = [_access_line(user, v, key, group_id, names, fields, share_groups) for user, v in pairs]
    order = {FULL: 0, RESTRICTED: 1, HIDDEN: 2}
    return sorted(lines, key=lambda a: (order[a.level], a.name.casefold()))


def _access_line(user, viewer: Viewer, key: str, group_id: int, names: dict, fields: dict,
                 share_groups: dict[int, set[int]]) -> AccessLine:
    """One user's level for a record in ``group_id``, and the reasons: their own memberships and
    shares only."""
    level = viewer.level(key, group_id)
    if level == FULL:
        reasons = (("basis", names.get(group_id)),) if group_id == BASIS_ID else (
            ("member", names.get(group_id)),)
    elif level == RESTRICTED:
        reasons = tuple(
            ("shared", (fields.get(fid), names.get(gid)))
            for fid in sorted(viewer.shared_field_ids(key))
            for gid in sorted(share_groups.get(fid, set()) & viewer.group_ids)
        )
    else:
        reasons = ()
    return AccessLine(user.id, user.name, user.email, level, reasons)
