"""A record's change history as the API shows it (:mod:`.queries` reads it)."""
from __future__ import annotations

from typing import Literal

from ..input_types import Output, Timestamp
from .models import EVENT_KINDS


class FieldChangeOut(Output):
    """One field of a change. ``old`` / ``new``: the value as text (null: empty); a linked record
    the user does not fully see is null with ``old_hidden`` / ``new_hidden`` true."""

    field: str
    label: str
    old: str | None
    new: str | None
    old_hidden: bool
    new_hidden: bool


class HistoryEntryOut(Output):
    """One change of a record: when, by whom (the user's name), what kind, which fields."""

    id: int
    at: Timestamp
    kind: Literal[EVENT_KINDS]
    who: str | None
    changes: list[FieldChangeOut]
