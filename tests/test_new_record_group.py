"""A new-user trial (product.md §5): picking a company on /people/new, /deals/new, /projects/new
left "Zuständige Gruppe" on the user's default (Basis), so a Nord customer's contact landed in
Basis. The form now proposes the picked company's group - unless the user chose a group
themselves, the company is not one they fully see, or the type has a default group - and an
assignment rule still decides a record left at what the form proposed."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import Deal, Person
from crm.rules.models import AssignmentRule

HX = {"HX-Request": "true", "HX-Target": "group-field"}


@pytest.fixture
def trial(make, client):
    make.enable_groups()
    eva = make.user("normal", name="Eva Extern")
    nord = make.group("Nord", [eva])
    sued = make.group("Süd", [eva])
    finanzen = make.group("Finanzen")
    kunde = make.company("Nordkunde GmbH", group=nord)
    geheim = make.company("Geheim AG", group=finanzen)
    make.login(client, eva)
    return locals()


def selected(body: str) -> str:
    """The option selected in the group field (not another select's: the responsible user's)."""
    field = re.search(r'<select[^>]*name="group_id"[^>]*>(.*?)</select>', body, re.S).group(1)
    return re.search(r'<option selected value="(\d+|None)">', field).group(1)


@pytest.mark.parametrize("plural", ["people", "deals", "projects"])
def test_picking_a_company_proposes_its_group(client, trial, plural):
    t = trial
    page = client.get(f"/{plural}/new").text
    # Eva is in Nord and Süd and has no default group: she chooses (not Basis, silently)
    assert 'hx-trigger="change from:#company_id"' in page and selected(page) == "None"
    field = client.get(f"/{plural}/new?company_id={t['kunde'].id}&group_id=None&proposed=None", headers=HX).text
    assert "<html" not in field and selected(field) == str(t["nord"].id)
    # the company removed again: back to the user's default - none, she chooses
    again = client.get(f"/{plural}/new?company_id=&group_id={t['nord'].id}&proposed={t['nord'].id}",
                       headers=HX).text
    assert selected(again) == "None"


def test_the_users_own_choice_and_what_they_cannot_see_stay_as_they_are(client, trial):
    t = trial
    chosen = client.get(f"/people/new?company_id={t['kunde'].id}&group_id={t['sued'].id}&proposed=None",
                        headers=HX).text
    assert selected(chosen) == str(t["sued"].id)
    hidden = client.get(f"/people/new?company_id={t['geheim'].id}&group_id=None&proposed=None", headers=HX).text
    missing = client.get("/people/new?company_id=99999&group_id=None&proposed=None", headers=HX).text
    assert hidden == missing and selected(hidden) == "None"


def test_an_assignment_rule_still_decides_a_record_left_at_the_proposed_group(client, make, trial):
    t = trial
    db.session.add(AssignmentRule(record_type="person", position=1, name="VIP", group_id=t["sued"].id,
                                  conditions=[{"kind": "tag", "value": "vip"}]))
    db.session.commit()
    resp = client.post("/people/new", data={"last_name": "Vogel", "company_id": str(t["kunde"].id),
                                            "group_id": str(t["nord"].id), "tags": "vip"})
    assert resp.status_code == 302
    assert db.session.scalar(select(Person).where(Person.last_name == "Vogel")).group_id == t["sued"].id
    # no rule matches: the group the form proposed
    client.post("/people/new", data={"last_name": "Fink", "company_id": str(t["kunde"].id),
                                     "group_id": str(t["nord"].id)})
    assert db.session.scalar(select(Person).where(Person.last_name == "Fink")).group_id == t["nord"].id


def test_the_types_default_group_wins_over_the_picked_company(client, make, trial):
    t = trial
    admin = make.user("admin")
    client.post("/logout")
    make.login(client, admin)
    assert client.post("/settings/groups/defaults", data={"group_deal": str(t["sued"].id)}).status_code == 302
    client.post("/logout")
    make.login(client, t["eva"])
    field = client.get(f"/deals/new?company_id={t['kunde'].id}&group_id={t['sued'].id}&proposed={t['sued'].id}",
                       headers=HX).text
    assert selected(field) == str(t["sued"].id)
    client.post("/deals/new", data={"name": "Auftrag", "company_id": str(t["kunde"].id),
                                    "group_id": str(t["sued"].id)})
    assert db.session.scalar(select(Deal)).group_id == t["sued"].id
