"""The edit conflict page (issue 14): when someone else saved the record meanwhile, the 409 page
shows the current version next to the user's, field by field, with the differences marked; the
user keeps theirs or takes the current value per field, and saves. It shows nothing of records
the user cannot see (a link to a hidden record reads as on the detail page)."""
from __future__ import annotations

import re

import pytest

from crm.extensions import db
from crm.models import Company, Person
from tests.api.conftest import build_world


@pytest.fixture
def world(make, client):
    w = build_world(make)
    make.login(client, w.normal)
    return w


def _version(body: str) -> str:
    found = (re.search(r'name="version"[^>]*value="(\d+)"', body)
             or re.search(r'value="(\d+)"[^>]*name="version"', body))
    return found.group(1)


def _rows(body: str) -> dict[str, tuple[str, str, bool]]:
    """field name -> (your value, current value, marked as differing)."""
    out = {}
    for m in re.finditer(r'<tr class="(differs|same)" data-field="([^"]+)">(.*?)</tr>', body, re.S):
        mine = re.search(r'<td class="mine">(.*?)</td>', m.group(3), re.S).group(1)
        theirs = re.search(r'<td class="theirs">(.*?)</td>', m.group(3), re.S).group(1)
        strip = lambda s: re.sub(r"<[^>]+>", "", s).strip()
        out[m.group(2)] = (strip(mine), strip(theirs), m.group(1) == "differs")
    return out


def test_the_conflict_shows_both_versions_field_by_field(client, world, make):
    c = world.c_nord
    version = _version(client.get(f"/companies/{c.id}/edit").get_data(as_text=True))
    other = db.session.get(Company, c.id)
    other.name, other.website = "Nordlicht AG", "https://nordlicht.example"
    db.session.commit()
    resp = client.post(f"/companies/{c.id}/edit", data={
        "name": "Nordlicht Holding", "website": "", "background": "Messe 2031", "emails": "info@nordlicht.de",
        "tags": "Messe", "version": version, "group_id": str(world.nord.id), "responsible_id": ""})
    assert resp.status_code == 409
    body = resp.get_data(as_text=True)
    rows = _rows(body)
    assert rows["name"] == ("Nordlicht Holding", "Nordlicht AG", True)
    assert rows["website"] == ("—", "https://nordlicht.example", True)
    assert rows["background"] == ("Messe 2031", "—", True)
    assert rows["tags"][2] is False and rows["emails"][2] is False
    assert "3 Felder unterscheiden sich." in body
    assert 'name="take" value="name"' in body and 'name="take" value="tags"' not in body
    db.session.expire_all()
    assert db.session.get(Company, c.id).name == "Nordlicht AG"


def test_take_theirs_per_field_and_keep_yours(client, world, make):
    c = world.c_nord
    version = _version(client.get(f"/companies/{c.id}/edit").get_data(as_text=True))
    other = db.session.get(Company, c.id)
    other.name, other.website = "Nordlicht AG", "https://nordlicht.example"
    db.session.commit()
    data = {"name": "Nordlicht Holding", "website": "https://holding.example", "background": "Messe 2031",
            "emails": "info@nordlicht.de", "tags": "Messe", "version": version,
            "group_id": str(world.nord.id), "responsible_id": ""}
    first = client.post(f"/companies/{c.id}/edit", data=data)
    assert first.status_code == 409
    # keep my website and background, take their name
    resp = client.post(f"/companies/{c.id}/edit", data={**data, "version": _version(first.get_data(as_text=True)),
                                                        "take": ["name"]})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    db.session.expire_all()
    got = db.session.get(Company, c.id)
    assert (got.name, got.website, got.background) == ("Nordlicht AG", "https://holding.example", "Messe 2031")


def test_a_second_conflict_is_caught_again(client, world, make):
    c = world.c_nord
    version = _version(client.get(f"/companies/{c.id}/edit").get_data(as_text=True))
    db.session.get(Company, c.id).name = "Zweiter"
    db.session.commit()
    data = {"name": "Meiner", "version": version, "group_id": str(world.nord.id)}
    first = client.post(f"/companies/{c.id}/edit", data=data)
    assert first.status_code == 409
    db.session.get(Company, c.id).name = "Dritter"
    db.session.commit()
    again = client.post(f"/companies/{c.id}/edit", data={**data, "version": _version(first.get_data(as_text=True)),
                                                         "take": ["name"]})
    assert again.status_code == 409 and _rows(again.get_data(as_text=True))["name"][1] == "Dritter"
    db.session.expire_all()
    assert db.session.get(Company, c.id).name == "Dritter"


def test_a_link_to_a_hidden_record_reads_as_on_the_detail_page(client, world, make):
    # Anna (Nord) works at Nordlicht; the user moves her to Basis AG while the other user moves
    # her to Südwind (restricted for Nord: its name only). The deal Link-Deal points at the
    # hidden Gustav: both versions read as the detail page does, without his name.
    p = world.p_nord
    version = _version(client.get(f"/people/{p.id}/edit").get_data(as_text=True))
    db.session.get(Person, p.id).company_id = world.c_sued.id
    db.session.commit()
    resp = client.post(f"/people/{p.id}/edit", data={"last_name": "Kurz", "first_name": "Anna", "version": version,
                                                     "company_id": str(world.c_basis.id),
                                                     "group_id": str(world.nord.id)})
    assert resp.status_code == 409
    rows = _rows(resp.get_data(as_text=True))
    assert rows["company_id"] == ("Basis AG", "Südwind KG", True)
    deal = world.d_link
    version = _version(client.get(f"/deals/{deal.id}/edit").get_data(as_text=True))
    from crm.models import Deal

    db.session.get(Deal, deal.id).name = "Link-Deal 2"
    db.session.commit()
    resp = client.post(f"/deals/{deal.id}/edit", data={"name": "Link-Deal neu", "version": version,
                                                       "person_id": "unchanged", "currency": "EUR", "stage": "open",
                                                       "group_id": str(world.nord.id)})
    assert resp.status_code == 409
    body = resp.get_data(as_text=True)
    rows = _rows(body)
    assert rows["person_id"][0] == rows["person_id"][1] and rows["person_id"][2] is False
    assert "Geheim" not in body and "Gustav" not in body
