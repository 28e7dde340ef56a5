from __future__ import annotations

from datetime import datetime

from flask_babel import get_timezone
from flask_babel import gettext as _
from sqlalchemy import select

from ..common import utcnow
from ..errors import Forbidden, NotFound
from ..extensions import db
from ..records.loaders import load_record
from ..records.types import TYPES
from ..visibility import Viewer, note_visible_to
from .models import Note
from .schemas import NoteInput, NotePatch


def local_time(local: datetime | None) -> datetime | None:
    """A naive time typed into a form, in the account's time zone (the input model makes it UTC)."""
    return None if local is None else local.replace(tzinfo=get_timezone())


def add_note(key: str, record_id: int, data: NoteInput, author_id: int) -> Note:
    """Add a note to a record the caller has loaded in full (``load_record(..., write=True)``).
    Not audited (the note keeps its author and time)."""
    note = Note(body=data.body, kind=data.kind, author_id=author_id, occurred_at=data.occurred_at or utcnow())
    note.attach_to(key, record_id)
    db.session.add(note)
    db.session.flush()
    return note


def load_note(note_id: int, viewer: Viewer):
    """A note and its record, for a change: the note of a record the viewer does not fully see
    does not exist (404 like an unknown id; ``note_visible_to`` shows nothing on restricted
    records), and its record is loaded for writing (``load_record(..., write=True)``)."""
    note = db.session.scalar(select(Note).where(Note.id == note_id, note_visible_to(viewer)))
    if note is None:
        raise NotFound()
    rtype = TYPES[note.record_key]
    return note, load_record(rtype, note.record_id, write=True, viewer=viewer)


def may_change(note: Note, viewer: Viewer) -> bool:
    """The author changes and deletes their notes; admins any note. Nobody else."""
    if viewer.is_admin:
        return True
    if note.author_id is not None and note.author_id == viewer.user_id:
        return True
    return False


def _require_change(note: Note, viewer: Viewer) -> None:
    if not may_change(note, viewer):
        raise Forbidden(_("Only its author or an admin may change this entry."))


def update_note(note: Note, data: NotePatch, viewer: Viewer) -> Note:
    """Change what ``data`` sends of a note loaded by :func:`load_note`; the note says it was
    edited (``edited_at``) when anything changed. Not audited, like adding a note."""
    _require_change(note, viewer)
    changed = False
    for name in ("body", "kind", "occurred_at"):
        if data.sent(name) and getattr(data, name) is not None and getattr(note, name) != getattr(data, name):
            setattr(note, name, getattr(data, name))
            changed = True
    if changed:
        note.edited_at = utcnow()
    db.session.flush()
    return note


def delete_note(note: Note, viewer: Viewer) -> None:
    """Delete a note loaded by :func:`load_note` (its author or an admin)."""
    _require_change(note, viewer)
    db.session.delete(note)
    db.session.flush()
