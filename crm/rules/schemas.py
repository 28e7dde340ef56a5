"""Typed input and output of the assignment rules (the settings page and the admin API build the
same models; :mod:`crm.rules.services` owns every rule about them that needs the database)."""
from __future__ import annotations

from typing import Annotated, Literal

from flask_babel import lazy_gettext as _l
from pydantic import AfterValidator, BaseModel, Field

from ..schematypes import Id, Input, line
from .models import CONDITION_KINDS, MAX_CONDITIONS, RULE_TYPES


class Condition(Input):
    """One condition. ``value``: the postcode prefixes and ranges ("1,2,3", "20000-29999"), the
    country, the city, the tag, the custom field's value (with ``field_id``), or for ``import``
    a text the import's file name must contain (empty: any import). ``creator_group`` names the
    creating user's group in ``group_id``."""

    kind: Literal[CONDITION_KINDS]
    value: Annotated[str, Field(max_length=200)] = ""
    field_id: Id | None = None
    group_id: Id | None = None


def _some(conditions: list) -> list:
    if not conditions:  # a rule matches by its conditions: say so (not "At least 1 entries")
        raise ValueError(str(_l("At least one condition.")))
    return conditions


#: one to :data:`MAX_CONDITIONS` conditions
Conditions = Annotated[list[Condition], Field(max_length=MAX_CONDITIONS, json_schema_extra={"minItems": 1}),
                       AfterValidator(_some)]


class RuleInput(Input):
    """A new rule, or (every field sent) the new state of one."""

    record_type: Literal[RULE_TYPES]
    name: line(80)
    conditions: Conditions
    group_id: Id
    follow: bool = False


class RuleChange(Input):
    """Only what is sent changes; ``move``: one step up or down in the order of its type."""

    name: line(80) = None
    conditions: Conditions = None
    group_id: Id = None
    follow: bool = None
    move: Literal["up", "down"] = None


class RuleOut(BaseModel):
    id: int
    record_type: str
    position: int
    name: str
    conditions: list[dict]
    group_id: int
    group: str
    follow: bool

    @classmethod
    def of(cls, rule) -> RuleOut:
        return cls(id=rule.id, record_type=rule.record_type, position=rule.position, name=rule.name,
                   conditions=list(rule.conditions), group_id=rule.group_id, group=rule.group.name,
                   follow=rule.follow)


class RuleList(BaseModel):
    items: list[RuleOut]


class ApplyRequest(Input):
    record_type: Literal[RULE_TYPES]


class TargetCount(BaseModel):
    group_id: int
    group: str
    count: int
