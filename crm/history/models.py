"""A record's change history: one :class:`RecordEvent` per change of a record (created, changed,
moved to another group, deleted, restored), with one :class:`FieldChange` per field it changed,
old -> new.

Events hang on their record like notes (:class:`crm.common.AttachedMixin`, ``ON DELETE CASCADE``):
the purge takes them along, and the safety net shows them only while the record is fully
visible (``crm.visibility.SCOPES``). A restricted viewer sees nothing of them, not even the
history of a field shared with them: an old value is not what the field shares.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..common import AttachedMixin, utcnow
from ..extensions import db

#: what happened to the record
EVENT_KINDS = ("created", "changed", "assigned", "deleted", "restored")

#: the field name of a custom field's change: ``custom:<field id>``
CUSTOM_PREFIX = "custom:"


class RecordEvent(AttachedMixin, db.Model):
    """One change of a record, by whom and when."""

    __tablename__ = "record_events"
    EXTRA_TABLE_ARGS = (Index("ix_record_events_at_id", "at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(10))
    #: the audit entry of a bulk assignment that wrote this event (its field rows are added by it)
    audit_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)

    actor = relationship("User", lazy="joined")
    fields = relationship("FieldChange", order_by="FieldChange.id", lazy="selectin",
                          cascade="all, delete-orphan", passive_deletes=True)


class FieldChange(db.Model):
    """One field of a change: its name (a record field, ``group``, ``tags`` or ``custom:<id>``)
    and the values before and after, as text (None: empty)."""

    __tablename__ = "record_event_fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("record_events.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(80))
    old: Mapped[str | None] = mapped_column(Text, nullable=True)
    new: Mapped[str | None] = mapped_column(Text, nullable=True)
