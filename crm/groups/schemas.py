"""Typed input and output of group administration (the settings pages and the API build the same
models; :mod:`crm.groups.services` owns every rule)."""
from __future__ import annotations

from pydantic import BaseModel

from ..schematypes import Id, Ids, Input, line

Name = line(80)


class GroupCreate(Input):
    name: Name
    member_ids: Ids = []


class GroupUpdate(Input):
    """Only what is sent changes: a new name, the complete member list, or both."""

    name: Name = None
    member_ids: Ids = None


class GroupDelete(Input):
    """Where the records of a deleted group go; required while it holds any."""

    move_to: Id | None = None


class GroupOut(BaseModel):
    """A group as the API shows it; Basis is ``builtin`` and has every user as a member."""

    id: int
    name: str
    builtin: bool
    member_ids: list[int]


class GroupList(BaseModel):
    items: list[GroupOut]

