from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..common import AttachedMixin, utcnow
from ..extensions import db

NOTE_KINDS = ("note", "call", "email", "meeting")


class Note(AttachedMixin, db.Model):
    """An entry of a record's contact history (Kontakthistorie). Has no group: follows its record."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(8), default="note")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    #: when the note was last changed after it was written (shown as "edited"); None if never
    edited_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    author = relationship("User", lazy="joined")
