from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..common import utcnow
from ..extensions import db


class AuditEntry(db.Model):
    """Who changed what in the group system, and when. ``details`` holds names and counts as they
    were at the time, so the log reads true after renames and deletions."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    actor = relationship("User", foreign_keys=[actor_id], lazy="joined")
    undone_by = relationship("User", foreign_keys=[undone_by_id])


class AssignmentChange(db.Model):
    """One record moved by a bulk assignment: enough to undo it while the record is unchanged."""

    __tablename__ = "assignment_changes"
    __table_args__ = (Index("ix_assignment_changes_audit", "audit_id", "record_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit_log.id", ondelete="CASCADE"))
    record_type: Mapped[str] = mapped_column(String(8))
    record_id: Mapped[int] = mapped_column(Integer)
    old_group_id: Mapped[int] = mapped_column(Integer)
    new_version: Mapped[int] = mapped_column(Integer)
