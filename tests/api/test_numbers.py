"""Numbers through the API are exact and locale-free, and optional fields are optional (issue 13,
its two data defects).

What a client writes - a deal's value, a custom number field - it reads back identical, whatever
the ``Accept-Language``; the pages show it in the user's language; a value the field cannot keep
is refused with the field named, never rounded or read the German way. A create needs only the
required fields; every optional one, select custom fields included, may be left out or null.
"""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from babel.numbers import format_currency, format_decimal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from crm.auth.services import issue_token
from crm.extensions import db
from crm.models import CustomFieldValue, Deal

LANGUAGES = (None, "de", "en")


@pytest.fixture
def numbers(app, make):
    """A user with a token and a web session (own client), and a deal number field."""
    user = make.user("normal", name="Nora Normal")
    field = make.field("deal", "Wahrscheinlichkeit", kind="number")
    pages = app.test_client()
    make.login(pages, user)
    return user, issue_token(user), field, pages


def _send(api, method: str, path: str, token: str, text: str, language: str | None):
    """A raw JSON body, so numbers travel exactly as written (never through a float here)."""
    headers = {"Accept-Language": language} if language else {}
    return api.call(method, path, token=token, data=text, content_type="application/json", headers=headers)


def _read(resp) -> dict:
    return json.loads(resp.get_data(as_text=True), parse_float=Decimal)


def _stored_custom(field) -> str | None:
    db.session.expire_all()
    return db.session.scalar(select(CustomFieldValue.value).where(CustomFieldValue.field_id == field.id))


# --------------------------------------------------------------------------------------------
# The defects as reported: German parsing of JSON numbers
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("language", LANGUAGES)
def test_json_numbers_are_not_read_the_german_way(api, numbers, language):
    _user, token, field, _pages = numbers
    body = '{"name": "D", "value": 1.23, "custom_fields": {"Wahrscheinlichkeit": 2.125}}'
    resp = _send(api, "POST", "/deals", token, body, language)
    assert resp.status_code == 201, resp.get_json()
    got = _read(resp)
    assert got["value"] == Decimal("1.23") and got["custom_fields"]["Wahrscheinlichkeit"] == Decimal("2.125")
    assert db.session.get(Deal, got["id"]).value_cents == 123
    assert _stored_custom(field) == "2.125"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("value", ["1.234", "1000.125", '"1.234"', '"0.001"'])
def test_a_value_with_more_than_two_decimals_is_refused_not_rounded(api, numbers, language, value):
    _user, token, _field, _pages = numbers
    resp = _send(api, "POST", "/deals", token, f'{{"name": "D", "value": {value}}}', language)
    assert resp.status_code == 422, resp.get_json()
    assert set(resp.get_json()["error"]["fields"]) == {"value"}
    assert db.session.scalar(select(Deal)) is None


@pytest.mark.parametrize("value,cents", [
    ('"1.5"', 150), ('"-0"', 0), ("0.1", 10), ("1e3", 100_000), ('"1E3"', 100_000), ('"12"', 1200),
    ("999999999999", 99_999_999_999_900), ("12.340", 1234), ("null", None),
])
def test_decimal_strings_and_numbers_are_read_exactly(api, numbers, value, cents):
    _user, token, _field, _pages = numbers
    resp = _send(api, "POST", "/deals", token, f'{{"name": "D", "value": {value}}}', None)
    assert resp.status_code == 201, resp.get_json()
    assert db.session.get(Deal, resp.get_json()["id"]).value_cents == cents


@pytest.mark.parametrize("value", [
    "-1", "-0.01", "1000000000000", "999999999999.01", "1e12", "1e400", "-1e-400", "true", "false",
    '"1,5"', '"1.234,50"', '"1,234.50"', '"1 000"', '"+5"', '" 5"', '"05"', '"1."', '".5"', '"abc"',
    '"NaN"', '"Infinity"', '"-Infinity"', '""', "[1]", '{"a": 1}', '"\u0661\u0662"',
])
def test_values_that_do_not_fit_are_refused_with_the_field_named(api, numbers, value):
    _user, token, _field, _pages = numbers
    resp = _send(api, "POST", "/deals", token, f'{{"name": "D", "value": {value}}}', "en")
    assert resp.status_code == 422, (value, resp.get_json())
    assert set(resp.get_json()["error"]["fields"]) == {"value"}
    assert db.session.scalar(select(Deal)) is None


@pytest.mark.parametrize("value", [
    "1e15", "-1e15", "1000000000000000", "1234567890.1234567", "0.1234567890123456", '"1,5"',
    '"1.234,50"', "true", '"NaN"', '"Infinity"', '"viel"',
])
def test_custom_numbers_that_do_not_fit_are_refused_with_the_field_named(api, numbers, value):
    _user, token, field, _pages = numbers
    body = f'{{"name": "D", "custom_fields": {{"Wahrscheinlichkeit": {value}}}}}'
    resp = _send(api, "POST", "/deals", token, body, None)
    assert resp.status_code == 422, (value, resp.get_json())
    # a JSON type no custom field takes (true) is refused for the object as a whole
    named = "custom_fields" if value == "true" else "custom_fields.Wahrscheinlichkeit"
    assert set(resp.get_json()["error"]["fields"]) == {named}
    assert _stored_custom(field) is None


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(api, numbers, constant):
    _user, token, _field, _pages = numbers
    resp = _send(api, "POST", "/deals", token, f'{{"name": "D", "value": {constant}}}', None)
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "bad_json"


def test_patch_refuses_out_of_scale_and_keeps_the_value(api, numbers):
    _user, token, field, _pages = numbers
    created = _send(api, "POST", "/deals", token, '{"name": "D", "value": "10.50"}', None).get_json()
    path = f"/deals/{created['id']}"
    for body, name in (('{"value": 10.505}', "value"),
                       ('{"custom_fields": {"Wahrscheinlichkeit": 1e16}}', "custom_fields.Wahrscheinlichkeit")):
        resp = _send(api, "PATCH", path, token, body, None)
        assert resp.status_code == 422 and set(resp.get_json()["error"]["fields"]) == {name}
    assert db.session.get(Deal, created["id"]).value_cents == 1050
    cleared = _send(api, "PATCH", path, token, '{"value": null, "custom_fields": {"Wahrscheinlichkeit": null}}', None)
    assert cleared.status_code == 200 and cleared.get_json()["value"] is None
    assert _stored_custom(field) is None


# --------------------------------------------------------------------------------------------
# Round trip: API write -> API read (identical) -> page (in the user's language)
# --------------------------------------------------------------------------------------------

DEAL_VALUES = st.decimals(min_value=0, max_value=Decimal("999999999999"), places=2,
                          allow_nan=False, allow_infinity=False)


@st.composite
def custom_numbers(draw) -> Decimal:
    """Any sign, below 10^15, at most 15 significant digits (the rule of a custom number field)."""
    digits = draw(st.integers(min_value=1, max_value=15))
    coefficient = draw(st.integers(min_value=-(10**digits - 1), max_value=10**digits - 1))
    exponent = draw(st.integers(min_value=-20, max_value=15 - digits))
    return Decimal(coefficient).scaleb(exponent)


def _literal(number: Decimal, as_string: bool) -> str:
    text = str(number)
    return f'"{text}"' if as_string else text


def _page_text(resp) -> str:
    return resp.get_data(as_text=True).replace("\u00a0", " ").replace("&nbsp;", " ")


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(value=DEAL_VALUES, number=custom_numbers(), language=st.sampled_from(LANGUAGES),
       as_string=st.booleans())
def test_what_a_client_writes_it_reads_back_and_the_page_shows_it(api, numbers, value, number, language,
                                                                 as_string):
    _user, token, _field, pages = numbers
    body = (f'{{"name": "D", "value": {_literal(value, as_string)}, '
            f'"custom_fields": {{"Wahrscheinlichkeit": {_literal(number, not as_string)}}}}}')
    created = _send(api, "POST", "/deals", token, body, language)
    assert created.status_code == 201, created.get_json()
    for resp in (created, _send(api, "GET", f"/deals/{created.get_json()['id']}", token, "", language)):
        got = _read(resp)
        assert Decimal(got["value"]) == value
        assert Decimal(got["custom_fields"]["Wahrscheinlichkeit"]) == number
    locale = language or "de"
    page = _page_text(pages.get(f"/deals/{created.get_json()['id']}",
                                headers={"Accept-Language": locale}))
    assert format_currency(value, "EUR", locale=locale).replace("\u00a0", " ") in page
    assert format_decimal(number, locale=locale, decimal_quantization=False) in page


@settings(max_examples=15, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(value=DEAL_VALUES, number=custom_numbers(), language=st.sampled_from(("de", "en")))
def test_the_edit_form_gives_back_what_it_shows(make, numbers, value, number, language):
    """The edit page shows the numbers in the user's language; saved unchanged, they stay (a
    custom 2.125 shown as "2.125" on a German page came back as 2125)."""
    _user, _token, field, pages = numbers
    headers = {"Accept-Language": language}
    deal = make.deal("D", value=value)
    make.value(field, deal, format(number.normalize(), "f"))
    form = pages.get(f"/deals/{deal.id}/edit", headers=headers).get_data(as_text=True)
    shown_value = format_decimal(value, locale=language, decimal_quantization=False, group_separator=False)
    shown_number = format_decimal(number, locale=language, decimal_quantization=False, group_separator=False)
    assert f'value="{shown_value}"' in form and f'value="{shown_number}"' in form
    version = db.session.get(Deal, deal.id).version
    resp = pages.post(f"/deals/{deal.id}/edit", headers=headers, data={
        "name": "D", "value": shown_value, "currency": "EUR", "stage": "open", "version": version,
        f"cf_{field.id}": shown_number, "group_id": 1})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    db.session.expire_all()
    assert db.session.get(Deal, deal.id).value == value
    assert Decimal(_stored_custom_of(field, deal.id)) == number


def _stored_custom_of(field, deal_id: int) -> str | None:
    return db.session.scalar(select(CustomFieldValue.value).where(
        CustomFieldValue.field_id == field.id, CustomFieldValue.deal_id == deal_id))


@pytest.mark.parametrize("language,shown", [("de", "1.234,50"), ("en", "1,234.50")])
def test_pages_show_numbers_in_the_users_language(api, numbers, language, shown):
    _user, token, _field, pages = numbers
    body = '{"name": "D", "value": "1234.5", "custom_fields": {"Wahrscheinlichkeit": 1234.5678}}'
    created = _send(api, "POST", "/deals", token, body, None).get_json()
    page = _page_text(pages.get(f"/deals/{created['id']}", headers={"Accept-Language": language}))
    assert shown in page
    assert {"de": "1.234,5678", "en": "1,234.5678"}[language] in page  # every decimal, not three


@pytest.mark.parametrize("typed,ok", [("1234,567", False), ("1.234,567", False), ("1234.567", False),
                                      ("NaN", False), ("Infinity", False), ("1.234,56", True)])
def test_the_deal_form_refuses_more_than_two_decimals(numbers, typed, ok):
    _user, _token, _field, pages = numbers
    resp = pages.post("/deals/new", headers={"Accept-Language": "de"},
                      data={"name": "D", "value": typed, "currency": "EUR", "stage": "open", "group_id": 1})
    assert (resp.status_code == 302) == ok, resp.get_data(as_text=True)[:300]
    assert (db.session.scalar(select(Deal.value_cents)) == 123456) if ok else db.session.scalar(select(Deal)) is None


# --------------------------------------------------------------------------------------------
# Optional fields are optional
# --------------------------------------------------------------------------------------------

REQUIRED = {"companies": {"name": "A"}, "people": {"last_name": "Kurz"}, "deals": {"name": "D"},
            "projects": {"name": "P"}}
ENTITY = {"companies": "company", "people": "person", "deals": "deal", "projects": "project"}
OPTIONAL_NULLS = {
    "companies": ("website", "background", "emails", "phones", "addresses"),
    "people": ("salutation", "title", "first_name", "company_id", "position", "emails", "phones",
               "addresses", "background"),
    "deals": ("value", "target_date", "company_id", "person_id", "description"),
    "projects": ("start_date", "target_date", "company_id", "person_id", "description"),
}


@pytest.fixture(params=[False, True], ids=["groups-off", "groups-on"])
def fields_everywhere(request, make):
    """A select, a number and a text field on every record type."""
    if request.param:
        make.enable_groups()
    for entity in ENTITY.values():
        make.field(entity, "Stufe", kind="select", options=["A", "B"])
        make.field(entity, "Zahl", kind="number")
        make.field(entity, "Notiz")
    return request.param


@pytest.mark.parametrize("plural", list(REQUIRED))
def test_a_create_needs_only_the_required_fields(api, make, fields_everywhere, plural):
    token = issue_token(make.user("normal"))
    resp = api.post(f"/{plural}", token=token, json=REQUIRED[plural])
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["custom_fields"] == {"Stufe": None, "Zahl": None, "Notiz": None}
    with_nulls = {**REQUIRED[plural], **{k: None for k in (*OPTIONAL_NULLS[plural], "responsible_id", "tags")
                                         if k != "tags"},
                  "custom_fields": {"Stufe": None, "Zahl": None, "Notiz": None}}
    resp = api.post(f"/{plural}", token=token, json=with_nulls)
    assert resp.status_code == 201, resp.get_json()


@pytest.mark.parametrize("plural", list(REQUIRED))
def test_null_clears_optional_fields_on_patch(api, make, fields_everywhere, plural):
    token = issue_token(make.user("normal"))
    full = {**REQUIRED[plural], "custom_fields": {"Stufe": "B", "Zahl": "-12.5", "Notiz": "x"}}
    if plural == "people":
        full.update(salutation="Frau", first_name="Anna")
    if plural == "deals":
        full["value"] = 99.99
    created = api.post(f"/{plural}", token=token, json=full)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["custom_fields"] == {"Stufe": "B", "Zahl": -12.5, "Notiz": "x"}
    path = f"/{plural}/{body['id']}"
    untouched = api.patch(path, token=token, json={"tags": ["t"]})  # left out: kept
    assert untouched.status_code == 200 and untouched.get_json()["custom_fields"] == body["custom_fields"]
    nulls = {k: None for k in OPTIONAL_NULLS[plural]}
    cleared = api.patch(path, token=token, json={**nulls, "custom_fields": {"Stufe": None, "Zahl": None,
                                                                            "Notiz": None}})
    assert cleared.status_code == 200, cleared.get_json()
    after = cleared.get_json()
    assert after["custom_fields"] == {"Stufe": None, "Zahl": None, "Notiz": None}
    if plural == "people":
        assert (after["salutation"], after["first_name"]) == ("", "")
    if plural == "deals":
        assert after["value"] is None


def test_the_reported_person_create(api, make):
    token = issue_token(make.user("normal"))
    resp = api.post("/people", token=token, json={"last_name": "Kurz"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["salutation"] == ""
