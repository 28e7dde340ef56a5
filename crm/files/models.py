from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..common import AttachedMixin, utcnow
from ..extensions import db

#: content types a browser may show inline (the safe previews); everything else is a download
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})
#: the longest display name kept (characters)
MAX_NAME = 255


class Attachment(AttachedMixin, db.Model):
    """A file attached to a record. Has no group: follows its record (``SCOPES``: ``Attached``).

    ``name`` is the name shown and offered on download (umlauts kept, path and control characters
    removed); the bytes sit in the store under ``storage_key``, generated, never the name."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id"), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)

    uploaded_by = relationship("User", lazy="joined")

    @property
    def inline(self) -> bool:
        """May a browser show it in the page (images and PDF only; never SVG or HTML)?"""
        return self.content_type in INLINE_TYPES
