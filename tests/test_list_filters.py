"""The list filters a user combines in the URL: responsible user ("mine"), stage and status,
company and person, custom field values; the exact count; a related list's "show all". Each filter
matches only what the user may see of a row: a restricted row shows its name and the fields shared
with the user, so it matches a filter on a shared field and on nothing else, and a hidden company
answers like one that never existed."""
import re

import pytest


@pytest.fixture
def nord(make):
    return make.group("Nord")


@pytest.fixture
def user(make, client, nord):
    u = make.user("normal", name="Nora Normal", groups=[nord])
    make.login(client, u)
    return u


def names(client, url: str) -> list[str]:
    """The record names in the list's table, in order."""
    resp = client.get(url)
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    table = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in body else ""
    plural = url.split("?", 1)[0].strip("/")
    return [n.strip() for n in re.findall(rf'<td><a href="/{plural}/\d+">([^<]+)</a>', table)]


def test_responsible_mine_and_by_user(client, make, user):
    other = make.user("normal", name="Otto Other")
    make.deal("Meiner", responsible_id=user.id)
    make.deal("Ottos", responsible_id=other.id)
    make.deal("Niemandes")
    assert names(client, "/deals?responsible=me") == ["Meiner"]
    assert names(client, f"/deals?responsible={other.id}") == ["Ottos"]
    assert sorted(names(client, "/deals?responsible=junk")) == ["Meiner", "Niemandes", "Ottos"]
    # the form offers "mine" and keeps the choice
    body = client.get("/deals?responsible=me").get_data(as_text=True)
    assert '<option value="me" selected>' in body


def test_stage_and_status_any_of(client, make, user):
    make.deal("Offen", stage="open")
    make.deal("Gewonnen", stage="won")
    make.deal("Verloren", stage="lost")
    assert names(client, "/deals?stage=won") == ["Gewonnen"]
    assert names(client, "/deals?stage=open&stage=lost") == ["Offen", "Verloren"]
    assert len(names(client, "/deals?stage=bogus")) == 3  # an unknown stage is no filter
    make.project("Aktiv", status="active")
    make.project("Fertig", status="done")
    assert names(client, "/projects?status=done") == ["Fertig"]
    assert names(client, "/projects?status=active&status=done") == ["Aktiv", "Fertig"]


def test_filters_combine_and_stay_in_the_links(client, make, user, app):
    app.config["PAGE_SIZE"] = 2
    for i in range(3):
        make.deal(f"Mein offener {i}", stage="open", responsible_id=user.id)
    make.deal("Mein gewonnener", stage="won", responsible_id=user.id)
    make.deal("Fremder offener", stage="open")
    body = client.get("/deals?responsible=me&stage=open").get_data(as_text=True)
    assert "3 Datensätze" in body or "3 records" in body
    # the next page and the column headers keep the filter
    next_link = re.search(r'rel="next"[^>]*|href="([^"]+)" rel="next"', body).group(0)
    assert "responsible=me" in next_link and "stage=open" in next_link
    assert names(client, "/deals?responsible=me&stage=open&page=2") == ["Mein offener 2"]
    header = re.search(r'<a class="sort" href="([^"]+)"[^>]*>(Wert|Value)', body).group(1)
    assert "responsible=me" in header and "stage=open" in header and "sort=value" in header


def test_company_and_person_filter(client, make, user):
    c = make.company("Kontorhaus")
    other = make.company("Anderswo")
    anna = make.person("Kurz", company=c)
    make.person("Lang", company=other)
    make.deal("Mit Anna", company=c, person=anna)
    make.deal("Nur Firma", company=c)
    make.deal("Woanders", company=other)
    assert names(client, f"/people?company_id={c.id}") == ["Anna Kurz"]
    assert names(client, f"/deals?company_id={c.id}") == ["Mit Anna", "Nur Firma"]
    assert names(client, f"/deals?person_id={anna.id}") == ["Mit Anna"]
    assert names(client, f"/projects?company_id={c.id}") == []
    body = client.get(f"/deals?company_id={c.id}").get_data(as_text=True)
    assert "Kontorhaus" in body  # the filter names its company, and can be removed


def test_hidden_company_filters_like_a_missing_one(client, make, user):
    """A visible person employed by a hidden company: filtering by that company's id tells the
    user nothing (no rows, no name) - the same answer as for an id that never existed."""
    secret = make.group("Geheim")
    make.enable_groups()
    hidden = make.company("Verborgen AG", group=secret)
    make.person("Sichtbar", company=hidden)
    make.deal("Sichtbarer Deal", company=hidden)
    missing = hidden.id + 1000

    def page(company_id):
        """The page without what differs per request anyway (the CSRF token) and the id asked for."""
        body = client.get(f"/deals?company_id={company_id}").get_data(as_text=True)
        body = re.sub(r'(content|value)="[\w.-]{40,}"', "TOKEN", body)
        body = body.replace(f"company_id={company_id}", "company_id=ID")
        return body.replace(f'name="company_id" value="{company_id}"', "name=company_id")

    assert names(client, f"/people?company_id={hidden.id}") == []
    assert names(client, f"/deals?company_id={hidden.id}") == []
    assert page(hidden.id) == page(missing)
    assert "Verborgen" not in page(hidden.id)


def test_restricted_rows_match_only_shared_fields(client, make, user, nord):
    """A restricted row (a record of another group whose type has a field shared with the user)
    matches a filter on a shared field, never one on a field it hides - nor the responsible
    user, stage or link it hides."""
    make.enable_groups()
    sued = make.group("Süd")
    status = make.field("company", "Kundenstatus", "select", options=["Top", "Neu"], shared_with=[nord])
    umsatz = make.field("company", "Umsatz", "number")
    own = make.company("Eigene Top", group=nord, responsible_id=user.id)
    theirs = make.company("Fremde Top", group=sued, responsible_id=user.id)
    for c in (own, theirs):
        make.value(status, c, "Top")
        make.value(umsatz, c, "500")
    assert names(client, f"/companies?cf_{status.id}=Top") == ["Eigene Top", "Fremde Top"]
    # the number field is not shared: the restricted row's value is hidden and does not match
    assert names(client, f"/companies?cf_{umsatz.id}_from=100") == ["Eigene Top"]
    assert names(client, "/companies?responsible=me") == ["Eigene Top"]
    assert names(client, f"/companies?cf_{status.id}=Top&cf_{umsatz.id}_to=1000") == ["Eigene Top"]
    # the list without a filter shows both, the restricted one as such
    assert names(client, "/companies") == ["Eigene Top", "Fremde Top"]


def test_a_tag_matches_fully_visible_rows_by_one_rule(client, make, user, nord, app):
    """A tag matches only rows the user sees in full (a restricted row shows no tags); the filter
    says that rule alone, not next to the rule of every row the user sees - for a user without
    restricted rows the same rule twice, which PostgreSQL's planner multiplied into a hundredth of
    the rows there are and then tested every row of the user's groups for the tag."""
    from sqlalchemy.dialects import sqlite

    from crm.records.queries import ListFilter, filtered
    from crm.records.types import TYPES

    make.enable_groups()
    sued = make.group("Süd")
    make.field("company", "Kundenstatus", shared_with=[nord])  # Süd's companies: restricted
    make.company("Eigene", group=nord, tags=["Messe"])
    make.company("Fremde", group=sued, tags=["Messe"])
    make.person("Eigen", group=nord, tags=["Messe"])
    make.person("Fremd", group=sued, tags=["Messe"])
    assert names(client, "/companies?tag=Messe") == ["Eigene"]
    assert names(client, "/companies") == ["Eigene", "Fremde"]
    assert names(client, "/people?tag=Messe") == ["Anna Eigen"]
    with make.acting_as(app, user) as viewer:
        for key, table in (("company", "companies"), ("person", "people")):
            where = str(filtered(TYPES[key], viewer, ListFilter(tag="Messe")).compile(dialect=sqlite.dialect()))
            for term in (f"{table}.deleted_at IS NULL", f"{table}.pending_import_id IS NULL", f"{table}.group_id IN"):
                assert where.count(term) == 1, (key, term, where)


def test_hidden_rows_never_match(client, make, user):
    make.enable_groups()
    secret = make.group("Geheim")
    f = make.field("deal", "Quelle", "select", options=["Messe", "Web"])
    mine = make.deal("Sichtbar", stage="won", responsible_id=user.id)
    hidden = make.deal("Verborgen", group=secret, stage="won", responsible_id=user.id)
    make.value(f, mine, "Messe")
    make.value(f, hidden, "Messe")
    for url in ("/deals?stage=won", "/deals?responsible=me", f"/deals?cf_{f.id}=Messe"):
        assert names(client, url) == ["Sichtbar"], url


def test_custom_field_values(client, make, user):
    kind = make.field("company", "Kundenstatus", "select", options=["Top", "Neu", "Alt"])
    size = make.field("company", "Mitarbeiter", "number")
    since = make.field("company", "Kunde seit", "date")
    note = make.field("company", "Kürzel", "text")
    rows = [("A", "Top", "9", "2020-01-15", "AA"), ("B", "Neu", "120", "2022-06-01", "BB"),
            ("C", "Alt", "45.5", "2024-12-31", "CC"), ("D", None, None, None, None)]
    for name, k, n, d, t in rows:
        c = make.company(name)
        for f, v in ((kind, k), (size, n), (since, d), (note, t)):
            if v is not None:
                make.value(f, c, v)
    assert names(client, f"/companies?cf_{kind.id}=Top&cf_{kind.id}=Alt") == ["A", "C"]
    # numbers compare as numbers ("120" > "45.5"), both ends included
    assert names(client, f"/companies?cf_{size.id}_from=45.5") == ["B", "C"]
    assert names(client, f"/companies?cf_{size.id}_from=10&cf_{size.id}_to=100") == ["C"]
    assert names(client, f"/companies?cf_{size.id}_to=9") == ["A"]
    assert names(client, f"/companies?cf_{since.id}_from=2021-01-01&cf_{since.id}_to=2024-12-31") == ["B", "C"]
    assert names(client, f"/companies?cf_{note.id}=BB") == ["B"]
    # a bound that is no number or date is no filter; so is a field of another type or none at all
    assert len(names(client, f"/companies?cf_{size.id}_from=viel")) == 4
    assert len(names(client, "/companies?cf_99999=Top")) == 4
    # the form shows the chosen values again (and names no unreadable value)
    body = client.get(f"/companies?cf_{kind.id}=Top&cf_{size.id}_from=10").get_data(as_text=True)
    assert "filter-problems" not in body
    assert re.search(rf'name="cf_{kind.id}" value="Top" checked', body)
    assert f'name="cf_{size.id}_from" value="10"' in body


def test_unreadable_filter_value_is_named_and_german_numbers_are_read(client, make, user):
    """New-user trial: ``?cf_2_from=abc`` listed everything without a word. The page now names
    the value it could not read (and lists as without it); a number typed the German way, as
    the forms take it, filters."""
    size = make.field("company", "Umsatz", "number")
    for name, value in (("Klein", "999999.5"), ("Groß", "1000000"), ("Riesig", "2500000")):
        make.value(size, make.company(name), value)
    resp = client.get(f"/companies?cf_{size.id}_from=abc")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'class="notice filter-problems"' in body
    assert "Umsatz (von): <q>abc</q> – Keine Zahl." in body
    assert len(names(client, f"/companies?cf_{size.id}_from=abc")) == 3
    # German thousands separators and decimal comma, as the deal value form reads them
    assert names(client, f"/companies?cf_{size.id}_from=1.000.000") == ["Groß", "Riesig"]
    assert names(client, f"/companies?cf_{size.id}_to=999.999,50") == ["Klein"]
    body = client.get(f"/companies?cf_{size.id}_from=1.000.000").get_data(as_text=True)
    assert "filter-problems" not in body
    assert f'name="cf_{size.id}_from" value="1000000"' in body  # shown as the number input reads it
    # the filter bar's number input sends a plain number: "1.5" stays one and a half
    assert names(client, f"/companies?cf_{size.id}_to=1.5") == []
    # an empty bound (the form sends both) is no problem; a field of another list is named
    other = make.field("deal", "Volumen", "number")
    body = client.get(f"/companies?cf_{size.id}_from=&cf_{other.id}_from=5").get_data(as_text=True)
    assert f"cf_{other.id}_from: <q>5</q>" in body and "Umsatz (von)" not in body


def test_exact_count_on_request(client, make, user, app):
    app.config["COUNT_CAP"] = 3
    for i in range(5):
        make.company(f"Firma {i}")
    capped = client.get("/companies").get_data(as_text=True)
    assert "Mehr als 3" in capped or "More than 3" in capped
    assert "count=exact" in capped
    exact = client.get("/companies?count=exact").get_data(as_text=True)
    assert "5 Datensätze" in exact or "5 records" in exact
    assert "Mehr als" not in exact and "More than" not in exact


def test_related_list_shows_all(client, make, user, app):
    app.config["PAGE_SIZE"] = 50
    c = make.company("Großkunde")
    for i in range(30):
        make.person(f"Kontakt {i:02d}", company=c)
    make.person("Fremd")  # not of this company
    body = client.get(f"/companies/{c.id}").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)">(Alle 30 anzeigen|Show all 30)</a>', body)
    assert link, "the related people list links to all 30"
    listed = names(client, link.group(1).replace("&amp;", "&"))
    assert listed == [f"Anna Kontakt {i:02d}" for i in range(30)]


def test_bulk_select_all_matching_keeps_the_filter(client, make, user):
    """"Select all N matching" acts on the filtered set: the filter travels with the dialog."""
    make.enable_groups()
    make.deal("Offen 1", stage="open")
    make.deal("Offen 2", stage="open")
    make.deal("Gewonnen", stage="won")
    body = client.get("/deals?stage=open").get_data(as_text=True)
    assert 'form="bulk" name="stage" value="open"' in body
    assert re.search(r"(Alle 2 passenden auswählen|Select all 2 matching)", body)


def test_filter_key_ignores_order_and_count(app):
    from werkzeug.datastructures import MultiDict

    from crm.records.pages import filter_key
    from crm.records.queries import ListFilter
    from crm.records.types import TYPES

    with app.test_request_context():
        a = ListFilter.from_args(TYPES["deal"], MultiDict([("stage", "open"), ("sort", "value")]))
        b = ListFilter.from_args(TYPES["deal"], MultiDict([("stage", "open"), ("count", "exact")]))
        assert filter_key(a) == filter_key(b) != filter_key(ListFilter())


def test_column_chooser_shows_custom_fields_and_only_shared_ones_of_restricted_rows(client, make, user, nord):
    make.enable_groups()
    sued = make.group("Süd")
    status = make.field("company", "Kundenstatus", "select", options=["Top", "Neu"], shared_with=[nord])
    umsatz = make.field("company", "Umsatz", "number")
    own = make.company("Eigene", group=nord)
    theirs = make.company("Fremde", group=sued)
    make.value(status, own, "Neu")
    make.value(umsatz, own, "123")
    make.value(status, theirs, "Top")
    make.value(umsatz, theirs, "987654")
    plain = client.get("/companies").get_data(as_text=True)
    assert "Kundenstatus</th>" not in plain
    assert re.search(rf'name="col" value="{status.id}"', plain)  # offered by the chooser
    body = client.get(f"/companies?col={status.id}&col={umsatz.id}").get_data(as_text=True)
    assert "<th scope=\"col\">Kundenstatus</th>" in body and "<th scope=\"col\">Umsatz</th>" in body
    rows = {name: row for row, name in
            ((m.group(0), m.group(1)) for m in re.finditer(r'<tr id="row-\d+".*?>([^<]+)</a>.*?</tr>', body, re.S))}
    assert "<td>Neu</td>" in rows["Eigene"] and "<td>123</td>" in rows["Eigene"]
    assert "<td>Top</td>" in rows["Fremde"]  # the shared field of a restricted row
    assert "987654" not in body  # its other field stays hidden
    # the choice stays in the links, and is no filter (the selection is kept)
    assert f"col={status.id}" in re.search(r'<a class="sort" href="([^"]+)"', body).group(1)


@pytest.mark.parametrize("sort", ["name", "updated", "value"])
def test_a_page_read_group_by_group_is_the_page_of_the_whole_list(app, make, sort, monkeypatch):
    """A viewer in a few groups gets a list sorted by name, last change or value from one arm per
    group (``PER_GROUP_ARMS``, each group's first rows from its index; by value a second one for
    the deals without a value): every page, both directions and with a filter, is the one the
    plain query gives - deals without a value and equal values (then the name, then the id) in
    the same places, hidden and trashed deals never in it."""
    from datetime import timedelta

    from crm.common import utcnow
    from crm.records import queries
    from crm.records.models import Deal
    from crm.records.queries import ListFilter, list_page
    from crm.records.trash import trash_records
    from crm.records.types import TYPES

    make.enable_groups()
    u = make.user()
    mine = [make.group(f"G{i}", [u]) for i in range(3)]
    other = make.group("Fremd")
    now = utcnow()
    for i in range(14):
        group = [*mine, other][i % 4]
        deal = make.deal(f"Deal {(i * 7) % 14:02d}", group=group, value=None if i % 5 == 2 else i % 3,
                         stage="won" if i % 3 else "open")
        deal.updated_at = now - timedelta(minutes=(i * 5) % 14)
    make.deal("Deal 00", group=mine[1])  # (a tie on the name: the id decides)
    from crm.extensions import db

    db.session.commit()
    with make.acting_as(app, make.user("admin", groups=[mine[0]])) as admin:
        first = db.session.scalar(db.select(Deal.id).where(Deal.group_id == mine[0].id))
        assert trash_records(TYPES["deal"], [first], admin) == 1
        db.session.commit()
    with make.acting_as(app, u) as viewer:
        for flt in (ListFilter(sort=sort), ListFilter(sort=sort, desc=True), ListFilter(sort=sort, states=("open",))):
            for offset in (0, 3, 8):
                page = [r.id for r in db.session.execute(list_page(TYPES["deal"], viewer, flt, 4, offset))]
                monkeypatch.setattr(queries, "PER_GROUP_ARMS", 0)
                plain = [r.id for r in db.session.execute(list_page(TYPES["deal"], viewer, flt, 4, offset))]
                monkeypatch.setattr(queries, "PER_GROUP_ARMS", 8)
                assert page == plain, (flt, offset)
        every = [r.id for r in db.session.execute(list_page(TYPES["deal"], viewer, ListFilter(sort=sort), 50))]
    groups = dict(db.session.execute(db.select(Deal.id, Deal.group_id)).all())
    assert len(every) == 11 and all(groups[i] != other.id for i in every), [(i, groups[i]) for i in every]


def _group_choices(client, url: str) -> list[str]:
    body = client.get(url).get_data(as_text=True)
    select = re.search(r'<select name="group_id"[^>]*>(.*?)</select>', body, re.DOTALL).group(1)
    return re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', select)


def test_the_group_filter_offers_the_groups_whose_records_the_user_sees(client, make, user, nord):
    """A user who sees Süd's companies restricted can narrow the list to Süd; a group of which
    they see no record of that type is not offered (its name is not theirs to read)."""
    make.enable_groups()
    sued, ost = make.group("Süd"), make.group("Ost")
    make.field("company", "Kundenstatus", "select", options=["Top"], shared_with=[nord])
    make.company("Eigene", group=nord, tags=["Messe"])
    make.company("Fremde", group=sued, tags=["Geheimtipp"])
    make.person("Versteckt", group=ost)
    make.person("Auch versteckt", group=sued)
    offered = _group_choices(client, "/companies")
    assert "Süd" in offered and "Nord" in offered and "Ost" not in offered
    sued_id = sued.id
    assert names(client, f"/companies?group_id={sued_id}") == ["Fremde"]
    # read in the same statement, the tags stay those of records she fully sees
    body = client.get("/companies").get_data(as_text=True)
    assert '<option value="Messe"' in body and "Geheimtipp" not in body
    # people of Süd and Ost are hidden from her (no field of people is shared): neither is offered
    offered = _group_choices(client, "/people")
    assert "Nord" in offered and "Süd" not in offered and "Ost" not in offered


@pytest.mark.parametrize(("cap", "query", "count", "select_all"), [
    (10_000, "", "7 records", "Select all 4 you can change"),
    (3, "", "More than 3 records", "Select all more than 3 matching"),
    (3, "&count=exact", "7 records", "Select all more than 3 matching"),
    (5, "", "More than 5 records", "Select all 4 you can change"),
])
def test_a_text_filtered_list_counts_with_its_page_as_a_count_of_its_own_does(
        client, make, app, monkeypatch, cap, query, count, select_all):
    """The text filter's counts come with its page (one statement reads the matches once): the total,
    "more than" above the cap, the exact count on request and the rows that can be selected read as
    the list's count of its own gives them - restricted rows in the total but not selectable, a
    trashed one and one not matching in neither; a page past the end counts on its own."""
    from crm.records import queries
    from crm.records.trash import trash_records
    from crm.records.types import TYPES

    make.enable_groups()
    nora = make.user("normal", name="Nora Normal")
    mine, other = make.group("Mine", [nora]), make.group("Other")
    make.field("company", "Status").shared_with = [mine]  # Other's companies: restricted to Nora
    for i in range(4):
        make.company(f"Hanse Eigen {i}", group=mine)
    for i in range(3):
        make.company(f"Hanse Fremd {i}", group=other)
    make.company("Nordwind", group=mine)
    gone = make.company("Hanse Weg", group=mine)
    from crm.extensions import db

    with make.acting_as(app, make.user("admin", groups=[mine])) as admin:
        assert trash_records(TYPES["company"], [gone.id], admin) == 1
        db.session.commit()
    make.login(client, nora)
    app.config["COUNT_CAP"] = cap

    def told(url: str) -> tuple[str, str]:
        html = client.get(url, headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
        said = re.sub(r"\s+", " ", re.search(r'id="list-count">\s*(.*?)\s*(<a |</span>)', html, re.S).group(1))
        button = re.search(r"data-select-all[^>]*>(.*?)</button>", html, re.S)
        return said.strip(), re.sub(r"\s+", " ", button.group(1)).strip() if button else ""

    with_page = told(f"/companies?q=hanse{query}")
    assert with_page == (count, select_all)
    app.config["PAGE_SIZE"] = 2
    assert told(f"/companies?q=hanse{query}&page=9") == with_page  # (past the end: counted on its own)
    app.config["PAGE_SIZE"] = 50
    monkeypatch.setattr(queries, "counted_with_page", lambda flt: False)
    assert told(f"/companies?q=hanse{query}") == with_page


@pytest.mark.parametrize("groups", [False, True])
def test_the_text_filter_matches_a_record_by_its_own_words_not_by_another_types_with_its_id(
        client, make, groups):
    """The filter finds the docs of the list's type by the type's word in the full-text query (the
    type column is not tested again where that word says it): a project's words never bring up the
    deal with the project's id - not when the user sees both, nor when the project is hidden."""
    from crm.extensions import db

    make.enable_groups(groups)
    mine, other = make.group("Mine"), make.group("Other")
    nora = make.user("normal", groups=[mine])
    deal = make.deal("Alpha Wartung", group=mine)
    project = make.project("Geheimwort Umbau", group=other if groups else mine)
    db.session.commit()
    assert deal.id == project.id  # (each table's first row)
    make.login(client, nora)
    assert names(client, "/deals?q=Geheimwort") == []
    assert names(client, "/deals?q=Alpha") == ["Alpha Wartung"]
    assert names(client, "/projects?q=Alpha") == []
    assert names(client, "/projects?q=Geheimwort") == ([] if groups else ["Geheimwort Umbau"])


@pytest.mark.parametrize(("q", "with_page"), [("hanse", True), ("-", False), ("  ", False)])
def test_only_a_text_with_a_word_is_counted_with_the_page(client, make, app, q, with_page):
    """A text without a word (``?q=-``) filters nothing: its list counts on its own, stopping at
    the cap, instead of counting every row with the page - and reads as the plain list does."""
    from crm.extensions import db
    from tests.factories import statements_of

    user = make.user("normal")
    for i in range(5):
        make.company(f"Hanse {i}")
    db.session.commit()
    make.login(client, user)
    app.config["COUNT_CAP"] = 3
    with statements_of(db.engine) as seen:
        html = client.get(f"/companies?q={q}", headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
    assert "More than 3 records" in html
    # (counted with the page: over its rows on PostgreSQL, from the matches found once on SQLite)
    marker = " OVER (" if db.engine.dialect.name == "postgresql" else "WITH matches AS MATERIALIZED"
    assert any(marker in s for s in seen) == with_page


@pytest.mark.parametrize("groups", [True, False], ids=["groups on", "groups off"])
def test_a_text_filtered_page_counted_with_its_rows_is_the_page_counted_on_its_own(app, make, groups):
    """A text-filtered list finds its page and its counts in one statement (``counted``: from the
    matches found once on SQLite, a window on PostgreSQL): every page, by every sort and in both
    directions, deep and past the end, holds the rows the page without counts holds, in the same
    order - deals without a value, restricted rows (their sort key hidden), trashed and pending
    ones left out - and its counts are those the list counts on its own, capped or not."""
    from crm.extensions import db
    from crm.records.queries import ListFilter, count_capped, list_page, page_counts
    from crm.records.types import TYPES

    make.enable_groups(groups)
    u = make.user(name="Ute")
    mine = [make.group(f"Meine {i}", [u]) for i in range(3)]
    others = [make.group(f"Fremd {i}") for i in range(2)]
    make.field("deal", "Hinweis", shared_with=[mine[0]])  # (other groups' deals: restricted to Ute)
    for i in range(40):
        deal = make.deal(f"Wartung {(i * 7) % 13:02d}", group=(mine + others)[(i * 3) % 5],
                         value=None if i % 6 == 1 else (i % 4) * 100, stage=("open", "won", "lost")[i % 3])
        if i % 9 == 4:
            deal.deleted_at = deal.created_at
        if i % 13 == 7:
            deal.pending_import_id = 1
    db.session.commit()
    rtype = TYPES["deal"]
    with make.acting_as(app, u) as viewer:
        for sort in rtype.sorts:
            for desc in (False, True):
                flt = ListFilter(sort=sort, desc=desc, q="wartung")
                for offset in (0, 5, 35, 100):
                    rows = db.session.execute(list_page(rtype, viewer, flt, 5, offset, counted=True)).all()
                    plain = db.session.execute(list_page(rtype, viewer, flt, 5, offset)).all()
                    assert [r.id for r in rows] == [r.id for r in plain], (sort, desc, offset)
                    assert bool(rows) == (offset < 35)
                    for cap in (3, 1000):
                        if rows:
                            assert page_counts(rows[0]._mapping, flt, cap) == count_capped(
                                rtype, viewer, flt, cap, selectable=True), (sort, desc, offset, cap)
        total, full = count_capped(rtype, viewer, ListFilter(q="wartung"), 1000, selectable=True)
        assert total[0] > full[0] if groups else total == full
