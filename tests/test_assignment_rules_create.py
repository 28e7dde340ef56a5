"""Assignment rules applied to new records (issue 18, Schmidt): on the form, the API's service and
the CSV import a matching rule decides the group - before the type's default group - unless the
creator chose another group of theirs; people, deals and projects without an address go by
their company's; the group system switched off leaves them alone."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.groups.models import TypeDefault
from crm.models import Company, Deal, Person
from crm.records.schemas import record_input
from crm.records.services import create_record
from crm.records.types import TYPES
from crm.rules.models import AssignmentRule


def rule(record_type, group, conditions, position=1, follow=False, name="Regel"):
    r = AssignmentRule(record_type=record_type, position=position, name=name, conditions=conditions,
                       group_id=group.id, follow=follow)
    db.session.add(r)
    db.session.commit()
    return r


@pytest.fixture
def schmidt(make):
    make.enable_groups()
    boss = make.user("admin", name="Boss")
    nina = make.user("extended", name="Nina Nord")
    sven = make.user("extended", name="Sven Süd")
    vertrieb = make.group("Vertrieb", [nina, sven])
    nord = make.group("Nord", [nina])
    sued = make.group("Süd", [sven])
    rule("company", nord, [{"kind": "postcode", "value": "1,2,3"}], 1, True, "Nord")
    rule("company", sued, [{"kind": "postcode", "value": "7,8,9"}], 2, True, "Süd")
    return locals()


def company(name):
    return db.session.scalar(select(Company).where(Company.name == name))


def test_a_new_company_with_a_hamburg_address_lands_in_nord(client, make, schmidt):
    make.login(client, schmidt["sven"])
    form = client.get("/companies/new").text  # the group his form preselects: the rules may decide
    # (in two groups without a default one, the empty choice)
    preselected = re.search(r'name="group_id"><option selected value="(\d+|None)">', form).group(1)
    resp = client.post("/companies/new", data={"name": "Hafen GmbH", "addresses": "Hafenstraße 1\n20457 Hamburg",
                                               "group_id": preselected})
    assert resp.status_code == 302, re.findall(r'class="error">([^<]*)<', resp.text)
    c = company("Hafen GmbH")
    assert c.group_id == schmidt["nord"].id
    # Sven is not in Nord: the company left his view, as a type default would take it
    assert client.get(f"/companies/{c.id}").status_code == 404
    from crm.history.models import RecordEvent

    event = db.session.scalar(select(RecordEvent).where(RecordEvent.company_id == c.id))
    assert event.kind == "created"  # the history as for any new record


def test_no_matching_rule_keeps_the_default_and_a_chosen_group_beats_the_rules(client, make, schmidt):
    sven = schmidt["sven"]
    sven.default_group_id = schmidt["vertrieb"].id
    db.session.commit()
    make.login(client, sven)
    client.post("/companies/new", data={"name": "Köln AG", "addresses": "Domplatz 1\n50667 Köln"})
    assert company("Köln AG").group_id == schmidt["vertrieb"].id  # 5: no rule
    client.post("/companies/new", data={"name": "Berlin AG", "addresses": "Unter den Linden 1\n10117 Berlin",
                                        "group_id": str(schmidt["sued"].id)})
    assert company("Berlin AG").group_id == schmidt["sued"].id  # his own choice, not the default


def test_a_rule_beats_the_type_default(app, make, schmidt):
    db.session.add(TypeDefault(record_type="company", group_id=schmidt["vertrieb"].id))
    db.session.commit()
    with make.acting_as(app, schmidt["nina"]) as viewer:
        c = create_record(TYPES["company"], record_input("company", {
            "name": "Süd KG", "addresses": ["Marienplatz 1\n80331 München"]}), viewer)
        d = create_record(TYPES["company"], record_input("company", {"name": "Ohne Adresse"}), viewer)
        db.session.commit()
        assert (c.group_id, d.group_id) == (schmidt["sued"].id, schmidt["vertrieb"].id)


def _with_default_group(schmidt):
    """Nina and Sven get Vertrieb as their default group: without one (they are in two groups), a
    record no rule places is refused - they choose its group."""
    for who in ("nina", "sven"):
        schmidt[who].default_group_id = schmidt["vertrieb"].id
    db.session.commit()


def test_people_and_deals_without_an_address_go_by_their_company(app, make, schmidt):
    _with_default_group(schmidt)
    nina = schmidt["nina"]
    rule("person", schmidt["sued"], [{"kind": "city", "value": "München"}])
    rule("deal", schmidt["nord"], [{"kind": "postcode", "value": "20000-29999"}, {"kind": "tag", "value": "messe"}])
    muc = make.company("Bayern AG", group=schmidt["vertrieb"])
    muc.contact_details = [__import__("crm.models", fromlist=["ContactDetail"]).ContactDetail(
        kind="address", value="Marienplatz 1\n80331 München", position=0)]
    hh = make.company("Hafen AG", group=schmidt["vertrieb"])
    hh.contact_details = [__import__("crm.models", fromlist=["ContactDetail"]).ContactDetail(
        kind="address", value="Hafenstraße 1\n20457 Hamburg", position=0)]
    db.session.commit()
    with make.acting_as(app, schmidt["nina"]) as viewer:
        p = create_record(TYPES["person"], record_input("person", {"last_name": "Huber", "company_id": muc.id}),
                          viewer, nina)
        own = create_record(TYPES["person"], record_input("person", {
            "last_name": "Meier", "company_id": muc.id, "addresses": ["Hafenstraße 2\n20457 Hamburg"]}), viewer, nina)
        d1 = create_record(TYPES["deal"], record_input("deal", {"name": "Messe", "company_id": hh.id,
                                                                "tags": ["Messe"]}), viewer, nina)
        d2 = create_record(TYPES["deal"], record_input("deal", {"name": "Ohne Tag", "company_id": hh.id}),
                           viewer, nina)
        db.session.commit()
        assert p.group_id == schmidt["sued"].id
        assert own.group_id != schmidt["sued"].id  # its own address counts, not the company's
        assert d1.group_id == schmidt["nord"].id and d2.group_id != schmidt["nord"].id


def test_creator_group_and_field_conditions(app, make, schmidt):
    _with_default_group(schmidt)
    status = make.field("company", "Region", "select", options=["Nord", "Süd"])
    rule("company", schmidt["sued"], [{"kind": "field", "field_id": status.id, "value": "süd"}], 0)
    rule("company", schmidt["nord"], [{"kind": "creator_group", "group_id": schmidt["nord"].id}], 3)
    with make.acting_as(app, schmidt["nina"]) as viewer:
        a = create_record(TYPES["company"], record_input("company", {
            "name": "Feld", "addresses": ["Weg 1\n20457 Hamburg"], "custom_fields": {"Region": "Süd"}}), viewer,
            schmidt["nina"])
        b = create_record(TYPES["company"], record_input("company", {"name": "Von Nina"}), viewer, schmidt["nina"])
        db.session.commit()
        assert (a.group_id, b.group_id) == (schmidt["sued"].id, schmidt["nord"].id)
    with make.acting_as(app, schmidt["sven"]) as viewer:
        c = create_record(TYPES["company"], record_input("company", {"name": "Von Sven"}), viewer, schmidt["sven"])
        assert c.group_id != schmidt["nord"].id


def test_rules_rest_while_the_group_system_is_off(app, make, schmidt):
    make.enable_groups(False)
    with make.acting_as(app, schmidt["sven"]) as viewer:
        c = create_record(TYPES["company"], record_input("company", {
            "name": "Aus", "addresses": ["Hafenstraße 1\n20457 Hamburg"]}), viewer)
        assert c.group_id != schmidt["nord"].id


def upload(client, text: str, filename: str):
    resp = client.post("/import", data={"record_type": "company", "file": (io.BytesIO(text.encode()), filename)},
                       content_type="multipart/form-data")
    assert resp.status_code == 302, resp.text[:1000]
    return int(re.search(r"/import/(\d+)/map", resp.headers["Location"]).group(1))


def test_the_import_applies_the_rules_and_the_import_condition(client, make, schmidt):
    rule("company", schmidt["sued"], [{"kind": "import", "value": "messe"}], 0)
    make.login(client, schmidt["nina"])
    csv = "Firma;Straße;PLZ;Ort\nHafen;Kai 1;20457;Hamburg\nStuttgart;Weg 2;70173;Stuttgart\nKöln;Dom 1;50667;Köln\n"
    job = upload(client, csv, "adressen.csv")
    resp = client.post(f"/import/{job}/map", data={"col-0": "name", "col-1": "addresses", "col-2": "addresses",
                                                  "col-3": "addresses", "group_id": schmidt["vertrieb"].id})
    assert resp.status_code == 302
    assert [(company(n).group_id) for n in ("Hafen", "Stuttgart", "Köln")] == [
        schmidt["nord"].id, schmidt["sued"].id, schmidt["vertrieb"].id]
    job = upload(client, "Firma\nStand 7\n", "messe-2026.csv")
    client.post(f"/import/{job}/map", data={"col-0": "name", "group_id": schmidt["vertrieb"].id})
    assert company("Stand 7").group_id == schmidt["sued"].id
    # a rule on imports never applies to a record created on the form
    client.post("/companies/new", data={"name": "Messe Hand", "group_id": str(schmidt["vertrieb"].id)})
    assert company("Messe Hand").group_id == schmidt["vertrieb"].id
    assert db.session.scalar(select(Person)) is None and db.session.scalar(select(Deal)) is None


def test_the_new_record_form_names_the_rules_groups_the_creator_is_not_in(client, make, schmidt):
    make.login(client, schmidt["sven"])  # in Vertrieb and Süd, not in Nord
    form = client.get("/companies/new").text
    assert 'id="rules-notice"' in form and "(Nord)" in form
    assert "rules-notice" in form.split('name="group_id"')[0][-300:]  # the group select refers to it
    client.post("/logout")
    make.login(client, schmidt["boss"])  # the admin is in none of them
    assert "(Nord, Süd)" in client.get("/companies/new").text
    assert 'id="rules-notice"' not in client.get("/people/new").text  # people have no rules


def test_the_import_result_and_its_undo_tell_where_the_rows_went(client, make, schmidt):
    """A new-user trial: Sven imports three companies into Süd, the rules put one into Nord (he sees
    it restricted). The result said "Zuständige Gruppe: Süd"; the undo said the Nord one "had been
    deleted already". Now the result names the groups as he sees them, and the undo's sentence for
    the Nord one is the one for a record deleted meanwhile (product.md §8: the two read alike)."""
    make.field("company", "Kundenstatus", shared_with=[schmidt["sued"]])  # Sven sees Nord's restricted
    make.login(client, schmidt["sven"])
    csv = "Firma;PLZ\nEins;70173\nZwei;80331\nHafen;20095\n"
    job = upload(client, csv, "liste.csv")
    assert 'id="rules-notice"' in client.get(f"/import/{job}/map").text  # the preview warns: "(Nord)"
    client.post(f"/import/{job}/map", data={"col-0": "name", "col-1": "addresses", "group_id": schmidt["sued"].id})
    assert company("Hafen").group_id == schmidt["nord"].id
    page = client.get(f"/import/{job}").text
    assert "Zuständige Gruppe: Süd" not in page
    assert re.search(r"Zuständige Gruppen:\s*2 in Süd,\s*1 in Nord \(für Sie eingeschränkt sichtbar\)\.", page)
    undone = client.post(f"/import/{job}/undo", follow_redirects=True).text
    assert company("Hafen").deleted_at is None and company("Eins").deleted_at is not None
    # the same import, all in Süd, one of them deleted by Sven before the undo: the same words
    job = upload(client, "Firma;PLZ\nDrei;70173\nVier;80331\nFünf;90402\n", "liste.csv")
    client.post(f"/import/{job}/map", data={"col-0": "name", "col-1": "addresses", "group_id": schmidt["sued"].id})
    assert "Zuständige Gruppe: Süd." in client.get(f"/import/{job}").text
    fuenf = company("Fünf")
    assert client.post(f"/companies/{fuenf.id}/delete").status_code in (302, 303)
    deleted = client.post(f"/import/{job}/undo", follow_redirects=True).text

    def message(html):
        return next(m for m in re.findall(r'<p class="flash flash-\w+" role="status">([^<]*)</p>', html)
                    if m.startswith("Der Import"))

    assert message(undone) == message(deleted)
    assert "1 war bereits gelöscht oder ist nicht in Ihrer Sicht" in message(undone)
