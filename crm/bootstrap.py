"""The rows every Kontor database has from its first migration: Basis and the account settings.
Tests that empty the tables put them back with this."""
from __future__ import annotations

from sqlalchemy import insert

from .common import utcnow
from .extensions import db
from .groups.models import BASIS_ID, BASIS_NAME, Group
from .settings.models import ACCOUNT_ID, Account


def seed_builtin_rows() -> None:
    db.session.execute(insert(Group).values(id=BASIS_ID, name=BASIS_NAME, builtin=True, created_at=utcnow()))
    db.session.execute(insert(Account).values(id=ACCOUNT_ID, name="Kontor", groups_enabled=False))
    db.session.commit()
