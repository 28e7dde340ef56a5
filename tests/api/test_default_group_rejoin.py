"""A new-user trial: an admin took Lars out of Nord ("1 Mitglied entfernt." - nothing more), which
cleared his default group; after adding him back it stayed empty, and /deals/new preselected
Basis - so his next deals went where every user sees them. Now leaving one's default group says
so, joining a group gives a user without a default group that one (audited), and the new-record
forms and the API never fall back to Basis silently for a member of groups: their only group,
or, with several, they must choose. The type's default group still comes first."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from crm.audit.models import AuditEntry
from crm.auth.models import User
from crm.auth.services import issue_token
from crm.extensions import db
from crm.groups.models import group_members


@pytest.fixture
def trial(make):
    make.enable_groups()
    admin = make.user("admin", name="Ada Admin")
    lars = make.user("normal", name="Lars Vertrieb")
    nord = make.group("Nord", [lars])
    sued = make.group("Süd")
    lars.default_group_id = nord.id
    db.session.commit()
    return SimpleNamespace(admin=admin, lars=lars, nord=nord, sued=sued,
                           admin_token=issue_token(admin), lars_token=issue_token(lars))


def _selected(body: str) -> str:
    field = re.search(r'<select[^>]*name="group_id"[^>]*>(.*?)</select>', body, re.S).group(1)
    return re.search(r'<option selected value="([^"]*)">', field).group(1)


def _defaults_audited() -> list:
    return [e.details.get("group") for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "default_group_set").order_by(AuditEntry.id))]


def _default_of(user) -> int | None:
    db.session.expire_all()
    return db.session.get(User, user.id).default_group_id


def test_leaving_and_rejoining_on_the_group_page(app, make, trial):
    t = trial
    page = app.test_client()
    make.login(page, t.admin)
    gone = page.post(f"/settings/groups/{t.nord.id}/members/remove", data={"user_ids": [str(t.lars.id)]},
                     follow_redirects=True).text
    assert "1 Mitglied entfernt. Die Standardgruppe von Lars Vertrieb wurde aufgehoben." in gone
    assert _default_of(t.lars) is None
    page.post(f"/settings/groups/{t.nord.id}/members/add", data={"user_ids": [str(t.lars.id)]})
    assert _default_of(t.lars) == t.nord.id
    assert _defaults_audited() == [None, "Nord"]
    again = page.post(f"/settings/groups/{t.nord.id}/members/remove", data={"user_ids": [str(t.admin.id)]},
                      follow_redirects=True).text
    assert "Standardgruppe" not in again  # removing no one's default says nothing more
    rep = app.test_client()
    make.login(rep, t.lars)
    for plural in ("deals", "companies"):
        assert _selected(rep.get(f"/{plural}/new").text) == str(t.nord.id)


def test_leaving_and_rejoining_through_the_api(api, trial):
    t = trial
    admin = api.as_(t.admin_token)
    assert admin.patch(f"/users/{t.lars.id}", json={"group_ids": []}).get_json()["default_group_id"] is None
    back = admin.patch(f"/users/{t.lars.id}", json={"group_ids": [t.nord.id]}).get_json()
    assert back["default_group_id"] == t.nord.id
    assert _defaults_audited() == [None, "Nord"]
    deal = api.as_(t.lars_token).post("/deals", json={"name": "Neukunde"}).get_json()
    assert deal["group"]["id"] == t.nord.id
    # joining two groups at once: the admin's choice, nothing is picked for them
    admin.patch(f"/users/{t.lars.id}", json={"group_ids": []})
    both = admin.patch(f"/users/{t.lars.id}", json={"group_ids": [t.nord.id, t.sued.id]}).get_json()
    assert both["default_group_id"] is None


def test_a_member_of_several_groups_without_a_default_must_choose(app, api, make, trial):
    t = trial
    lars = db.session.get(User, t.lars.id)
    lars.default_group_id = None
    db.session.commit()
    rep = app.test_client()
    make.login(rep, t.lars)
    assert _selected(rep.get("/companies/new").text) == str(t.nord.id)  # his only group
    db.session.execute(group_members.insert().values(group_id=t.sued.id, user_id=t.lars.id))
    db.session.commit()
    assert _selected(rep.get("/companies/new").text) == "None"  # neither Basis nor a guess
    refused = rep.post("/companies/new", data={"name": "Ohne Wahl"})
    assert refused.status_code == 400 and "Wählen Sie eine Ihrer Gruppen." in refused.text
    lars_api = api.as_(t.lars_token)
    resp = lars_api.post("/companies", json={"name": "Ohne Wahl"})
    assert resp.status_code == 422 and "group_id" in resp.get_json()["error"]["fields"]
    assert lars_api.post("/companies", json={"name": "Gewählt", "group_id": t.sued.id}).status_code == 201
    # the type's default group still comes first
    api.as_(t.admin_token).patch("/type-defaults", json={"record_type": "company", "group_id": t.sued.id,
                                                         "allow_own": True})
    assert _selected(rep.get("/companies/new").text) == str(t.sued.id)
    assert lars_api.post("/companies", json={"name": "Typ"}).get_json()["group"]["id"] == t.sued.id
