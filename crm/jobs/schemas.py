"""A job as the API shows it (``GET /api/v1/jobs/<id>``, and the body of a ``202 Accepted``)."""
from __future__ import annotations

from typing import Literal

from ..input_types import Output, Timestamp
from .models import KINDS, STATUSES


class JobOut(Output):
    """A job of the caller's (admins: anyone's). ``result`` once done: for an assignment
    ``{"audit_id": n, "updated": {"companies": n, ...}}``, for its undo ``{"restored": {...},
    "skipped": {...}}``."""

    id: int
    kind: Literal[KINDS]
    status: Literal[STATUSES]
    progress: int
    total: int
    message: str
    result: dict
    created_at: Timestamp
    finished_at: Timestamp | None
