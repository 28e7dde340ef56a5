"""Typed input and output of custom field definitions (the settings pages and the API build the
same models; :mod:`crm.customfields.services` owns every rule)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from ..records.types import TYPES
from ..schematypes import Ids, Input, line
from .models import FIELD_KINDS

#: the record types a field can be defined for
ENTITIES = tuple(TYPES)

Entity = Literal[ENTITIES]
Kind = Literal[FIELD_KINDS]
#: a selection's options: one-line texts, each at most once (order kept)
Options = Annotated[list[line(100)], Field(max_length=200), AfterValidator(lambda v: list(dict.fromkeys(v)))]


class FieldCreate(Input):
    entity: Entity
    name: line(80)
    kind: Kind
    options: Options = []
    shared_with: Ids = []


class FieldUpdate(Input):
    """Only what is sent changes. ``entity`` and ``kind`` are fixed once a field exists: they may be
    sent only with the values they have."""

    entity: Entity = None
    name: line(80) = None
    kind: Kind = None
    options: Options = None
    shared_with: Ids = None


class FieldOut(BaseModel):
    id: int
    entity: Entity
    name: str
    kind: Kind
    options: list[str]
    shared_with: list[int]
    position: int


class FieldList(BaseModel):
    items: list[FieldOut]
