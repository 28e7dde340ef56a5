"""The home page's activity stream: notes, created and changed records, group assignments - only of
what the user fully sees.

Events come from four kinds of sources (notes, each record table, the audit log's group
assignments), each read newest first by an indexed timestamp and narrowed in SQL by the
visibility predicates. The pages are cut by a *keyset* cursor ``(time, source, id)``, a strict
total order: "load more" continues exactly after the last event shown, so events with equal
timestamps are neither skipped nor repeated, however many share a timestamp.

A record appears once, at its last change ("created" if it was never changed after creation).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, literal, or_, select, union_all

from ..audit.models import AuditEntry
from ..auth.models import User
from ..extensions import db
from ..notes.models import Note
from ..records.types import TYPES, RecordType, display_name_column
from ..visibility import Viewer, fully_visible_to, group_fully_visible_to, unscoped

PAGE = 20

#: the sources, in the order of the cursor's second part (ties on time go by source, then id)
NOTE_SOURCE = 0
RECORD_SOURCES = {key: i + 1 for i, key in enumerate(TYPES)}
ASSIGN_SOURCE = len(TYPES) + 1


@dataclass(frozen=True)
class Cursor:
    at: datetime
    source: int
    id: int

    def token(self) -> str:
        return f"{self.at.isoformat()}_{self.source}_{self.id}"

    @classmethod
    def parse(cls, token: str | None) -> Cursor | None:
        try:
            at, source, ident = (token or "").rsplit("_", 2)
            cursor = cls(datetime.fromisoformat(at), int(source), int(ident))
        except ValueError:
            return None
        if cursor.at.tzinfo is not None or not (0 <= cursor.source <= ASSIGN_SOURCE and 0 <= cursor.id < 2**31):
            return None  # not one we made
        return cursor


@dataclass(frozen=True)
class NoteText:
    id: int
    kind: str
    body: str


@dataclass
class Event:
    at: datetime
    kind: str  # note / created / changed / assigned
    who: str | None
    cursor: Cursor
    rtype: RecordType | None = None
    record_id: int | None = None
    name: str | None = None
    note: NoteText | None = None
    details: dict | None = None


@dataclass
class Batch:
    """Events shown together: one event, or a run of records one person created or changed in a row
    (an import, a bulk change)."""

    events: list[Event] = field(default_factory=list)

    @property
    def first(self) -> Event:
        return self.events[0]


def _after(column, id_column, source: int, cursor: Cursor | None):
    """Rows of ``source`` that come after the cursor in the order (time desc, source desc, id desc)."""
    if cursor is None:
        return None
    if source < cursor.source:
        return column <= cursor.at
    if source > cursor.source:
        return column < cursor.at
    return and_(column <= cursor.at, or_(column < cursor.at, id_column < cursor.id))


def _where(stmt, *conds):
    conds = [c for c in conds if c is not None]
    return stmt.where(*conds) if conds else stmt


def _union(arms: list):
    """One statement of several ordered, limited selects (SQLite wants each in a subquery)."""
    return union_all(*[select(arm.subquery()) for arm in arms]).subquery()


def _notes(viewer: Viewer, cursor: Cursor | None, limit: int) -> list[Event]:
    """Notes of fully visible records, newest first, in one pass over the notes' time index: each
    note read is tested by a lookup of its record - a correlated scalar subquery, which neither
    planner can turn into "all visible records first" (a join SQLite may reorder; an EXISTS
    PostgreSQL may hash over every visible record)."""
    notes = Note.__table__  # the columns only: the record test below is the visibility rule
    visible, names = [], []
    for rtype in TYPES.values():
        model = rtype.model
        fk = notes.c[f"{rtype.key}_id"]
        seen = select(literal(1)).where(model.id == fk, fully_visible_to(model, viewer)).scalar_subquery()
        visible.append(and_(fk.is_not(None), seen.is_not(None)))
        names.append(select(display_name_column(rtype)).where(model.id == fk).scalar_subquery())
    record_key = case(*((notes.c[f"{k}_id"].is_not(None), k) for k in TYPES))
    record_id = func.coalesce(*(notes.c[f"{k}_id"] for k in TYPES))
    stmt = (
        select(notes.c.id, notes.c.created_at, notes.c.kind, notes.c.body, record_key, record_id,
               func.coalesce(*names), User.name)
        .outerjoin(User, User.id == notes.c.author_id)
        .where(or_(*visible))
        .order_by(notes.c.created_at.desc(), notes.c.id.desc())
        .limit(limit)
    )
    stmt = _where(stmt, _after(notes.c.created_at, notes.c.id, NOTE_SOURCE, cursor))
    return [
        Event(at, "note", who, Cursor(at, NOTE_SOURCE, nid), TYPES[key], rid, name, note=NoteText(nid, kind, body))
        # Core on purpose (the rule is written out above, once per note): so outside the net
        for nid, at, kind, body, key, rid, name, who in db.session.execute(unscoped(stmt))
    ]


#: up to this many groups, the stream reads records per group (see :func:`_records`)
PER_GROUP_ARMS = 8


def _records(viewer: Viewer, cursor: Cursor | None, limit: int) -> list[Event]:
    """Records by their last change, per type newest first, merged and cut in SQL.

    A user in a few groups may see a small share of all records: then one arm per type and group
    (the index on (group, last change) hands over the newest ``limit`` of each by itself). A user
    in more than :data:`PER_GROUP_ARMS` groups gets one arm per type, walking the (last change, id)
    index and testing each row's group: such a user sees a large share, and per-group arms would
    make the statement grow with the groups twice over (each arm repeats the viewer's group list:
    at 200 groups more parameters than a database accepts)."""
    arms = []
    if viewer.groups_enabled and len(viewer.group_ids) <= PER_GROUP_ARMS:
        groups = sorted(viewer.group_ids)
    else:
        groups = [None]
    for rtype in TYPES.values():
        model = rtype.model
        table = model.__table__  # the columns only: the visibility test is the one below
        source = RECORD_SOURCES[rtype.key]
        for group_id in groups:
            arm = (
                select(literal(source).label("source"), table.c.id,
                       display_name_column(rtype, table.c).label("name"), table.c.created_at.label("created"),
                       table.c.updated_at.label("at"), User.name.label("who"))
                .select_from(table)
                .outerjoin(User, User.id == table.c.updated_by_id)
                .order_by(table.c.updated_at.desc(), table.c.id.desc())
                .limit(limit)
            )
            in_group = None if group_id is None else table.c.group_id == group_id
            arms.append(_where(arm, in_group, fully_visible_to(model, viewer),
                               _after(table.c.updated_at, table.c.id, source, cursor)))
    merged = _union(arms)
    stmt = select(merged).order_by(merged.c.at.desc(), merged.c.source.desc(), merged.c.id.desc()).limit(limit)
    by_source = {RECORD_SOURCES[k]: t for k, t in TYPES.items()}
    events = []
    # Core on purpose (each arm carries fully_visible_to): so outside the net
    for r in db.session.execute(unscoped(stmt)):
        kind = "created" if r.created and r.at and abs((r.at - r.created).total_seconds()) < 1 else "changed"
        events.append(Event(r.at, kind, r.who, Cursor(r.at, r.source, r.id), by_source[r.source], r.id, r.name))
    return events


def _assignments(viewer: Viewer, cursor: Cursor | None, limit: int) -> list[Event]:
    """Group assignments into a group the user is a member of (whose records the user now sees).
    Without the group system there are no groups to show."""
    if not viewer.groups_enabled:
        return []
    target = AuditEntry.details["group_id"].as_integer()
    stmt = (
        unscoped(select(AuditEntry))
        .where(AuditEntry.action == "group_assigned", group_fully_visible_to(target, viewer))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    stmt = _where(stmt, _after(AuditEntry.at, AuditEntry.id, ASSIGN_SOURCE, cursor))
    return [
        Event(e.at, "assigned", e.actor.name if e.actor else None, Cursor(e.at, ASSIGN_SOURCE, e.id),
              details=e.details)
        for e in db.session.scalars(stmt)
    ]


def activity(viewer: Viewer, cursor: Cursor | None = None, limit: int = PAGE, *,
             notes: int | None = None) -> tuple[list[Event], Cursor | None]:
    """One page of events, newest first, and the cursor of the next page (None at the end).

    Each source returns at most ``limit + 1`` events after the cursor; merged, the first ``limit``
    are exactly the next events of the whole stream. ``notes``: read at most this many notes
    (see :func:`page`) - then the events are exact only up to the last note read."""
    events = _notes(viewer, cursor, min(limit, notes or limit) + 1) + _records(viewer, cursor, limit + 1) + \
        _assignments(viewer, cursor, limit + 1)
    events.sort(key=lambda e: (e.cursor.at, e.cursor.source, e.cursor.id), reverse=True)
    page = events[:limit]
    more = len(events) > limit
    return page, (page[-1].cursor if more and page else None)


def page(viewer: Viewer, cursor: Cursor | None = None, lines: int = PAGE) -> tuple[list[Batch], Cursor | None]:
    """One page of the stream as shown: ``lines`` lines, a run of records counting as one line.
    The next page starts right after the last event shown."""
    # A note is a line of its own: ``lines`` notes fill a page, so ``lines + 1`` are enough to
    # read. Were the notes cut short, the events up to the last note read are still exact, and
    # the page ends before it (that note would be line ``lines + 1``).
    events, next_cursor = activity(viewer, cursor, lines * 3, notes=lines)
    shown = batches(events)
    if len(shown) > lines:
        shown = shown[:lines]
        next_cursor = shown[-1].events[-1].cursor
    return shown, next_cursor


def batches(events: list[Event]) -> list[Batch]:
    """Runs of created/changed events of the same kind, type and person shown as one line."""
    out: list[Batch] = []
    for e in events:
        last = out[-1].first if out else None
        if (last is not None and e.kind in ("created", "changed") and last.kind == e.kind
                and last.rtype is e.rtype and last.who == e.who):
            out[-1].events.append(e)
        else:
            out.append(Batch([e]))
    return out
