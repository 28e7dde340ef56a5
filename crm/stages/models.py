"""A deal stage (Phase): an admin-defined step of the pipeline. Each is of one *kind* - open, won
or lost - and a deal keeps its stage's kind in ``deals.stage``, so every sum and filter by kind
(the list filter, the chart, the API's ``stage``) reads the deal alone.

A stage holds no record data: its name, order and probability are the team's vocabulary, shown
to every user (crm.visibility.SCOPES says so)."""
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


@event.listens_for(Deal, "before_insert")
def _default_stage(mapper, connection, deal: Deal) -> None:
    """A deal inserted without a stage gets the first stage of its kind (``deal.stage``): what the
    service does for the forms and the API, for the writers that set only the kind (demo data,
    test fixtures)."""
    if deal.stage_id is None:
        deal.stage_id = connection.scalar(
            select(DealStage.id).where(DealStage.kind == (deal.stage or "open"))
            .order_by(DealStage.position, DealStage.id).limit(1))
