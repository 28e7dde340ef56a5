"""The input of a task (pydantic v2): what the task form and the API build, and the task as the
API shows it."""
from __future__ import annotations

from datetime import date
from typing import Literal

from ..input_types import Day, Id, Input, Line, Output, Timestamp

#: the quick choices of a reschedule: tomorrow, or Monday of next week (in the user's time zone)
RESCHEDULE_CHOICES = ("tomorrow", "next_week")


class TaskInput(Input):
    title: Line(200, min_length=1)
    due_date: Day | None = None
    assignee_id: Id | None = None


class TaskPatch(Input):
    """A change of a task (``PATCH /tasks/<id>``): only what is sent changes. A null clears the due
    date or the assignee, as a null empties a record's field; the title cannot be emptied."""

    null_refused = frozenset({"title"})
    title: Line(200, min_length=1) = None
    due_date: Day | None = None
    assignee_id: Id | None = None
    done: bool | None = None


class RescheduleInput(Input):
    """Move a task's due date: a quick choice (``when``) or a date (``due_date``)."""

    when: Literal[RESCHEDULE_CHOICES] | None = None
    due_date: Day | None = None


class UserRef(Output):
    id: int
    name: str


class RecordRef(Output):
    type: Literal["company", "person", "deal", "project"]
    id: int


class TaskOut(Output):
    """A task as the API shows it."""

    id: int
    title: str
    due_date: date | None
    done: bool
    assignee: UserRef | None
    created_by: UserRef | None
    record: RecordRef | None
    done_at: Timestamp | None
    created_at: Timestamp
