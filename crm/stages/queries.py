"""Reads of the deal stages and the won/lost reasons: they hold no record data, so every user reads
all of them."""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from .models import DealReason, DealStage


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


def reasons(outcome: str | None = None, *, retired: bool = False) -> list[DealReason]:
    """The won/lost reasons in their order (``outcome``: of that one only); ``retired``: the deleted
    ones too (deals that carry one still show it)."""
    stmt = select(DealReason).order_by(DealReason.outcome.desc(), DealReason.position, DealReason.id)
    if outcome is not None:
        stmt = stmt.where(DealReason.outcome == outcome)
    if not retired:
        stmt = stmt.where(DealReason.retired_at.is_(None))
    return list(db.session.scalars(stmt))


def reason_names() -> dict[int, str]:
    """Reason id -> name, the retired ones included, for the pages and answers that show a deal's reason."""
    return {r.id: r.name for r in reasons(retired=True)}
