"""Reads of attached files, always through the visibility rules (``attachment_visible_to``)."""
from __future__ import annotations

from sqlalchemy import func, select

from ..extensions import db
from ..visibility import Viewer, attachment_visible_to, current_viewer
from .models import Attachment


def files_for(key: str, record_id: int, viewer: Viewer | None = None) -> list[Attachment]:
    """The files of one record, newest first; none unless the viewer fully sees the record."""
    viewer = viewer or current_viewer()
    column = getattr(Attachment, f"{key}_id")
    return list(db.session.scalars(
        select(Attachment).where(column == record_id, attachment_visible_to(viewer))
        .order_by(Attachment.created_at.desc(), Attachment.id.desc())))


def file_counts(key: str, ids, viewer: Viewer | None = None) -> dict[int, int]:
    """How many files each of ``ids`` (records of type ``key``) carries, for the viewer (the CSV
    export's count); records with none are left out."""
    viewer = viewer or current_viewer()
    column = getattr(Attachment, f"{key}_id")
    rows = db.session.execute(
        select(column, func.count()).where(column.in_(list(ids)), attachment_visible_to(viewer))
        .group_by(column))
    return {rid: n for rid, n in rows}
