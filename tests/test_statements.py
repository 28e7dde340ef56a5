"""SQL statements per request: at most 10 on every main page and on the API list, whatever the
page shows (full, restricted and hidden records, tags, contact details, custom fields, notes,
tasks on every record type), with the group system on and off."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from crm.auth.services import issue_token
from crm.extensions import db
from crm.models import ContactDetail

LIMIT = 10
STATEMENTS_LOG: list | None = None  # (set to a list to see the counts)


@pytest.fixture
def counted(app):
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    yield seen
    event.remove(db.engine, "before_cursor_execute", count)


@pytest.fixture
def world(make):
    make.enable_groups()
    user = make.user("normal", name="Nora")
    nord = make.group("Nord", [user])
    sued = make.group("Süd")
    # the detail pages name the responsible user, who made the record and who last changed it
    # (Carl has left: deactivated users are named too)
    rita, carl = make.user("normal", name="Rita"), make.user("normal", name="Carl", active=False)
    status = make.field("company", "Kundenstatus", kind="select", options=["Top", "Klein"], shared_with=[nord])
    for entity in ("person", "deal", "project"):
        make.field(entity, "Notiz", kind="text")
    ids = {}
    for grp in (nord, sued):
        company = make.company(f"Hafen {grp.name}", group=grp, emails=["a@hafen.example"], tags=["Messe", "Kunde"])
        make.value(status, company, "Top")
        person = make.person("Kurz", "Anna", group=grp, company=company, emails=["anna@hafen.example"],
                             tags=["Messe"])
        person.contact_details.append(ContactDetail(kind="phone", value="+49 40 123"))
        db.session.commit()
        deal = make.deal("Wartung", group=grp, company=company, person=person, value=1000)
        project = make.project("Umbau", group=grp, company=company, person=person)
        for record in (company, person, deal, project):
            record.responsible_id, record.created_by_id, record.updated_by_id = user.id, rita.id, carl.id
            make.note(record, "Angerufen", author=user)
            make.task("Nachfassen", record=record, assignee=user, created_by=user)
        if grp is nord:
            ids = {"companies": company.id, "people": person.id, "deals": deal.id, "projects": project.id}
        else:
            restricted = company.id  # for Nord: a field of companies is shared with it
    make.company("Verborgen", group=make.group("Geheim"))
    token = issue_token(user)
    db.session.commit()
    return {"user": user, "ids": ids, "token": token, "restricted": restricted}


PAGES = ["/", "/tasks", "/search?q=hafen"] + [
    f"/{plural}{query}" for plural in ("companies", "people", "deals", "projects")
    for query in ("", "?q=hafen", "?q=kurz", "?tag=Messe", "?sort=updated&dir=desc", "?page=2")
]


@pytest.mark.parametrize("groups", [True, False], ids=["groups on", "groups off"])
def test_statements_per_page(client, make, world, counted, groups):
    make.enable_groups(groups)
    make.login(client, world["user"])
    urls = PAGES + [f"/{plural}/{rid}" for plural, rid in world["ids"].items()]
    urls.append(f"/companies/{world['restricted']}")
    api = [f"/api/v1/{plural}{query}" for plural in world["ids"] for query in ("", "?q=hafen")]
    api += [f"/api/v1/{plural}/{rid}" for plural, rid in world["ids"].items()]
    api.append(f"/api/v1/companies/{world['restricted']}")
    over = {}
    for url in urls + api:
        headers = {"Authorization": f"Bearer {world['token']}"} if url.startswith("/api/") else {}
        counted.clear()
        resp = client.get(url, headers=headers)
        assert resp.status_code == 200, url
        if STATEMENTS_LOG is not None:
            STATEMENTS_LOG.append((groups, url, len(counted)))
        if len(counted) > LIMIT:
            over[url] = len(counted)
    assert over == {}
