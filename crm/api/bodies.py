"""What the API's record routes take besides the record and note models: paging limits, the keys
an answer shows that a write ignores, and the input of a group assignment. Apart from the routes,
so the OpenAPI document reads them without importing a view module."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..input_types import Id, Input
from ..records.assign import CASCADE
from .inputs import MAX_IDS

MAX_PER_PAGE = 200
MAX_PAGE = 100_000

#: keys a record's JSON shows that a write ignores (so a record read can be sent back as it is; a
#: deal's ``reason`` is its won/lost reason's name, written as ``reason_id``)
READ_ONLY = ("id", "type", "access", "group", "created_at", "updated_at", "reason")
#: the same for a note
NOTE_READ_ONLY = ("id", "author", "created_at")
#: the same for a task
TASK_READ_ONLY = ("id", "assignee", "created_by", "record", "done_at", "created_at")


class AssignInput(Input):
    """``POST /<records>/assign-group``: move the records ``ids`` into ``group_id``."""

    ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_IDS)]
    group_id: Id


class AssignCompaniesInput(AssignInput):
    """Companies may take their people, deals and projects along (``cascade``)."""

    cascade: list[Literal[tuple(CASCADE)]] | None = None
