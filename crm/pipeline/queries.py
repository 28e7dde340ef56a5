"""The deals pipeline: deals by stage with their sums, and pipeline value per stage and month.

Every figure is over the deals the viewer *fully* sees: a restricted deal's value and stage are
hidden, so it is neither on the board nor in a sum. The board's columns are the stages an admin
defined (crm.stages), in their order; the chart sums by the stages' kind.

The figures read the sums the database keeps per group (crm/pipeline/models.py: ``deal_sums``,
``deal_month_sums``), of the groups the viewer sees in full, added up per key - a few rows per
group and stage instead of every deal: :func:`stage_sums` (stage, reason, currency, responsible
user: the columns' sums and the weighted forecast per user) and :func:`month_rows` (month of the
target date and stage: the chart and the forecast per month). The cards are the deals themselves
(:func:`board`).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, func, select, union_all
from sqlalchemy.orm import aliased

from ..auth.models import User
from ..extensions import db
from ..records.models import Company, Deal
from ..stages.models import DealStage
from ..stages.queries import all_stages, reason_names
from ..visibility import Viewer, fully_visible_to, group_sums_visible_to, restricted_rows, visible_to
from .models import DealMonthSum, DealSum

#: cards per stage column
CARDS = 50
#: months in the chart
MONTHS = 12


@dataclass
class Column:
    stage: DealStage
    count: int = 0
    #: currency -> sum of values in cents
    sums: dict[str, int] = field(default_factory=dict)
    #: currency -> number of deals
    counts: dict[str, int] = field(default_factory=dict)
    #: won/lost reason id (None: none) -> number of deals
    reasons: dict[int | None, int] = field(default_factory=dict)
    #: currency -> responsible user id (None: nobody) -> cents of the open deals (``Deal.stage``)
    open_by_user: dict[str, dict[int | None, int]] = field(default_factory=dict)
    cards: list = field(default_factory=list)


def stage_sums(viewer: Viewer) -> dict[int, Column]:
    """A column per stage (by stage id, in the board's order) with its count and sums, and in the
    same pass its deals' count per won/lost reason and the value of its open deals per currency and
    responsible user (what :func:`forecast` weighs by the stage's probability): the sums of the
    groups the viewer sees in full, a row per stage, reason, currency, user and kind."""
    columns = {stage.id: Column(stage) for stage in all_stages()}
    s = DealSum
    keys = (s.stage_id, s.reason_id, s.currency, s.responsible_id, s.kind)
    stmt = (
        select(*keys, func.sum(s.deals), func.sum(s.cents))
        .where(group_sums_visible_to(s, viewer))
        .group_by(*keys)
        .having(func.sum(s.deals) > 0)
    )
    for stage_id, reason_id, currency, user_id, kind, count, total in db.session.execute(stmt):
        reason_id, user_id = reason_id or None, user_id or None  # (0: none)
        column = columns[stage_id]
        cents = int(total)
        count = int(count)
        column.count += count
        column.counts[currency] = column.counts.get(currency, 0) + count
        column.sums[currency] = column.sums.get(currency, 0) + cents
        column.reasons[reason_id] = column.reasons.get(reason_id, 0) + count
        if kind == "open":
            users = column.open_by_user.setdefault(currency, {})
            users[user_id] = users.get(user_id, 0) + cents
    return columns


#: the cards' company, one alias for every board (an alias made per call builds its columns anew)
_CARD_COMPANY = aliased(Company)


def board(viewer: Viewer, cards: int = CARDS) -> dict[int, Column]:
    """A column per stage with its sums and the first cards (soonest target date first, those
    without one last; then the larger value, then the id).

    Each stage's cards are two arms of one statement - the dated deals by target date, the undated
    ones by value - each with its ``LIMIT``: the index ``ix_deals_board`` is in that order, so a
    column is read from its start (for a viewer who sees a small share: until ``cards`` of theirs
    are found) instead of ranking every deal the viewer sees."""
    columns = stage_sums(viewer)
    fields = (Deal.id, Deal.name, Deal.stage_id, Deal.version, Deal.value_cents, Deal.currency,
              Deal.target_date, Deal.company_id, Deal.reason_id)
    arms = []
    for stage_id, column in columns.items():
        if not column.count:
            continue
        for dated in (True, False):
            order = (Deal.target_date,) if dated else ()
            arm = (select(*fields)
                   .where(Deal.stage_id == stage_id,
                          Deal.target_date.is_not(None) if dated else Deal.target_date.is_(None),
                          fully_visible_to(Deal, viewer))
                   .order_by(*order, Deal.value_cents.desc(), Deal.id)
                   .limit(cards))
            arms.append(select(arm.subquery()))  # (SQLite: an arm's own ORDER BY and LIMIT need a sub-select)
    if not arms:
        return columns
    first = union_all(*arms).subquery()
    company = _CARD_COMPANY
    # restricted companies are let through for their names on the cards (the deals are fully visible)
    stmt = restricted_rows(
        select(first, company.id.label("company_ref"), company.name.label("company_name"))
        .outerjoin(company, and_(company.id == first.c.company_id, visible_to(company, viewer)))
        .order_by(first.c.stage_id, first.c.target_date.is_(None), first.c.target_date,
                  first.c.value_cents.desc(), first.c.id)
    )
    for row in db.session.execute(stmt):
        column = columns[row.stage_id]
        if len(column.cards) < cards:  # (each arm brings up to ``cards``: the dated ones come first)
            column.cards.append(row)
    return columns


def currencies(columns: dict[int, Column]) -> list[str]:
    """Currencies in use, the largest total first."""
    totals: dict[str, int] = defaultdict(int)
    for column in columns.values():
        for currency, cents in column.sums.items():
            totals[currency] += cents
    return sorted(totals, key=lambda c: (-totals[c], c))


def deals_in(columns: dict[int, Column], currency: str) -> int:
    """How many deals of this currency the columns hold (every stage)."""
    return sum(column.counts.get(currency, 0) for column in columns.values())


def month_start(day: date, shift: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + shift
    return date(index // 12, index % 12 + 1, 1)


@dataclass
class Chart:
    currency: str
    months: list[date]
    #: (month, stage) -> cents
    values: dict[tuple[date, str], int]
    #: deals of this currency outside the months shown, or without a target date
    outside: int

    @property
    def peak(self) -> int:
        return max(self.values.values(), default=0)


#: (first day of the month, stage id, stage kind, cents, deals) of one currency within the chart's months
MonthRow = tuple[date, int, str, int, int]


def month_rows(viewer: Viewer, currency: str, first: date, months: int = MONTHS) -> list[MonthRow]:
    """The fully visible deals of ``currency`` with a target date in the ``months`` from the month
    of ``first``: their value and number per month and stage - what the chart (:func:`by_month`)
    and the forecast by month (:func:`forecast`) show. The sums of the groups the viewer sees in
    full: at most a row per group, month and stage."""
    first = month_start(first)
    end = month_start(first, months)
    s = DealMonthSum
    keys = (s.month, s.stage_id, s.kind)
    stmt = (
        select(*keys, func.sum(s.cents), func.sum(s.deals))
        .where(group_sums_visible_to(s, viewer), s.currency == currency,
               s.month >= first, s.month < end)
        .group_by(*keys)
        .having(func.sum(s.deals) > 0)
    )
    return [(month, stage_id, kind, int(cents), int(count))
            for month, stage_id, kind, cents, count in db.session.execute(stmt)]


def by_month(viewer: Viewer, currency: str, first: date, months: int = MONTHS, *,
             total: int | None = None, days: list[MonthRow] | None = None) -> Chart:
    """Pipeline value per stage and month of the target date, for one currency. ``total``: the
    number of deals of the currency (:func:`deals_in` of the board's columns), if known: the deals
    outside the months are then that minus those inside, instead of another pass over all deals.
    ``days``: :func:`month_rows` of the same arguments, if the page has them already."""
    first = month_start(first)
    end = month_start(first, months)
    if days is None:
        days = month_rows(viewer, currency, first, months)
    values: dict[tuple[date, str], int] = {}
    inside = 0
    for month, _stage_id, kind, cents, count in days:
        key = (month, kind)
        values[key] = values.get(key, 0) + cents
        inside += count
    if total is not None:
        return Chart(currency, [month_start(first, i) for i in range(months)], values, max(0, total - inside))
    visible = and_(fully_visible_to(Deal, viewer), Deal.currency == currency)
    outside = db.session.scalar(
        select(func.count()).select_from(Deal).where(
            visible, (Deal.target_date.is_(None)) | (Deal.target_date < first) | (Deal.target_date >= end))
    ) or 0
    return Chart(currency, [month_start(first, i) for i in range(months)], values, outside)


@dataclass
class Forecast:
    """The weighted forecast of one currency: each open deal's value times its stage's
    probability, by month of the target date and by responsible user."""

    currency: str
    months: list[date]
    #: month -> weighted cents (the months shown only)
    by_month: dict[date, int]
    #: (user id or None, name) -> weighted cents, the largest first (every target date)
    by_user: list[tuple[int | None, str, int]]
    #: weighted cents of every open deal of the currency
    total: int


def forecast(viewer: Viewer, currency: str, first: date, months: int = MONTHS, *,
             columns: dict[int, Column] | None = None, days: list[MonthRow] | None = None) -> Forecast:
    """The weighted forecast of the open deals the viewer fully sees: value × the stage's
    probability, per month of the target date and per responsible user (a deal without a target
    date counts for its user only). ``columns``: :func:`stage_sums`, ``days``: :func:`month_rows` of
    the same arguments, if the page has them already (the forecast then reads no deal itself).

    Summed in cents × per cent - a stage's probability times its deals' sum, which is the sum of
    each deal's value times it - and rounded to cents once at the end."""
    first = month_start(first)
    end = month_start(first, months)
    if columns is None:
        columns = stage_sums(viewer)
    if days is None:
        days = month_rows(viewer, currency, first, months)
    probability = {stage_id: column.stage.probability for stage_id, column in columns.items()}
    by_user: dict[int | None, int] = defaultdict(int)
    for stage_id, column in columns.items():
        for user_id, cents in column.open_by_user.get(currency, {}).items():
            by_user[user_id] += cents * probability[stage_id]
    by_month: dict[date, int] = defaultdict(int)
    for month, stage_id, kind, cents, _count in days:
        if kind == "open" and first <= month < end:
            by_month[month] += cents * probability[stage_id]
    ids = [u for u in by_user if u is not None]
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all()) if ids else {}
    users = sorted(((uid, names.get(uid, ""), _cents(w)) for uid, w in by_user.items()),
                   key=lambda row: (-row[2], row[1]))
    return Forecast(currency, [month_start(first, i) for i in range(months)],
                    {day: _cents(w) for day, w in by_month.items()}, users, _cents(sum(by_user.values())))


def _cents(weight: int) -> int:
    """Cents × per cent -> cents, half up."""
    return (weight + 50) // 100


def lost_by_reason(columns: dict[int, Column]) -> list[tuple[str | None, int]]:
    """How many lost deals of the board's ``columns`` (:func:`stage_sums`: the deals the viewer
    fully sees, so no count includes a deal they cannot fully see) have each reason (``None``:
    none given), most first. Only reasons some such deal has are listed (a deleted one too)."""
    counts: dict[int | None, int] = defaultdict(int)
    for column in columns.values():
        if column.stage.kind == "lost":
            for reason_id, n in column.reasons.items():
                counts[reason_id] += n
    names = reason_names() if counts else {}
    rows = [(names.get(rid) if rid is not None else None, n) for rid, n in counts.items()]
    return sorted(rows, key=lambda row: (-row[1], row[0] is None, row[0] or ""))
