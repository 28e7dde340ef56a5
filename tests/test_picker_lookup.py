"""The link picker of the record forms asks /<type>/lookup with its search box's own name."""


def test_picker_finds_by_its_search_box_name(client, make):
    make.company("Hafenkontor Jansen GmbH")
    make.company("Bergmann Bau KG")
    make.login(client, make.user())
    # what htmx sends for the input named "company_id_q" of the person form
    resp = client.get("/companies/lookup?field=company_id&company_id_q=hafen")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Hafenkontor Jansen GmbH" in html
    assert "Bergmann" not in html


def test_picker_hides_what_the_user_cannot_fully_see(client, make):
    make.enable_groups()
    nord = make.group("Nord")
    make.company("Hafen Nord GmbH", group=nord)
    make.company("Hafen Basis GmbH")
    make.login(client, make.user())
    html = client.get("/companies/lookup?field=company_id&company_id_q=hafen").get_data(as_text=True)
    assert "Hafen Basis GmbH" in html
    assert "Hafen Nord GmbH" not in html


def test_merge_picker_leaves_the_record_out_and_tells_duplicates_apart(client, make):
    """The merge page's picker: not the record itself; two "Thomas Dublette" told apart by their
    company and first e-mail - a hidden company's name not shown, nor anything of a person the
    user sees only restricted."""
    make.enable_groups()
    user = make.user("extended")
    nord = make.group("Nord", [user])
    sued = make.group("Süd")
    hafen = make.company("Hafenwerk GmbH", group=nord)
    secret = make.company("Geheim AG", group=sued)
    keep = make.person("Dublette", "Thomas", group=nord, company=hafen, emails=["t.d@hafenwerk.example"])
    make.person("Dublette", "Thomas", group=nord, company=hafen,
                emails=["thomas@hafenwerk.example", "zweite@hafenwerk.example"])
    make.person("Dublette", "Thomas", group=nord, company=secret, emails=["td@privat.example"])
    make.person("Dublette", "Thomas", group=sued, emails=["verborgen@sued.example"])
    make.login(client, user)
    page = client.get(f"/people/{keep.id}/merge").get_data(as_text=True)
    assert f"exclude={keep.id}" in page
    html = client.get(f"/people/lookup?field=other_id&other_id_q=thomas+dub&exclude={keep.id}").get_data(as_text=True)
    assert f'data-pick-id="{keep.id}"' not in html
    assert html.count("data-pick-id=") == 2
    assert "Hafenwerk GmbH · thomas@hafenwerk.example" in html
    assert "td@privat.example" in html
    assert "zweite@" not in html and "t.d@" not in html
    assert "Geheim" not in html and "verborgen@" not in html


def test_company_picker_shows_city_and_website(client, make):
    from crm.extensions import db
    from crm.models import ContactDetail

    hh = make.company("Hafenkontor GmbH", website="https://hafen-hh.example")
    db.session.add(ContactDetail(kind="address", value="Am Kai 1\n20457 Hamburg", company_id=hh.id))
    db.session.commit()
    make.company("Hafenkontor GmbH", website="https://hafen-hb.example")
    make.login(client, make.user())
    html = client.get("/companies/lookup?field=company_id&company_id_q=hafenkontor").get_data(as_text=True)
    assert "20457 Hamburg · https://hafen-hh.example" in html
    assert "https://hafen-hb.example" in html
