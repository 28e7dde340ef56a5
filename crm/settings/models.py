from __future__ import annotations

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

ACCOUNT_ID = 1


class Account(db.Model):
    """The one row of account-wide settings: the account name and the extension switches."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), default="Kontor")
    groups_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
