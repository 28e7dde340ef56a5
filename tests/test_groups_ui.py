"""The group system on the record pages: Zuständige Gruppe, references to hidden records, the
"who can see this" panel, moving a record out of one's groups."""
import re

from sqlalchemy import select

from crm.audit.models import AuditEntry
from crm.extensions import db
from crm.models import Company, Deal, Person, User


def options(body: str, name: str) -> list[str]:
    select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', body, re.S).group(1)
    return re.findall(r">([^<]+)</option>", select_html)


def selected(body: str, name: str) -> str:
    select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', body, re.S).group(1)
    selected = r"<option selected[^>]*>([^<]+)</option>|<option[^>]*selected[^>]*>([^<]+)</option>"
    return re.search(selected, select_html).group(0)


def test_group_field_offers_own_groups_and_defaults(client, make):
    make.enable_groups()
    u = make.user("admin")
    nord = make.group("Nord", [u])
    make.group("Süd")
    u.default_group_id = nord.id
    db.session.commit()
    make.login(client, u)
    body = client.get("/companies/new").get_data(as_text=True)
    assert options(body, "group_id") == ["Basis", "Nord"]  # the user's groups, even for an admin
    assert "Nord" in selected(body, "group_id")
    basis_company = make.company("In Basis")
    body = client.get(f"/deals/new?company_id={basis_company.id}").get_data(as_text=True)
    assert "Basis" in selected(body, "group_id")  # the parent's group wins


def test_default_group_falls_back_to_basis_when_not_a_member(client, make):
    make.enable_groups()
    u = make.user()
    other = make.group("Fremd")
    u.default_group_id = other.id
    db.session.commit()
    make.login(client, u)
    assert "Basis" in selected(client.get("/people/new").get_data(as_text=True), "group_id")
    resp = client.post("/people/new", data={"last_name": "X", "group_id": str(other.id)})
    assert resp.status_code == 400  # a forged group is refused
    assert db.session.scalar(select(Person)) is None


def test_group_ui_hidden_while_extension_off(client, make):
    u = make.user()
    make.login(client, u)
    body = client.get("/companies/new").get_data(as_text=True)
    assert 'name="group_id"' not in body
    assert client.post("/companies/new", data={"name": "Ohne Gruppe"}).status_code == 302
    assert db.session.scalar(select(Company)).group_id == 1


def test_moving_out_of_own_groups_warns_and_is_audited(client, make):
    make.enable_groups()
    u = make.user("admin")
    nord = make.group("Nord", [u])
    c = make.company("Wandert", group=nord)
    make.login(client, u)
    # leave Nord: the record can only go to groups the user is in (Basis); move it there
    resp = client.post(f"/companies/{c.id}/edit", data={"name": "Wandert", "group_id": "1"})
    assert resp.status_code == 302
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "group_assigned"))
    assert entry.details["group"] == "Basis" and entry.details["previous"] == "Nord"


def test_reference_to_hidden_record_is_a_placeholder(client, make):
    make.enable_groups()
    u = make.user()
    secret = make.group("Geheim")
    hidden_company = make.company("Verborgene Firma", group=secret)
    p = make.person("Sichtbar", company=hidden_company)
    d = make.deal("Sichtbarer Deal", company=hidden_company, person=p)
    make.login(client, u)
    for path in (f"/people/{p.id}", f"/deals/{d.id}", "/people", "/deals", f"/people/{p.id}/edit"):
        body = client.get(path).get_data(as_text=True)
        assert "Verborgene Firma" not in body and f"/companies/{hidden_company.id}" not in body, path
    assert "verborgen" in client.get(f"/people/{p.id}").get_data(as_text=True).lower() or \
        "hidden" in client.get(f"/people/{p.id}").get_data(as_text=True)
    # the form carries "unchanged" instead of the hidden id, and saving it keeps the link
    assert 'name="company_id" type="hidden" value="unchanged"' in client.get(f"/people/{p.id}/edit").get_data(
        as_text=True)
    resp = client.post(f"/people/{p.id}/edit", data={"last_name": "Sichtbar2", "company_id": "unchanged",
                                                      "group_id": "1"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Person, p.id).company_id == hidden_company.id


def test_related_lists_hide_and_restrict(client, make):
    make.enable_groups()
    u = make.user()
    mine = make.group("Mine", [u])
    other = make.group("Other")
    make.field("deal", "Volumen", shared_with=[mine])
    c = make.company("Mutter", group=mine)
    make.person("Versteckt", company=c, group=other)
    make.person("Offen", company=c, group=mine)
    make.deal("Eingeschränkt", company=c, group=other)
    make.login(client, u)
    body = client.get(f"/companies/{c.id}").get_data(as_text=True)
    assert "Versteckt" not in body and "Offen" in body
    # a restricted record's links are among its hidden fields: not listed either (issue 12)
    assert "Eingeschränkt" not in body
    people_section = re.search(r'id="related-people".*?</article>', body, re.S).group(0)
    assert "(1)" in people_section  # the hidden person is not counted


def test_who_can_see_this(client, make):
    make.enable_groups()
    admin = make.user("admin", name="Anna Admin")
    nord_user = make.user(name="Norbert Nord")
    sued_user = make.user(name="Susi Süd")
    make.user(name="Otto Außen")  # in no group: sees nothing
    nord = make.group("Nord", [admin, nord_user])
    sued = make.group("Süd", [sued_user])
    make.field("company", "Kundenstatus", shared_with=[sued])
    c = make.company("Nordkunde", group=nord)
    make.login(client, admin)
    body = client.get(f"/companies/{c.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    # the panel loads its table when opened (it lists every user)
    assert re.search(rf'<details class="access"[^>]*hx-get="/companies/{c.id}/access"', body)
    panel = client.get(f"/companies/{c.id}/access", headers={
        "Accept-Language": "en", "HX-Request": "true", "HX-Target": "access-body"}).get_data(as_text=True)
    assert "<html" not in panel
    rows = {m[0]: m[1] for m in re.findall(r'<td>([^<]+)</td>\s*<td>([^<]+)</td>', panel)}
    assert rows["Norbert Nord"].strip() == "full"
    assert rows["Susi Süd"].strip() == "restricted"
    assert rows["Otto Außen"].strip() == "none"
    assert "Kundenstatus" in panel


def test_who_can_see_this_follows_visibility(client, make):
    make.enable_groups()
    u = make.user(name="Norbert Nord")
    nord = make.group("Nord", [u])
    sued = make.group("Süd", [])
    make.field("company", "Kundenstatus", shared_with=[nord])
    mine = make.company("Nordkunde", group=nord)
    restricted = make.company("Südkunde", group=sued)
    make.login(client, u)
    page = client.get(f"/companies/{mine.id}/access")
    assert page.status_code == 200 and "Norbert Nord" in page.get_data(as_text=True)
    assert client.get("/companies/999999/access").status_code == 404
    # a restricted record: the user's own level and its reason (new-user trial: it answered 403)
    page = client.get(f"/companies/{restricted.id}").get_data(as_text=True)
    assert f'hx-get="/companies/{restricted.id}/access"' in page
    panel = client.get(f"/companies/{restricted.id}/access", headers={"Accept-Language": "en"})
    html = panel.get_data(as_text=True)
    assert panel.status_code == 200 and "Süd" in html and "Norbert Nord" in html
    assert "restricted" in html and "field “Kundenstatus” shared with Nord" in html
    assert len(re.findall(r'<tr class="access-', html)) == 1
    # an admin who sees it restricted: their own line too, not everyone's
    admin = make.user("admin", name="Ada Admin")
    nord_member = make.user(name="Nina Nord")
    make.group("Nord2", [admin, nord_member])
    other = client.application.test_client()
    make.login(other, admin)
    html = other.get(f"/companies/{restricted.id}/access", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Norbert Nord" not in html


def test_user_default_group_setting(client, make):
    make.enable_groups()
    admin = make.user("admin")
    nord = make.group("Nord")
    u = make.user()
    make.login(client, admin)
    resp = client.post(f"/settings/users/{u.id}", data={"name": u.name, "email": u.email, "role": "normal",
                                                         "active": "y", "default_group_id": str(nord.id),
                                                         "groups": [str(nord.id)]})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, u.id).default_group_id == nord.id


def test_deal_in_foreign_group_not_in_sums_or_lists(client, make):
    make.enable_groups()
    u = make.user()
    secret = make.group("Finanzen")
    make.deal("Geheimdeal", group=secret, value=1_000_000)
    make.login(client, u)
    assert "Geheimdeal" not in client.get("/deals").get_data(as_text=True)
    assert db.session.scalar(select(Deal)).group_id == secret.id


def test_a_default_group_the_user_is_not_in_is_refused_and_leaving_it_resets_it(client, make):
    """Found by a new-user trial: an admin set Eva's default group to Finanzen, which she is not in;
    "Gespeichert." - and her new records went to Basis (everyone) without a word."""
    make.enable_groups()
    admin = make.user("admin")
    leads = make.group("Leads")
    finanzen = make.group("Finanzen")
    eva = make.user(groups=[leads])
    make.login(client, admin)
    form = {"name": eva.name, "email": eva.email, "role": "normal", "active": "y",
            "default_group_id": str(finanzen.id), "groups": [str(leads.id)]}
    resp = client.post(f"/settings/users/{eva.id}", data=form)
    assert resp.status_code == 400
    assert "Die Standardgruppe muss eine der Gruppen" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, eva.id).default_group_id is None
    # made a member in the same save: taken
    assert client.post(f"/settings/users/{eva.id}", data=form | {
        "groups": [str(leads.id), str(finanzen.id)]}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, eva.id).default_group_id == finanzen.id
    # taken out of Finanzen: her default is Basis again, audited
    assert client.post(f"/settings/users/{eva.id}", data=form | {"default_group_id": str(finanzen.id),
                                                                  "groups": [str(leads.id)]}).status_code == 400
    removed = client.post(f"/settings/groups/{finanzen.id}/members/remove", data={"user_ids": [str(eva.id)]})
    assert removed.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, eva.id).default_group_id is None
