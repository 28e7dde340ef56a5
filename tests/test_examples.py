"""The three example companies of the feature text (product.md §7), as each of their users sees them."""
import re

import pytest
from sqlalchemy import select

from crm.demo import examples
from crm.demo.examples import DEMO_PASSWORD, EXAMPLES
from crm.extensions import db
from crm.models import Company, Deal, Group, Person, Project, User

PLURAL = {Company: "companies", Person: "people", Deal: "deals", Project: "projects"}


def expected_level(example: str, email: str, model, group: str) -> str:
    """The levels as product.md §7 describes the examples (not computed by the app)."""
    local = email.split("@")[0]
    if example == "mueller":
        finance = local in ("katrin.mueller", "sabine.wolf", "thomas.berger")
        return "full" if group == "Basis" or finance else "hidden"
    if example == "meier":
        agent = email.endswith("@callcenter.example")
        return "hidden" if agent and group == "Company" else "full"
    if example == "schmidt":
        region = {"lars.petersen": "Nord", "jana.hansen": "Nord", "franz.huber": "Süd", "maria.bauer": "Süd"}.get(local)
        if region is None or group in ("Basis", region):
            return "full"
        # "Kundenstatus" on companies is shared with Nord and Süd: the other region's companies are restricted
        return "restricted" if model is Company else "hidden"
    raise AssertionError(example)


@pytest.mark.parametrize("example", ["mueller", "meier", "schmidt"])
def test_each_user_sees_exactly_their_part(app, client, example):
    examples.load(example)
    db.session.commit()
    groups = dict(db.session.execute(select(Group.id, Group.name)).all())
    records = [(m, r.id, groups[r.group_id]) for m in PLURAL for r in db.session.scalars(select(m))]
    assert len(records) > 40
    seen_levels = set()
    for demo_user in EXAMPLES[example].users:
        client.post("/logout")
        assert client.post("/login", data={"email": demo_user.email, "password": DEMO_PASSWORD}).status_code == 302
        for model, rid, group in records:
            level = expected_level(example, demo_user.email, model, group)
            seen_levels.add(level)
            resp = client.get(f"/{PLURAL[model]}/{rid}")
            body = resp.get_data(as_text=True)
            if level == "hidden":
                assert resp.status_code == 404, (demo_user.email, model.__name__, rid, group)
            else:
                assert resp.status_code == 200, (demo_user.email, model.__name__, rid, group)
                assert (f"/{PLURAL[model]}/{rid}/edit" in body) == (level == "full")
        for model in PLURAL:
            visible = sum(1 for m, _, g in records
                          if m is model and expected_level(example, demo_user.email, m, g) != "hidden")
            body = client.get(f"/{PLURAL[model]}").get_data(as_text=True)
            assert (f">{visible} " in body) or (f">{visible}\u00a0" in body) or (f" {visible} " in body), (
                demo_user.email, model.__name__, visible)
    expected = {"mueller": {"full", "hidden"}, "meier": {"full", "hidden"}, "schmidt": {"full", "restricted", "hidden"}}
    assert seen_levels == expected[example]


def test_meier_agents_see_nothing_of_company(app, client):
    examples.load("meier")
    db.session.commit()
    client.post("/login", data={"email": "tim.brandt@callcenter.example", "password": DEMO_PASSWORD})
    company_group = db.session.scalar(select(Group).where(Group.name == "Company"))
    names = [c.name for c in db.session.scalars(select(Company).where(Company.group_id == company_group.id))]
    urls = ("/", "/companies", "/people", "/deals", "/projects", "/tasks?scope=all")
    pages = [client.get(p).get_data(as_text=True) for p in urls]
    for name in names:
        assert all(name not in page for page in pages), name
    assert "Keine" in pages[3] or "Nothing here yet" in pages[3] or "Noch nichts" in pages[3]


def test_schmidt_nord_sees_sued_company_restricted_with_kundenstatus(app, client):
    examples.load("schmidt")
    db.session.commit()
    sued = db.session.scalar(select(Group).where(Group.name == "Süd"))
    company = db.session.scalars(select(Company).where(Company.group_id == sued.id).order_by(Company.id)).first()
    client.post("/login", data={"email": "lars.petersen@schmidt.example", "password": DEMO_PASSWORD})
    body = client.get(f"/companies/{company.id}").get_data(as_text=True)
    assert company.name in body and "Süd" in body and "Kundenstatus" in body and 'class="lock"' in body
    for secret in [d.value for d in company.contact_details] + [company.website]:
        assert secret not in body
    made_up = client.get("/companies/987654")
    hidden_person = db.session.scalars(select(Person).where(Person.group_id == sued.id)).first()
    hidden = client.get(f"/people/{hidden_person.id}")
    assert hidden.status_code == made_up.status_code == 404
    from tests.factories import without_csrf

    assert without_csrf(hidden.get_data()) == without_csrf(made_up.get_data())


def test_demo_users_exist_with_their_roles(app):
    examples.load("mueller")
    db.session.commit()
    roles = {u.email: u.role for u in db.session.scalars(select(User))}
    assert roles["katrin.mueller@mueller.example"] == "admin"
    assert roles["thomas.berger@mueller.example"] == "normal"


def test_the_example_records_start_their_history_and_show_in_the_activity_stream(app, client):
    """The demo data is written in bulk, not through the services: each record still gets its
    "created" history entry, so the home page's stream (which reads the history) shows it."""
    from sqlalchemy import func

    from crm.history.models import RecordEvent

    examples.load("mueller")
    db.session.commit()
    records = sum(db.session.scalar(select(func.count()).select_from(m)) for m in PLURAL)
    assert db.session.scalar(select(func.count()).select_from(RecordEvent)) == records
    boss = db.session.scalar(select(User).where(User.role == "admin"))
    client.post("/login", data={"email": boss.email, "password": DEMO_PASSWORD})
    home = client.get("/").get_data(as_text=True)
    assert "event-created" in home


def test_schmidt_ships_two_postcode_rules_and_they_sort_companies(app, client):
    from crm.audit.models import AuditEntry
    from crm.rules import services as rules
    from crm.rules.models import AssignmentRule

    examples.load("schmidt")
    db.session.commit()
    assert [(r.name, r.conditions, r.group.name, r.follow) for r in rules.rules_of("company")] == [
        ("PLZ 1–3 → Nord", [{"kind": "postcode", "value": "1,2,3"}], "Nord", True),
        ("PLZ 7–9 → Süd", [{"kind": "postcode", "value": "7,8,9"}], "Süd", True)]
    client.post("/login", data={"email": "claudia.schmidt@schmidt.example", "password": DEMO_PASSWORD})
    # the unqualified leads in Basis would move by their postcode; the preview counts what then moves
    page = client.get("/settings/rules/apply?record_type=company").text
    assert 'id="rules-preview"' in page and "Nord" in page and "Süd" in page
    from crm.models import User

    boss = db.session.scalar(select(User).where(User.email == "claudia.schmidt@schmidt.example"))
    from tests.factories import acting_as

    with acting_as(app, boss) as viewer:
        moves = rules.plan(viewer, "company")
    expected = {m.group: m.counts for m in moves}
    assert sum(expected["Nord"].values()) > 0 and sum(expected["Süd"].values()) > 0
    client.post("/settings/rules/apply", data={"record_type": "company"})
    moved = {e.details["group"]: e.details["counts"] for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "group_assigned"))}
    assert moved == expected
    # a new company in Hamburg lands in Nord: the boss is in several groups without a default one, so
    # the form preselects no group and the rule decides
    form = client.get("/companies/new").text
    select_ = re.search(r'<select[^>]*name="group_id".*?</select>', form, re.S).group(0)
    preselected = re.findall(r'<option selected value="([^"]*)">([^<]*)<', select_)
    assert [label for _, label in preselected] == ["—"]
    client.post("/companies/new", data={"name": "Hafenlogistik GmbH", "addresses": "Kai 1\n20457 Hamburg",
                                        "group_id": preselected[0][0]})
    nord = db.session.scalar(select(Group).where(Group.name == "Nord"))
    assert db.session.scalar(select(Company.group_id).where(Company.name == "Hafenlogistik GmbH")) == nord.id
    assert db.session.scalar(select(AssignmentRule.id).where(AssignmentRule.group_id == nord.id)) is not None
