"""Typed input of the deal stages (the settings page builds the same models an API would;
:mod:`crm.stages.services` owns every rule)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from ..schematypes import Input, line
from .models import REASON_OUTCOMES, STAGE_KINDS

Kind = Literal[STAGE_KINDS]
Probability = Annotated[int, Field(ge=0, le=100, description="Per cent, 0-100")]


class StageCreate(Input):
    name: line(60)
    probability: Probability
    kind: Kind


class StageUpdate(Input):
    """Only what is sent changes. ``kind`` is fixed once a stage exists: its deals keep their kind
    (deals.stage), and an admin may not change deals they cannot see."""

    name: line(60) = None
    probability: Probability = None


class StageOut(BaseModel):
    id: int
    name: str
    position: int
    probability: int
    kind: Kind


Outcome = Literal[REASON_OUTCOMES]


class ReasonCreate(Input):
    name: line(60)
    outcome: Outcome


class ReasonUpdate(Input):
    """A reason is renamed only; its outcome is fixed (deals carry it as a reason of that outcome)."""

    name: line(60)
