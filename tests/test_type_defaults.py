"""Default group per record type (issue 18, Müller): new deals go to Finanzen whoever creates them;
a creator who is not a member is told before saving, and may keep the record only by choosing one
of their own groups if the admin allows that."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from crm.audit.models import AuditEntry
from crm.extensions import db
from crm.groups.models import TypeDefault
from crm.models import Company, Deal


def options(body: str, name: str = "group_id") -> list[str]:
    select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', body, re.S).group(1)
    return re.findall(r">([^<]+)</option>", select_html)


@pytest.fixture
def mueller(make, client):
    """Müller: Finanzen holds the deals (only Boss and Fiona); Sandra sells and is in Vertrieb."""
    make.enable_groups()
    boss = make.user("admin", name="Boss")
    fiona = make.user("normal", name="Fiona Finanz")
    sandra = make.user("normal", name="Sandra Sales")
    finanzen = make.group("Finanzen", [boss, fiona])
    vertrieb = make.group("Vertrieb", [sandra])
    fremd = make.group("Fremd")
    customer = make.company("Kunde AG")  # in Basis
    make.login(client, boss)
    resp = client.post("/settings/groups/defaults", data={"group_deal": str(finanzen.id)})
    assert resp.status_code == 302
    client.post("/logout")
    return locals()


def test_admin_sets_the_default_and_it_is_audited(client, make, mueller):
    td = db.session.get(TypeDefault, "deal")
    assert td.group_id == mueller["finanzen"].id and not td.allow_own
    assert db.session.get(TypeDefault, "company") is None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "type_default_set"))
    assert entry.details == {"record_type": "deal", "group": "Finanzen", "group_id": mueller["finanzen"].id,
                             "allow_own": False}
    make.login(client, mueller["boss"])
    page = client.get("/settings/groups").text
    assert f'<option value="{mueller["finanzen"].id}" selected>Finanzen</option>' in page
    assert "hat die Gruppe für neue Angebote festgelegt: Finanzen" in client.get("/settings/audit").text


def test_only_admins_set_defaults(client, make, mueller):
    make.login(client, mueller["sandra"])
    resp = client.post("/settings/groups/defaults", data={"group_deal": ""})
    assert resp.status_code == 403
    assert db.session.get(TypeDefault, "deal") is not None


def test_a_non_member_is_warned_and_the_deal_goes_to_finanzen(client, make, mueller):
    make.login(client, mueller["sandra"])
    form = client.get("/deals/new").text
    assert options(form) == ["Finanzen"]
    assert 'id="default-notice"' in form and "Neue Angebote kommen in die Gruppe Finanzen" in form
    resp = client.post("/deals/new", data={"name": "Großauftrag", "group_id": str(mueller["finanzen"].id)})
    assert resp.status_code == 302 and resp.location.endswith("/deals")
    deal = db.session.scalar(select(Deal))
    assert deal.group_id == mueller["finanzen"].id and deal.created_by_id == mueller["sandra"].id
    assert "in der Gruppe Finanzen angelegt, in der Sie nicht Mitglied sind" in client.get("/deals").text
    assert client.get(f"/deals/{deal.id}").status_code == 404  # gone from her view, as announced


def test_the_type_default_wins_over_the_parent_and_the_users_default(client, make, mueller):
    mueller["sandra"].default_group_id = mueller["vertrieb"].id
    db.session.commit()
    make.login(client, mueller["sandra"])
    client.post(f"/deals/new?company_id={mueller['customer'].id}", data={"name": "Vom Kunden"})
    assert db.session.scalar(select(Deal)).group_id == mueller["finanzen"].id
    client.post("/companies/new", data={"name": "Ohne Vorgabe"})  # companies have no default
    assert db.session.scalar(select(Company).where(Company.name == "Ohne Vorgabe")).group_id == \
        mueller["vertrieb"].id


def test_own_group_refused_unless_allowed_with_the_answer_of_a_foreign_group(client, make, mueller):
    make.login(client, mueller["sandra"])
    own = client.post("/deals/new", data={"name": "Eigen", "group_id": str(mueller["vertrieb"].id)})
    foreign = client.post("/deals/new", data={"name": "Eigen", "group_id": str(mueller["fremd"].id)})
    assert own.status_code == foreign.status_code == 400
    error = re.compile(r'<span class="error">([^<]*)</span>')
    assert error.findall(own.text) == error.findall(foreign.text) != []
    assert db.session.scalar(select(Deal)) is None


def test_allowed_own_group_keeps_the_deal_in_view(client, make, mueller):
    make.login(client, mueller["boss"])
    client.post("/settings/groups/defaults", data={"group_deal": str(mueller["finanzen"].id), "allow_own_deal": "y"})
    client.post("/logout")
    make.login(client, mueller["sandra"])
    form = client.get("/deals/new").text
    assert options(form) == ["Finanzen", "Basis", "Vertrieb"]
    assert "Um ihn zu behalten, wählen Sie eine Ihrer Gruppen." in form
    resp = client.post("/deals/new", data={"name": "Behalten", "group_id": str(mueller["vertrieb"].id)})
    assert resp.status_code == 302
    deal = db.session.scalar(select(Deal))
    assert deal.group_id == mueller["vertrieb"].id
    assert client.get(f"/deals/{deal.id}").status_code == 200
    # a group that is neither the default nor hers stays refused
    assert client.post("/deals/new", data={"name": "X", "group_id": str(mueller["fremd"].id)}).status_code == 400


def test_a_member_of_the_default_group_sees_no_warning(client, make, mueller):
    make.login(client, mueller["fiona"])
    form = client.get("/deals/new").text
    assert 'id="default-notice"' not in form
    assert re.search(rf'<option (selected value="{mueller["finanzen"].id}"|value="{mueller["finanzen"].id}" selected)'
                     r'>Finanzen', form)


def test_deleting_the_group_removes_the_default(client, make, mueller):
    make.login(client, mueller["boss"])
    resp = client.post(f"/settings/groups/{mueller['finanzen'].id}/delete", data={"move_to": "1"})
    assert resp.status_code == 302
    assert db.session.get(TypeDefault, "deal") is None
    client.post("/deals/new", data={"name": "Danach"})
    assert db.session.scalar(select(Deal)).group_id == 1


def test_an_import_keeps_the_type_default_too(app, make, mueller):
    """A batch of an import goes through the same rule: Sandra's own group is refused for deals
    (the admin did not allow it), Finanzen - not hers - is taken."""
    from crm.errors import Invalid
    from crm.records.schemas import record_input
    from crm.records.services import create_records
    from crm.records.types import TYPES

    with make.acting_as(app, mueller["sandra"]) as viewer:
        own, default = create_records(TYPES["deal"], [
            record_input("deal", {"name": "Import eigen", "group_id": mueller["vertrieb"].id}),
            record_input("deal", {"name": "Import Finanzen"})], viewer, mueller["sandra"])
        db.session.commit()
    assert isinstance(own, Invalid) and "group_id" in own.fields
    assert default.group_id == mueller["finanzen"].id
    assert [d.name for d in db.session.scalars(select(Deal))] == ["Import Finanzen"]
