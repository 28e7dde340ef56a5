"""Typed input and output of group administration (the settings pages and the API build the same
models; :mod:`crm.groups.services` owns every rule)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from ..records.types import TYPES
from ..schematypes import Id, Ids, Input, line

Name = line(80)

#: the record types a default group can be set for
RECORD_TYPES = ("company", "person", "deal", "project")


class GroupCreate(Input):
    name: Name
    member_ids: Ids = []


class GroupUpdate(Input):
    """Only what is sent changes: a new name, the complete member list, the complete list of
    contact persons (members whom users are told to ask about the group's records), or several."""

    name: Name = None
    member_ids: Ids = None
    contact_ids: Ids = None


class MemberChange(Input):
    """Users to add to a group or take out of it, many at once."""

    user_ids: Annotated[Ids, Field(min_length=1)]


class ContactChange(Input):
    """The complete list of a group's contact persons (members of it; may be empty)."""

    user_ids: Ids = []


class TypeDefaultSet(Input):
    """The group new records of one type go to, whoever creates them (``group_id`` null: none, the
    creator's default applies); ``allow_own``: a creator may choose one of their groups instead."""

    record_type: Literal[RECORD_TYPES]
    group_id: Id | None = None
    allow_own: bool = False


class HandOverSet(Input):
    """A hand-over target of a group: its members may move its records into ``target_id``;
    ``label`` names the action ("An Company übergeben"; empty: "Hand over to <target>")."""

    target_id: Id
    label: line(80) = ""


class TypeDefaultOut(BaseModel):
    record_type: str
    group_id: int | None
    allow_own: bool


class TypeDefaultList(BaseModel):
    items: list[TypeDefaultOut]


class GroupDelete(Input):
    """Where the records of a deleted group go; required while it holds any."""

    move_to: Id | None = None


class GroupOut(BaseModel):
    """A group as the API shows it; Basis is ``builtin`` and has every user as a member."""

    id: int
    name: str
    builtin: bool
    member_ids: list[int]
    #: the members named as whom to ask about the group's records
    contact_ids: list[int] = []


class GroupList(BaseModel):
    items: list[GroupOut]


class HandOverOut(BaseModel):
    """A hand-over target of a group: its members may move its records into ``target_id``."""

    target_id: int
    target: str
    label: str


class HandOverList(BaseModel):
    items: list[HandOverOut]



#: the changes an impact preview answers for
CHANGES = ("members", "delete_group", "sharing", "new_field", "groups_enabled")


class ImpactRequest(Input):
    """A change to preview, not to make: ``members`` (``group_id``, ``member_ids``: the complete
    new list), ``delete_group`` (``group_id``, ``move_to``), ``sharing`` (``field_id``,
    ``shared_with``: the complete new list), ``new_field`` (a custom field not created yet: its
    ``entity``, the record type, and ``shared_with``) or ``groups_enabled`` (the switch's new
    position)."""

    change: Literal[CHANGES]
    group_id: Id = None
    member_ids: Ids = None
    move_to: Id = None
    field_id: Id = None
    entity: Literal[tuple(TYPES)] = None
    shared_with: Ids = None
    groups_enabled: bool = None


class LevelCounts(BaseModel):
    """How many records (not in the recycle bin) of one type a user sees at each level."""

    full: int
    restricted: int
    hidden: int


class TypeChange(BaseModel):
    before: LevelCounts
    after: LevelCounts


class UserImpactOut(BaseModel):
    user_id: int
    name: str
    #: record type key (company, person, deal, project) -> its counts; only the types that change
    changes: dict[str, TypeChange]


class ImpactOut(BaseModel):
    """Every user whose counts would change; nobody else. Counts only, never a record."""

    users: list[UserImpactOut]


class ReviewGroup(BaseModel):
    id: int
    name: str


class ReviewUser(BaseModel):
    id: int
    name: str
    email: str
    role: str
    #: the groups they are in, Basis included
    group_ids: list[int]
    #: record type key -> counts
    counts: dict[str, LevelCounts]


class AccessReviewOut(BaseModel):
    """Every active user's groups and counts (the access review)."""

    groups_enabled: bool
    groups: list[ReviewGroup]
    users: list[ReviewUser]
