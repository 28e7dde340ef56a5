"""The rows every Kontor database has from its first migration: Basis and the account settings.
Tests that empty the tables put them back with this."""
from __future__ import annotations

from sqlalchemy import insert

from .common import utcnow
from .extensions import db
from .groups.models import BASIS_ID, BASIS_NAME, Group
from .settings.models import ACCOUNT_ID, Account


def seed_builtin_rows() -> None:
    # No explicit id: on an empty table the sequence hands out 1 and moves past it.
    basis_id = db.session.execute(
        insert(Group).values(name=BASIS_NAME, builtin=True, created_at=utcnow()).returning(Group.id)
    ).scalar_one()
    assert basis_id == BASIS_ID, "Basis must be the first group"
    db.session.execute(insert(Account).values(id=ACCOUNT_ID, name="Kontor", groups_enabled=False))
    db.session.commit()
