"""Who sees how much: per user and record type, how many records they see full, restricted or
hidden - as things are (the access review) or as they would be after a change an admin is about
to make (the impact preview). Counts only, never a record's content.

The state that decides the levels (the extension switch, the memberships, the field shares and
where each group's records are) is read once into an :class:`AccessState`. A change is a new
state made from it in memory (:meth:`AccessState.with_members` and the others): nothing is written,
so a preview takes no lock, leaves no trace in the audit log or the search index, and cannot be
left half-done by an error. The counts are SQL: the records are counted per group first
(one aggregate per record type, read once), and each user's level of a group comes from the
predicates of :mod:`crm.visibility` (:func:`~crm.visibility.group_fully_visible_to`,
:func:`~crm.visibility.group_restricted_to`) applied to the :class:`~crm.visibility.Viewer` the
state gives that user. Admin statistics across all groups, hence ``unscoped``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from sqlalchemy import Integer, and_, case, column, func, literal, not_, select, values

from ..auth.models import User
from ..customfields.models import CustomField, custom_field_shares
from ..extensions import db
from ..records.models import MODELS
from ..settings.models import ACCOUNT_ID, Account
from ..visibility import (
    FULL,
    HIDDEN,
    RESTRICTED,
    Viewer,
    access_fingerprint,
    group_fully_visible_to,
    group_restricted_to,
    not_trashed,
    unscoped,
)
from .models import BASIS_ID, Group, group_contacts, group_members


def contact_ids(group_id: int) -> list[int]:
    """The ids of a group's contact persons (active or not), in order."""
    return list(db.session.scalars(
        select(group_contacts.c.user_id).where(group_contacts.c.group_id == group_id)
        .order_by(group_contacts.c.user_id)))


def contact_names(group_id: int | None) -> list[str]:
    """Whom to ask about the records of a group: the names of its active contact persons, by name
    (none for no group). Shown to anyone who sees the group's name: on a restricted record and
    in the warning before records move into a group one is not a member of."""
    if group_id is None:
        return []
    return list(db.session.scalars(
        select(User.name).join(group_contacts, group_contacts.c.user_id == User.id)
        .where(group_contacts.c.group_id == group_id, User.active.is_(True)).order_by(User.name, User.id)))


#: users per statement: each brings its group ids as bound parameters (SQLite takes 32,766)
CHUNK = 40


@dataclass(frozen=True)
class UserRef:
    id: int
    name: str
    email: str
    role: str


#: the id a field not yet created has in :meth:`AccessState.with_new_field` (ids start at 1)
NEW_FIELD = 0


@dataclass(frozen=True)
class AccessState:
    """What decides every active user's level of every record, as plain values."""

    enabled: bool
    users: tuple[UserRef, ...]
    #: user id -> explicit group ids (Basis is implicit)
    members: Mapping[int, frozenset[int]]
    #: custom field id -> (record type key, ids of the groups it is shared with)
    shares: Mapping[int, tuple[str, frozenset[int]]]
    #: records of the first group counted in the second (a group being deleted, its target)
    moved: Mapping[int, int]
    #: ids of the groups that exist
    groups: frozenset[int]

    def viewer(self, person: UserRef) -> Viewer:
        groups = frozenset({BASIS_ID} | self.members.get(person.id, frozenset()))
        shared: dict[str, set[int]] = {}
        for field_id, (entity, with_groups) in self.shares.items():
            if with_groups & groups:
                shared.setdefault(entity, set()).add(field_id)
        return Viewer(person.id, person.role, self.enabled, groups,
                      {k: frozenset(v) for k, v in shared.items()})

    # -- the changes an admin can preview ------------------------------------------------------
    def with_members(self, group_id: int, user_ids: Iterable[int]) -> AccessState:
        """The group's member list is exactly ``user_ids``."""
        wanted = set(user_ids)
        members = {p.id: frozenset(g for g in self.members.get(p.id, frozenset()) if g != group_id)
                   | ({group_id} if p.id in wanted else set()) for p in self.users}
        return replace(self, members=members)

    def with_shares(self, field_id: int, group_ids: Iterable[int]) -> AccessState:
        """The custom field is shared with exactly ``group_ids``."""
        shares = dict(self.shares)
        if field_id in shares:
            shares[field_id] = (shares[field_id][0], frozenset(group_ids))
        return replace(self, shares=shares)

    def with_new_field(self, entity: str, group_ids: Iterable[int]) -> AccessState:
        """A new custom field of record type ``entity`` is shared with ``group_ids`` (under
        :data:`NEW_FIELD`, an id no field has): their members see other groups' records of that
        type restricted."""
        return replace(self, shares={**self.shares, NEW_FIELD: (entity, frozenset(group_ids))})

    def without_group(self, group_id: int, move_to: int | None) -> AccessState:
        """The group is deleted: its records go to ``move_to``, its members and shares go."""
        members = {uid: gids - {group_id} for uid, gids in self.members.items()}
        shares = {fid: (entity, gids - {group_id}) for fid, (entity, gids) in self.shares.items()}
        moved = {src: (move_to if dst == group_id else dst) for src, dst in self.moved.items()}
        if move_to is not None:
            moved[group_id] = move_to
        return replace(self, members=members, shares=shares, moved=moved,
                       groups=self.groups - {group_id})

    def with_enabled(self, enabled: bool) -> AccessState:
        """The group system switched on or off."""
        return replace(self, enabled=enabled)


def current_state() -> AccessState:
    """The state as it is, read in four statements (no statement per user)."""
    session = db.session
    enabled = bool(session.scalar(unscoped(select(Account.groups_enabled).where(Account.id == ACCOUNT_ID))))
    users = tuple(UserRef(u.id, u.name, u.email, u.role) for u in session.execute(unscoped(
        select(User.id, User.name, User.email, User.role).where(User.active.is_(True))
        .order_by(User.name, User.id))))
    members: dict[int, set[int]] = {}
    for gid, uid in session.execute(unscoped(select(group_members.c.group_id, group_members.c.user_id))):
        members.setdefault(uid, set()).add(gid)
    shares: dict[int, tuple[str, set[int]]] = {
        fid: (entity, set()) for fid, entity in session.execute(unscoped(select(CustomField.id, CustomField.entity)))}
    for fid, gid in session.execute(unscoped(select(custom_field_shares.c.field_id, custom_field_shares.c.group_id))):
        shares[fid][1].add(gid)
    groups = frozenset(session.scalars(unscoped(select(Group.id))))
    return AccessState(
        enabled=enabled, users=users,
        members={uid: frozenset(g) for uid, g in members.items()},
        shares={fid: (entity, frozenset(g)) for fid, (entity, g) in shares.items()},
        moved={}, groups=groups,
    )


@dataclass(frozen=True)
class Levels:
    full: int = 0
    restricted: int = 0
    hidden: int = 0

    def get(self, level: str) -> int:
        return {FULL: self.full, RESTRICTED: self.restricted, HIDDEN: self.hidden}[level]


def level_counts(state: AccessState, people: Iterable[UserRef] | None = None) -> dict[int, dict[str, Levels]]:
    """user id -> record type key -> how many records (not in the recycle bin) they see at each
    level in ``state``; for ``people`` (default: every active user)."""
    people = list(state.users if people is None else people)
    out: dict[int, dict[str, Levels]] = {p.id: {} for p in people}
    for key, model in MODELS.items():
        group_id = model.group_id
        if state.moved:
            group_id = case(state.moved, value=model.group_id, else_=model.group_id)
        # the table is read once per type; the users' predicates then run over its (at most one
        # row per group) counts, so the cost is flat in the number of records per user chunk
        counted = db.session.execute(unscoped(
            select(group_id, func.count()).where(not_trashed(model)).group_by(group_id))).all()
        if not counted:
            for person in people:
                out[person.id][key] = Levels()
            continue
        n = sum(int(count) for _, count in counted)
        per_group = (values(column("group_id", Integer), column("n", Integer), name="per_group")
                     .data([(int(gid), int(count)) for gid, count in counted]).cte("per_group"))
        for start in range(0, len(people), CHUNK):
            chunk = people[start:start + CHUNK]
            columns = []
            for person in chunk:
                viewer = state.viewer(person)
                for predicate in (group_fully_visible_to(per_group.c.group_id, viewer),
                                  group_restricted_to(key, per_group.c.group_id, viewer)):
                    columns.append(func.coalesce(func.sum(case((predicate, per_group.c.n), else_=literal(0))), 0))
            row = db.session.execute(unscoped(select(*columns).select_from(per_group))).one()
            for i, person in enumerate(chunk):
                full, restricted = int(row[2 * i]), int(row[2 * i + 1])
                out[person.id][key] = Levels(full, restricted, n - full - restricted)
    return out


@dataclass(frozen=True)
class UserImpact:
    """What changes for one user: per record type, the counts before and after."""

    person: UserRef
    before: Mapping[str, Levels]
    after: Mapping[str, Levels]

    def changed_types(self) -> list[str]:
        return [key for key in MODELS if self.before[key] != self.after[key]]


def impact(before: AccessState, after: AccessState) -> list[UserImpact]:
    """The users whose counts differ between the two states (users of ``before``, by name).

    Only users whose access differs are counted: with the records where they are (no group
    deleted, ``moved`` alike), a user with the same groups, shared fields and switch in both states
    sees exactly the same - adding one member to a group holding 100k records counts for that one
    user, not for all 200 (``bench/group_admin.py``)."""
    if before.moved == after.moved:
        people = [p for p in before.users
                  if access_fingerprint(before.viewer(p)) != access_fingerprint(after.viewer(p))]
    else:
        people = list(before.users)
    then, now = level_counts(before, people), level_counts(after, people)
    lines = [UserImpact(p, then[p.id], now[p.id]) for p in people]
    return [line for line in lines if line.changed_types()]


def losing_full(state: AccessState,
                flows: Mapping[str, Mapping[tuple[int, int], int]]) -> list[tuple[UserRef, dict[str, int]]]:
    """Who would lose full access to records that move between groups: ``flows`` maps a record type
    key to ``(from group id, to group id) -> how many records``. Per active user (by name) whose
    count is not 0, per type, how many of them they see in full now and not after the move
    (:func:`~crm.visibility.group_fully_visible_to` in SQL over the flows, as :func:`level_counts`
    does over the groups' counts). Counts only."""
    people = list(state.users)
    out: dict[int, dict[str, int]] = {}
    for key, pairs in flows.items():
        pairs = {pair: n for pair, n in pairs.items() if n and pair[0] != pair[1]}
        if not pairs:
            continue
        flow = (values(column("src", Integer), column("dst", Integer), column("n", Integer), name="flow")
                .data([(int(s), int(d), int(n)) for (s, d), n in sorted(pairs.items())]).cte("flow"))
        for start in range(0, len(people), CHUNK):
            chunk = people[start:start + CHUNK]
            columns = []
            for person in chunk:
                viewer = state.viewer(person)
                lost = and_(group_fully_visible_to(flow.c.src, viewer),
                            not_(group_fully_visible_to(flow.c.dst, viewer)))
                columns.append(func.coalesce(func.sum(case((lost, flow.c.n), else_=literal(0))), 0))
            row = db.session.execute(unscoped(select(*columns).select_from(flow))).one()
            for person, n in zip(chunk, row, strict=True):
                if int(n):
                    out.setdefault(person.id, {})[key] = int(n)
    return [(p, out[p.id]) for p in people if p.id in out]
