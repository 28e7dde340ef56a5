"""The home page's activity stream: notes, created and changed records, group assignments,
only of what the user fully sees."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..audit.models import AuditEntry
from ..auth.models import User
from ..extensions import db
from ..notes.models import Note
from ..records.loaders import references
from ..records.queries import display_name_column
from ..records.types import TYPES
from ..visibility import Viewer, fully_visible_to, note_visible_to, unscoped

PAGE = 20


@dataclass
class Event:
    at: datetime
    kind: str  # note / created / changed / assigned
    who: str | None
    rtype: object = None
    record_id: int | None = None
    name: str | None = None
    note: Note | None = None
    details: dict | None = None


def activity(viewer: Viewer, before: datetime | None = None, limit: int = PAGE) -> list[Event]:
    events: list[Event] = []
    notes = select(Note).where(note_visible_to(viewer)).order_by(Note.created_at.desc(), Note.id.desc())
    if before is not None:
        notes = notes.where(Note.created_at < before)
    note_list = list(db.session.scalars(notes.limit(limit)))
    refs: dict[tuple[str, int], object] = {}
    by_type: dict[str, set[int]] = {}
    for n in note_list:
        by_type.setdefault(n.record_key, set()).add(n.record_id)
    for key, ids in by_type.items():
        for rid, ref in references(key, ids, viewer).items():
            refs[(key, rid)] = ref
    for n in note_list:
        ref = refs.get((n.record_key, n.record_id))
        events.append(Event(n.created_at, "note", n.author.name if n.author else None,
                            TYPES[n.record_key], n.record_id, ref.name if ref else None, note=n))
    for rtype in TYPES.values():
        model = rtype.model
        stmt = (
            select(model.id, display_name_column(rtype), model.created_at, model.updated_at, User.name)
            .outerjoin(User, User.id == model.updated_by_id)
            .where(fully_visible_to(model, viewer))
            .order_by(model.updated_at.desc())
            .limit(limit)
        )
        if before is not None:
            stmt = stmt.where(model.updated_at < before)
        for rid, name, created, updated, who in db.session.execute(stmt):
            kind = "created" if created and updated and (updated - created).total_seconds() < 1 else "changed"
            events.append(Event(updated, kind, who, rtype, rid, name))
    # Group assignments into groups the user is a member of (whose records the user now sees).
    stmt = (
        unscoped(select(AuditEntry))
        .where(AuditEntry.action == "group_assigned")
        .order_by(AuditEntry.at.desc())
        .limit(limit)
    )
    if before is not None:
        stmt = stmt.where(AuditEntry.at < before)
    for entry in db.session.scalars(stmt):
        gid = (entry.details or {}).get("group_id")
        if viewer.groups_enabled and gid in viewer.group_ids:
            events.append(Event(entry.at, "assigned", entry.actor.name if entry.actor else None,
                                details=entry.details))
    events.sort(key=lambda e: e.at, reverse=True)
    return events[:limit]
