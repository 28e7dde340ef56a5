"""The input of a task (pydantic v2): what the task form builds."""
from __future__ import annotations

from ..input_types import Day, Id, Input, Line


class TaskInput(Input):
    title: Line(200, min_length=1)
    due_date: Day | None = None
    assignee_id: Id | None = None
