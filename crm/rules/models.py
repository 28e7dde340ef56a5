"""Assignment rules (issue 18, Schmidt): ordered rules per record type that put a new record into
a group by what it is - its address (postcode, city, country), a tag, a custom field's value, the
creating user's group, whether an import made it. The first rule whose conditions all hold wins
(:mod:`crm.rules.matching` evaluates them, without the database). A company's rule may take the
company's people, deals and projects along when it is applied to existing records
(``follow``, the cascade of :func:`crm.records.assign.assign_group`)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..common import utcnow
from ..extensions import db

#: the record types a rule may be for (crm.records.types keys)
RULE_TYPES = ("company", "person", "deal", "project")
#: the kinds of condition (crm.rules.matching.holds)
CONDITION_KINDS = ("postcode", "country", "city", "tag", "field", "creator_group", "import")
#: at most this many conditions per rule, rules per type
MAX_CONDITIONS = 10
MAX_RULES = 200


class AssignmentRule(db.Model):
    """One rule: ``conditions`` is a list of ``{"kind": ..., "value": ...}`` (``field`` adds
    ``field_id``, ``creator_group`` names the group in ``group_id``), all of which must hold;
    ``position`` orders the rules of one type (the lowest that matches wins)."""

    __tablename__ = "assignment_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_type: Mapped[str] = mapped_column(String(10), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(80))
    conditions: Mapped[list] = mapped_column(JSON, default=list)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    #: a company's rule: its people, deals and projects follow it when applied to existing records
    follow: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    group = relationship("Group", lazy="joined")

    def __repr__(self) -> str:
        return f"<AssignmentRule {self.id} {self.record_type} #{self.position} {self.name}>"
