"""The home page's activity stream: notes, created and changed records, group assignments, files
added - only of what the user fully sees.

Events come from four sources (notes, the records' change history - :mod:`crm.history` - the
audit log's group assignments, and the files attached to records), each read newest first by an
indexed timestamp and narrowed in SQL by the visibility predicates. The pages are cut by a
*keyset* cursor ``(time, source, id)``, a strict total order: "load more" continues exactly
after the last event shown, so events with equal timestamps are neither skipped nor repeated,
however many share a timestamp.

Every change of a record is an event of its own (created, changed, restored from the recycle
bin), not one line per record at its last change. A group assignment is one line from the audit
log (the history's per-record "assigned" events are not repeated here); once undone, it says so
with the time of the undo, as its entry in the audit log does (one rule for every undo: the line of
what was undone stays where it was and is marked undone - the records' own histories have the move
back as a change of its own).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, literal, or_, select

from ..audit.models import AuditEntry
from ..auth.models import User
from ..extensions import db
from ..files.models import Attachment
from ..history.models import RecordEvent
from ..notes.models import Note
from ..records.types import TYPES, RecordType, display_name_column
from ..visibility import Viewer, fully_visible_to, group_fully_visible_to, unscoped

PAGE = 20

#: the sources, in the order of the cursor's second part (ties on time go by source, then id)
NOTE_SOURCE = 0
RECORD_SOURCE = 1
ASSIGN_SOURCE = 2
FILE_SOURCE = 3
#: the change history's kinds the stream shows, as what it shows them as (a record in the recycle
#: bin is not fully visible, so its "deleted" never shows; an assignment comes from the audit log)
STREAM_KINDS = {"created": "created", "changed": "changed", "restored": "changed"}


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
        if cursor.at.tzinfo is not None or not (0 <= cursor.source <= FILE_SOURCE and 0 <= cursor.id < 2**31):
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
    kind: str  # note / created / changed / assigned / file
    who: str | None
    cursor: Cursor
    rtype: RecordType | None = None
    record_id: int | None = None
    name: str | None = None
    note: NoteText | None = None
    details: dict | None = None
    #: when what the line tells was undone (a group assignment: its audit entry's ``undone_at``)
    undone_at: datetime | None = None


@dataclass
class Batch:
    """Events shown together: one event, or a run of records one person created or changed in a row
    (an import, a bulk change)."""

    events: list[Event] = field(default_factory=list)

    @property
    def first(self) -> Event:
        return self.events[0]

    @property
    def records(self) -> list[Event]:
        """Each record of the run once, by its latest event: a record changed four times in a row
        is one record changed, not "4 companies changed: A, A, A, A"."""
        seen: set = set()
        out = []
        for e in self.events:
            key = (e.rtype.key if e.rtype else None, e.record_id)
            if key not in seen:
                seen.add(key)
                out.append(e)
        return out


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


def _of_visible_records(table, viewer: Viewer):
    """For rows of ``table`` attached to a record (notes, history events): the condition "its
    record is fully visible", and the columns record key, record id and display name. The test is
    a lookup of each row's record - a correlated scalar subquery, which neither planner can turn
    into "all visible records first" (a join SQLite may reorder; an EXISTS PostgreSQL may hash
    over every visible record) - so the rows are read in one pass over their time index."""
    visible, names = [], []
    for rtype in TYPES.values():
        model = rtype.model
        fk = table.c[f"{rtype.key}_id"]
        seen = select(literal(1)).where(model.id == fk, fully_visible_to(model, viewer)).scalar_subquery()
        visible.append(and_(fk.is_not(None), seen.is_not(None)))
        names.append(select(display_name_column(rtype)).where(model.id == fk).scalar_subquery())
    record_key = case(*((table.c[f"{k}_id"].is_not(None), k) for k in TYPES))
    record_id = func.coalesce(*(table.c[f"{k}_id"] for k in TYPES))
    return or_(*visible), record_key, record_id, func.coalesce(*names)


def _attached(table, at, author, columns, source: int, viewer: Viewer, cursor: Cursor | None, limit: int,
              *where) -> list:
    """Rows of ``table`` (attached to a record: notes, history events, files) whose record the
    viewer fully sees, newest first by ``at`` after the cursor, as ``(id, at, *columns, record key,
    record id, record name, author name)`` - in one pass over the (time, id) index
    (:func:`_of_visible_records`)."""
    visible, record_key, record_id, name = _of_visible_records(table, viewer)
    stmt = (
        select(table.c.id, at, *columns, record_key, record_id, name, User.name)
        .outerjoin(User, User.id == author)
        .where(visible, *where)
        .order_by(at.desc(), table.c.id.desc())
        .limit(limit)
    )
    stmt = _where(stmt, _after(at, table.c.id, source, cursor))
    # Core on purpose (the rule is written out above, once per row): so outside the net
    return db.session.execute(unscoped(stmt)).all()


def _notes(viewer: Viewer, cursor: Cursor | None, limit: int) -> list[Event]:
    """Notes of fully visible records, newest first."""
    notes = Note.__table__  # the columns only: the record test is the visibility rule
    rows = _attached(notes, notes.c.created_at, notes.c.author_id, [notes.c.kind, notes.c.body], NOTE_SOURCE,
                     viewer, cursor, limit)
    return [Event(at, "note", who, Cursor(at, NOTE_SOURCE, nid), TYPES[key], rid, name,
                  note=NoteText(nid, kind, body))
            for nid, at, kind, body, key, rid, name, who in rows]


def _records(viewer: Viewer, cursor: Cursor | None, limit: int) -> list[Event]:
    """Every change of a fully visible record (its history's events), newest first."""
    events = RecordEvent.__table__  # the columns only: the record test is the visibility rule
    rows = _attached(events, events.c.at, events.c.actor_id, [events.c.kind], RECORD_SOURCE, viewer, cursor,
                     limit, events.c.kind.in_(list(STREAM_KINDS)))
    return [Event(at, STREAM_KINDS[kind], who, Cursor(at, RECORD_SOURCE, eid), TYPES[key], rid, rname)
            for eid, at, kind, key, rid, rname, who in rows]


def _files(viewer: Viewer, cursor: Cursor | None, limit: int) -> list[Event]:
    """Files added to fully visible records, newest first (a file deleted is gone from the stream
    too, as it is from its record)."""
    files = Attachment.__table__  # the columns only: the record test is the visibility rule
    rows = _attached(files, files.c.created_at, files.c.uploaded_by_id, [files.c.name], FILE_SOURCE, viewer,
                     cursor, limit)
    return [Event(at, "file", who, Cursor(at, FILE_SOURCE, fid), TYPES[key], rid, rname, details={"file": fname})
            for fid, at, fname, key, rid, rname, who in rows]


def _assignments(viewer: Viewer, cursor: Cursor | None, limit: int) -> list[Event]:
    """Group assignments into a group the user is a member of (whose records the user now sees).
    Without the group system there are no groups to show."""
    if not viewer.groups_enabled:
        return []
    target = AuditEntry.details["group_id"].as_integer()
    # (a bulk assignment that moved nothing - every record already there - is in the audit log only)
    moved = AuditEntry.details["undoable"].as_boolean()
    stmt = (
        unscoped(select(AuditEntry))
        .where(AuditEntry.action == "group_assigned", group_fully_visible_to(target, viewer),
               or_(moved.is_(None), moved.is_(True)))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    stmt = _where(stmt, _after(AuditEntry.at, AuditEntry.id, ASSIGN_SOURCE, cursor))
    return [
        Event(e.at, "assigned", e.actor.name if e.actor else None, Cursor(e.at, ASSIGN_SOURCE, e.id),
              details=e.details, undone_at=e.undone_at)
        for e in db.session.scalars(stmt)
    ]


def activity(viewer: Viewer, cursor: Cursor | None = None, limit: int = PAGE, *,
             notes: int | None = None) -> tuple[list[Event], Cursor | None]:
    """One page of events, newest first, and the cursor of the next page (None at the end).

    Each source returns at most ``limit + 1`` events after the cursor; merged, the first ``limit``
    are exactly the next events of the whole stream. ``notes``: read at most this many notes
    (see :func:`page`) - then the events are exact only up to the last note read."""
    events = _notes(viewer, cursor, min(limit, notes or limit) + 1) + _records(viewer, cursor, limit + 1) + \
        _assignments(viewer, cursor, limit + 1) + _files(viewer, cursor, limit + 1)
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
