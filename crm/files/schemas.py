"""A file as the API shows it (pydantic v2; the OpenAPI document is generated from it)."""
from __future__ import annotations

from typing import Literal

from ..common import RECORD_KEYS
from ..input_types import Output, Timestamp
from ..notes.schemas import AuthorRef


class FileOut(Output):
    """An attached file: its display name, sniffed type, size in bytes, uploader, time, its record
    and where to download it (``GET /api/v1/files/<id>``)."""

    id: int
    name: str
    content_type: str
    size: int
    uploaded_by: AuthorRef | None
    created_at: Timestamp
    record_type: Literal[RECORD_KEYS]
    record_id: int
    #: images and PDF only: may be shown in a browser (``?inline=1``); everything else is a download
    inline: bool
    url: str


class FileList(Output):
    items: list[FileOut]
