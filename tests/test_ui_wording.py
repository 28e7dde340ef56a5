"""What a user notices around the lists: plurals through Babel, filter hints that match the filter, the favicon."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.records.types import CURRENCIES


@pytest.fixture
def nora(make, client):
    u = make.user("normal", name="Nora Normal")
    make.login(client, u)
    return u


def select_all_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.search(r"data-select-all[^>]*>(.*?)</button>", html, re.S).group(1)).strip()


def test_select_all_of_one_record_is_singular(client, make, nora):
    make.company("Einzig GmbH")
    de = client.get("/companies", headers={"Accept-Language": "de-DE"}).get_data(as_text=True)
    assert select_all_text(de) == "Den 1 passenden Datensatz auswählen"
    assert 'data-msg-all-one="Der 1 passende Datensatz ausgewählt"' in de
    en = client.get("/companies", headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
    assert select_all_text(en) == "Select the 1 matching record"
    make.company("Zweite GmbH")
    de = client.get("/companies", headers={"Accept-Language": "de-DE"}).get_data(as_text=True)
    assert select_all_text(de) == "Alle 2 passenden auswählen"


def test_select_all_says_that_restricted_rows_are_left_out(client, make, nora):
    """New-user trial: "4,038 records" and "Select all 1,653 matching" side by side, with no word
    why. The rows the viewer sees restricted (the lock) cannot be selected: the button says so."""
    make.enable_groups()
    mine = make.group("Mine", [nora])
    other = make.group("Other")
    field = make.field("company", "Status")
    field.shared_with = [mine]
    make.company("Eigen GmbH", group=mine)
    make.company("Fremd GmbH", group=other)  # restricted: its Status is shared with Mine
    make.company("Auch Fremd GmbH", group=other)
    de = client.get("/companies", headers={"Accept-Language": "de-DE"}).get_data(as_text=True)
    assert "3 Datensätze" in de
    assert select_all_text(de) == "Den 1 Datensatz auswählen, den Sie ändern können"
    assert ('<small id="select-all-why">Die übrigen sehen Sie nur eingeschränkt: Sie können sie nicht ändern.'
            '</small>') in de and 'aria-describedby="select-all-why"' in de
    make.company("Auch Eigen GmbH", group=mine)
    en = client.get("/companies", headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
    assert select_all_text(en) == "Select all 2 you can change"
    # above the count's cap the total reads "more than": still fewer can be selected, and it says so
    client.application.config["COUNT_CAP"] = 3
    en = client.get("/companies", headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
    # (as "4 records" reads below the cap: "More than 3 Companies" had the heading's capital letter)
    assert "More than 3 records" in en
    assert select_all_text(en) == "Select all 2 you can change"
    # every row selectable: the plain wording, no reason
    make.enable_groups(False)
    client.application.config["COUNT_CAP"] = 10_000
    en = client.get("/companies", headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
    assert select_all_text(en) == "Select all 4 matching" and "select-all-why" not in en


@pytest.mark.parametrize(("plural", "hint"), [("companies", "Nach Name, E-Mail oder Telefon filtern"),
                                              ("people", "Nach Name, E-Mail oder Telefon filtern"),
                                              ("deals", "Nach Name oder individuellem Feld filtern"),
                                              ("projects", "Nach Name oder individuellem Feld filtern")])
def test_the_filter_hint_names_what_the_filter_searches(client, nora, plural, hint):
    """Deals and projects have no e-mail or phone: their hint does not promise them."""
    html = client.get(f"/{plural}", headers={"Accept-Language": "de-DE"}).get_data(as_text=True)
    assert f'placeholder="{hint}"' in html


def test_pages_name_the_favicon_and_it_is_served(client, nora):
    html = client.get("/companies").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
    login = client.get("/static/favicon.svg")
    assert login.status_code == 200 and login.mimetype == "image/svg+xml"


def test_length_messages_are_counted_or_say_what_is_missing(app):
    """New-user trial: "Mindestens 1 Einträge." for a rule without conditions and for an API note
    with an empty body. A list's length is counted with the plural rules, a rule asks for a
    condition, an empty note body is a required field."""
    from typing import Annotated

    from pydantic import Field, TypeAdapter, ValidationError

    from crm.errors import from_validation
    from crm.notes.schemas import NoteInput
    from crm.rules.schemas import RuleInput

    def refusal(validate, data) -> dict:
        with pytest.raises(ValidationError) as err:
            validate(data)
        return from_validation(err.value).fields

    with app.test_request_context(headers={"Accept-Language": "de"}):
        rule = {"record_type": "company", "name": "Nord", "conditions": [], "group_id": 1}
        assert refusal(RuleInput.model_validate, rule)["conditions"] == "Mindestens eine Bedingung."
        assert refusal(NoteInput.model_validate, {"body": " "})["body"] == "Dieses Feld wird benötigt."
        one = TypeAdapter(Annotated[list[int], Field(min_length=1, max_length=2)])
        assert list(refusal(one.validate_python, []).values()) == ["Mindestens 1 Eintrag."]
        assert list(refusal(one.validate_python, [1, 2, 3]).values()) == ["Höchstens 2 Einträge."]


def test_default_group_checkboxes_are_named_in_the_dative(client, make):
    """New-user trial: "Ersteller von Angebote dürfen…" - each type has its whole label."""
    make.enable_groups()
    make.login(client, make.user("admin", name="Ada Admin"))
    html = client.get("/settings/groups", headers={"Accept-Language": "de-DE"}).get_data(as_text=True)
    for noun in ("Firmen", "Personen", "Angeboten", "Projekten"):
        assert f'aria-label="Ersteller von {noun} dürfen eine eigene Gruppe wählen"' in html


def test_the_rule_form_calls_a_tag_a_tag(client, make):
    """New-user trial: the condition option said "Tag", its help text "Schlagwort"."""
    make.enable_groups()
    make.login(client, make.user("admin", name="Ada Admin"))
    for url in ("/settings/rules/new", "/settings/groups"):
        html = client.get(url, headers={"Accept-Language": "de-DE"}).get_data(as_text=True)
        assert "Ort, Tag" in html and "Schlagwort" not in html, url


def test_every_text_of_the_code_has_its_german_translation_and_the_catalogue_no_leftovers():
    """The German UI is a translation catalogue: a text written in the code but missing there shows
    up in English on a German page; an entry no code uses any more is a translation nobody sees
    (and hides that its text was changed). Extracted as ``pybabel extract -F babel.cfg`` does."""
    from pathlib import Path

    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parent.parent
    with open(root / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    in_code = set()
    for folder in ("crm", "templates"):
        for _file, _line, message, _comments, _context in extract_from_dir(
                root, method_map, options_map, keywords=keywords,
                directory_filter=lambda d, f=folder: Path(d).resolve().is_relative_to(root / f) or
                (root / f).is_relative_to(Path(d).resolve())):
            in_code.add(message if isinstance(message, str) else message[0])
    with open(root / "crm/translations/de/LC_MESSAGES/messages.po", "rb") as po:
        catalogue = read_po(po)
    translated = {(m.id if isinstance(m.id, str) else m.id[0]) for m in catalogue
                  if m.id and not m.fuzzy and (m.string if isinstance(m.string, str) else all(m.string))}
    entries = {(m.id if isinstance(m.id, str) else m.id[0]) for m in catalogue if m.id}
    assert sorted(in_code - translated) == []
    assert sorted(entries - in_code) == []


@settings(max_examples=300, deadline=None)
@given(cents=st.one_of(st.integers(-10**20, 10**20), st.integers(-1000, 1000)),
       currency=st.sampled_from(CURRENCIES), locale=st.sampled_from(("de", "en", "de_CH", "en_GB", "en_IN")),
       as_decimal=st.booleans())
def test_an_amount_reads_as_babels_currency_format_writes_it(cents, currency, locale, as_decimal):
    """Kontor writes amounts in its languages itself (Babel's ``format_currency`` took a quarter of
    the board's time): the text is Babel's, sign, symbol, separators and all; any other language
    goes through Babel."""
    from decimal import Decimal

    from babel.numbers import format_currency

    from crm.decimals import format_money

    value = Decimal(cents) if as_decimal else cents  # (a sum on PostgreSQL is a Decimal)
    assert format_money(value, currency, locale) == format_currency(Decimal(cents).scaleb(-2), currency, locale=locale)


def test_a_deal_value_on_the_pages_in_both_languages(client, make, nora):
    make.deal("Großauftrag", value=1234567.5, currency="EUR")
    make.deal("Small", value=-0.5, currency="GBP")
    de = client.get("/deals", headers={"Accept-Language": "de-DE"}).get_data(as_text=True)
    en = client.get("/deals", headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
    assert "1.234.567,50\xa0€" in de and "-0,50\xa0£" in de
    assert "€1,234,567.50" in en and "-£0.50" in en
