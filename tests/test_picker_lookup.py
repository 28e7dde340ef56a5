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
