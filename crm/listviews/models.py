"""Saved list views: a named filter of a list page (its query string), a user's own or shared by
an admin with everyone."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..common import utcnow
from ..extensions import db

#: longest name and query string of a saved view
NAME_MAX = 80
QUERY_MAX = 2000
#: most views one user keeps per list
MAX_PER_LIST = 50


class SavedView(db.Model):
    """A list page's filter, columns and order under a name. ``shared``: an admin's view that
    every user is offered; otherwise only its owner's. It holds what its owner chose, never a
    record's data: opening it runs the filter as the user who opens it."""

    __tablename__ = "saved_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    entity: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    query: Mapped[str] = mapped_column(Text, default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
