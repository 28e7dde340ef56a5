"""The settings pages of the assignment rules (Settings -> Gruppen -> Zuweisungsregeln; admins only)
and "apply to existing records": the preview's counts per target group equal what then moves,
only records the admin fully sees move, as undoable bulk assignments (on the job queue when large)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.audit.models import AuditEntry
from crm.auth.services import issue_token
from crm.extensions import db
from crm.models import Company, ContactDetail, Deal, Person
from crm.records.assign import undo_assignment
from crm.rules import services
from crm.rules.models import AssignmentRule


@pytest.fixture
def world(make):
    make.enable_groups()
    boss = make.user("admin", name="Boss")
    sven = make.user("extended", name="Sven")
    nord, sued = make.group("Nord", [boss]), make.group("Süd", [boss])
    geheim = make.group("Geheim", [sven])
    return {"boss": boss, "sven": sven, "nord": nord, "sued": sued, "geheim": geheim}


def add_rule(client, **kw):
    data = {"record_type": "company", "name": "Nord", "conditions-0-kind": "postcode",
            "conditions-0-value": "1,2,3", "group_id": "", "follow": "y", **kw}
    return client.post("/settings/rules/new", data=data)


def test_admin_adds_edits_moves_and_deletes_rules_on_the_page(client, make, world):
    make.login(client, world["boss"])
    assert 'href="/settings/rules"' in client.get("/settings/groups").text
    assert add_rule(client, group_id=str(world["nord"].id)).status_code == 302
    assert add_rule(client, name="Süd", group_id=str(world["sued"].id), **{"conditions-0-value": "7,8,9",
                    "conditions-1-kind": "tag", "conditions-1-value": "Kunde"}).status_code == 302
    page = client.get("/settings/rules").text
    assert page.index(">Nord</a>") < page.index(">Süd</a>") and "„Kunde“" in page
    sued = db.session.scalar(select(AssignmentRule).where(AssignmentRule.name == "Süd"))
    client.post(f"/settings/rules/{sued.id}/move", data={"direction": "up"})
    assert [r.name for r in services.rules_of("company")] == ["Süd", "Nord"]
    form = client.get(f"/settings/rules/{sued.id}").text
    assert 'value="7,8,9"' in form and 'value="Kunde"' in form
    resp = client.post(f"/settings/rules/{sued.id}", data={
        "name": "Süden", "conditions-0-kind": "city", "conditions-0-value": "München",
        "group_id": str(world["sued"].id)})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(AssignmentRule, sued.id).conditions == [{"kind": "city", "value": "München"}]
    client.post(f"/settings/rules/{sued.id}/delete")
    assert [r.name for r in services.rules_of("company")] == ["Nord"]
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["rule_created", "rule_created", "rule_changed", "rule_changed", "rule_deleted"]
    assert "Zuweisungsregel" in client.get("/settings/audit").text


def test_a_bad_condition_is_shown_on_its_row(client, make, world):
    make.login(client, world["boss"])
    resp = add_rule(client, group_id=str(world["nord"].id), **{"conditions-0-value": "1,x"})
    assert resp.status_code == 400 and "20000-29999" in resp.text
    assert services.all_rules() == []


def test_only_admins_see_the_rule_pages(client, make, world):
    make.login(client, world["sven"])
    for url in ("/settings/rules", "/settings/rules/new", "/settings/rules/apply"):
        assert client.get(url).status_code == 403
    assert add_rule(client, group_id=str(world["geheim"].id)).status_code == 403
    assert client.post("/settings/rules/apply", data={"record_type": "company"}).status_code == 403
    assert services.all_rules() == []


def company_at(make, name, address, group):
    c = make.company(name, group=group)
    c.contact_details = [ContactDetail(kind="address", value=address, position=0)]
    db.session.commit()
    return c


def test_apply_moves_what_the_preview_counted_and_only_what_the_admin_fully_sees(client, make, world):
    w = world
    db.session.add_all([
        AssignmentRule(record_type="company", position=1, name="Nord", group_id=w["nord"].id, follow=True,
                       conditions=[{"kind": "postcode", "value": "1,2,3"}]),
        AssignmentRule(record_type="company", position=2, name="Süd", group_id=w["sued"].id, follow=False,
                       conditions=[{"kind": "postcode", "value": "7,8,9"}])])
    hh = company_at(make, "Hafen", "Kai 1\n20457 Hamburg", None)
    make.person("Kurz", company=hh)
    make.deal("Großauftrag", company=hh)
    muc = company_at(make, "Bayern", "Platz 1\n80331 München", None)
    make.person("Lang", company=muc)  # Süd's rule takes nobody along
    company_at(make, "Schon Nord", "Weg 1\n10115 Berlin", w["nord"])  # already there: not counted
    company_at(make, "Köln", "Dom 1\n50667 Köln", None)  # no rule
    secret = company_at(make, "Geheim", "Weg 2\n20095 Hamburg", w["geheim"])  # the admin does not see it
    make.login(client, w["boss"])
    page = client.get("/settings/rules/apply?record_type=company").text
    assert "Geheim" not in page
    table = page[page.index('id="rules-preview"'):page.index("</table>", page.index('id="rules-preview"'))]
    rows = dict(__import__("re").findall(r'<tr><th scope="row">([^<]+)</th>((?:<td class="num">\d+</td>)+)', table))
    nums = {g: [int(n) for n in __import__("re").findall(r">(\d+)<", cells)] for g, cells in rows.items()}
    assert nums == {"Nord": [1, 1, 1, 0], "Süd": [1, 0, 0, 0]}
    resp = client.post("/settings/rules/apply", data={"record_type": "company"})
    assert resp.status_code == 302
    db.session.expire_all()
    moved = {"Nord": [db.session.get(Company, hh.id).group_id,
                      *db.session.scalars(select(Person.group_id).where(Person.company_id == hh.id)),
                      *db.session.scalars(select(Deal.group_id).where(Deal.company_id == hh.id))],
             "Süd": [db.session.get(Company, muc.id).group_id]}
    assert moved == {"Nord": [w["nord"].id] * 3, "Süd": [w["sued"].id]}
    assert db.session.scalar(select(Person.group_id).where(Person.company_id == muc.id)) != w["sued"].id
    assert db.session.get(Company, secret.id).group_id == w["geheim"].id
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "group_assigned")
                                 .order_by(AuditEntry.id)).all()
    assert [(e.details["group"], e.details["counts"]) for e in entries] == [
        ("Nord", {"people": 1, "deals": 1, "projects": 0, "companies": 1}), ("Süd", {"companies": 1})]
    assert "Nichts" in client.get("/settings/rules/apply?record_type=company").text or \
        'id="rules-preview"' in client.get("/settings/rules/apply?record_type=company").text
    with make.acting_as(client.application, w["boss"]) as viewer:  # undoable as any bulk assignment
        undo_assignment(entries[0], viewer)
        db.session.commit()
    assert db.session.get(Company, hh.id).group_id != w["nord"].id


def test_the_preview_says_where_records_come_from_and_who_loses_full_access(client, make, world):
    """New-user trial: applying the rules moved a deal of Finanzen (the deals' default group) to
    Nord along with its company, and Bernd of accounting lost it without warning. The preview names
    the groups the records come from and, per user, how many records they would no longer see in
    full; the form says when "follow" acts."""
    w = world
    finanzen = make.group("Finanzen", [w["boss"]])
    make.user("normal", name="Bernd", groups=[finanzen])
    make.user("normal", name="Nora", groups=[w["nord"], finanzen])  # sees it in Nord too: loses nothing
    db.session.add(AssignmentRule(record_type="company", position=1, name="Nord", group_id=w["nord"].id,
                                  follow=True, conditions=[{"kind": "postcode", "value": "1,2,3"}]))
    hafen = company_at(make, "Hafen", "Kai 1\n20457 Hamburg", None)
    make.deal("Hafen Rahmenvertrag", group=finanzen, company=hafen)
    make.person("Kurz", company=hafen)
    make.login(client, w["boss"])
    page = client.get("/settings/rules/apply?record_type=company").text
    sources = page[page.index('id="rules-sources"'):page.index("</ul>", page.index('id="rules-sources"'))]
    assert "Nord, Angebote: 1 aus Finanzen" in sources and "Nord, Firmen: 1 aus Basis" in sources
    losses = page[page.index('id="rules-losses"'):page.index("</table>", page.index('id="rules-losses"'))]
    rows = dict(__import__("re").findall(r'<tr><th scope="row">([^<]+)</th>((?:<td class="num">\d+</td>)+)', losses))
    assert {u: [int(n) for n in __import__("re").findall(r">(\d+)<", cells)] for u, cells in rows.items()} == {
        "Bernd": [1, 1, 1, 0], "Sven": [1, 1, 0, 0]}  # (Basis's company and person too; Nora is in Nord)
    assert "Wirkt, wenn die Regeln auf die Firma angewandt werden" in client.get("/settings/rules/new").text


def test_an_apply_larger_than_one_statement_takes_several_assignments(client, make, world, monkeypatch):
    """Each assignment names its records as bound parameters (SQLite takes 32,766): a rule set
    that sends more companies to one group than one statement holds moves them in pieces, each
    undoable, and the preview counts them all."""
    w = world
    monkeypatch.setattr(services, "IDS_PER_STATEMENT", 2)
    monkeypatch.setattr(services, "STEP_SIZE", 2)
    db.session.add(AssignmentRule(record_type="company", position=1, name="Nord", group_id=w["nord"].id,
                                  follow=True, conditions=[{"kind": "postcode", "value": "2"}]))
    companies = [company_at(make, f"Hafen {i}", f"Kai {i}\n2045{i} Hamburg", None) for i in range(5)]
    make.person("Kurz", company=companies[4])
    with make.acting_as(client.application, w["boss"]) as viewer:
        assert [m.counts for m in services.preview(viewer, "company")] == [
            {"people": 1, "deals": 0, "projects": 0, "companies": 5}]
        results = services.apply(viewer, "company")
        db.session.commit()
    assert [sum(r["updated"].values()) for r in results] == [2, 2, 2]
    db.session.expire_all()
    assert {db.session.get(Company, c.id).group_id for c in companies} == {w["nord"].id}
    assert db.session.scalar(select(Person.group_id).where(Person.company_id == companies[4].id)) == w["nord"].id
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "rules_applied"))
    assert len(entry.details["assignments"]) == 3


def test_a_large_apply_runs_as_a_job(client, make, world, app):
    app.config["BULK_JOB_THRESHOLD"] = 2
    db.session.add(AssignmentRule(record_type="company", position=1, name="Nord", group_id=world["nord"].id,
                                  follow=False, conditions=[{"kind": "postcode", "value": "2"}]))
    for i in range(3):
        company_at(make, f"Firma {i}", f"Weg {i}\n2000{i} Hamburg", None)
    company_at(make, "Köln", "Dom 1\n50667 Köln", world["nord"])
    make.login(client, world["boss"])
    resp = client.post("/settings/rules/apply", data={"record_type": "company"})
    assert "/jobs/" in resp.headers["Location"]
    db.session.expire_all()
    assert set(db.session.scalars(select(Company.group_id))) == {world["nord"].id}
    page = client.get(resp.headers["Location"]).text
    assert "Zuweisungsregeln" in page
    # "Anzeigen" lists the records the job moved, not the whole list
    job_id = resp.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    assert f'<a href="/companies?assignment={job_id}">Anzeigen</a>' in page
    from tests.test_list_filters import names

    assert names(client, f"/companies?assignment={job_id}") == ["Firma 0", "Firma 1", "Firma 2"]


def test_a_large_apply_commits_each_assignment_and_a_stopped_one_says_what_it_moved(client, make, world, app,
                                                                                    monkeypatch):
    """On the job queue each bulk assignment of an apply is a transaction of its own (the team's
    saves go on between them, issue 16). Stopped by an error after the first, that one stays -
    whole, audited, undoable - and the job says what moved; applied again, the rest moves."""
    from crm.jobs.models import Job

    app.config["BULK_JOB_THRESHOLD"] = 2
    monkeypatch.setattr(services, "STEP_SIZE", 2)
    db.session.add(AssignmentRule(record_type="company", position=1, name="Nord", group_id=world["nord"].id,
                                  follow=False, conditions=[{"kind": "postcode", "value": "2"}]))
    companies = [company_at(make, f"Firma {i}", f"Weg {i}\n2000{i} Hamburg", None) for i in range(5)]
    real, calls = services.apply_step, []

    def second_fails(*args):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("the disk is full")
        return real(*args)

    monkeypatch.setattr(services, "apply_step", second_fails)
    make.login(client, world["boss"])
    client.post("/settings/rules/apply", data={"record_type": "company"})
    db.session.expire_all()
    job = db.session.scalar(select(Job).where(Job.kind == "rules_apply"))
    assert job.status == "failed"
    assert "Zuvor wurden 2 Datensätze verschoben" in job.message and "Nichts wurde geändert" not in job.message
    moved = [c.id for c in companies if db.session.get(Company, c.id).group_id == world["nord"].id]
    assert len(moved) == 2
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "group_assigned")).details["counts"] == {
        "companies": 2}
    monkeypatch.setattr(services, "apply_step", real)
    client.post("/settings/rules/apply", data={"record_type": "company"})
    db.session.expire_all()
    assert {db.session.get(Company, c.id).group_id for c in companies} == {world["nord"].id}
    last = db.session.scalar(select(Job).where(Job.kind == "rules_apply").order_by(Job.id.desc()))
    assert last.status == "done" and last.progress == 3 and len(last.result["assignments"]) == 2


def test_a_large_preview_runs_as_a_job_whose_page_shows_the_counts_to_its_owner_only(client, make, world, app):
    """Above the job threshold the page does not evaluate the rules in the request: it offers the
    preview as a job, whose page shows the counts and the button that applies them - to the
    admin who started it; another admin sees the job without a number."""
    app.config["BULK_JOB_THRESHOLD"] = 2
    w = world
    db.session.add(AssignmentRule(record_type="company", position=1, name="Nord", group_id=w["nord"].id,
                                  follow=True, conditions=[{"kind": "postcode", "value": "2"}]))
    hamburg = [company_at(make, f"Firma {i}", f"Weg {i}\n2000{i} Hamburg", None) for i in range(2)]
    make.person("Kurz", company=hamburg[0])
    company_at(make, "Köln", "Dom 1\n50667 Köln", None)
    company_at(make, "Geheim", "Weg 2\n20095 Hamburg", w["geheim"])  # the admin does not see it
    make.login(client, w["boss"])
    page = client.get("/settings/rules/apply?record_type=company").text
    assert 'action="/settings/rules/preview"' in page and 'id="rules-preview"' not in page
    resp = client.post("/settings/rules/preview", data={"record_type": "company"})
    job_url = resp.headers["Location"]
    assert "/jobs/" in job_url
    job_page = client.get(job_url).text
    row = __import__("re").search(r'<tr><th scope="row">Nord</th>((?:<td class="num">\d+</td>)+)', job_page)
    assert [int(n) for n in __import__("re").findall(r">(\d+)<", row.group(1))] == [2, 1, 0, 0]
    assert 'action="/settings/rules/apply"' in job_page
    db.session.expire_all()
    assert w["nord"].id not in set(db.session.scalars(select(Company.group_id)))  # a preview moves nothing
    job_id = int(job_url.rstrip("/").rsplit("/", 1)[1])
    token = issue_token(w["boss"])
    api = client.get(f"/api/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert api["kind"] == "rules_preview" and api["result"]["moves"][0]["counts"]["companies"] == 2
    assert api["result"]["losses"] == [{"user": "Sven", "counts": {"companies": 2, "people": 1}}]
    assert 'id="rules-losses"' in job_page and "2 aus Basis" in job_page
    other = app.test_client()
    make.login(other, make.user("admin", name="Other"))
    seen = other.get(job_url)
    assert seen.status_code == 200 and 'id="rules-preview"' not in seen.text and "Nord" not in seen.text
    resp = client.post("/settings/rules/apply", data={"record_type": "company"})
    assert "/jobs/" in resp.headers["Location"]
    db.session.expire_all()
    assert {db.session.get(Company, c.id).group_id for c in hamburg} == {w["nord"].id}
