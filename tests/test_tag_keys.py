"""Tags compare case-insensitively the same way in SQL and Python (``tags.key``, issue 16): a tag
the user sees is reused in another capitalisation on every path - API, form, bulk tag, CSV import -
and the filter by tag finds it, for "Ä", "ß"/"ẞ" and Turkish "İ" on SQLite and PostgreSQL alike."""
from __future__ import annotations

import io
import unicodedata

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import Company, Tag
from tests.test_trust_services import HX, bearer, names_of

# (the spelling on a record, another capitalisation of it typed later)
CASES = [
    ("Ärzte", "ärzte"),
    ("ärzte", "ÄRZTE"),
    ("Öl & Gas", "öl & gas"),
    ("Übersee", "ÜBERSEE"),
    ("Straße", "STRASSE"),
    ("Straße", "strasse"),
    ("STRAẞE", "straße"),
    ("İzmir", "i̇zmir"),
    ("İSTANBUL", "İstanbul"),
]


def _tags() -> list[str]:
    """Every tag (one row each)."""
    db.session.expire_all()
    return sorted(db.session.scalars(select(Tag.name)))


@pytest.fixture
def admin(make):
    return make.user("admin")


@pytest.mark.parametrize(("first", "again"), CASES)
def test_the_api_reuses_a_seen_tag_in_another_capitalisation(client, make, admin, first, again):
    seen = make.company("Erste GmbH", tags=[first])
    h = bearer(admin)
    resp = client.post("/api/v1/companies", headers=h, json={"name": "Zweite GmbH", "tags": [again]})
    assert resp.status_code == 201 and resp.get_json()["tags"] == [first]
    resp = client.patch(f"/api/v1/companies/{seen.id}", headers=h, json={"tags": [again, first]})
    assert resp.status_code == 200 and resp.get_json()["tags"] == [first]
    assert _tags() == [first]
    found = client.get("/api/v1/companies", headers=h, query_string={"tag": again}).get_json()["items"]
    assert sorted(c["name"] for c in found) == ["Erste GmbH", "Zweite GmbH"]


@pytest.mark.parametrize(("first", "again"), CASES)
def test_the_form_and_the_bulk_tag_reuse_a_seen_tag(client, make, admin, first, again):
    make.company("Erste GmbH", tags=[first])
    other = make.company("Zweite GmbH")
    third = make.company("Dritte GmbH")
    make.login(client, admin)
    resp = client.post(f"/companies/{other.id}/edit", data={"name": "Zweite GmbH", "tags": again})
    assert resp.status_code == 302 and names_of("company", other.id) == {first}
    resp = client.post("/companies/bulk/tag", data={"scope": "ids", "ids": [str(third.id)], "tag_name": again,
                                                    "mode": "add", "step": "run"}, headers=HX)
    assert resp.status_code == 200 and names_of("company", third.id) == {first}
    assert _tags() == [first]
    page = client.get("/companies", query_string={"tag": again}).text
    assert all(name in page for name in ("Erste GmbH", "Zweite GmbH", "Dritte GmbH"))
    resp = client.post("/companies/bulk/tag", data={"scope": "ids", "ids": [str(third.id)], "tag_name": again,
                                                    "mode": "remove", "step": "run"}, headers=HX)
    assert resp.status_code == 200 and names_of("company", third.id) == set()


def test_the_csv_import_reuses_seen_tags(client, make, admin):
    make.company("Erste GmbH", tags=["Ärzte", "Straße", "İzmir"])
    make.login(client, admin)
    csv = "Name;Schlagworte\nZweite GmbH;ÄRZTE, STRASSE\nDritte GmbH;ärzte, i̇zmir, Neu\n"
    resp = client.post("/import", data={"record_type": "company", "file": (io.BytesIO(csv.encode()), "t.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302
    job = resp.headers["Location"].split("/")[2]
    resp = client.post(f"/import/{job}/map", data={"col-0": "name", "col-1": "tags"})
    assert resp.status_code == 302, resp.text[:2000]
    db.session.expire_all()
    tags = {c.name: sorted(t.name for t in c.tags) for c in db.session.scalars(select(Company))}
    assert tags == {"Erste GmbH": ["Straße", "Ärzte", "İzmir"], "Zweite GmbH": ["Straße", "Ärzte"],
                    "Dritte GmbH": ["Neu", "Ärzte", "İzmir"]}
    assert _tags() == ["Neu", "Straße", "Ärzte", "İzmir"]


def test_a_decomposed_spelling_is_the_same_tag(client, make, admin):
    """"Ä" typed as A + combining diaeresis (as some systems send it) is stored composed."""
    make.company("Erste GmbH", tags=["Ärzte"])
    decomposed = unicodedata.normalize("NFD", "Ärzte")
    resp = client.post("/api/v1/companies", headers=bearer(admin), json={"name": "Z", "tags": [decomposed]})
    assert resp.status_code == 201 and resp.get_json()["tags"] == ["Ärzte"]
    assert _tags() == ["Ärzte"]


def test_a_hidden_tags_other_spelling_stays_hidden(client, make):
    """The key does not reach across the trust rule: a tag only on records the user cannot see is
    not theirs, however it is spelled - they keep their own spelling (product.md §8)."""
    make.enable_groups()
    u, other = make.user("normal"), make.user("normal")
    nord, sued = make.group("Nord", [u]), make.group("Süd", [other])
    hidden = make.company("Südwind KG", group=sued, tags=["Straße"])
    resp = client.post("/api/v1/companies", headers=bearer(u),
                       json={"name": "Nord AG", "group_id": nord.id, "tags": ["STRASSE"]})
    assert resp.status_code == 201 and resp.get_json()["tags"] == ["STRASSE"]
    assert names_of("company", hidden.id) == {"Straße"}
    items = client.get("/api/v1/companies", headers=bearer(u), query_string={"tag": "straße"}).get_json()["items"]
    assert [c["name"] for c in items] == ["Nord AG"]
