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

from sqlalchemy import and_, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from ..audit.models import AuditEntry
from ..auth.models import User
from ..extensions import db
from ..notes.models import Note
from ..records.queries import display_name_column
from ..records.types import TYPES, RecordType
from ..visibility import Viewer, fully_visible_to, unscoped

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
            return cls(datetime.fromisoformat(at), int(source), int(ident))
        except ValueError:
            return None


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
    """Notes of fully visible records: per record type the notes joined to their record, newest
    first - so the group test is a lookup by primary key of each note read."""
    author = aliased(User)
    arms = []
    for i, rtype in enumerate(TYPES.values()):
        model = rtype.model
        fk = getattr(Note, f"{rtype.key}_id")
        arm = (
            select(literal(i).label("type_no"), Note.id.label("id"), Note.created_at.label("at"), Note.kind.label("kind"),
                   Note.body.label("body"), fk.label("record_id"), display_name_column(rtype).label("name"),
                   author.name.label("who"))
            .join(model, model.id == fk)
            .outerjoin(author, author.id == Note.author_id)
            .order_by(Note.created_at.desc(), Note.id.desc())
            .limit(limit)
        )
        arms.append(_where(arm, fully_visible_to(model, viewer), _after(Note.created_at, Note.id, NOTE_SOURCE, cursor)))
    types = list(TYPES.values())
    return [
        Event(r.at, "note", r.who, Cursor(r.at, NOTE_SOURCE, r.id), types[r.type_no], r.record_id, r.name,
              note=NoteText(r.id, r.kind, r.body))
        for r in db.session.execute(select(_union(arms)))
    ]


def _records(viewer: Viewer, cursor: Cursor | None, limit: int) -> list[Event]:
    """Records by their last change, per type newest first."""
    arms = []
    for rtype in TYPES.values():
        model = rtype.model
        source = RECORD_SOURCES[rtype.key]
        arm = (
            select(literal(source).label("source"), model.id.label("id"), display_name_column(rtype).label("name"),
                   model.created_at.label("created"), model.updated_at.label("at"), User.name.label("who"))
            .outerjoin(User, User.id == model.updated_by_id)
            .order_by(model.updated_at.desc(), model.id.desc())
            .limit(limit)
        )
        arms.append(_where(arm, fully_visible_to(model, viewer), _after(model.updated_at, model.id, source, cursor)))
    by_source = {RECORD_SOURCES[k]: t for k, t in TYPES.items()}
    events = []
    for r in db.session.execute(select(_union(arms))):
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
        .where(AuditEntry.action == "group_assigned", target.in_(sorted(viewer.group_ids)))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    stmt = _where(stmt, _after(AuditEntry.at, AuditEntry.id, ASSIGN_SOURCE, cursor))
    return [
        Event(e.at, "assigned", e.actor.name if e.actor else None, Cursor(e.at, ASSIGN_SOURCE, e.id),
              details=e.details)
        for e in db.session.scalars(stmt)
    ]


def activity(viewer: Viewer, cursor: Cursor | None = None, limit: int = PAGE) -> tuple[list[Event], Cursor | None]:
    """One page of events, newest first, and the cursor of the next page (None at the end).

    Each source returns at most ``limit + 1`` events after the cursor; merged, the first ``limit``
    are exactly the next events of the whole stream."""
    events = _notes(viewer, cursor, limit + 1) + _records(viewer, cursor, limit + 1) + \
        _assignments(viewer, cursor, limit + 1)
    events.sort(key=lambda e: (e.cursor.at, e.cursor.source, e.cursor.id), reverse=True)
    page = events[:limit]
    more = len(events) > limit
    return page, (page[-1].cursor if more and page else None)


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
