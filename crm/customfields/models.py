from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..common import AttachedMixin, utcnow
from ..decimals import DecimalRule
from ..extensions import db

FIELD_KINDS = ("text", "number", "date", "select", "url")
#: A number field: any sign and scale, below 10^15, and at most 15 significant digits - what a
#: JSON number (a binary double in most clients) carries exactly, so the API returns what was sent.
CUSTOM_NUMBER = DecimalRule(digits=15, below=Decimal("1e15"))

custom_field_shares = Table(
    "custom_field_shares",
    db.metadata,
    Column("field_id", ForeignKey("custom_fields.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class CustomField(db.Model):
    """An admin-defined field (individuelles Feld) of one record type."""

    __tablename__ = "custom_fields"
    __table_args__ = (UniqueConstraint("entity", "name", name="uq_custom_fields_entity_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(8))
    options: Mapped[list] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    shared_with = relationship("Group", secondary=custom_field_shares, order_by="Group.name", lazy="selectin")


class CustomFieldValue(AttachedMixin, db.Model):
    """The value of one custom field on one record, stored as canonical text
    (ISO dates, plain decimal numbers)."""

    __tablename__ = "custom_field_values"
    EXTRA_TABLE_ARGS = tuple(
        UniqueConstraint("field_id", f"{k}_id", name=f"uq_custom_field_values_{k}")
        for k in ("company", "person", "deal", "project")
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("custom_fields.id", ondelete="CASCADE"), index=True)
    value: Mapped[str] = mapped_column(Text)

    field = relationship("CustomField", lazy="joined")
