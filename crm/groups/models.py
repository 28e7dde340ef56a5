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

#: Whom to ask (issue 18): the members an admin named as a group's contact persons. A restricted
#: record and the warning before records leave one's view name them. Only members can be contacts:
#: taking a user out of the group takes them off this list too (:mod:`crm.groups.services`).
group_contacts = Table(
    "group_contacts",
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
    # the members an admin named to ask about the group's records (active or not: the pages show
    # the active ones, :func:`crm.groups.queries.contact_names`)
    contacts = relationship("User", secondary=group_contacts, order_by="User.name", viewonly=True)

    def __repr__(self) -> str:
        return f"<Group {self.id} {self.name}>"


class TypeDefault(db.Model):
    """The group new records of one type go to, whoever creates them (Settings -> Gruppen; e.g.
    Müller's deals go to Finanzen). ``allow_own``: a creator may choose one of their own groups
    instead. Without a row, a new record goes where :func:`crm.records.services.default_group_id`
    says (the parent's group, the creator's default group, Basis)."""

    __tablename__ = "type_default_groups"

    record_type: Mapped[str] = mapped_column(String(10), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    allow_own: Mapped[bool] = mapped_column(Boolean, default=False)


class HandOver(db.Model):
    """A hand-over target (issue 18, Meier): members of ``source`` may move records of ``source``
    into ``target`` although they are not members of it (e.g. Leads -> Company, labelled "An
    Company übergeben"). The records then leave their view (:mod:`crm.records.assign`)."""

    __tablename__ = "handover_targets"

    source_group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    target_group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True,
                                                 index=True)
    #: what the action is called ("An Company übergeben"); empty: "Hand over to <target>"
    label: Mapped[str] = mapped_column(String(80), default="")
