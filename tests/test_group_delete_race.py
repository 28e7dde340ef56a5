"""Group delete vs concurrent assignment (issue 16): no 500 on either side. On PostgreSQL a second
connection holds one side's writes open (as the other service's transaction would) while the
request under test runs; the request waits and then answers cleanly. Before, the foreign key
failed: the assignment into a group being deleted, or the delete of a group records were just
being assigned to."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from crm.extensions import db
from crm.groups.models import Group
from crm.models import Person
from tests.conftest import ON_PG
from tests.test_trust_services import bearer

pytestmark = pytest.mark.skipif(not ON_PG, reason="two writers at once: PostgreSQL (SQLite has one writer)")


@pytest.fixture
def setup(make):
    make.enable_groups()
    admin = make.user("admin")
    nord, sued = make.group("Nord", [admin]), make.group("Süd", [admin])
    people = [make.person(f"Kurz{i}", group=nord).id for i in range(3)]
    return admin, nord.id, sued.id, people


def while_other_transaction_holds(statements, call):
    """Run ``statements`` in a transaction of a second connection, start ``call`` (a request) in
    a thread, check that it waits for that transaction, commit it, and return the answer."""
    box = {}
    conn = db.engine.connect()
    try:
        for stmt, params in statements:
            conn.execute(text(stmt), params)
        def run():
            try:
                box["resp"] = call()
            except Exception as err:  # (the test client raises what would be a 500)
                box["error"] = err

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(1.5)
        waited = thread.is_alive()
        conn.commit()
    finally:
        conn.close()
    thread.join(30)
    assert "error" not in box, f"a 500: {box['error']!r}"
    assert waited, box["resp"].get_data(as_text=True)[:1000]  # it waited for the other transaction
    return box["resp"]


def test_an_assignment_into_a_group_being_deleted_answers_without_a_500(client, setup):
    admin, nord, sued, people = setup
    # the delete of Süd, not yet committed: its records moved to Nord, the row deleted
    token = bearer(admin)
    resp = while_other_transaction_holds([
        ("UPDATE people SET group_id = :to WHERE group_id = :g", {"to": nord, "g": sued}),
        ("DELETE FROM groups WHERE id = :g", {"g": sued}),
    ], lambda: client.post("/api/v1/people/assign-group", headers=token, json={"ids": people, "group_id": sued}))
    assert resp.status_code == 422, resp.get_data(as_text=True)
    # as for a group that never existed
    assert list(resp.get_json()["error"]["fields"]) == ["group_id"]
    db.session.expire_all()
    assert set(db.session.scalars(select(Person.group_id))) == {nord}


@pytest.mark.parametrize("move", [False, True])
def test_deleting_a_group_records_are_being_assigned_to_answers_without_a_500(client, setup, move):
    admin, nord, sued, _people = setup
    # an assignment of the people into Süd, not yet committed
    url = f"/api/v1/groups/{sued}" + (f"?move_to={nord}" if move else "")
    token = bearer(admin)
    resp = while_other_transaction_holds([("UPDATE people SET group_id = :g", {"g": sued})],
                                         lambda: client.delete(url, headers=token))
    db.session.expire_all()
    if move:
        # the delete counted and moved the people the assignment had just put into Süd
        assert resp.status_code == 204, resp.get_data(as_text=True)
        assert db.session.get(Group, sued) is None
        assert set(db.session.scalars(select(Person.group_id))) == {nord}
    else:
        assert resp.status_code == 409, resp.get_data(as_text=True)
        assert list(resp.get_json()["error"]["fields"]) == ["move_to"]  # "still holds records: choose …"
        assert db.session.scalar(select(func.count()).select_from(Person).where(Person.group_id == sued)) == 3
