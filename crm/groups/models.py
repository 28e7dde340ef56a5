from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..common import utcnow
from ..extensions import db

#: The built-in group every user belongs to. Created by the first migration with this id.
BASIS_ID = 1
BASIS_NAME = "Basis"

group_members = Table(
    "group_members",
    db.metadata,
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Group(db.Model):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    # Explicit members only; Basis membership is implicit for every user (see visibility).
    # Not eager by default: every record loads its group, and few pages need the members
    # (the settings pages ask for them with selectinload).
    members = relationship("User", secondary=group_members, order_by="User.name")

    def __repr__(self) -> str:
        return f"<Group {self.id} {self.name}>"
