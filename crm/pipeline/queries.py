"""The deals pipeline: deals by stage with their sums, and pipeline value per stage and month.

Every figure is a SQL aggregate over the deals the viewer *fully* sees: a restricted deal's
value and stage are hidden, so it is neither on the board nor in a sum. The board's columns are
the stages an admin defined (crm.stages), in their order; the chart sums by the stages' kind.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, extract, func, select, union_all
from sqlalchemy.orm import aliased

from ..auth.models import User
from ..extensions import db
from ..records.models import Company, Deal
from ..stages.models import DealStage
from ..stages.queries import all_stages, reason_names
from ..visibility import Viewer, fully_visible_to, restricted_rows, visible_to

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
    cards: list = field(default_factory=list)


def stage_sums(viewer: Viewer) -> dict[int, Column]:
    """A column per stage (by stage id, in the board's order) with its count and sums (and, in the
    same pass, its deals' count per won/lost reason)."""
    columns = {stage.id: Column(stage) for stage in all_stages()}
    stmt = (
        select(Deal.stage_id, Deal.currency, Deal.reason_id, func.count(),
               func.coalesce(func.sum(Deal.value_cents), 0))
        .where(fully_visible_to(Deal, viewer))
        .group_by(Deal.stage_id, Deal.currency, Deal.reason_id)
    )
    for stage_id, currency, reason_id, count, total in db.session.execute(stmt):
        column = columns[stage_id]
        column.count += count
        column.counts[currency] = column.counts.get(currency, 0) + count
        column.sums[currency] = column.sums.get(currency, 0) + int(total)
        column.reasons[reason_id] = column.reasons.get(reason_id, 0) + count
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


def by_month(viewer: Viewer, currency: str, first: date, months: int = MONTHS, *,
             total: int | None = None) -> Chart:
    """Pipeline value per stage and month of the target date, for one currency. ``total``: the
    number of deals of the currency (:func:`deals_in` of the board's columns), if known: the deals
    outside the months are then that minus those inside, instead of another pass over all deals."""
    first = month_start(first)
    end = month_start(first, months)
    visible = and_(fully_visible_to(Deal, viewer), Deal.currency == currency)
    # by day, added up to months here: at most 372 days × 3 kinds of rows, and the database groups
    # the index's dates as they are instead of taking every deal's year and month apart (half the
    # time at 1M deals, SQLite and PostgreSQL alike)
    stmt = (
        select(Deal.target_date, Deal.stage, func.coalesce(func.sum(Deal.value_cents), 0), func.count())
        .where(visible, Deal.target_date >= first, Deal.target_date < end)
        .group_by(Deal.target_date, Deal.stage)
    )
    values: dict[tuple[date, str], int] = {}
    inside = 0
    for day, stage, cents, count in db.session.execute(stmt):
        key = (date(day.year, day.month, 1), stage)
        values[key] = values.get(key, 0) + int(cents)
        inside += count
    if total is not None:
        return Chart(currency, [month_start(first, i) for i in range(months)], values, max(0, total - inside))
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


def forecast(viewer: Viewer, currency: str, first: date, months: int = MONTHS) -> Forecast:
    """One aggregate over the open deals the viewer fully sees: weighted value per month of the
    target date and responsible user (a deal without a target date counts for its user only)."""
    first = month_start(first)
    end = month_start(first, months)
    year, month = extract("year", Deal.target_date), extract("month", Deal.target_date)
    weighted = func.coalesce(func.sum(Deal.value_cents * DealStage.probability), 0)
    stmt = (
        select(year, month, Deal.responsible_id, weighted)
        .join(DealStage, DealStage.id == Deal.stage_id)
        .where(fully_visible_to(Deal, viewer), Deal.currency == currency, Deal.stage == "open")
        .group_by(year, month, Deal.responsible_id)
    )
    by_month: dict[date, int] = defaultdict(int)
    by_user: dict[int | None, int] = defaultdict(int)
    # summed in cents × per cent, rounded to cents once at the end
    for y, m, user_id, weight in db.session.execute(stmt):
        by_user[user_id] += int(weight)
        if y is not None:
            day = date(int(y), int(m), 1)
            if first <= day < end:
                by_month[day] += int(weight)
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
