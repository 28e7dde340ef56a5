"""Faults: an error injected at every step of a multi-statement write - the group assignment with
its cascade, the deletion of a group (through its settings page), a record edit with custom
fields, tags and contact details. Afterwards not one row of any table has changed, and a page
says that nothing was saved."""
from __future__ import annotations

import pytest
from flask import g

from crm.extensions import db
from crm.records import assign as assign_module
from crm.visibility import viewer_for

from . import figures
from .world import BASIS, FieldSpec, RecordSpec, UserSpec, WorldSpec, build, diff_dumps, dump_database


class Injected(RuntimeError):
    pass


def fail_on_call(monkeypatch, module, name: str, n: int) -> dict:
    """Make ``module.name`` raise on its ``n``-th call (the calls before go through)."""
    real = getattr(module, name)
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            figures.add("faults_injected")
            raise Injected(f"fault injected into {name} call {n}")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def _spec() -> WorldSpec:
    users = (UserSpec("admin", "admin", frozenset({"Nord", "Süd"})),)
    records = []
    for i in range(2):
        records += [RecordSpec(f"c{i}", "company", "Süd"),
                    RecordSpec(f"p{i}", "person", "Süd", company=f"c{i}"),
                    RecordSpec(f"d{i}", "deal", "Süd", company=f"c{i}", person=f"p{i}"),
                    RecordSpec(f"pr{i}", "project", "Süd", company=f"c{i}")]
    fields = (FieldSpec("f", "company", "text", frozenset({BASIS})),)
    return WorldSpec(True, ("Nord", "Süd"), users, fields, tuple(records))


#: (function in crm.records.assign, how many calls one cascade makes)
ASSIGN_STEPS = [("insert", 4), ("update", 4), ("audit", 1)]


@pytest.mark.parametrize(("name", "n"), [(name, n) for name, calls in ASSIGN_STEPS for n in range(1, calls + 1)])
def test_fault_in_the_middle_of_a_cascade_changes_nothing(app, monkeypatch, name, n):
    from crm.auth.models import User
    from crm.records.types import TYPES

    world = build(_spec(), issue_api_tokens=False)
    before = dump_database()
    fail_on_call(monkeypatch, assign_module, name, n)
    companies = [world.record_ids[r.key] for r in world.records_of("company")]
    with app.test_request_context("/companies", method="POST"):
        g.viewer = viewer = viewer_for(db.session.get(User, world.user_ids["admin"]))
        with pytest.raises(Injected):
            assign_module.assign_group(TYPES["company"], companies, world.group_ids["Nord"], viewer,
                                       cascade=["people", "deals", "projects"])
        db.session.rollback()
    after = dump_database()
    assert after == before, diff_dumps(before, after)


#: (four moves of records; the users whose default group it was go through set_default_group)
GROUP_DELETE_STEPS = [("update", 4), ("audit", 1)]


@pytest.mark.parametrize(("name", "n"), [(name, n) for name, calls in GROUP_DELETE_STEPS
                                         for n in range(1, calls + 1)])
def test_fault_while_deleting_a_group_changes_nothing(app, monkeypatch, name, n):
    from crm.groups import services

    world = build(_spec(), issue_api_tokens=False)
    client = app.test_client()
    client.post("/login", data={"email": world.user_emails["admin"], "password": "adversarial-password"})
    before = dump_database(exclude=("rate_counters", "users"))
    fail_on_call(monkeypatch, services, name, n)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the error page, not a traceback
    try:
        resp = client.post(f"/settings/groups/{world.group_ids['Süd']}/delete",
                           data={"move_to": str(world.group_ids["Nord"])})
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert resp.status_code == 500
    assert 'class="error-page"' in resp.get_data(as_text=True)
    after = dump_database(exclude=("rate_counters", "users"))
    assert after == before, diff_dumps(before, after)
    # and without the fault the same request does it all
    monkeypatch.undo()
    ok = client.post(f"/settings/groups/{world.group_ids['Süd']}/delete",
                     data={"move_to": str(world.group_ids["Nord"])})
    assert ok.status_code == 302
    assert dump_database(exclude=("rate_counters", "users")) != before


EDIT_STEPS = [("set_values", 1), ("_set_tags", 1), ("_set_contact_details", 1), ("audit", 1)]


@pytest.mark.parametrize(("name", "n"), EDIT_STEPS)
def test_fault_during_a_record_edit_changes_nothing(app, monkeypatch, name, n):
    from crm.records import services

    world = build(_spec(), issue_api_tokens=False)
    client = app.test_client()
    client.post("/login", data={"email": world.user_emails["admin"], "password": "adversarial-password"})
    cid = world.record_ids["c0"]
    before = dump_database(exclude=("rate_counters", "users"))
    fail_on_call(monkeypatch, services, name, n)
    data = {"name": "Neu", "background": "neu", "emails": "neu@example.com", "phones": "+49 1",
            "tags": "neu, anders", "version": "1", "group_id": str(world.group_ids["Nord"]),
            f"cf_{world.field_ids['f']}": "neuer Wert", "responsible_id": ""}
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        resp = client.post(f"/companies/{cid}/edit", data=data)
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert resp.status_code == 500
    after = dump_database(exclude=("rate_counters", "users"))
    assert after == before, diff_dumps(before, after)
