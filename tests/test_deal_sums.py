"""The deals' sums per group (crm/pipeline/models.py), what the pipeline's figures read: after any
change to the deals - any statement, and each service that writes deals - they are what adding up
the deals that exist gives, per group."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select, text, update

from crm.auth.models import User
from crm.extensions import db
from crm.groups.models import BASIS_ID, Group
from crm.pipeline.models import MONTH_KEY, SUM_KEY, DealMonthSum, DealSum, compact
from crm.records.models import Deal
from crm.stages.models import DealReason, DealStage

from .conftest import ON_PG


def expected() -> tuple[dict, dict]:
    """The sums, added up here from the deals that exist."""
    sums: dict = defaultdict(lambda: [0, 0])
    months: dict = defaultdict(lambda: [0, 0])
    rows = db.session.execute(select(Deal.group_id, Deal.stage_id, Deal.reason_id, Deal.currency,
                                     Deal.responsible_id, Deal.stage, Deal.value_cents, Deal.target_date)
                              .where(Deal.deleted_at.is_(None), Deal.pending_import_id.is_(None)))
    for group, stage_id, reason, currency, user, kind, cents, day in rows:
        owner = (user or 0) if kind == "open" else 0  # (the forecast weighs open deals per user only)
        for table, key in ((sums, (group, stage_id, reason or 0, currency, owner, kind)),
                           (months, (group, currency, date(day.year, day.month, 1), stage_id, kind) if day else None)):
            if key is not None:
                table[key][0] += 1
                table[key][1] += cents or 0
    return ({k: tuple(v) for k, v in sums.items()}, {k: tuple(v) for k, v in months.items()})


def stored() -> tuple[dict, dict]:
    """The sums the database keeps, added up per key (PostgreSQL appends a row per change until
    :func:`crm.pipeline.models.compact`); a key left with no deals holds no cents and is left out."""
    out = []
    for model, key in ((DealSum, SUM_KEY), (DealMonthSum, MONTH_KEY)):
        columns = [getattr(model, k) for k in key]
        table = {}
        for *k, deals, cents in db.session.execute(
                select(*columns, func.sum(model.deals), func.sum(model.cents)).group_by(*columns)):
            assert deals >= 0, k
            if deals == 0:
                assert cents == 0, k
                continue
            table[tuple(k)] = (deals, cents)
        out.append(table)
    return out[0], out[1]


def rows_per_key(model, key) -> int:
    columns = [getattr(model, k) for k in key]
    counts = select(func.count().label("n")).select_from(model).group_by(*columns).subquery()
    return db.session.scalar(select(func.max(counts.c.n))) or 0


def assert_sums() -> None:
    assert stored() == expected()


# ---------------------------------------------------------------------------------------------
# Any statement on the deals
# ---------------------------------------------------------------------------------------------

DAYS = [None, date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 28), date(2027, 12, 31)]
COLUMNS = {
    "group": "group_id", "stage": "stage_id", "reason": "reason_id", "currency": "currency",
    "user": "responsible_id", "value": "value_cents", "day": "target_date", "trashed": "deleted_at",
    "pending": "pending_import_id", "name": "name", "kind": "stage",
}


#: most deals exist: in the recycle bin or pending one in four
RARELY = st.sampled_from([False, False, False, True])


def deal_values(draw) -> dict:
    return {
        "group": draw(st.integers(0, 2)), "stage": draw(st.integers(0, 2)), "reason": draw(st.integers(0, 2)),
        "currency": draw(st.sampled_from(["EUR", "CHF"])), "user": draw(st.integers(0, 2)),
        "value": draw(st.sampled_from([None, 0, 1, 99, 123_45, 5_000_000_00])),
        "day": draw(st.sampled_from(DAYS)), "trashed": draw(RARELY), "pending": draw(RARELY),
        "kind": draw(st.sampled_from(["open", "won", "lost"])),
    }


@st.composite
def statements(draw):
    kind = draw(st.sampled_from(["insert", "update", "update", "delete"]))
    if kind == "insert":
        return ("insert", [deal_values(draw) for _ in range(draw(st.integers(1, 4)))])
    # the deals whose id leaves this remainder: none, one or several of them
    which = (draw(st.integers(1, 3)), draw(st.integers(0, 2)))
    if kind == "delete":
        return ("delete", which)
    field = draw(st.sampled_from(sorted(COLUMNS)))
    return ("update", which, field, deal_values(draw)[field] if field != "name" else "x")


class World:
    def __init__(self):
        self.groups = [BASIS_ID] + [db.session.scalar(select(Group.id).where(Group.name == n)) or self._group(n)
                                    for n in ("Nord", "Süd")]
        stages = db.session.scalars(select(DealStage).order_by(DealStage.position)).all()
        self.stages = [(s.id, s.kind) for s in stages][:3]
        self.reasons = [None] + [db.session.scalar(select(DealReason.id).where(DealReason.name == n))
                                 or self._reason(n, o) for n, o in (("Preis", "lost"), ("Service", "won"))]
        self.users = [None] + [db.session.scalar(select(User.id).where(User.email == e)) or self._user(e)
                               for e in ("a@sums.example", "b@sums.example")]
        db.session.commit()

    def _group(self, name):
        g = Group(name=name)
        db.session.add(g)
        db.session.flush()
        return g.id

    def _reason(self, name, outcome):
        r = DealReason(name=name, outcome=outcome)
        db.session.add(r)
        db.session.flush()
        return r.id

    def _user(self, email):
        u = User(email=email, name=email, role="normal", password_hash="x")
        db.session.add(u)
        db.session.flush()
        return u.id

    def value(self, field: str, v):
        if field == "group":
            return self.groups[v]
        if field == "stage":
            return self.stages[v % len(self.stages)][0]
        if field == "reason":
            return self.reasons[v]
        if field == "user":
            return self.users[v]
        if field == "trashed":
            return datetime(2026, 3, 1) if v else None
        if field == "pending":
            return 7 if v else None
        return v

    def row(self, values: dict, n: int) -> dict:
        row = {COLUMNS[f]: self.value(f, v) for f, v in values.items()}
        if "kind" not in values:
            row["stage"] = self.stages[values["stage"] % len(self.stages)][1]
        return {**row, "name": f"D{n}", "sort_key": f"d{n}", "version": 1, "description": "", "reason_note": ""}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(statements(), min_size=1, max_size=12))
def test_any_statement_on_the_deals_keeps_the_sums(app, steps):
    """Inserts of several rows at once, updates of any column the sums depend on (and of one they
    do not) for none, one or several deals, deletes - trashed and pending deals counted nowhere."""
    db.session.execute(delete(Deal))
    world = World()
    assert_sums()
    n = 0
    for step in steps:
        if step[0] == "insert":
            rows = []
            for values in step[1]:
                n += 1
                rows.append(world.row(values, n))
            db.session.execute(insert(Deal), rows)
        else:
            mod, rest = step[1]
            where = (Deal.id % mod) == rest
            if step[0] == "delete":
                db.session.execute(delete(Deal).where(where))
            else:
                _kind, _which, field, v = step
                db.session.execute(update(Deal).where(where).values({COLUMNS[field]: world.value(field, v)}))
        assert_sums()
    db.session.commit()
    assert_sums()
    db.session.execute(delete(Deal))
    db.session.commit()
    assert stored() == ({}, {})


@pytest.mark.parametrize(("field", "before", "after"), [
    ("group", 0, 1), ("stage", 0, 1), ("reason", 0, 2), ("currency", "EUR", "CHF"), ("user", 0, 1),
    ("value", None, 123_45), ("value", 1, 2), ("day", None, date(2026, 2, 1)), ("day", DAYS[1], DAYS[2]),
    ("day", DAYS[2], None), ("trashed", False, True), ("trashed", True, False), ("pending", True, False),
    ("pending", False, True), ("kind", "won", "open"), ("kind", "open", "lost")])
def test_a_change_of_any_column_the_sums_add_up_moves_the_deal(app, field, before, after):
    """Each column the sums depend on, changed alone for one deal among others: the sums follow."""
    world = World()
    values = {"group": 0, "stage": 0, "reason": 0, "currency": "EUR", "user": 1, "value": 5,
              "day": DAYS[3], "trashed": False, "pending": False}
    db.session.execute(insert(Deal), [world.row({**values, field: before}, 1), world.row(values, 2)])
    first = stored()
    assert first == expected()
    db.session.execute(update(Deal).where(Deal.name == "D1").values({COLUMNS[field]: world.value(field, after)}))
    assert stored() == expected() != first


def test_the_rows_of_each_key_are_added_up_into_one_and_the_sums_stay(app, make):
    """PostgreSQL appends a row per change; ``compact`` (every minute) leaves one per key, and a
    key whose deals all went elsewhere none. SQLite has one row per key all along."""
    world = World()
    values = {"group": 0, "stage": 0, "reason": 0, "currency": "EUR", "user": 0, "value": 5,
              "day": DAYS[1], "trashed": False, "pending": False}
    db.session.execute(insert(Deal), [world.row({**values, "group": i % 3}, i) for i in range(9)])
    db.session.commit()
    for step in range(4):
        db.session.execute(update(Deal).where(Deal.id % 2 == step % 2).values(value_cents=Deal.value_cents + step))
        db.session.commit()
    db.session.execute(update(Deal).where(Deal.group_id == world.groups[2]).values(group_id=world.groups[1]))
    db.session.commit()
    before = stored()
    assert before == expected()
    assert rows_per_key(DealSum, SUM_KEY) == (1 if not ON_PG else 7)
    taken = compact(db.session.connection())
    db.session.commit()
    assert (taken > 0) == ON_PG
    assert stored() == before
    assert rows_per_key(DealSum, SUM_KEY) == rows_per_key(DealMonthSum, MONTH_KEY) == 1
    if ON_PG:  # Süd's key is gone: its deals went to Nord
        assert db.session.scalar(select(func.count()).select_from(DealSum)) == 2
    assert compact(db.session.connection()) == 0


@pytest.mark.skipif(not ON_PG, reason="SQLite has one writer at a time: a second one waits for the first anyway")
def test_a_save_does_not_wait_for_another_transactions_sums(app, make):
    """Two transactions changing deals of one group, stage and user (one of them as long as a large
    group assignment) write no common row: neither waits for the other; adding up the rows
    meanwhile leaves out what is not committed and takes it the next time."""
    make.deal("Lang", value=1, stage="open")  # (100 cents)
    make.deal("Kurz", value=2, stage="open")
    db.session.commit()
    long_tx = db.engine.connect()
    other = db.engine.connect()
    try:
        long_tx.begin()
        long_tx.execute(update(Deal).where(Deal.name == "Lang").values(value_cents=150))
        with other.begin():
            other.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            other.execute(update(Deal).where(Deal.name == "Kurz").values(value_cents=250))
        with other.begin():
            other.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            assert compact(other) > 0
        long_tx.commit()
    finally:
        long_tx.close()
        other.close()
    db.session.rollback()
    assert stored() == expected()
    assert stored()[0][(BASIS_ID, *next(iter(stored()[0]))[1:])] == (2, 400)
    assert compact(db.session.connection()) > 0
    db.session.commit()
    assert stored() == expected() and rows_per_key(DealSum, SUM_KEY) == 1


@pytest.mark.skipif(not ON_PG, reason="SQLite: one row per key, nothing to add up")
def test_filling_the_sums_anew_while_they_are_added_up_counts_each_deal_once(app, make):
    """``refill`` (``demo generate``) beside a compaction that has not committed yet: it waits for
    it, and then neither the compaction's row nor its own sums are left out or counted twice."""
    import threading

    from crm.pipeline.models import refill

    for i in range(4):
        make.deal(f"D{i}", value=i + 1, stage="open")
    db.session.execute(update(Deal).values(value_cents=Deal.value_cents + 1))
    db.session.commit()
    compacting = db.engine.connect()
    filling = db.engine.connect()
    try:
        compacting.begin()
        assert compact(compacting) > 0
        done = threading.Event()

        def fill():
            with filling.begin():
                refill(filling)
            done.set()

        worker = threading.Thread(target=fill)
        worker.start()
        assert not done.wait(0.5)  # (waiting for the compaction's locks)
        compacting.commit()
        worker.join(10)
        assert done.is_set()
    finally:
        compacting.close()
        filling.close()
    db.session.rollback()
    assert stored() == expected()
    assert stored()[0][next(iter(stored()[0]))] == (4, 100 + 200 + 300 + 400 + 4)


def test_the_worker_adds_up_the_rows_every_minute(app, make):
    from crm.jobs import services as jobs

    make.deal("Eins", value=1)
    db.session.execute(update(Deal).values(value_cents=3))
    db.session.commit()
    before = stored()
    jobs.compact_deal_sums_periodically.call_local()
    db.session.rollback()
    assert stored() == before == expected()
    assert rows_per_key(DealSum, SUM_KEY) == 1


def test_a_rolled_back_change_leaves_the_sums_as_they_were(app, make):
    make.deal("Bleibt", value=100, stage="open")
    before = stored()
    db.session.execute(update(Deal).values(value_cents=5))
    db.session.add(Deal(name="Kommt nicht", value_cents=7))
    db.session.flush()
    assert stored() != before
    db.session.rollback()
    assert stored() == before == expected()
    assert sum(deals for deals, _cents in before[0].values()) == 1


# ---------------------------------------------------------------------------------------------
# Each service that writes deals
# ---------------------------------------------------------------------------------------------

def test_every_service_that_writes_deals_keeps_the_sums(app, client, make):
    """The record services (create, edit, stage move on the board), the recycle bin (trash, restore,
    purge), a group assignment with its cascade and its undo, a group's deletion moving its
    records, an import's last step - each leaves the sums as the deals add up."""
    from crm.audit.models import AuditEntry
    from crm.groups.schemas import GroupDelete
    from crm.groups.services import delete_group
    from crm.records.assign import assign_group, undo_assignment
    from crm.records.schemas import record_input
    from crm.records.services import update_record
    from crm.records.trash import purge, restore_record, trash_records
    from crm.records.types import TYPES
    from crm.visibility import viewer_for

    make.enable_groups()
    admin = make.user("admin")
    nord, sued = make.group("Nord", [admin]), make.group("Süd", [admin])
    won = db.session.scalar(select(DealStage).where(DealStage.kind == "won"))
    acme = make.company("Acme", group=nord)
    deals = [make.deal(f"D{i}", group=nord if i % 2 else sued, company=acme if i < 4 else None, value=100 * i,
                       target_date=date(2026, 1 + i, 15) if i % 3 else None, responsible_id=admin.id)
             for i in range(6)]
    ids, version, acme_id, won_id = [d.id for d in deals], deals[1].version, acme.id, won.id
    nord_id, sued_id, admin_id = nord.id, sued.id, admin.id
    assert_sums()
    make.login(client, admin)

    r = client.post("/deals/new", data={"name": "Neu", "value": "12,50", "currency": "CHF", "group_id": nord_id,
                                        "stage_id": won_id, "target_date": "2026-05-02"})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    assert db.session.scalar(select(Deal.value_cents).where(Deal.name == "Neu")) == 1250
    assert_sums()
    r = client.post(f"/deals/{ids[1]}/stage", data={"stage_id": won_id, "version": version})
    assert r.status_code == 302
    assert db.session.scalar(select(Deal.stage).where(Deal.id == ids[1])) == "won"
    assert_sums()
    viewer = viewer_for(db.session.get(User, admin_id))
    update_record(TYPES["deal"], db.session.get(Deal, ids[4]),
                  record_input("deal", {"value": "55.5", "currency": "CHF", "target_date": "2026-09-09"}, patch=True),
                  viewer)
    db.session.commit()
    assert_sums()

    trash_records(TYPES["deal"], select(Deal.id).where(Deal.id.in_([ids[2], ids[3]])), viewer)
    db.session.commit()
    assert_sums()
    restore_record(TYPES["deal"], ids[2], viewer)
    db.session.commit()
    assert_sums()
    purge(None, older_than_days=None)
    db.session.commit()
    assert db.session.scalar(select(Deal.id).where(Deal.id == ids[3])) is None
    assert_sums()

    assign_group(TYPES["company"], [acme_id], sued_id, viewer, cascade=["deals"])
    db.session.commit()
    assert db.session.scalar(select(Deal.group_id).where(Deal.id == ids[1])) == sued_id
    assert_sums()
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    undo_assignment(entry, viewer)
    db.session.commit()
    assert db.session.scalar(select(Deal.group_id).where(Deal.id == ids[1])) == nord_id
    assert_sums()

    delete_group(viewer, db.session.get(Group, sued_id), GroupDelete(move_to=nord_id))
    db.session.commit()
    assert {g for (g, *_rest) in stored()[0]} == {nord_id}
    assert_sums()

    # an import's rows count once its last step makes them records
    db.session.execute(update(Deal).where(Deal.id == ids[5]).values(pending_import_id=99))
    assert_sums()
    db.session.execute(update(Deal).where(Deal.pending_import_id == 99).values(pending_import_id=None))
    db.session.commit()
    assert_sums()
    total = db.session.scalar(select(func.sum(DealSum.deals)))
    assert total == db.session.scalar(select(func.count()).select_from(Deal).where(Deal.deleted_at.is_(None)))


def test_the_migrated_triggers_are_the_codes(app):
    """The migrations write the triggers' SQL out (a revision does not follow later code): a change
    to it in crm/pipeline/models.py needs a revision that makes the new triggers - this fails until
    there is one. PostgreSQL: the functions' bodies and the triggers' definitions."""
    from crm.pipeline import models as sums

    code = sums.trigger_sql(db.engine.dialect.name)
    if ON_PG:
        found = set(db.session.execute(text(
            "SELECT proname, prosrc FROM pg_proc WHERE proname LIKE 'kontor_deal_sums%'")))
        found |= set(db.session.scalars(text(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname LIKE 'deal_sums%'")))
        expected = set()
        for stmt in code:
            if stmt.startswith("CREATE OR REPLACE FUNCTION "):
                expected.add((stmt.split()[4].split("(")[0], stmt.split("$$")[1]))
            else:
                expected.add(stmt.replace(" ON deals ", " ON public.deals "))
    else:
        found = set(db.session.scalars(text(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'deal_sums%'")))
        expected = set(code)
    assert found == expected


def test_the_sums_of_the_groups_a_user_does_not_see_are_not_read_and_the_rule_is_said_once(app, make):
    """The figures' own rule for the sums is the one the safety net looks for: said once in their
    statement. A statement on the sums that forgets it gets the net's copy: no row of a group the
    user does not see in full comes back either way."""
    from flask import g

    from crm.pipeline.queries import stage_sums
    from crm.visibility import viewer_for
    from tests.factories import statements_of

    make.enable_groups()
    u = make.user(name="Nora")
    nord, sued = make.group("Nord", [u]), make.group("Süd")
    make.deal("N", group=nord, value=10, stage="open")
    make.deal("S", group=sued, value=700, stage="open")
    viewer = viewer_for(u)
    with statements_of(db.engine) as statements, app.test_request_context():
        g.viewer = viewer
        columns = stage_sums(viewer)
        forgetful = db.session.scalars(select(DealSum.group_id)).all()
        db.session.rollback()
    assert sum(c.sums.get("EUR", 0) for c in columns.values()) == 1000
    assert set(forgetful) == {nord.id}
    figures = next(s for s in statements if "FROM deal_sums" in s and "sum(" in s)
    assert figures.count("deal_sums.group_id") == 1, figures
    assert statements[-1].count("deal_sums.group_id") == 2  # (selected, and the net's copy)


@pytest.mark.parametrize("groups_on", [True, False])
def test_the_board_adds_up_the_groups_the_user_sees_in_full(client, make, groups_on):
    """A user in Nord sees Nord's figures only; with the group system off, everyone's."""
    make.enable_groups(groups_on)
    u = make.user(name="Nora")
    nord, sued = make.group("Nord", [u]), make.group("Süd")
    make.deal("N", group=nord, value=1000, stage="open")
    make.deal("S", group=sued, value=70000, stage="open")
    make.login(client, u)
    html = client.get("/deals/pipeline", headers={"Accept-Language": "de-DE"}).get_data(as_text=True)
    assert ("71.000,00" in html) is not groups_on
    assert "1.000,00" in html
