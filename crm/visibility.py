"""The one place that decides who sees which record (product.md §4).

Three levels for a user ``u`` and a record ``r`` in group ``g``:

* **full** - the group system is off, or ``u`` is a member of ``g`` (everyone is in Basis);
* **restricted** - not full, but a custom field of ``r``'s type is shared with one of ``u``'s
  groups: ``u`` sees the display name, the group name and those shared fields;
* **hidden** - otherwise.

A record in the recycle bin (``deleted_at`` set) is hidden from everyone, whatever the group: every
predicate below says ``deleted_at IS NULL`` (:func:`not_trashed`), and so does the safety net. So
is a record an unfinished import is still writing (``pending_import_id`` set).

Everything else asks this module: the SQL predicates :func:`visible_to` and
:func:`fully_visible_to` (and :func:`criteria_for` for everything attached to records) are used
by every list, count, search, export, API and related-list query. On top, a request-scoped safety
net (:func:`install_safety_net`, ``do_orm_execute``) catches the query that forgets them.

What the safety net guarantees, for every SELECT run through ``db.session`` inside a request:

* every mapped class is declared in :data:`SCOPES` (or Core table in :data:`CORE_TABLES`): how
  it is scoped, or that it holds no record data; an undeclared one is refused, and app start with
  debug or testing on fails on it (a new model registers there);
* each declared class gets its criteria (``with_loader_criteria``, generated per kind from the
  declaration) wherever it appears: selected, joined, aliased, in subqueries and relationship
  loads. Without a viewer (not logged in) no row of any scoped class. (The one exception changes
  no row: a record class whose every select already ANDs the net's very rule for it, same
  conditions and same values, gets no second copy - :func:`_covered`.);
* records come back fully visible only; rows the viewer sees restricted only through column
  selects marked :func:`restricted_rows` (refused on object loads);
* a Core read of a table holding record data (``Model.__table__``, a link table, ``table()``) or
  SQL text (``text()``, ``literal_column()``) is refused, unless opted out with :func:`unscoped`.

What it does not cover: ``INSERT``/``UPDATE``/``DELETE`` (they use the predicates explicitly),
objects already in the session's identity map (``Session.get()``, relationships loaded earlier),
statements on a raw connection (``db.engine``, ``session.connection()``), anything outside a
request (command line, jobs), and what the ``unscoped(`` call sites read - grep for them. It
decides which rows come back, not which columns are shown: masking a restricted row's columns is
the query's job (:func:`masked`).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, NamedTuple

from flask import g, has_request_context
from sqlalchemy import (
    Boolean,
    Integer,
    String,
    TypeDecorator,
    and_,
    bindparam,
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
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import LoaderCriteriaOption, ORMExecuteState, aliased
from sqlalchemy.sql import operators
from sqlalchemy.sql.cache_key import NO_CACHE, CacheConst, anon_map
from sqlalchemy.sql.elements import (
    BooleanClauseList,
    ClauseElement,
    ColumnClause,
    ColumnElement,
    False_,
    TextClause,
    True_,
)
from sqlalchemy.sql.selectable import (
    CTE,
    Alias,
    FromClause,
    FromGrouping,
    Join,
    ScalarValues,
    Select,
    Subquery,
    TableClause,
    Values,
)
from sqlalchemy.sql.visitors import InternalTraversal

from .audit.models import AssignmentChange, AuditEntry
from .auth.models import RateCounter, User, UserSession
from .common import RECORD_KEYS
from .customfields.models import CustomField, CustomFieldValue, custom_field_shares
from .extensions import db
from .files.models import Attachment
from .groups.models import BASIS_ID, Group, HandOver, TypeDefault, group_members
from .history.models import FieldChange, RecordEvent
from .imports.models import ImportItem, ImportJob
from .jobs.models import Job
from .listviews.models import SavedView
from .notes.models import Note
from .pipeline.models import DealMonthSum, DealSum
from .records.models import MODELS, TAG_LINKS, ContactDetail, Tag
from .rules.models import AssignmentRule
from .search.models import SearchDoc
from .settings.models import ACCOUNT_ID, Account
from .stages.models import DealReason, DealStage
from .tasks.models import Task

Level = Literal["full", "restricted", "hidden"]
FULL: Level = "full"
RESTRICTED: Level = "restricted"
HIDDEN: Level = "hidden"

_UNSCOPED = "kontor_unscoped"
_RESTRICTED = "kontor_restricted_rows"
_PLAIN = "kontor_plain_rows"


class GroupName(NamedTuple):
    """A group of the viewer's, as the pages offer it."""

    id: int
    name: str


@dataclass(frozen=True)
class Viewer:
    """What one user may see, computed once per request from plain values."""

    user_id: int
    role: str
    groups_enabled: bool
    group_ids: frozenset[int]
    #: per record type: ids of the custom fields shared with one of the user's groups
    shared_fields: Mapping[str, frozenset[int]] = field(default_factory=dict)
    #: the user's groups with their names, Basis first, then by name (what a list's group filter
    #: offers; read with the rest, so a page needs no statement of its own for them)
    groups: tuple[GroupName, ...] = ()

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
        select(literal("group"), Group.id, Group.name).where(or_(Group.id == BASIS_ID, Group.id.in_(member_of))),
        select(literal("shared"), CustomField.id, CustomField.entity)
        .join(custom_field_shares, custom_field_shares.c.field_id == CustomField.id)
        .where(or_(custom_field_shares.c.group_id == BASIS_ID, custom_field_shares.c.group_id.in_(member_of))),
    )
    enabled = False
    group_ids = {BASIS_ID}
    names: list[GroupName] = []
    shared: dict[str, set[int]] = {}
    for kind, number, entity in db.session.execute(unscoped(stmt)):
        if kind == "enabled":
            enabled = bool(number)
        elif kind == "group":
            group_ids.add(number)
            names.append(GroupName(number, entity))
        else:
            shared.setdefault(entity, set()).add(number)
    return Viewer(
        user_id=user.id,
        role=user.role,
        groups_enabled=enabled,
        group_ids=frozenset(group_ids),
        shared_fields={k: frozenset(v) for k, v in shared.items()},
        groups=tuple(sorted(names, key=lambda g: (g.id != BASIS_ID, g.name))),
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


#: up to this many ids (a viewer's groups, a bulk action's selection) are written as a list of
#: values (``IN (?, ?, ...)``); above, as one parameter holding them all (see :class:`_InIds`)
GROUP_LIST_MAX = 32

#: a viewer in more groups than this sees a share of the records large enough that SQLite should
#: walk a list's sort index and test each row's group, rather than read every row of the groups by
#: the group index and sort them: the viewer's groups are written ``likely(… IN (…))`` from here on
#: (:class:`_Likely`), as any id list above :data:`GROUP_LIST_MAX` is (:func:`in_id_list`). Up to
#: here a list sorted by name, last change or value is read group by group
#: (``crm.records.queries.PER_GROUP_ARMS``), and counts and figures seek each group in its index.
FEW_GROUPS = 8


class _IdList(TypeDecorator):
    """A set of ids as one bound value: an integer array on PostgreSQL, a JSON array elsewhere."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(Integer))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value, dialect):
        ids = sorted(int(i) for i in value)
        return ids if dialect.name == "postgresql" else json.dumps(ids)


class _InIds(ColumnElement[bool]):
    """``column IN (ids)`` with the ids as ONE parameter: ``= ANY(:ids)`` on PostgreSQL,
    ``IN (SELECT value FROM json_each(:ids))`` on SQLite. For a viewer in many groups a list of
    values repeated by every predicate of a statement (and by the safety net's criteria) would make
    the statement's parameters grow with the groups, beyond what a database accepts; for a bulk
    action's 10,000 ids, each statement would be compiled and planned with 10,000 parameters.
    (A plain expression of a column and a bound parameter: cached by its structure, adapted to
    aliases like any other.)"""

    __visit_name__ = "kontor_in_ids"
    inherit_cache = True
    type = Boolean()
    #: a condition in itself, like the ``IN`` it writes (see :func:`_in_ids_sqlite`)
    _is_implicitly_boolean = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("ids", InternalTraversal.dp_clauseelement),
        ("negated", InternalTraversal.dp_boolean),
    ]

    def __init__(self, column, ids, negated: bool = False):
        self.column = column
        self.ids = ids
        self.negated = negated


@compiles(_InIds)
def _in_ids_sqlite(element, compiler, **kw):
    """``column IN (SELECT value FROM json_each(:ids))`` - :func:`in_id_list` wraps it in
    ``likely()`` (:class:`_Likely`) but for ``NOT IN``, which no index serves.

    Written as the condition it is (``_is_implicitly_boolean``): else SQLAlchemy writes ``… = 1``
    after it on SQLite, which has no boolean type, and SQLite cannot use an index of the column for
    such a term - the pipeline's sums for a user in 41 groups read every deal through the stages'
    index instead of the groups' part of the covering one."""
    column = compiler.process(element.column, **kw)
    ids = f"(SELECT value FROM json_each({compiler.process(element.ids, **kw)}))"
    return f"{column} {'NOT IN' if element.negated else 'IN'} {ids}"


@compiles(_InIds, "postgresql")
def _in_ids_pg(element, compiler, **kw):
    op = "<> ALL" if element.negated else "= ANY"
    return f"{compiler.process(element.column, **kw)} {op} ({compiler.process(element.ids, **kw)})"


class _Around(ColumnElement[bool]):
    """A condition written around another one (:class:`_Likely`, :class:`_NetCopy`): each dialect's
    ``@compiles`` says how; cached by its structure like the condition inside."""

    inherit_cache = True
    type = Boolean()
    _traverse_internals = [("element", InternalTraversal.dp_clauseelement)]

    def __init__(self, element):
        self.element = element


class _Likely(_Around):
    """A set of ids that most rows are in: ``likely(column IN …)`` on SQLite, the condition itself
    elsewhere - a long id list (:func:`in_id_list`, above :data:`GROUP_LIST_MAX`) and a viewer's
    groups above :data:`FEW_GROUPS` (:func:`_in_group_ids`). ``likely()`` returns its argument - no
    row changes - and an index of the column still serves the condition where SQLite wants it, but
    the planner no longer takes the set for a few rows. Without it SQLite sorted every person of a
    user in 200 groups by the group index instead of walking the sort index (157 instead of 0.3 ms
    for a list's page), and read every person of a user in 21 of 201 groups by the group index and
    sorted them (433 ms at 1M people) instead of walking the name's index until 50 passed (3 ms);
    that user's pages sorted by name or value and the board's cards fell from 131-295 to 59-85 ms
    (``bench/NOTES.md``, "A user in 9 to 32 groups"). Measured for the one parameter on each
    statement of the pipeline, home, the lists, the text filter and the search (100k people, users
    in 41 and 200 groups): the same or faster than without (at 41 groups the pipeline's figures by
    target date 6.8 -> 3.6 ms, a list's count 11.8 -> 8.9 ms). PostgreSQL plans by its statistics."""

    __visit_name__ = "kontor_likely"
    inherit_cache = True
    #: a condition in itself (no ``= 1`` after it on SQLite, see :func:`_in_ids_sqlite`)
    _is_implicitly_boolean = True


@compiles(_Likely)
def _likely_sqlite(element, compiler, **kw):
    return f"likely({compiler.process(element.element, **kw)})"


@compiles(_Likely, "postgresql")
def _likely_pg(element, compiler, **kw):
    return compiler.process(element.element, **kw)


class _NetCopy(_Around):
    """The safety net's copy of a record class's rule: on PostgreSQL
    ``(CASE WHEN rule THEN 1 END) IS NOT NULL``, elsewhere the rule as it is. A list already says
    ``fully_visible_to`` itself, so its statement holds the rule twice, and PostgreSQL multiplies
    the selectivity of the two copies: a one-group user's 459 deals were estimated at 7 rows, and
    the deals text filter joined its 6,000 matches to them by a nested loop (208 ms instead of 21).
    The copy lets through exactly the rows the rule lets through (true stays true; false and NULL
    become false, which a WHERE or ON condition - where the net's criteria stand - drops alike),
    but the planner cannot look into it and counts it as almost every row (an ``IS NOT NULL`` of an
    expression: 0.995), so it plans by the query's own copy, which also gives the indexes their
    conditions. (``coalesce(rule, false)`` counts as half the rows, which made the search of a user
    in 200 groups, who sees nearly everything, plan worse.) A statement without its own predicate
    still gets only the rows the rule lets through, found without the group's index."""

    __visit_name__ = "kontor_net_copy"
    inherit_cache = True


@compiles(_NetCopy)
def _net_copy(element, compiler, **kw):
    return f"({compiler.process(element.element, **kw)})"


@compiles(_NetCopy, "postgresql")
def _net_copy_pg(element, compiler, **kw):
    return f"(CASE WHEN {compiler.process(element.element, **kw)} THEN 1 END) IS NOT NULL"


def in_id_list(column, ids, *, negated: bool = False, name: str = "id_list",
               likely_above: int = GROUP_LIST_MAX) -> ColumnElement[bool]:
    """``column IN ids`` (``negated``: ``NOT IN``) for a set of ids that may be long: up to
    :data:`GROUP_LIST_MAX` as a list of values, above as one parameter (:class:`_InIds`); more than
    ``likely_above`` ids, one that most rows are in (:class:`_Likely`, but for ``NOT IN``)."""
    ids = frozenset(ids)
    if len(ids) <= GROUP_LIST_MAX:
        values = sorted(ids)
        condition = column.not_in(values) if negated else column.in_(values)
    else:
        condition = _InIds(column, bindparam(name, ids, type_=_IdList(), unique=True), negated)
    return condition if negated or len(ids) <= likely_above else _Likely(condition)


def in_groups(column, viewer: Viewer, *, negated: bool = False) -> ColumnElement[bool]:
    """``column`` (a group id) is one of the viewer's groups (``negated``: is none of them)."""
    return _in_group_ids(column, viewer.group_ids, negated=negated)


def _in_group_ids(column, group_ids, *, negated: bool = False) -> ColumnElement[bool]:
    return in_id_list(column, group_ids, negated=negated, name="viewer_groups", likely_above=FEW_GROUPS)


def group_fully_visible_to(group_id, viewer: Viewer) -> ColumnElement[bool]:
    """``group_id`` (a column naming a group: where a record is, was, or was assigned to) is a
    group whose records the viewer sees in full."""
    if not viewer.groups_enabled:
        return true()
    return in_groups(group_id, viewer)


def group_sums_visible_to(model, viewer: Viewer) -> ColumnElement[bool]:
    """Rows of a :class:`GroupSums` class (``model``) the viewer reads: those of the groups whose
    records they see in full. The very term the safety net looks for (:func:`_covered`): a
    statement holding it at the top of its WHERE gets no second copy."""
    if not viewer.groups_enabled:
        return true()
    return _shared_group_term(model, viewer.group_ids)


#: The record classes themselves (not aliases). The terms of their rules are made once per class
#: (and viewer's groups) and shared by every statement that says them: the safety net recognises
#: its own rule in a statement by identity (:func:`_covered`). Immutable expressions whose bound
#: values are the groups' ids: a cache of derived values, as :func:`_options_for` is.
_RECORD_CLASSES = frozenset(MODELS.values())


def _live_terms(model) -> tuple:
    return (model.deleted_at.is_(None), model.pending_import_id.is_(None))


_shared_live_terms = lru_cache(maxsize=None)(_live_terms)


@lru_cache(maxsize=4096)
def _shared_group_term(cls, group_ids: frozenset[int]) -> ColumnElement[bool]:
    # as a term of an AND: (a list's one parameter gets the boolean wrapper ``and_`` would give it
    # anew each time)
    return and_(_in_group_ids(cls.group_id, group_ids))


def not_trashed(model, *, fresh: bool = False) -> ColumnElement[bool]:
    """Records of ``model`` that exist: not in the recycle bin, and not pending (rows an import is
    still writing, see :class:`crm.records.models.RecordMixin`). Part of every predicate below,
    and so of the safety net: two ``IS NULL`` tests of the row itself, no join. (``fresh``: terms
    of its own, not the shared ones - for the net's options, which own their bound parameters.)"""
    return and_(*(_shared_live_terms(model) if _shares(model, fresh) else _live_terms(model)))


def _shares(model, fresh: bool) -> bool:
    return not fresh and model in _RECORD_CLASSES


def _rule(model, viewer: Viewer, *, restricted: bool, fresh: bool = False) -> ColumnElement[bool]:
    """:func:`fully_visible_to`, or with ``restricted`` :func:`visible_to`; ``fresh``: as in
    :func:`not_trashed`."""
    live = not_trashed(model, fresh=fresh)
    if not viewer.groups_enabled or (restricted and viewer.sees_restricted(_key(model))):
        return live
    groups = (_shared_group_term(model, viewer.group_ids) if _shares(model, fresh)
              else in_groups(model.group_id, viewer))
    return and_(live, groups)


def fully_visible_to(model, viewer: Viewer) -> ColumnElement[bool]:
    """Records of ``model`` (a record class or an alias of one) the viewer sees in full."""
    return _rule(model, viewer, restricted=False)


def visible_to(model, viewer: Viewer) -> ColumnElement[bool]:
    """Records of ``model`` the viewer sees at all (full or restricted)."""
    return _rule(model, viewer, restricted=True)


def restricted_to(model, viewer: Viewer) -> ColumnElement[bool]:
    """Records the viewer sees, but only restricted."""
    if not viewer.groups_enabled or not viewer.sees_restricted(_key(model)):
        return false()
    return and_(not_trashed(model), in_groups(model.group_id, viewer, negated=True))


def group_restricted_to(key: str, group_id, viewer: Viewer) -> ColumnElement[bool]:
    """``group_id`` (a column naming a group) is a group whose records of type ``key`` the viewer
    sees restricted only: :func:`restricted_to` for a group column rather than a record (counts
    per group, as the impact preview and the access review take them)."""
    if not viewer.groups_enabled or not viewer.sees_restricted(key):
        return false()
    return in_groups(group_id, viewer, negated=True)


def trashed_fully_visible_to(model, viewer: Viewer) -> ColumnElement[bool]:
    """Records in the recycle bin whose group the viewer sees in full (the recycle bin page, and
    a link to such a record, which reads "(deleted)" to this viewer and "hidden" to others).
    Statements with it must be :func:`unscoped` (the safety net hides the recycle bin)."""
    return and_(model.deleted_at.is_not(None), group_fully_visible_to(model.group_id, viewer))


def is_full_column(model, viewer: Viewer):
    """A boolean column for list queries: is this row fully visible?"""
    if not viewer.groups_enabled or not viewer.sees_restricted(_key(model)):
        return literal(True)
    return case((in_groups(model.group_id, viewer), True), else_=False)


def masked(model, viewer: Viewer, column):
    """``column`` for fully visible rows, NULL for restricted ones: for list columns and sort keys
    that a restricted row must not reveal (not even through its position in a sorted list)."""
    if not viewer.groups_enabled or not viewer.sees_restricted(_key(model)):
        return column
    return case((in_groups(model.group_id, viewer), column), else_=None)


#: Private aliases for the "attached to a visible record" subqueries: an alias that never appears
#: in a caller's query, so the EXISTS correlates to the attached row only (never to a records table
#: the caller happens to select from).
_OWNERS = {k: aliased(m, name=f"vis_{k}") for k, m in MODELS.items()}


def record_rule(model, viewer: Viewer, *, restricted: bool = False) -> ColumnElement[bool]:
    """THE rule for rows of a record class (or an alias of one) that everything scoped by the
    registry below goes back to: fully visible records; with ``restricted`` the ones the viewer
    sees restricted too. (A condition every record must meet belongs in :func:`visible_to` and
    :func:`fully_visible_to`, which this calls - as "not in the recycle bin" does.)"""
    return visible_to(model, viewer) if restricted else fully_visible_to(model, viewer)


def _owner_visible(key: str, fk, viewer: Viewer, *, restricted: bool = False,
                   per_row: bool = False) -> ColumnElement[bool]:
    """``fk`` points at a record of type ``key`` the viewer sees. A correlated EXISTS (one
    primary-key lookup per row) rather than ``fk IN (SELECT id ...)``, which databases build into
    a list of every visible record first: at a million records that is the slow part.

    PostgreSQL may still plan such an EXISTS as that list (a "hashed SubPlan": every visible
    record of the type read once, then each row looked up in it) when it expects many rows; with
    its default costs (a random page read priced as 400 rows) it does so for a hundred rows. With
    ``per_row`` the subquery is planned on its own (``OFFSET 0``, which PostgreSQL does not turn
    into a list), so each row costs one lookup by the primary key, however many records the viewer
    sees: for statements whose rows are few by their own conditions (one user's open tasks), and
    for the safety net's copy (:func:`_net_options`). The rows are the same; SQLite looks each row
    up anyway and gets the same SQL either way."""
    owner = _OWNERS[key]
    lookup = select(true()).where(owner.id == fk, record_rule(owner, viewer, restricted=restricted))
    return (lookup.suffix_with("OFFSET 0", dialect="postgresql") if per_row else lookup).exists()


# --------------------------------------------------------------------------------------------
# The registry: how every table is scoped
# --------------------------------------------------------------------------------------------
#
# Every mapped class and every Core table of ``db.metadata`` stands in SCOPES or CORE_TABLES below,
# with one of the kinds that follow. The safety net builds its criteria from these declarations,
# one function per kind; a class or table that is not declared is refused inside a request, and
# tests/test_safety_net.py (and app start with debug or testing on) fails on it. A new model
# registers here, next to its kind.

@dataclass(frozen=True)
class OwnGroup:
    """A record: its own ``group_id`` decides (companies, people, deals, projects)."""


@dataclass(frozen=True)
class Attached:
    """Belongs to a record through a ``<key>_id`` column per owner type in ``owners`` and follows
    it: visible while its record is fully visible.

    ``shown(cls, viewer, per_row)``: which of these rows a restricted record shows (only for statements
    that let restricted rows through, see :func:`restricted_rows`); ``also(cls, viewer, per_row)``: rows
    visible by a rule of their own, whatever their record."""

    owners: tuple[str, ...] = RECORD_KEYS
    shown: Callable | None = None
    also: Callable | None = None


@dataclass(frozen=True)
class KeyedBy:
    """Names its record by a type column and an id column, without a foreign key; otherwise like
    :class:`Attached`."""

    type_column: str = "record_type"
    id_column: str = "record_id"
    shown: Callable | None = None


@dataclass(frozen=True)
class Linked:
    """Shared by records through link classes (``links``: record key -> class with a ``<key>_id``
    and a ``column`` pointing here): a row exists for a viewer only while it is linked to a record
    the viewer fully sees. (A tag that sits only on hidden or restricted records does not.)"""

    links: Mapping[str, type]
    column: str


@dataclass(frozen=True)
class Owned:
    """Belongs to a user (``column``): visible to that user and to admins, never to anyone else."""

    column: str


@dataclass(frozen=True)
class PartOf:
    """Part of a row of another declared class (``parent``, through ``column``): visible with it."""

    parent: type
    column: str


@dataclass(frozen=True)
class GroupSums:
    """Sums over a group's records (``group_id``: the group): visible where the group's records are
    fully visible, as the records it adds up are. Each row names its group; the viewer's figure is
    the sum of the rows of the groups they see in full (:func:`group_sums_visible_to`)."""


@dataclass(frozen=True)
class NoRecordData:
    """Holds nothing of any record: not scoped. ``why`` says so for the reviewer."""

    why: str


Scope = OwnGroup | Attached | KeyedBy | Linked | Owned | PartOf | GroupSums | NoRecordData


def _private_task(cls, viewer: Viewer, per_row: bool = False) -> ColumnElement[bool]:
    """A task without a record: its creator's and its assignee's."""
    return and_(
        *(getattr(cls, f"{k}_id").is_(None) for k in RECORD_KEYS),
        or_(cls.created_by_id == viewer.user_id, cls.assignee_id == viewer.user_id),
    )


def _all_shared(viewer: Viewer) -> tuple[int, ...]:
    return tuple(sorted(set().union(*(viewer.shared_field_ids(k) for k in RECORD_KEYS))))


def _shared_values(cls, viewer: Viewer, per_row: bool = False) -> ColumnElement[bool]:
    """Values of the fields shared with the viewer: what a restricted record shows (a field is of
    one record type, so its id says the type)."""
    shared = _all_shared(viewer)
    if not shared:
        return false()
    # ... of a record the viewer sees at all (restricted, and not in the recycle bin)
    return and_(cls.field_id.in_(shared), or_(*(
        _owner_visible(k, getattr(cls, f"{k}_id"), viewer, restricted=True, per_row=per_row) for k in RECORD_KEYS)))


def _shown_search_docs(cls, viewer: Viewer, per_row: bool = False) -> ColumnElement[bool]:
    """The name and the shared fields of a restricted record: what it can be found by."""
    names = [k for k in RECORD_KEYS if viewer.sees_restricted(k)]
    if not names:
        return false()
    shown = or_(and_(cls.kind == "name", cls.record_type.in_(names)),
                and_(cls.kind == "field", cls.field_id.in_(_all_shared(viewer))))
    # ... of a record the viewer sees at all (restricted, and not in the recycle bin)
    return and_(shown, or_(*(and_(cls.record_type == k,
                                  _owner_visible(k, cls.record_id, viewer, restricted=True, per_row=per_row))
                             for k in names)))


SCOPES: dict[type, Scope] = {
    **{model: OwnGroup() for model in MODELS.values()},
    Note: Attached(),
    Task: Attached(also=_private_task),
    Attachment: Attached(),
    ContactDetail: Attached(owners=("company", "person")),
    CustomFieldValue: Attached(shown=_shared_values),
    **{link: Attached(owners=(key,)) for key, link in TAG_LINKS.items()},
    Tag: Linked(TAG_LINKS, "tag_id"),
    # a record's change history: only with the record in full (a restricted record shows none of
    # it, not even a shared field's old values: crm/history/models.py)
    RecordEvent: Attached(),
    FieldChange: PartOf(RecordEvent, "event_id"),
    SearchDoc: KeyedBy(shown=_shown_search_docs),
    # the board's figures added up per group (crm/pipeline/models.py)
    DealSum: GroupSums(),
    DealMonthSum: GroupSums(),
    # The audit log names records, groups and counts as they were; an import job holds its CSV
    # file (record data before it became records). Each is its author's and the admins'.
    AuditEntry: Owned("actor_id"),
    AssignmentChange: PartOf(AuditEntry, "audit_id"),
    ImportJob: Owned("user_id"),
    ImportItem: PartOf(ImportJob, "job_id"),
    # a queued job's parameters (ids, a list filter, a group) and its result (counts)
    Job: Owned("user_id"),
    # The one list of classes that hold no record data.
    User: NoRecordData("names, e-mail addresses and roles of the team: shown to every user "
                       "(responsible, assignee, author); no record field"),
    Group: NoRecordData("group names: a restricted record shows its group's name anyway"),
    Account: NoRecordData("the account name and the extension switches"),
    TypeDefault: NoRecordData("the group new records of a type go to: no record field"),
    HandOver: NoRecordData("which group's members may hand records over to which group: no record field"),
    CustomField: NoRecordData("field definitions (name, kind, options), never values"),
    SavedView: NoRecordData("a list filter a user saved (what they typed or picked): run as whoever "
                            "opens it; whose views one is offered is crm.listviews.services' rule"),
    RateCounter: NoRecordData("login throttle counters keyed by address and e-mail"),
    UserSession: NoRecordData("a login: its hashed id, user, times and browser name"),
    AssignmentRule: NoRecordData("where new records of a type go (conditions, a target group): no record field"),
    DealStage: NoRecordData("the pipeline's stages (name, order, probability, kind): the team's "
                            "vocabulary; which deal is in a stage is the deal's"),
    DealReason: NoRecordData("the won/lost reasons (name, outcome, order): the team's vocabulary; which "
                             "deal has a reason, and its note, is the deal's"),
}

#: Core tables of ``db.metadata`` that no class maps.
CORE_TABLES: dict[str, Scope] = {
    "group_members": NoRecordData("who is in which group: no record field"),
    "custom_field_shares": NoRecordData("which field is shared with which group: no record field"),
    "group_contacts": NoRecordData("whom to ask about a group's records: no record field"),
}


#: Private aliases of the link classes (:class:`Linked`) and the parents (:class:`PartOf`), made once.
_PRIVATE_ALIASES = {cls: aliased(cls, name=f"vis_{cls.__tablename__}") for cls in (
    *(link for scope in SCOPES.values() if isinstance(scope, Linked) for link in scope.links.values()),
    *(scope.parent for scope in SCOPES.values() if isinstance(scope, PartOf)))}

#: Every private alias of this module (``_OWNERS``, ``_PRIVATE_ALIASES``). They appear only inside the
#: ``EXISTS`` subqueries of the rules made here, next to their own rule for the alias (the record
#: fully visible - or seen at all in a restricted arm -, the link's record, the parent's criteria),
#: and never as a statement's own FROM: the safety net does not add its criteria to them a second
#: time. Whatever such a subquery lets through, the rows a statement returns are of its own FROMs,
#: which keep the net's criteria; before, the copies multiplied a tag's criteria into 145 bound
#: values on one detail page, and PostgreSQL multiplied its estimates by the repeated tests.
#: (Only these objects: an alias anyone else makes gets the criteria. So that the statement cache,
#: which keys an alias by its name, never serves a compiled statement made for one of these to a
#: statement with another alias in its place, ``_refuse_unscopable`` refuses other aliases named
#: ``vis_…`` and any select that reads one of these as a column, FROM or join.)
_PRIVATE = frozenset(sa_inspect(alias) for alias in (*_OWNERS.values(), *_PRIVATE_ALIASES.values()))


def unregistered() -> list[str]:
    """Mapped classes and Core tables that are declared nowhere (what the test and a debug start
    refuse)."""
    missing = [m.class_.__name__ for m in db.Model.registry.mappers if m.class_ not in SCOPES]
    mapped = {m.local_table.name for m in db.Model.registry.mappers}
    missing += [f"table {t}" for t in db.metadata.tables if t not in mapped and t not in CORE_TABLES]
    return sorted(missing)


def check_registry() -> None:
    missing = unregistered()
    if missing:
        raise RuntimeError(
            "Not declared in crm.visibility.SCOPES / CORE_TABLES (how is it scoped, or does it hold "
            "no record data?): " + ", ".join(missing))


def _free_tables() -> frozenset[str]:
    """Tables that Core statements may read inside a request: those that hold no record data."""
    names = {m.local_table.name for m in db.Model.registry.mappers
             if isinstance(SCOPES.get(m.class_), NoRecordData)}
    return frozenset(names | {n for n, s in CORE_TABLES.items() if isinstance(s, NoRecordData)})


# The criteria, one function per kind. ``restricted``: the statement lets restricted rows through;
# ``per_row``: each row's record is looked up by its key (see :func:`_owner_visible`).

def _own_group_criteria(cls, scope: OwnGroup, viewer: Viewer, restricted: bool, per_row: bool):
    return _rule(cls, viewer, restricted=restricted, fresh=True)  # (record_rule, with terms of its own)


def _attached_criteria(cls, scope: Attached, viewer: Viewer, restricted: bool, per_row: bool):
    arms = [_owner_visible(k, getattr(cls, f"{k}_id"), viewer, per_row=per_row) for k in scope.owners]
    if scope.also is not None:
        arms.append(scope.also(cls, viewer, per_row))
    if restricted and scope.shown is not None:
        arms.append(scope.shown(cls, viewer, per_row))
    return or_(*arms)


def _keyed_criteria(cls, scope: KeyedBy, viewer: Viewer, restricted: bool, per_row: bool):
    kind, rid = getattr(cls, scope.type_column), getattr(cls, scope.id_column)
    arms = [and_(kind == k, _owner_visible(k, rid, viewer, per_row=per_row)) for k in RECORD_KEYS]
    if restricted and scope.shown is not None:
        arms.append(scope.shown(cls, viewer, per_row))
    return or_(*arms)


def _linked_criteria(cls, scope: Linked, viewer: Viewer, restricted: bool, per_row: bool):
    arms = []
    for key, link in scope.links.items():
        ref = _PRIVATE_ALIASES[link]
        arms.append(exists().where(getattr(ref, scope.column) == cls.id,
                                   _owner_visible(key, getattr(ref, f"{key}_id"), viewer, per_row=per_row)))
    return or_(*arms)


def _owned_criteria(cls, scope: Owned, viewer: Viewer, restricted: bool, per_row: bool):
    return true() if viewer.is_admin else getattr(cls, scope.column) == viewer.user_id


def _part_of_criteria(cls, scope: PartOf, viewer: Viewer, restricted: bool, per_row: bool):
    parent = _PRIVATE_ALIASES[scope.parent]
    rule = criteria_for(parent, viewer, restricted=restricted, per_row=per_row)
    return exists().where(parent.id == getattr(cls, scope.column), rule)


def _group_sums_criteria(cls, scope: GroupSums, viewer: Viewer, restricted: bool, per_row: bool):
    return group_fully_visible_to(cls.group_id, viewer)  # (terms of its own, as the net's options own theirs)


_KINDS = {
    OwnGroup: _own_group_criteria,
    Attached: _attached_criteria,
    KeyedBy: _keyed_criteria,
    Linked: _linked_criteria,
    Owned: _owned_criteria,
    PartOf: _part_of_criteria,
    GroupSums: _group_sums_criteria,
}


def criteria_for(cls, viewer: Viewer, *, restricted: bool = False, declared=None,
                 per_row: bool = False) -> ColumnElement[bool]:
    """The rows of ``cls`` (a declared class or an alias of one) the viewer may read, as its
    declaration says; what the safety net adds to every query of it. (``declared``: the class,
    when ``cls`` is a stand-in for it that cannot be inspected; ``per_row``: see
    :func:`_owner_visible`.)"""
    scope = SCOPES[declared or sa_inspect(cls).mapper.class_]
    if isinstance(scope, NoRecordData):
        return true()
    return _KINDS[type(scope)](cls, scope, viewer, restricted, per_row)


def note_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    return criteria_for(Note, viewer)


def attachment_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Files of fully visible records; nothing of a restricted or hidden one."""
    return criteria_for(Attachment, viewer)


def task_visible_to(viewer: Viewer, *, per_row: bool = False) -> ColumnElement[bool]:
    """Tasks of fully visible records, and one's own tasks without a record. (``per_row``: for a
    statement whose tasks are few by its own conditions - one user's open ones -, see
    :func:`_owner_visible`.)"""
    return criteria_for(Task, viewer, per_row=per_row)


def field_value_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Custom field values: all of a fully visible record, the shared ones of restricted ones."""
    return criteria_for(CustomFieldValue, viewer, restricted=True)


def tag_visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """Tags on at least one record the viewer fully sees. A tag only on hidden or restricted
    records is one of their hidden fields: for this viewer it does not exist (its name, spelling
    and links), however it is looked up (filter choices, a name typed into a form or the API).
    The same rule as the safety net's for :class:`Tag` (its declaration in :data:`SCOPES`)."""
    return criteria_for(Tag, viewer)


# --------------------------------------------------------------------------------------------
# The request-scoped safety net
# --------------------------------------------------------------------------------------------

class Unscoped(Exception):
    """A statement inside a request reads what the safety net cannot scope (a Core table holding
    record data, SQL text, an undeclared class): use the predicates and :func:`unscoped`, or an
    ORM select."""


def unscoped(statement, *, keep_criteria: bool = False):
    """Opt a statement out of the safety net; the caller applies the predicates itself and is
    responsible for what it shows. Grep-able on purpose.

    ``keep_criteria=True`` lifts only the refusal of Core tables and SQL text (a statement that
    reads them on purpose, with its predicates written out): the ORM criteria still apply. It
    also works on a select that becomes part of a bigger statement (a subquery); the full
    opt-out only on the statement that is executed."""
    if keep_criteria:
        return statement._annotate({_UNSCOPED: "core"}).execution_options(**{_UNSCOPED: "core"})
    return statement.execution_options(**{_UNSCOPED: True})


def restricted_rows(statement):
    """Let rows the viewer sees restricted through the safety net (``visible_to`` instead of
    ``fully_visible_to``, and what a restricted record shows of its field values and search
    docs). Only for column selects that show such rows as restricted - the name, the group and
    :func:`masked` columns -, never for loading objects: the net refuses it there."""
    return statement.execution_options(**{_RESTRICTED: True})


def plain_rows(statement):
    """A column select whose rows come as the database driver returns them (the result of
    ``Connection.execute``), without the ORM's work per row - building every row a second time
    from its columns, a fifth of a 50,000-row CSV export's time. The statement executed is the
    one the safety net made (its criteria added as for any other select); only the rows skip the
    ORM. For column selects of many rows; the net refuses it for objects."""
    return statement.execution_options(**{_PLAIN: True})


class _Criteria(LoaderCriteriaOption):
    """``with_loader_criteria`` with a plain expression, adapted to every alias of the class.

    Plain expressions, not lambdas: the statement cache keys them by their structure and binds
    the viewer's values (group ids, user id, field ids) as parameters, so nothing of one user is
    frozen into the cache for the next; a lambda would have to make the per-class structure of
    the registry from its closure, which the lambda cache cannot key. SQLAlchemy adapts a plain
    expression to an alias in the WHERE clause but not in a join's ON clause: done here for both
    (adapting twice changes nothing)."""

    __slots__ = ("_kontor_key",)
    _traverse_internals = LoaderCriteriaOption._traverse_internals  # (the statement cache's key)

    def _resolve_where_criteria(self, ext_info):
        if ext_info.is_aliased_class and ext_info in _PRIVATE:
            return true()  # (see _PRIVATE)
        crit = super()._resolve_where_criteria(ext_info)
        return ext_info._adapter.traverse(crit) if ext_info.is_aliased_class else crit

    def _gen_cache_key(self, am, bindparams):
        """This option's part of a statement's cache key, worked out once: SQLAlchemy walks every
        option of a statement on every execution to key its compiled form, and the net adds one per
        declared class to every statement - a quarter of a page's time, with the group system on or
        off (measured: ``bench/NOTES.md``, "The safety net's options keyed once").

        The key is made in an ``anon_map`` of its own, so it describes this option alone, and the
        option's bound parameters go into the statement's list in the same order on every use. It
        is only correct because the option is immutable and its expression objects (bound
        parameters above all) belong to it alone: :func:`_net_options` builds them, and no statement
        shares them. An option that SQLAlchemy cannot key, or that carries ``params()``, is walked
        as before every time. (A relationship load carries the options twice - propagated from the
        statement that loaded the parent, and the net's again -, each keyed in full: equal keys,
        so the values of the last, the net's for the request's viewer, are the ones bound.)"""
        try:
            key = self._kontor_key
        except AttributeError:
            own: list = []
            names = anon_map()
            key = super()._gen_cache_key(names, own)
            key = self._kontor_key = None if NO_CACHE in names or CacheConst.PARAMS in names else (key, tuple(own))
        if key is None:
            return super()._gen_cache_key(am, bindparams)
        bindparams.extend(key[1])
        return key[0]


def access_fingerprint(viewer: Viewer) -> str:
    """A digest of everything a viewer's access depends on (role, groups, shared fields, the group
    system switch): something made for this viewer (an export's file) stays theirs only while it
    is unchanged."""
    parts = [viewer.user_id, viewer.role, viewer.groups_enabled, sorted(viewer.group_ids),
             sorted((key, sorted(ids)) for key, ids in viewer.shared_fields.items())]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _viewer_key(viewer: Viewer | None):
    """Everything the net's criteria depend on, as a hashable value."""
    if viewer is None:
        return None
    return (viewer.user_id, viewer.role, viewer.groups_enabled, viewer.group_ids,
            tuple(sorted(viewer.shared_fields.items())))


@lru_cache(maxsize=1024)
def _options_for(key, restricted: bool) -> tuple:
    """The net's options for a viewer, built once per kind of viewer and process, not per request:
    building them for every declared class costs more than many a query. They are immutable and
    hold plain values only (a cache of derived values: nothing another app server would need)."""
    viewer = None if key is None else Viewer(key[0], key[1], key[2], key[3], dict(key[4]))
    return tuple(_net_options(viewer, restricted))


def _net_options(viewer: Viewer | None, restricted: bool) -> list:
    """Loader criteria for one request, from the registry (see :class:`_Criteria`).

    The rules of rows that follow a record look the record up per row (``per_row``, see
    :func:`_owner_visible`): the net's copy stands after a statement's own rule, which the planner
    costs the same and tests first, so it is asked only for the rows that rule let through - or,
    in a statement without a rule of its own (a relationship's load, ``Session.get``), for rows
    found by a key. Planned as a list of every visible record instead, the net's copy of the task
    rule alone took 35 ms of the home page of a user in 200 groups on PostgreSQL (100k people)."""
    opts = []
    for cls, scope in SCOPES.items():
        if isinstance(scope, NoRecordData):
            continue
        where = false() if viewer is None else criteria_for(cls, viewer, restricted=restricted, per_row=True)
        if isinstance(scope, OwnGroup) and not isinstance(where, True_ | False_):
            where = _NetCopy(where)
        if not isinstance(where, True_):
            opts.append(_Criteria(cls, where, include_aliases=True))
    return opts


def _base_table(from_):
    while isinstance(from_, Alias) and not isinstance(from_, (Subquery, CTE)):
        from_ = from_.element
    return from_


def _entity_tables(select_) -> frozenset[str]:
    """Tables a select reads through their mapped class (selected or joined, not aliased): a Core
    column of one of them in this select (or a subquery correlated to it) names the same FROM,
    which carries the criteria - as in the primary key clause of ``Session.get()``."""
    names = set()
    joined = [join[0] for join in select_._setup_joins]
    for el in (*select_._raw_columns, *select_._from_obj, *joined):
        entity = getattr(el, "_annotations", {}).get("parententity")
        if entity is not None and not entity.is_aliased_class:
            names.add(entity.mapper.local_table.name)
    return frozenset(names)


def _refuse_private_froms(select_) -> None:
    """The module's private aliases stand only inside its rules, in the WHERE of an ``EXISTS`` next
    to their own rule (see ``_PRIVATE``): a select that names one as a column, a FROM or a join is
    refused. Together with the reserved names this keeps the net's skip of those aliases to the
    rules: a statement the cache could take for one holding them must hold the same objects."""
    for el in (*select_._raw_columns, *select_._from_obj, *(join[0] for join in select_._setup_joins)):
        entity = getattr(el, "_annotations", {}).get("parententity")
        if entity is not None and entity in _PRIVATE:
            raise Unscoped(f"{entity.name!r} is a private alias of crm.visibility's rules")


#: The words a select inside a request may carry before or after it (``prefix_with``,
#: ``suffix_with``): planner keywords that read nothing.
_KEYWORDS = frozenset({"OFFSET 0", "MATERIALIZED", "NOT MATERIALIZED"})


def _values_data(el) -> list:
    """The expressions inside a ``VALUES`` list (rows of values, each a subquery perhaps), which
    ``get_children()`` does not yield."""
    return [v for rows in el._data for row in rows for v in row if isinstance(v, ClauseElement)]


def _refuse_unscopable(statement) -> None:
    """Raise :class:`Unscoped` if the statement reads a table other than through its mapped class
    (with the loader criteria) - unless the table holds no record data -, SQL text, or a class
    that is not declared. Walks the whole statement: subqueries, CTEs, unions, EXISTS."""
    free = _free_tables()
    stack, seen = [(statement, frozenset())], set()
    while stack:
        el, through_class = stack.pop()
        if id(el) in seen:
            continue
        seen.add(id(el))
        annotations = getattr(el, "_annotations", {})
        if annotations.get(_UNSCOPED):
            continue  # a part marked unscoped(..., keep_criteria=True)
        entity = annotations.get("parententity")
        if entity is not None and isinstance(el, (ColumnClause, FromClause)):
            if entity.mapper.class_ not in SCOPES:
                raise Unscoped(f"{entity.mapper.class_.__name__} is not declared in crm.visibility.SCOPES")
            if entity.is_aliased_class and (entity.name or "").startswith("vis_") and entity not in _PRIVATE:
                raise Unscoped(f"alias {entity.name!r}: names starting with 'vis_' are crm.visibility's own")
            continue  # through its class: the loader criteria apply
        if isinstance(el, TextClause):
            raise Unscoped("SQL text inside a request: use a select, or the predicates and unscoped()")
        if isinstance(el, ColumnClause):
            if el.is_literal and el.table is None and el.name != "*":
                raise Unscoped(f"literal SQL {el.name!r} inside a request: use the predicates and unscoped()")
            if isinstance(el.table, TableClause) and el.table.name in through_class:
                continue
            if el.table is not None:
                stack.append((el.table, through_class))
            continue
        if isinstance(el, FromClause):
            base = _base_table(el)
            if isinstance(base, TableClause):
                if base.name not in free:
                    raise Unscoped(f"table {base.name!r} read without its class inside a request: "
                                   "use an ORM select, or the predicates and unscoped()")
                continue
        for words in (getattr(el, "_prefixes", ()), getattr(el, "_suffixes", ())):
            for word, _dialect in words:
                # planner keywords (the rules' OFFSET 0), never a read: any other text is refused
                if not (isinstance(word, TextClause) and " ".join(word.text.upper().split()) in _KEYWORDS):
                    raise Unscoped(f"{str(word)!r} before or after a select inside a request: only "
                                   f"{', '.join(sorted(_KEYWORDS))}; else the predicates and unscoped()")
                seen.add(id(word))
        if isinstance(el, Select):
            _refuse_private_froms(el)
            # the FROMs written out, not the ones a select derives from its columns: a column of a
            # class brings its table along (and the criteria with it)
            inner = through_class | _entity_tables(el)
            stack.extend((child, inner) for child in super(Select, el).get_children(omit_attrs=("_from_obj",)))
            stack.extend((child, inner) for child in el._from_obj)
        else:
            stack.extend((child, through_class) for child in el.get_children())
            if isinstance(el, Values | ScalarValues):
                stack.extend((value, through_class) for value in _values_data(el))


def _only_columns(statement, refusal: str) -> None:
    for desc in getattr(statement, "column_descriptions", ()):
        if desc.get("entity") is not None and desc.get("expr") is desc.get("entity"):
            raise Unscoped(refusal)


def _scope(state: ORMExecuteState):
    """The session's ``do_orm_execute`` hook: the net (:func:`_net`), then, for
    :func:`plain_rows`, the statement it made executed on the session's connection."""
    _net(state)
    if state.execution_options.get(_PLAIN):
        _only_columns(state.statement, "plain_rows() is for column selects: objects come from the ORM's result")
        conn = state.session.connection(bind_arguments=state.bind_arguments)
        return conn.execute(state.statement, state.parameters, execution_options=state.local_execution_options)
    return None


def _net(state: ORMExecuteState) -> None:
    if state.is_column_load:
        return
    opt_out = state.execution_options.get(_UNSCOPED)
    if opt_out is True:
        return
    if not has_request_context():
        return  # command line, migrations, tests working below the web layer
    statement = state.statement
    if isinstance(statement, TextClause):
        if opt_out is None:
            raise Unscoped("SQL text inside a request: use a select, or the predicates and unscoped()")
        return
    if not state.is_select:
        return  # INSERT/UPDATE/DELETE: not covered; they use the predicates explicitly
    if opt_out is None and not state.is_relationship_load:
        _refuse_unscopable(statement)
    restricted = bool(state.execution_options.get(_RESTRICTED))
    if restricted:
        _only_columns(statement, "restricted_rows() is for column selects: a restricted record is loaded "
                                 "by its projection (crm.records.loaders), never as an object")
    viewer = g.get("viewer")
    cached = g.get("_kontor_net")
    if cached is None or cached[0] is not viewer:
        # built once per request and viewer (the options are immutable and hold plain values only)
        cached = g._kontor_net = (viewer, {})
    if restricted not in cached[1]:
        key = _viewer_key(viewer)
        cached[1][restricted] = (_options_for(key, restricted), _rules_for(key, restricted))
    options, rules = cached[1][restricted]
    covered = _covered(statement, rules)
    if covered:
        options = tuple(opt for opt in options if opt.entity.class_ not in covered)  # (entity: the mapper)
    state.statement = statement.options(*options)


# The rule once. A list says ``fully_visible_to(Deal, viewer)`` itself (crm.visibility's rule 1), and
# the net adds the same rule again: on SQLite every row the list's rule lets through is tested a
# second time (the pipeline's sums of a user in 200 groups: 25 ms of which the copy 12, 100k
# people). Where the statement's own rule is provably the net's, the copy is left out.

def _conjuncts(clauses) -> list:
    """The terms of an AND (nested ANDs taken apart)."""
    out: list = []
    for clause in clauses:
        if isinstance(clause, BooleanClauseList) and clause.operator is operators.and_:
            out.extend(_conjuncts(clause.clauses))
        else:
            out.append(clause)
    return out


@lru_cache(maxsize=1024)
def _rules_for(key, restricted: bool) -> Mapping:
    """Record class (and sums class) -> the terms of the net's rule for it (:func:`record_rule`,
    :func:`group_sums_visible_to`), for a kind of viewer (:func:`_viewer_key`): the shared terms
    the predicates put into statements. None without a viewer, whose net lets no record through."""
    if key is None:
        return {}
    viewer = Viewer(key[0], key[1], key[2], key[3], dict(key[4]))
    rules = {cls: tuple(_conjuncts([record_rule(cls, viewer, restricted=restricted)]))
             for cls, scope in SCOPES.items() if isinstance(scope, OwnGroup)}
    rules.update({cls: tuple(_conjuncts([group_sums_visible_to(cls, viewer)]))
                  for cls, scope in SCOPES.items() if isinstance(scope, GroupSums) and viewer.groups_enabled})
    return rules


def _ands_rule(select_: Select, terms: tuple) -> bool:
    """The select's WHERE is an AND holding each of ``terms``, the very objects."""
    where = _conjuncts(select_._where_criteria)
    return all(any(term is w for w in where) for term in terms)


def _classes_of(target) -> set:
    """The mapped class a join's target names itself (a relationship, or the table of a class or
    an alias, as a statement holds them); none otherwise."""
    prop = getattr(target, "property", None)
    if prop is not None and hasattr(prop, "mapper"):
        return {prop.mapper.class_}
    entity = getattr(target, "_annotations", {}).get("parententity")
    return {entity.mapper.class_} if entity is not None else set()


def _outer_side(target) -> set | None:
    """The classes on the outer side of an outer join whose copy must stay: the class joined, or
    none for a subquery (its own selects are judged as they are); ``None`` - keep every copy -
    for anything else (a join of several, say)."""
    while isinstance(target, FromGrouping):
        target = target.element
    classes = _classes_of(target)
    if classes:
        return classes
    return set() if isinstance(target, Subquery | CTE) else None


def _covered(statement, rules: Mapping) -> frozenset:
    """The record classes of ``statement`` whose net copy would change no row: every select that
    names the class (a column, a FROM, a join, a correlated reference) ANDs at the top of its own
    WHERE each term of the net's rule for it (``rules``), and no alias of the class stands anywhere.
    A row of the class then reaches the result only through a select that tested the net's very
    rule on that row - the class itself, not an alias, is what its own select's columns name -, so
    the copy is left out. The terms are recognised as the objects the predicates share
    (:data:`_RECORD_CLASSES`): an equal expression made otherwise keeps the copy.

    Anything else keeps the copy: the rule under an OR or a NOT, in an ON or a HAVING, for another
    viewer or another level; a subquery naming the class without it; an alias; the class on the
    outer side of an outer join (the net's copy stands in the ON clause there, and a rule without
    the group's term - the group system off - lets the join's empty side through the WHERE); a
    statement with loader options of its own (a joined eager load adds an alias only at compile
    time). A full join or a ``VALUES`` list (whose subqueries ``get_children()`` does not yield)
    keeps every copy."""
    if not rules or not isinstance(statement, Select) or statement._with_options:
        return frozenset()
    named: dict[int, tuple[Select, set]] = {}
    excluded: set = set()
    stack: list = [(statement, statement)]
    seen: set = set()
    while stack:
        el, owner = stack.pop()
        if (id(el), id(owner)) in seen:
            continue
        seen.add((id(el), id(owner)))
        if not isinstance(el, ClauseElement):
            el = el.__clause_element__()  # an attribute a custom element holds (the groups' IN)
        if isinstance(el, Values | ScalarValues):
            return frozenset()
        if isinstance(el, Select):
            owner = el
            named.setdefault(id(el), (el, set()))
            for target, _on, _from, flags in el._setup_joins:
                if flags.get("full"):
                    return frozenset()
                if flags.get("isouter"):
                    outer = _outer_side(target)
                    if outer is None:
                        return frozenset()
                    excluded.update(outer)
        elif isinstance(el, Join):
            if el.full:
                return frozenset()
            if el.isouter:
                outer = _outer_side(el.right)
                if outer is None:
                    return frozenset()
                excluded.update(outer)
        entity = el._annotations.get("parententity")
        if entity is not None:
            if entity.mapper.class_ in rules:
                if entity.is_aliased_class:
                    if entity not in _PRIVATE:  # (the net's own aliases never get its criteria)
                        excluded.add(entity.mapper.class_)
                else:
                    named[id(owner)][1].add(entity.mapper.class_)
            if isinstance(el, ColumnClause | TableClause) and not entity.is_aliased_class:
                continue  # a class's own column or table: nothing below it
        stack.extend((child, owner) for child in el.get_children())
    covered = set()
    for cls, terms in rules.items():
        selects = [sel for sel, classes in named.values() if cls in classes]
        if selects and cls not in excluded and all(_ands_rule(sel, terms) for sel in selects):
            covered.add(cls)
    return frozenset(covered)


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


def access_report(key: str, group_id: int, viewer: Viewer, *, everyone: bool = True) -> list[AccessLine]:
    """For a record of type ``key`` in ``group_id``: who sees it at which level, and why
    (product.md §8). An admin gets every active user's line (unless ``everyone`` is False: a record
    they see restricted); anyone else only their own line, with nothing about other users or
    shares with groups they are not in."""
    names = dict(db.session.execute(unscoped(select(Group.id, Group.name))).all())
    fields = dict(db.session.execute(unscoped(select(CustomField.id, CustomField.name))).all())
    share_groups: dict[int, set[int]] = {}
    for fid, gid in db.session.execute(unscoped(select(custom_field_shares.c.field_id,
                                                        custom_field_shares.c.group_id))):
        share_groups.setdefault(fid, set()).add(gid)
    if viewer.is_admin and everyone:
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
