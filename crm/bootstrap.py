"""The rows every Kontor database has from its migrations: Basis, the account settings and the
three deal stages of stages_01. Tests that empty the tables put them back with this."""
from __future__ import annotations

from sqlalchemy import insert

from .common import utcnow
from .extensions import db
from .groups.models import BASIS_ID, BASIS_NAME, Group
from .settings.models import ACCOUNT_ID, Account
from .stages.models import DEFAULT_STAGES, DealStage


def seed_builtin_rows() -> None:
    # No explicit id: on an empty table the sequence hands out 1 and moves past it.
    basis_id = db.session.execute(
        insert(Group).values(name=BASIS_NAME, builtin=True, created_at=utcnow()).returning(Group.id)
    ).scalar_one()
    assert basis_id == BASIS_ID, "Basis must be the first group"
    db.session.execute(insert(Account).values(id=ACCOUNT_ID, name="Kontor", groups_enabled=False))
    db.session.execute(insert(DealStage), [
        {"name": name, "position": pos, "probability": p, "kind": kind, "created_at": utcnow()}
        for pos, (name, p, kind) in enumerate(DEFAULT_STAGES, start=1)])
    db.session.commit()
