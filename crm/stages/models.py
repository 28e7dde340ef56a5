"""A deal stage (Phase): an admin-defined step of the pipeline. Each is of one *kind* - open, won
or lost - and a deal keeps its stage's kind in ``deals.stage``, so every sum and filter by kind
(the list filter, the chart, the API's ``stage``) reads the deal alone.

A won or lost deal may carry a *reason* (:class:`DealReason`, "Preis zu hoch") from the list an admin
keeps per outcome, plus a note of its own (``deals.reason_id``, ``deals.reason_note``).

A stage or a reason holds no record data: their names, order and probability are the team's
vocabulary, shown to every user (crm.visibility.SCOPES says so); which deal has one is the deal's."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Integer, String, event, select
from sqlalchemy.orm import Mapped, mapped_column

from ..common import utcnow
from ..extensions import db
from ..records.models import DEAL_STAGES, Deal

#: the kinds of a stage (what ``deals.stage`` holds)
STAGE_KINDS = DEAL_STAGES
#: the stages a database starts with, one per kind: (name, probability, kind), in their order
#: (migrations/versions/stages_01_deal_stages.py writes the same)
DEFAULT_STAGES = (("Offen", 10, "open"), ("Gewonnen", 100, "won"), ("Verloren", 0, "lost"))


class DealStage(db.Model):
    __tablename__ = "deal_stages"
    __table_args__ = (
        CheckConstraint("kind IN ('open', 'won', 'lost')", name="kind"),
        CheckConstraint("probability BETWEEN 0 AND 100", name="probability"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: per cent, 0-100: the share of an open deal's value the weighted forecast counts
    probability: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(8), default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


#: the outcomes a reason belongs to (the stage kinds that end a deal)
REASON_OUTCOMES = ("won", "lost")


class DealReason(db.Model):
    """Why deals are won or lost ("Preis zu hoch", "Mitbewerber"): an admin's list per outcome.

    A deleted reason is *retired* (``retired_at``), never removed: deals that carry it keep
    showing it, it is no longer offered, and no deal may be given it again. (Refusing to delete a
    reason in use would let the answer depend on deals the admin may not see.)"""

    __tablename__ = "deal_reasons"
    __table_args__ = (CheckConstraint("outcome IN ('won', 'lost')", name="outcome"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    outcome: Mapped[str] = mapped_column(String(8))
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


@event.listens_for(Deal, "before_insert")
def _default_stage(mapper, connection, deal: Deal) -> None:
    """A deal inserted without a stage gets the first stage of its kind (``deal.stage``): what the
    service does for the forms and the API, for the writers that set only the kind (demo data,
    test fixtures)."""
    if deal.stage_id is None:
        deal.stage_id = connection.scalar(
            select(DealStage.id).where(DealStage.kind == (deal.stage or "open"))
            .order_by(DealStage.position, DealStage.id).limit(1))
