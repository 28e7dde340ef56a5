"""Reads of the deal stages: they hold no record data, so every user reads all of them."""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from .models import DealStage


def all_stages() -> list[DealStage]:
    """Every stage in the board's order."""
    return list(db.session.scalars(select(DealStage).order_by(DealStage.position, DealStage.id)))


def first_of_kind(kind: str) -> DealStage | None:
    """The first stage of a kind (what a deal given only its kind, ``stage``, is put in)."""
    return db.session.scalars(select(DealStage).where(DealStage.kind == kind)
                              .order_by(DealStage.position, DealStage.id).limit(1)).first()


def stage_names() -> dict[int, str]:
    """Stage id -> name, for the pages that show a deal's stage."""
    return {s.id: s.name for s in all_stages()}
