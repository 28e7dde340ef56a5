from __future__ import annotations

from datetime import datetime

from flask_babel import get_timezone

from ..common import utcnow
from ..extensions import db
from .models import NOTE_KINDS, Note


def to_utc(local: datetime | None) -> datetime:
    """A naive local time from a form (the account's time zone) as naive UTC."""
    if local is None:
        return utcnow()
    from datetime import UTC

    return local.replace(tzinfo=get_timezone()).astimezone(UTC).replace(tzinfo=None)


def add_note(key: str, record_id: int, body: str, kind: str, author_id: int,
             occurred_at: datetime | None = None) -> Note:
    """Add a note to a record the caller has loaded in full (``load_record(..., write=True)``)."""
    if kind not in NOTE_KINDS:
        raise ValueError(kind)
    note = Note(body=body, kind=kind, author_id=author_id, occurred_at=occurred_at or utcnow())
    note.attach_to(key, record_id)
    db.session.add(note)
    db.session.flush()
    return note
