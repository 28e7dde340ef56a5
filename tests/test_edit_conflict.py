"""The edit conflict page (issue 14): when someone else saved the record meanwhile, the 409 page
shows the current version next to the user's, field by field, with the differences marked; the
user keeps theirs or takes the current value per field, and saves. It shows nothing of records
the user cannot see (a link to a hidden record reads as on the detail page). A three-way merge
with what the form started from (its hidden "base") decides first: a field only the other user
changed takes their value, one only this user changed keeps theirs; only a field both changed is
left to the user, and with none the save goes through."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

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


# --- the three-way merge: what the form started from decides (a new-user trial) --------------

class _Form(HTMLParser):
    """What a browser sends for the record form as the page shows it (inputs, textareas, selects)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.data: dict[str, str] = {}
        self._textarea = self._select = None
        self._first_option: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("name") and a.get("type") not in ("checkbox", "submit", "search"):
            self.data[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.data[a["name"]] = ""
        elif tag == "select":
            self._select, self._first_option = a["name"], None
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = a.get("value", "")
                self.data.setdefault(self._select, self._first_option)
            if "selected" in a:
                self.data[self._select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data.lstrip("\n") if not self.data[self._textarea] else data


def _opened(client, url: str) -> dict[str, str]:
    page = client.get(url).get_data(as_text=True)
    form = _Form()
    form.feed(page[page.index('<form method="post" class="record-form"'):])
    return form.data


def test_a_field_only_the_colleague_changed_keeps_their_value(client, world):
    # the trial: tabs A and B open the edit form; A changes the website and saves; B changes
    # nothing or only the name, and saves - A's website stays, B's name is saved
    c = world.c_nord
    url = f"/companies/{c.id}/edit"
    tab_a, tab_b = _opened(client, url), _opened(client, url)
    assert client.post(url, data={**tab_a, "website": "https://neu-b.example"}).status_code == 302
    tab_c = _opened(client, url)
    assert client.post(url, data={**tab_b, "name": "Nordlicht Holding"}).status_code == 302
    db.session.expire_all()
    got = db.session.get(Company, c.id)
    assert (got.name, got.website) == ("Nordlicht Holding", "https://neu-b.example")
    # a third tab that changes nothing keeps both
    assert client.post(url, data=tab_c).status_code == 302
    db.session.expire_all()
    got = db.session.get(Company, c.id)
    assert (got.name, got.website) == ("Nordlicht Holding", "https://neu-b.example")


def test_a_field_both_changed_is_still_a_conflict_and_the_rest_is_decided(client, world):
    c = world.c_nord
    url = f"/companies/{c.id}/edit"
    tab_a, tab_b = _opened(client, url), _opened(client, url)
    assert client.post(url, data={**tab_a, "name": "Nordlicht AG", "website": "https://neu-b.example"}
                       ).status_code == 302
    resp = client.post(url, data={**tab_b, "name": "Nordlicht Holding", "background": "Messe 2031"})
    assert resp.status_code == 409
    body = resp.get_data(as_text=True)
    rows = _rows(body)
    assert rows["name"] == ("Nordlicht Holding", "Nordlicht AG", True)
    assert rows["website"] == ("https://neu-b.example", "https://neu-b.example", False)  # taken over
    assert rows["background"] == ("Messe 2031", "—", True)  # only mine: kept unless taken
    db.session.expire_all()
    assert db.session.get(Company, c.id).name == "Nordlicht AG"
    # saving the screen as it stands keeps my name and background and the colleague's website
    assert client.post(url, data=_opened_from(body)).status_code == 302
    db.session.expire_all()
    got = db.session.get(Company, c.id)
    assert (got.name, got.website, got.background) == ("Nordlicht Holding", "https://neu-b.example", "Messe 2031")


def _opened_from(body: str) -> dict[str, str]:
    form = _Form()
    form.feed(body[body.index('<form method="post" class="record-form"'):])
    return form.data


def test_custom_fields_and_contact_details_are_merged(client, world):
    from crm.customfields.models import CustomField

    c = world.c_nord
    status = db.session.scalar(select(CustomField).where(CustomField.name == "Kundenstatus"))
    url = f"/companies/{c.id}/edit"
    tab_a, tab_b = _opened(client, url), _opened(client, url)
    assert client.post(url, data={**tab_a, f"cf_{status.id}": "Top-Kunde",
                                  "emails": "info@nordlicht.de\r\nvertrieb@nordlicht.de"}).status_code == 302
    assert client.post(url, data={**tab_b, "phones": "+49 40 123456", "tags": "Messe, Hamburg"}).status_code == 302
    db.session.expire_all()
    got = db.session.get(Company, c.id)
    details = {(d.kind, d.value) for d in got.contact_details}
    assert {("email", "info@nordlicht.de"), ("email", "vertrieb@nordlicht.de"), ("phone", "+49 40 123456")} <= details
    assert sorted(t.name for t in got.tags) == ["Hamburg", "Messe"]
    body = client.get(f"/companies/{c.id}").get_data(as_text=True)
    assert "Top-Kunde" in body
    # both changed the custom field differently: a conflict on that field only
    tab_a, tab_b = _opened(client, url), _opened(client, url)
    assert client.post(url, data={**tab_a, f"cf_{status.id}": "Bestandskunde"}).status_code == 302
    resp = client.post(url, data={**tab_b, f"cf_{status.id}": "Neukunde"})
    assert resp.status_code == 409
    differing = {name for name, row in _rows(resp.get_data(as_text=True)).items() if row[2]}
    assert differing == {f"cf_{status.id}"}


def test_an_untouched_deal_and_person_form_keeps_the_colleagues_change(client, world):
    # a value shown in the locale's format, a stage, a date, and a link to a hidden person
    # ("unchanged") read back as they were shown: nothing of the colleague's save is undone
    from crm.models import Deal

    for url, change, check in (
        (f"/deals/{world.d_nord.id}/edit", {"name": "Nord-Deal 2"}, lambda: db.session.get(Deal, world.d_nord.id).name),
        (f"/deals/{world.d_link.id}/edit", {"value": "2.500,50"},
         lambda: str(db.session.get(Deal, world.d_link.id).value)),
        (f"/people/{world.p_nord.id}/edit", {"position": "Einkauf"},
         lambda: db.session.get(Person, world.p_nord.id).position),
    ):
        tab_a, tab_b = _opened(client, url), _opened(client, url)
        assert client.post(url, data={**tab_a, **change}).status_code == 302
        db.session.expire_all()
        wanted = check()
        assert client.post(url, data=tab_b).status_code == 302, url
        db.session.expire_all()
        assert check() == wanted
    assert db.session.get(Deal, world.d_link.id).person_id == world.p_sued.id


def test_a_save_after_the_record_moved_out_of_full_view_says_why_and_changes_nothing(client, world):
    """An edit form left open while an admin moves the company to Süd (restricted for Nord): the
    save is refused with the reason, not a bare "not allowed" (new-user trial), and nothing changes."""
    c = world.c_nord
    url = f"/companies/{c.id}/edit"
    tab = _opened(client, url)
    db.session.execute(Company.__table__.update().where(Company.id == c.id).values(group_id=world.sued.id))
    db.session.commit()
    resp = client.post(url, data={**tab, "background": "Neu getippt"})
    assert resp.status_code == 403
    assert "Sie sehen diesen Datensatz nur eingeschränkt: Er liegt in einer Gruppe, in der Sie nicht Mitglied " \
           "sind. Deshalb können Sie ihn nicht ändern." in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Company, c.id).background != "Neu getippt"
