"""The home page's dashboard for the signed-in user: my open deals and their weighted sum, my tasks
due, the pipeline by stage, recently changed records of my groups. Every number is over records
the user fully sees (``fully_visible_to`` in each statement; tasks by their own rule).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, literal, select, union_all

from ..extensions import db
from ..records.models import Deal
from ..records.types import TYPES, RecordType, display_name_column
from ..stages.models import DealStage
from ..tasks.models import Task
from ..tasks.queries import task_list
from ..visibility import Viewer, fully_visible_to, unscoped

#: how many recently changed records the dashboard lists
RECENT = 5


@dataclass(frozen=True)
class Recent:
    rtype: RecordType
    id: int
    name: str
    at: datetime


@dataclass(frozen=True)
class StageLine:
    """A line of the pipeline table: a stage (by its name, in the board's order) and a currency."""

    stage_id: int
    name: str
    kind: str
    currency: str
    count: int
    total: int  # cents


@dataclass
class Dashboard:
    #: my open deals by currency: currency -> (count, sum in cents, weighted sum in cents)
    my_open: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    tasks_due: int = 0
    #: the pipeline: per stage (in the board's order) and currency, the count and sum of the fully
    #: visible deals of everyone
    pipeline: list[StageLine] = field(default_factory=list)
    recent: list[Recent] = field(default_factory=list)

    @property
    def my_open_count(self) -> int:
        return sum(n for n, _s, _w in self.my_open.values())


def weighted_open_value(value_cents, probability):
    """The SQL expression of a deal's value times its stage's probability in percent; the sum of
    these, divided by 100, is the weighted sum (as the pipeline's forecast)."""
    return func.coalesce(value_cents, 0) * probability


def dashboard_for(viewer: Viewer, user_id: int, today: date) -> Dashboard:
    """The dashboard's numbers in four statements."""
    out = Dashboard()
    visible = fully_visible_to(Deal, viewer)
    mine = (
        select(Deal.currency, func.count(), func.coalesce(func.sum(Deal.value_cents), 0),
               func.coalesce(func.sum(weighted_open_value(Deal.value_cents, DealStage.probability)), 0))
        .join(DealStage, DealStage.id == Deal.stage_id)
        .where(visible, Deal.responsible_id == user_id, Deal.stage == "open")
        .group_by(Deal.currency)
    )
    out.my_open = {cur: (n, int(s), int(w) // 100) for cur, n, s, w in db.session.execute(mine)}
    # the user's open tasks as their task list has them (``task_list``), those due by today
    due = task_list(viewer, user_id).where(Task.due_date <= today).order_by(None)
    out.tasks_due = db.session.scalar(select(func.count()).select_from(due.subquery())) or 0
    # counted per stage id first (the deals' figures index alone), then the few lines get their stage
    per_stage = (
        select(Deal.stage_id, Deal.currency, func.count().label("n"),
               func.coalesce(func.sum(Deal.value_cents), 0).label("total"))
        .where(visible).group_by(Deal.stage_id, Deal.currency)
    ).subquery()
    pipeline = (
        select(DealStage.id, DealStage.name, DealStage.kind, per_stage.c.currency, per_stage.c.n, per_stage.c.total)
        .join(per_stage, per_stage.c.stage_id == DealStage.id)
        .order_by(DealStage.position, DealStage.id, per_stage.c.currency)
    )
    out.pipeline = [StageLine(sid, name, kind, cur, n, int(s))
                    for sid, name, kind, cur, n, s in db.session.execute(pipeline)]
    out.recent = recent_of_my_groups(viewer)
    return out


def recent_of_my_groups(viewer: Viewer, limit: int = RECENT) -> list[Recent]:
    """The records of the user's groups (all they see, with the group system off) changed last:
    one UNION ALL of an ordered, limited select per type (SQLite wants each in a subquery)."""
    arms = []
    for i, rtype in enumerate(TYPES.values()):
        model = rtype.model
        table = model.__table__  # the columns only: the rule is fully_visible_to below
        arm = (select(literal(i).label("kind"), table.c.id, display_name_column(rtype, table.c).label("name"),
                      table.c.updated_at.label("at"))
               .where(fully_visible_to(model, viewer))
               .order_by(table.c.updated_at.desc(), table.c.id.desc()).limit(limit))
        arms.append(select(arm.subquery()))
    merged = union_all(*arms).subquery()
    stmt = select(merged).order_by(merged.c.at.desc(), merged.c.kind, merged.c.id.desc()).limit(limit)
    types = list(TYPES.values())
    # Core on purpose (each arm carries fully_visible_to): so outside the net
    return [Recent(types[kind], rid, name, at) for kind, rid, name, at in db.session.execute(unscoped(stmt))]
