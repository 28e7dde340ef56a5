"""Saved list views: a user saves the list's filter under a name and finds it on the list again;
an admin shares one with everyone; nobody sees or deletes another user's own views. A view runs as
whoever opens it, so a shared view shows each user only what they may see."""
import re

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.listviews.models import SavedView


@pytest.fixture
def user(make, client):
    u = make.user("normal", name="Nora Normal")
    make.login(client, u)
    return u


def _views(body: str) -> list[str]:
    nav = body.split('<nav aria-label="', 1)[1].split("</nav>", 1)[0] if "<nav aria-label=\"Gespeicherte" in body \
        or '<nav aria-label="Saved views"' in body else ""
    return re.findall(r"<li><a href=\"[^\"]+\"[^>]*>([^<]+)</a>", nav)


def test_save_a_view_and_open_it_again(client, make, user):
    make.deal("Offen", stage="open", responsible_id=user.id)
    make.deal("Gewonnen", stage="won", responsible_id=user.id)
    resp = client.post("/views", data={"list": "deals", "name": "  Meine  offenen ", "responsible": "me",
                                       "stage": "open", "sort": "value", "dir": "desc", "count": "exact"})
    assert resp.status_code == 302
    assert "responsible=me" in resp.headers["Location"] and "stage=open" in resp.headers["Location"]
    view = db.session.scalar(select(SavedView))
    assert (view.name, view.entity, view.user_id, view.shared) == ("Meine offenen", "deal", user.id, False)
    assert "count" not in view.query  # the exact count is no part of a view
    body = client.get("/deals").get_data(as_text=True)
    assert _views(body) == ["Meine offenen"]
    link = re.search(r'<li><a href="([^"]+)"[^>]*>Meine offenen</a>', body).group(1).replace("&amp;", "&")
    opened = client.get(link).get_data(as_text=True)
    assert "Offen" in opened and ">Gewonnen<" not in opened
    assert 'aria-current="page">Meine offenen' in opened
    assert _views(client.get("/companies").get_data(as_text=True)) == []  # a view belongs to its list


def test_a_view_needs_a_name_and_only_admins_share(client, make, user):
    resp = client.post("/views", data={"list": "deals", "name": "  "}, follow_redirects=True)
    assert "Geben Sie der Ansicht einen Namen." in resp.get_data(as_text=True) or "Give the view a name." in \
        resp.get_data(as_text=True)
    client.post("/views", data={"list": "deals", "name": "Für alle?", "shared": "y"})
    assert db.session.scalar(select(SavedView)) is None
    assert client.post("/views", data={"list": "nothing", "name": "X"}).status_code == 404


def test_shared_views_and_private_ones(client, make, user):
    admin = make.user("admin", name="Ada Admin")
    other = make.user("normal", name="Otto Other")
    for owner, name, shared in ((admin, "Team-Sicht", True), (admin, "Adas eigene", False),
                                (other, "Ottos eigene", False)):
        db.session.add(SavedView(user_id=owner.id, entity="company", name=name, query="tag=Messe", shared=shared))
    db.session.commit()
    body = client.get("/companies").get_data(as_text=True)
    assert _views(body) == ["Team-Sicht"]
    assert "Löschen" not in body.split("Team-Sicht", 1)[1].split("</li>", 1)[0]
    # neither another user's view nor a shared one can be deleted by a normal user: 404 like a missing id
    ids = {v.name: v.id for v in db.session.scalars(select(SavedView))}
    assert client.post(f"/views/{ids['Ottos eigene']}/delete").status_code == 404
    assert client.post(f"/views/{ids['Team-Sicht']}/delete").status_code == 404
    assert client.post("/views/99999/delete").status_code == 404
    assert len(db.session.scalars(select(SavedView)).all()) == 3
    # an admin shares a view and deletes a shared one
    client.post("/logout")
    make.login(client, admin)
    client.post("/views", data={"list": "companies", "name": "Neu geteilt", "shared": "y", "tag": "Kunde"})
    assert db.session.scalar(select(SavedView).where(SavedView.name == "Neu geteilt")).shared
    assert client.post(f"/views/{ids['Team-Sicht']}/delete").status_code == 302
    client.post("/logout")
    make.login(client, user)
    assert _views(client.get("/companies").get_data(as_text=True)) == ["Neu geteilt"]
    # one's own view can be deleted
    client.post("/views", data={"list": "companies", "name": "Meine"})
    mine = db.session.scalar(select(SavedView.id).where(SavedView.name == "Meine"))
    assert client.post(f"/views/{mine}/delete").status_code == 302
    assert db.session.scalar(select(SavedView.id).where(SavedView.id == mine)) is None


def test_a_shared_view_shows_each_user_only_what_they_see(client, make, user):
    make.enable_groups()
    secret = make.group("Geheim")
    admin = make.user("admin", name="Ada Admin", groups=[secret])
    make.company("Sichtbar AG", tags=["Messe"])
    make.company("Geheim AG", group=secret, tags=["Messe"])
    db.session.add(SavedView(user_id=admin.id, entity="company", name="Messe", query="tag=Messe", shared=True))
    db.session.commit()
    body = client.get("/companies").get_data(as_text=True)
    link = re.search(r'<li><a href="([^"]+)"[^>]*>Messe</a>', body).group(1)
    opened = client.get(link).get_data(as_text=True)
    assert "Sichtbar AG" in opened and "Geheim AG" not in opened
