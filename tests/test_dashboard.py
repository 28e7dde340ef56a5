"""The home page's dashboard (issue 15): my open deals and their (weighted) sum, tasks due, the
pipeline by stage, recently changed records of my groups - every number over fully visible
records only. Random worlds: the numbers equal what the user fully sees, counted here from the
world itself (not by the app's predicates)."""
from __future__ import annotations

import random
import re
from collections import Counter
from datetime import date, timedelta

import pytest

from crm.dashboard.queries import dashboard_for

TODAY = date(2030, 6, 15)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_dashboard_numbers_equal_what_the_user_fully_sees(app, make, seed):
    rnd = random.Random(seed)
    enabled = seed != 3
    make.enable_groups(enabled)
    users = [make.user(rnd.choice(["normal", "admin"])) for _ in range(3)]
    groups = [make.group(f"G{i}", [u for u in users if rnd.random() < 0.5]) for i in range(3)]
    make.field("deal", "Geteilt", shared_with=[groups[0]])  # restricted deals must not count either
    from sqlalchemy import select

    from crm.extensions import db
    from crm.groups.models import group_members
    members = {g.id: set(db.session.scalars(select(group_members.c.user_id).where(group_members.c.group_id == g.id)))
               for g in groups}
    deals, tasks = [], []
    for i in range(25):
        grp = rnd.choice([None, *groups])
        d = make.deal(f"Deal {i}", group=grp, value=rnd.randint(1, 900) * 10,
                      stage=rnd.choice(["open", "open", "won", "lost"]), currency=rnd.choice(["EUR", "EUR", "USD"]),
                      responsible_id=rnd.choice(users).id)
        deals.append((d, grp))
        if rnd.random() < 0.6:
            t = make.task(f"Aufgabe {i}", record=d, assignee=rnd.choice(users), done=rnd.random() < 0.3)
            t.due_date = TODAY + timedelta(days=rnd.randint(-5, 5))
            tasks.append((t, grp))
    db.session.commit()

    def full(u, grp) -> bool:
        return not enabled or grp is None or u.id in members[grp.id]

    for u in users:
        with make.acting_as(app, u) as viewer:
            board = dashboard_for(viewer, u.id, TODAY)
        seen = [d for d, grp in deals if full(u, grp)]
        mine = [d for d in seen if d.responsible_id == u.id and d.stage == "open"]
        expect_mine = {}
        for d in mine:
            n, s, w = expect_mine.get(d.currency, (0, 0, 0))
            expect_mine[d.currency] = (n + 1, s + d.value_cents, w + d.value_cents * 10)  # "Offen": 10 %
        assert board.my_open == {cur: (n, s, w // 100) for cur, (n, s, w) in expect_mine.items()}
        pipeline = Counter()
        sums = Counter()
        for d in seen:
            pipeline[(d.stage_id, d.currency)] += 1
            sums[(d.stage_id, d.currency)] += d.value_cents
        assert {(x.stage_id, x.currency): (x.count, x.total) for x in board.pipeline} == {
            k: (pipeline[k], sums[k]) for k in pipeline}
        assert board.tasks_due == sum(1 for t, grp in tasks if full(u, grp) and t.assignee_id == u.id
                                      and not t.done and t.due_date <= TODAY)
        assert {(r.rtype.key, r.id) for r in board.recent} <= {("deal", d.id) for d in seen}
        assert len(board.recent) == min(5, len(seen))


def test_the_dashboard_page_shows_no_hidden_deal(app, client, make):
    make.enable_groups()
    u = make.user()
    finanzen = make.group("Finanzen")
    make.deal("Sichtbar", value=1234, responsible_id=u.id)
    make.deal("Geheimdeal", group=finanzen, value=987654, responsible_id=u.id)
    make.login(client, u)
    home = client.get("/").get_data(as_text=True)
    assert 'hx-get="/dashboard"' in home
    resp = client.get("/dashboard", headers={"HX-Request": "true", "HX-Target": "dashboard"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in body
    assert 'data-dash="my-open-count">1<' in body
    assert "Sichtbar" in body and "Geheimdeal" not in body and "9.876" not in body and "987" not in body


def test_the_pipeline_table_names_the_stages_in_the_boards_order(client, make):
    """The stages as the admin named them, in the board's order - not the words open/won/lost."""
    from crm.extensions import db
    from crm.stages.models import DealStage

    offer = DealStage(name="Angebot", position=0, probability=50, kind="open")
    db.session.add(offer)
    db.session.commit()
    make.deal("Verloren 1", stage="lost", value=100)
    make.deal("Gewonnen 1", stage="won", value=200)
    make.deal("Im Angebot", stage_id=offer.id, value=300)
    make.login(client, make.user())
    body = client.get("/dashboard", headers={"HX-Request": "true", "HX-Target": "dashboard",
                                             "Accept-Language": "en"}).get_data(as_text=True)
    table = body[body.index('id="dash-pipeline-title"'):]
    assert re.findall(r'<th scope="row">([^<]*)</th>', table) == ["Angebot", "Gewonnen", "Verloren"]
