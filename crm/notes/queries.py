from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..visibility import current_viewer, note_visible_to
from .models import Note

PAGE = 20


def notes_for(key: str, record_id: int, offset: int = 0, limit: int = PAGE) -> list[Note]:
    """The timeline of one record, newest first; one more than ``limit`` tells there is more."""
    return list(db.session.scalars(
        select(Note)
        .where(getattr(Note, f"{key}_id") == record_id, note_visible_to(current_viewer()))
        .order_by(Note.occurred_at.desc(), Note.id.desc())
        .offset(offset)
        .limit(limit + 1)
    ))
