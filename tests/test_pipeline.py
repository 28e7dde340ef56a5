"""The deals pipeline: sums per stage and currency, the month chart, and only deals seen in full."""
from __future__ import annotations

import re
from datetime import date

import pytest

from crm.common import utcnow
from crm.extensions import db
from crm.pipeline.queries import board, by_month, month_start, stage_sums
from crm.records.assign import assign_group
from crm.records.types import TYPES


@pytest.fixture
def world(make):
    make.enable_groups()
    u = make.user()
    nord = make.group("Nord", [u])
    sued = make.group("Süd")
    make.field("deal", "Quelle", shared_with=[nord])  # Süd's deals are restricted for u, not hidden
    this_month = month_start(utcnow().date())
    deals = {
        "a": make.deal("A", group=nord, value=1000, stage="open", target_date=this_month),
        "b": make.deal("B", group=nord, value=250.5, stage="open", target_date=this_month),
        "c": make.deal("C", group=nord, value=300, stage="won", currency="CHF", target_date=this_month),
        "d": make.deal("D", group=nord, value=50, stage="lost"),
        "s": make.deal("Süd-Deal", group=sued, value=99999, stage="open", target_date=this_month),
    }
    return {"u": u, "nord": nord, "sued": sued, "month": this_month, **deals}


def sums(app, make, user):
    """Count and sums per stage, by the stage's kind (the migration's three stages, one per kind)."""
    with make.acting_as(app, user) as viewer:
        return {col.stage.kind: (col.count, col.sums) for col in stage_sums(viewer).values()}


def column(columns, kind):
    return next(col for col in columns.values() if col.stage.kind == kind)


def test_sums_per_stage_and_currency_over_fully_visible_deals(app, make, world):
    assert sums(app, make, world["u"]) == {
        "open": (2, {"EUR": 125050}),
        "won": (1, {"CHF": 30000}),
        "lost": (1, {"EUR": 5000}),
    }


def test_sums_change_when_a_deal_moves_to_a_group_the_user_is_not_in(app, make, world):
    w = world
    admin = make.user("admin", groups=[w["nord"]])
    with make.acting_as(app, admin) as viewer:
        assign_group(TYPES["deal"], [w["a"].id], w["sued"].id, viewer)
        db.session.commit()
    assert sums(app, make, w["u"])["open"] == (1, {"EUR": 25050})
    with make.acting_as(app, w["u"]) as viewer:
        cards = [c.name for c in column(board(viewer), "open").cards]
        chart = by_month(viewer, "EUR", w["month"])
    assert cards == ["B"]
    assert chart.values == {(w["month"], "open"): 25050}


def test_extension_off_counts_everything(app, make, world):
    make.enable_groups(False)
    assert sums(app, make, world["u"])["open"] == (3, {"EUR": 125050 + 9999900})


def test_chart_by_month_and_outside(app, make, world):
    w = world
    later = month_start(w["month"], 14)
    make.deal("Später", group=w["nord"], value=10, target_date=later)
    with make.acting_as(app, w["u"]) as viewer:
        chart = by_month(viewer, "EUR", month_start(w["month"], -5))
        assert len(chart.months) == 12 and chart.months[5] == w["month"]
        assert chart.values == {(w["month"], "open"): 125050}
        assert chart.outside == 2  # D has no target date, "Später" is after the months shown
        chf = by_month(viewer, "CHF", w["month"])
        assert chf.values == {(w["month"], "won"): 30000}


def test_board_cards_by_target_date(app, make, world):
    w = world
    make.deal("Früh", group=w["nord"], value=1, target_date=date(2020, 1, 1))
    with make.acting_as(app, w["u"]) as viewer:
        columns = board(viewer, cards=2)
    assert [c.name for c in column(columns, "open").cards] == ["Früh", "A"]
    assert column(columns, "open").count == 3


def test_board_cards_without_a_target_date_come_last_the_larger_value_first(app, make, world):
    """(Each column is read as two arms, the dated deals and the undated ones: the undated come
    after every dated one, whatever their value, and the column still stops at ``cards``.)"""
    w = world
    make.deal("Ohne Datum klein", group=w["nord"], value=1)
    make.deal("Ohne Datum groß", group=w["nord"], value=900000)
    make.deal("Früh", group=w["nord"], value=1, target_date=date(2020, 1, 1))
    with make.acting_as(app, w["u"]) as viewer:
        every = [c.name for c in column(board(viewer), "open").cards]
        four = [c.name for c in column(board(viewer, cards=4), "open").cards]
    assert every[0] == "Früh" and every[-2:] == ["Ohne Datum groß", "Ohne Datum klein"] and len(every) == 5
    assert four == every[:4]


def test_page_renders_svg_without_inline_styles_or_scripts(client, make, world):
    make.login(client, world["u"])
    resp = client.get("/deals/pipeline")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "<svg" in html and 'class="bar stage-open"' in html
    assert "Süd-Deal" not in html and "99.999" not in html and "99,999" not in html
    assert not re.search(r"\sstyle=", html)
    assert "<script>" not in html and not re.search(r"\son\w+=", html)
    assert client.get("/deals/pipeline?currency=CHF&from=2020-13").status_code == 200
    assert client.get("/deals/pipeline?currency=XXX&from=garbage").status_code == 200


def test_nav_links_to_the_pipeline(client, make):
    make.login(client, make.user())
    assert 'href="/deals/pipeline"' in client.get("/").get_data(as_text=True)


def test_odd_month_arguments(client, make):
    make.login(client, make.user())
    for arg in ("0001-01", "9999-12", "2026-00", "2026-13", "x-y", "2026", "-1-1", "99999999999999999999-1"):
        assert client.get(f"/deals/pipeline?from={arg}").status_code == 200, arg


@pytest.mark.parametrize(("language", "top", "quarter"), [("de-DE", "300.000\xa0€", "75.000\xa0€"),
                                                          ("en-GB", "€300,000", "€75,000")])
def test_chart_axis_is_written_like_the_amounts_on_the_cards(client, make, world, language, top, quarter):
    make.deal("Groß", group=world["nord"], value=250000, stage="open", target_date=world["month"])
    make.login(client, world["u"])
    html = client.get("/deals/pipeline", headers={"Accept-Language": language}).get_data(as_text=True)
    ticks = re.findall(r'<text class="tick"[^>]*>([^<]*)</text>', html)
    assert ticks[-1] == top and ticks[1] == quarter, ticks


def test_page_reads_the_deals_once_and_counts_those_outside_the_months(client, make, world):
    """The cards are the deals, the figures the sums per group (issues 17, 15): one statement on
    each sum table, the weighted forecast from those two, and the deals outside the months shown
    are the sums' count minus the months' - not another pass over every deal the user sees."""
    from sqlalchemy import event

    make.deal("Später", group=world["nord"], value=10, target_date=month_start(world["month"], 14))
    make.login(client, world["u"])
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        html = client.get("/deals/pipeline").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    def reading(table: str) -> int:
        return len([s for s in seen if re.search(rf"\bFROM {table}\b", s)])

    assert (reading("deals"), reading("deal_sums"), reading("deal_month_sums")) == (1, 1, 1)
    # D has no target date, "Später" is after the months shown (the Süd deal is not counted)
    assert "2 Angebote haben kein Zieldatum in diesen Monaten" in html or \
        "2 deals have no target date in these months" in html


def test_weighted_forecast_by_month_and_responsible_over_fully_visible_open_deals(app, make, world):
    """Value × the probability of the stage, open deals only (C won, D lost: not counted), and
    never the Süd deal the user sees restricted."""
    from crm.pipeline.queries import forecast
    from crm.stages.models import DealStage
    from crm.stages.schemas import StageCreate
    from crm.stages.services import create_stage

    w = world
    admin = make.user("admin", name="Ada")
    with make.acting_as(app, admin) as viewer:
        angebot = create_stage(viewer, StageCreate.parse({"name": "Angebot", "probability": 50, "kind": "open"}))
        db.session.commit()
    w["b"].stage_id, w["b"].responsible_id = angebot.id, admin.id  # 250.50 at 50 %
    make.deal("Ohne Datum", group=w["nord"], value=100, stage="open")  # 10 % of 100, no month
    db.session.commit()
    assert db.session.get(DealStage, w["a"].stage_id).probability == 10
    with make.acting_as(app, w["u"]) as viewer:
        f = forecast(viewer, "EUR", month_start(w["month"], -5))
    # A: 1000 × 10 % = 100.00; B: 250.50 × 50 % = 125.25; "Ohne Datum": 100 × 10 % = 10.00
    assert f.by_month == {w["month"]: 100_00 + 125_25}
    assert f.total == 100_00 + 125_25 + 10_00
    assert f.by_user == [(admin.id, "Ada", 125_25), (None, "", 110_00)]


def test_the_forecast_is_on_the_page(client, make, world):
    make.login(client, world["u"])
    html = client.get("/deals/pipeline", headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
    assert "Weighted forecast" in html
    assert "€125.05" in html  # (1000 + 250.50) × 10 %, the Süd deal not counted


@pytest.mark.parametrize("member_of", [2, 12, 40, None],
                         ids=["few groups", "a dozen groups", "many groups", "groups off"])
def test_the_figures_add_up_exactly_the_deals_the_user_fully_sees(app, make, member_of):
    """Sums per stage, the chart and the weighted forecast against the same figures added up here
    from the deals themselves, for a user in a few groups (their list of groups in the SQL), in a
    dozen (the list written ``likely(…)`` for SQLite: it walks the figures' own indexes), in more
    than GROUP_LIST_MAX (one list parameter, walked alike) and with the group system off - trashed
    deals and those of a group the user is not in never counted."""
    import random
    from datetime import timedelta

    from crm.pipeline.queries import forecast, month_rows
    from crm.stages.models import DealStage
    from crm.visibility import FEW_GROUPS, GROUP_LIST_MAX

    assert 2 <= FEW_GROUPS < 12 <= GROUP_LIST_MAX < 40  # (each parameter one way of writing the groups)
    rng = random.Random(17)
    make.enable_groups(member_of is not None)
    u = make.user(name="Uta")
    other = make.user(name="Otto")
    groups = [make.group(f"G{i}", [u] if i < (member_of or 0) else []) for i in range((member_of or 2) + 1)]
    db.session.add(DealStage(name="Angebot", probability=35, kind="open", position=1))
    db.session.commit()
    stages = list(db.session.query(DealStage))
    today = month_start(utcnow().date())
    first = month_start(today, -5)
    deals = []
    for i in range(120):
        stage = rng.choice(stages)
        day = rng.choice([None, month_start(today, -9), first, today + timedelta(days=rng.randrange(0, 200)),
                          month_start(today, 7) - timedelta(days=1), month_start(today, 7)])
        d = make.deal(f"D{i}", group=rng.choice(groups), stage_id=stage.id, stage=stage.kind,
                      currency=rng.choice(["EUR", "EUR", "CHF"]), target_date=day,
                      responsible_id=rng.choice([None, u.id, other.id]))
        d.value_cents = rng.choice([None, 0, 1, 999, 123_45, 5_000_00])
        if rng.random() < 0.1:
            d.deleted_at = utcnow()
        deals.append(d)
    db.session.commit()
    seen = [d for d in deals if d.deleted_at is None
            and (member_of is None or d.group_id in {g.id for g in groups[:member_of]})]
    assert 0 < len(seen) < len(deals)
    end = month_start(first, 12)

    with make.acting_as(app, u) as viewer:
        columns = stage_sums(viewer)
        days = month_rows(viewer, "EUR", first)
        chart = by_month(viewer, "EUR", first, days=days)
        outside_by_count = by_month(viewer, "EUR", first, total=sum(c.counts.get("EUR", 0)
                                                                      for c in columns.values())).outside
        f = forecast(viewer, "EUR", first, columns=columns, days=days)
        f_alone = forecast(viewer, "EUR", first)

    probability = {s.id: s.probability for s in stages}
    for stage in stages:
        mine = [d for d in seen if d.stage_id == stage.id]
        col = columns[stage.id]
        assert col.count == len(mine)
        for cur in ("EUR", "CHF"):
            of = [d for d in mine if d.currency == cur]
            assert col.counts.get(cur, 0) == len(of)
            assert col.sums.get(cur, 0) == sum(d.value_cents or 0 for d in of)
    in_months = [d for d in seen if d.currency == "EUR" and d.target_date is not None and first <= d.target_date < end]
    values: dict = {}
    for d in in_months:
        key = (month_start(d.target_date), d.stage)
        values[key] = values.get(key, 0) + (d.value_cents or 0)
    assert chart.values == values
    assert chart.outside == outside_by_count == len([d for d in seen if d.currency == "EUR"]) - len(in_months)
    open_eur = [d for d in seen if d.currency == "EUR" and d.stage == "open"]
    weights: dict = {}
    for d in open_eur:
        weights[d.responsible_id] = weights.get(d.responsible_id, 0) + (d.value_cents or 0) * probability[d.stage_id]
    assert {uid: cents for uid, _name, cents in f.by_user} == {uid: (w + 50) // 100 for uid, w in weights.items()}
    monthly: dict = {}
    for d in open_eur:
        if d.target_date is not None and first <= d.target_date < end:
            day = month_start(d.target_date)
            monthly[day] = monthly.get(day, 0) + (d.value_cents or 0) * probability[d.stage_id]
    assert f.by_month == {day: (w + 50) // 100 for day, w in monthly.items()}
    assert f.total == (sum(weights.values()) + 50) // 100
    assert (f_alone.by_user, f_alone.by_month, f_alone.total) == (f.by_user, f.by_month, f.total)
