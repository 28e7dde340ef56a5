from __future__ import annotations

from datetime import datetime

from flask_babel import get_timezone

from ..common import utcnow
from ..extensions import db
from .models import Note
from .schemas import NoteInput


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
