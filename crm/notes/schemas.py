"""The input of a note (pydantic v2): what the note form and the API both build."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from flask_babel import lazy_gettext as _l
from pydantic import BeforeValidator, Field

from ..input_types import Input, Output, Text, Timestamp
from .models import NOTE_KINDS

MAX_BODY = 20_000


def _time(value):
    """An ISO 8601 time (a string in JSON, a datetime from a form) as naive UTC; a time without an
    offset is taken as UTC (the form attaches the account's time zone first)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(str(_l("Not a date and time (ISO 8601)."))) from None
    if not isinstance(value, datetime):
        raise ValueError(str(_l("Not a date and time (ISO 8601).")))
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


class NoteInput(Input):
    body: Annotated[Text(MAX_BODY), Field(min_length=1)]
    kind: Literal[NOTE_KINDS] = "note"
    occurred_at: Annotated[datetime, BeforeValidator(_time), Field(
        json_schema_extra={"format": "date-time"})] | None = None


class NotePatch(Input):
    """A change of a note (``PATCH /notes/<id>``, the edit form): only what is sent changes."""

    body: Annotated[Text(MAX_BODY), Field(min_length=1)] | None = None
    kind: Literal[NOTE_KINDS] | None = None
    occurred_at: Annotated[datetime, BeforeValidator(_time), Field(
        json_schema_extra={"format": "date-time"})] | None = None


class AuthorRef(Output):
    id: int
    name: str


class NoteOut(Output):
    """A note as the API shows it."""

    id: int
    body: str
    kind: Literal[NOTE_KINDS]
    author: AuthorRef | None
    occurred_at: Timestamp
    created_at: Timestamp
    #: when the note was last changed after it was written; null if never
    edited_at: Timestamp | None
