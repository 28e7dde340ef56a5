"""What a client writes through the API it reads back identical, and the record's page shows it in
the user's language (issue 13, "Proof").

For each record type, Hypothesis draws a create (POST) and then a change (PATCH, of any subset of
the fields) over every kind of field: single lines, texts, emails, phones, addresses, web
addresses, dates, a deal's value with its currency, stage and status choices, tags, references to
other records, and one custom field of each kind (text, number, date, select, url). Both answers
and a later GET must carry exactly what was sent - the same string, the same date, the same
Decimal (the JSON is read with ``parse_float=Decimal``) - whatever the ``Accept-Language`` and the
user's own language. The record's page, seen by that user, shows every value as the user's
language writes it: 1234.5 EUR is "1.234,50 €" in German and "€1,234.50" in English, a date is
"28.11.2026" or "Nov 28, 2026".

Everything goes through HTTP, as a client would: the admin defines the custom fields and the
users (with their language) through the API, and each user logs in to the pages with the login
form. Each test builds its world once and shares it between its examples.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from babel.numbers import format_currency, format_decimal
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from crm.auth.services import issue_token
from crm.records.types import CURRENCIES, DEAL_STAGE_LABELS, PROJECT_STATUS_LABELS
from tests.api import module_app as shared

module_app, module_api = shared.module_app, shared.module_api  # the fixtures of one app per module

PASSWORD = "roundtrip-password-1"
PLURALS = ("companies", "people", "deals", "projects")
#: one custom field of each kind on every record type: name -> kind
CUSTOM = {"Text": "text", "Zahl": "number", "Datum": "date", "Auswahl": "select", "Web": "url"}
OPTIONS = ["Gold", "Silber", "Bronze & Co", "Ä <b>"]
#: (the user's own language, Accept-Language) -> the language of the page
LANGUAGES = [(None, None), (None, "de"), (None, "en"), (None, "en-US,en;q=0.9"), (None, "fr"),
             ("de", None), ("de", "en"), ("en", None), ("en", "de")]
SETTINGS = settings(max_examples=30, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


# --------------------------------------------------------------------------------------------
# Values a client may send (each already as the record keeps it: trimmed, no control characters)
# --------------------------------------------------------------------------------------------

#: characters of a single line: no control characters (not even a tab), no line or paragraph breaks
_LINE_CHARS = st.one_of(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
                        st.sampled_from(" &<>\"'äöüßÄ€"))


def line(max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    return st.text(_LINE_CHARS, max_size=max_size).map(str.strip).filter(lambda s: len(s) >= min_size)


def text(max_size: int = 300) -> st.SearchStrategy[str]:
    """Several lines (a background, a description)."""
    return st.lists(line(60), max_size=5).map("\n".join).map(str.strip).filter(lambda s: len(s) <= max_size)


EMAILS = st.lists(st.from_regex(r"\A[A-Za-z0-9]{1,8}(\.[a-z0-9]{1,8})?(\+[a-z]{1,5})?@[a-z0-9]{1,10}\.(de|com|org)\Z"),
                  max_size=4, unique_by=str.casefold)
#: phone numbers as people write them (letters are refused: crm.input_types.PHONE_PATTERN)
PHONES = st.lists(st.from_regex(r"\A\+?[0-9]{1,4}( [0-9()/.-]{0,10}[0-9]){0,3}( (x|ext\.|Durchwahl) ?[0-9]{1,4})?\Z"),
                  max_size=4, unique=True)
ADDRESSES = st.lists(st.lists(line(60, 1), min_size=1, max_size=3).map("\n".join), max_size=3, unique=True)
WEB = st.from_regex(r"\Ahttps?://[a-z0-9]{1,20}(\.[a-z]{2,6})?(/[A-Za-z0-9_-]{0,10})?\Z")
DATES = st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 31))
DEAL_VALUES = st.decimals(min_value=0, max_value=Decimal("999999999999"), places=2,
                          allow_nan=False, allow_infinity=False)
#: tags: words of characters that have no other case (so no two drawn tags are one tag spelled
#: twice, which the record would keep once, in the spelling it knows)
_TAG_CHARS = st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789äöüéçøåłžя中-_&/#+.'\"<>")
TAGS = st.lists(st.lists(st.text(_TAG_CHARS, min_size=1, max_size=8), min_size=1, max_size=3)
                .map(" ".join).filter(lambda t: len(t) <= 60), max_size=5, unique_by=str.casefold)


@st.composite
def custom_numbers(draw) -> Decimal:
    """Any sign, below 10^15, at most 15 significant digits (the rule of a custom number field)."""
    digits = draw(st.integers(min_value=1, max_value=15))
    coefficient = draw(st.integers(min_value=-(10**digits - 1), max_value=10**digits - 1))
    exponent = draw(st.integers(min_value=-20, max_value=15 - digits))
    return Decimal(coefficient).scaleb(exponent)


CUSTOM_VALUES = {
    "Text": st.none() | line(2000, 1),
    "Zahl": st.none() | custom_numbers(),
    "Datum": st.none() | DATES,
    "Auswahl": st.none() | st.sampled_from(OPTIONS),
    "Web": st.none() | WEB,
}


def fields_of(plural: str, refs: dict[str, list[int]]) -> dict[str, st.SearchStrategy]:
    """The strategy of every plain field of a record type (``refs``: ids a reference may take)."""
    company = st.none() | st.sampled_from(refs["companies"])
    person = st.none() | st.sampled_from(refs["people"])
    contact = {"emails": EMAILS, "phones": PHONES, "addresses": ADDRESSES, "background": text()}
    return {
        "companies": {"name": line(200, 1), "website": st.just("") | WEB, **contact},
        "people": {"salutation": st.sampled_from(["", "Frau", "Herr", "Divers"]), "title": line(60),
                   "first_name": line(100), "last_name": line(100, 1), "company_id": company,
                   "position": line(120), **contact},
        "deals": {"name": line(200, 1), "value": st.none() | DEAL_VALUES, "currency": st.sampled_from(CURRENCIES),
                  "stage": st.sampled_from(list(DEAL_STAGE_LABELS)), "target_date": st.none() | DATES,
                  "company_id": company, "person_id": person, "description": text()},
        "projects": {"name": line(200, 1), "status": st.sampled_from(list(PROJECT_STATUS_LABELS)),
                     "start_date": st.none() | DATES, "target_date": st.none() | DATES,
                     "company_id": company, "person_id": person, "description": text()},
    }[plural]


@st.composite
def writes(draw, plural: str, refs: dict, *, partial: bool) -> dict:
    """A body of typed values (Decimal, date): every field for a create, any subset for a change."""
    strategies = fields_of(plural, refs)
    keys = list(strategies)
    if partial:
        keys = draw(st.lists(st.sampled_from(keys), unique=True))
        if plural == "projects" and {"start_date", "target_date"} & set(keys):
            keys = list(dict.fromkeys([*keys, "start_date", "target_date"]))  # the two are checked together
    body = {key: draw(strategies[key]) for key in keys}
    if plural == "projects" and body.get("start_date") and body.get("target_date"):
        body["start_date"], body["target_date"] = sorted((body["start_date"], body["target_date"]))
    if not partial or draw(st.booleans()):
        body["tags"] = draw(TAGS)
    names = draw(st.lists(st.sampled_from(list(CUSTOM)), unique=True)) if partial else list(CUSTOM)
    if names:
        body["custom_fields"] = {name: draw(CUSTOM_VALUES[name]) for name in names}
    return body


# --------------------------------------------------------------------------------------------
# The wire: JSON out (Decimals as numbers or as strings), JSON in (numbers as Decimals)
# --------------------------------------------------------------------------------------------

def _encode(value, as_string: bool):
    if isinstance(value, Decimal):
        return str(value) if as_string else _RawNumber(str(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _encode(v, as_string) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v, as_string) for v in value]
    return value


class _RawNumber(str):
    """A number written into the JSON exactly as its decimal text (never through a float)."""


def dumps(body: dict, as_string: bool) -> str:
    marks: dict[str, str] = {}

    def mark(value):
        if isinstance(value, _RawNumber):
            key = f"@@number{len(marks)}@@"
            marks[f'"{key}"'] = str(value)
            return key
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    out = json.dumps(mark(_encode(body, as_string)))
    for key, number in marks.items():
        out = out.replace(key, number)
    return out


def read(resp) -> dict:
    return json.loads(resp.get_data(as_text=True), parse_float=Decimal)


def expected(body: dict) -> dict:
    """What a record's JSON must say for the fields of ``body``."""
    out = {}
    for key, value in body.items():
        if key == "custom_fields":
            out[key] = {k: _wire(v) for k, v in value.items()}
        elif key == "tags":
            out[key] = sorted(value)
        else:
            out[key] = _wire(value)
    return out


def _wire(value):
    if isinstance(value, date):
        return value.isoformat()
    return value


def as_read(record: dict, keys) -> dict:
    """The fields ``keys`` of a record's JSON, numbers as Decimals, tags in a fixed order."""
    out = {}
    for key in keys:
        value = record[key]
        if key == "tags":
            value = sorted(value)
        out[key] = value
    return out


def same(got: dict, want: dict) -> bool:
    """Equal, numbers compared as Decimals (1234.50 sent is 1234.5 read)."""
    def norm(v):
        if isinstance(v, (int, Decimal)) and not isinstance(v, bool):
            return ("number", Decimal(v))
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        if isinstance(v, list):
            return [norm(x) for x in v]
        return v
    return norm(got) == norm(want)


# --------------------------------------------------------------------------------------------
# The world: an admin, the custom fields, users in each language, records to refer to
# --------------------------------------------------------------------------------------------

@dataclass
class Reader:
    token: str
    pages: object  # a logged-in test client
    locale: str | None


@dataclass
class World:
    readers: dict[str | None, Reader]
    refs: dict[str, list[int]]


@pytest.fixture(scope="module")
def roundtrip(module_app, module_api) -> World:
    from tests import factories as make

    app, api = module_app, module_api
    make.enable_groups()
    admin = api.as_(issue_token(make.user("admin", name="Ada Admin")))
    for entity in ("company", "person", "deal", "project"):
        for name, kind in CUSTOM.items():
            body = {"entity": entity, "name": name, "kind": kind}
            if kind == "select":
                body["options"] = OPTIONS
            resp = admin.post("/custom-fields", json=body)
            assert resp.status_code == 201, resp.get_json()
    readers = {}
    for locale in (None, "de", "en"):
        email = f"leser-{locale or 'browser'}@example.com"
        body = {"email": email, "name": f"Leser {locale}", "password": PASSWORD, "role": "extended"}
        if locale:
            body["locale"] = locale
        resp = admin.post("/users", json=body)
        assert resp.status_code == 201, resp.get_json()
        assert resp.get_json()["locale"] == locale
        token = api.post("/tokens", token=None, json={"email": email, "password": PASSWORD})
        assert token.status_code == 201, token.get_json()
        pages = app.test_client()
        login = pages.post("/login", data={"email": email, "password": PASSWORD})
        assert login.status_code == 302, login.get_data(as_text=True)[:300]
        readers[locale] = Reader(token.get_json()["token"], pages, locale)
    writer = api.as_(readers[None].token)
    refs: dict[str, list[int]] = {"companies": [], "people": []}
    for plural, body in (("companies", {"name": "Nordlicht GmbH"}), ("companies", {"name": "Süd & Söhne"}),
                         ("people", {"last_name": "Kurz", "first_name": "Anna"})):
        resp = writer.post(f"/{plural}", json=body)
        assert resp.status_code == 201, resp.get_json()
        refs[plural].append(resp.get_json()["id"])
    return World(readers, refs)


# --------------------------------------------------------------------------------------------
# The page in the user's language
# --------------------------------------------------------------------------------------------

def _page_locale(user_locale: str | None, accept: str | None) -> str:
    if user_locale:
        return user_locale
    for part in (accept or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.split("-")[0] in ("de", "en"):
            return tag.split("-")[0]
    return "de"


def _norm(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ").replace("&nbsp;", " ")


def shown(plural: str, record: dict, locale: str) -> list[str]:
    """What the page of ``record`` (its JSON, all fields) must show, as the page writes it."""
    from babel.dates import format_date

    def day(iso: str) -> str:
        return format_date(date.fromisoformat(iso), "medium", locale=locale)

    out: list[str] = []
    for key in ("name", "website", "title", "first_name", "last_name", "position", "background", "description"):
        if record.get(key):
            out.append(str(escape(record[key])))
    for key in ("emails", "phones", "addresses", "tags"):
        out += [str(escape(v)) for v in record.get(key) or []]
    for key in ("target_date", "start_date"):
        if record.get(key):
            out.append(day(record[key]))
    if plural == "deals":
        if record["value"] is not None:
            out.append(format_currency(Decimal(record["value"]), record["currency"], locale=locale))
        from crm.extensions import db
        from crm.stages.models import DealStage

        out.append(str(escape(db.session.get(DealStage, record["stage_id"]).name)))  # the admin's stage name
    if plural == "projects":
        with force_locale(locale):
            out.append(str(escape(str(PROJECT_STATUS_LABELS[record["status"]]))))
    custom = record["custom_fields"]
    for name, value in custom.items():
        if value is None:
            continue
        kind = CUSTOM[name]
        if kind == "number":
            out.append(format_decimal(Decimal(value), locale=locale, decimal_quantization=False))
        elif kind == "date":
            out.append(day(value))
        else:
            out.append(str(escape(value)))
    return [_norm(s) for s in out]


def check_page(plural: str, record_id: int, record: dict, reader: Reader, accept: str | None) -> None:
    headers = {"Accept-Language": accept} if accept else {}
    resp = reader.pages.get(f"/{plural}/{record_id}", headers=headers)
    assert resp.status_code == 200
    page = _norm(resp.get_data(as_text=True))
    locale = _page_locale(reader.locale, accept)
    assert f'<html lang="{locale}"' in page
    missing = [s for s in shown(plural, record, locale) if s not in page]
    assert not missing, f"the {locale} page of {plural}/{record_id} does not show {missing}"


# --------------------------------------------------------------------------------------------
# The round trip
# --------------------------------------------------------------------------------------------

def _call(api, reader: Reader, method: str, path: str, body: str | None, accept: str | None):
    headers = {"Accept-Language": accept} if accept else {}
    if body is None:
        return api.call(method, path, token=reader.token, headers=headers)
    return api.call(method, path, token=reader.token, headers=headers, data=body, content_type="application/json")


@pytest.mark.parametrize("plural", PLURALS)
@SETTINGS
@given(data=st.data(), language=st.sampled_from(LANGUAGES), as_string=st.booleans())
def test_what_a_client_writes_it_reads_back_and_the_page_shows_it(module_api, roundtrip, plural, data,
                                                                 language, as_string):
    api = module_api
    user_locale, accept = language
    reader = roundtrip.readers[user_locale]
    create = data.draw(writes(plural, roundtrip.refs, partial=False), label="create")
    created = _call(api, reader, "POST", f"/{plural}", dumps(create, as_string), accept)
    assert created.status_code == 201, created.get_json()
    record = read(created)
    want = expected(create)
    assert same(as_read(record, want), want)
    path = f"/{plural}/{record['id']}"

    change = data.draw(writes(plural, roundtrip.refs, partial=True), label="change")
    changed = _call(api, reader, "PATCH", path, dumps(change, not as_string), accept)
    assert changed.status_code == 200, changed.get_json()
    want = {**want, **expected(change)}
    want["custom_fields"] = {**expected(create)["custom_fields"], **expected(change).get("custom_fields", {})}
    for resp in (changed, _call(api, reader, "GET", path, None, accept)):
        assert same(as_read(read(resp), want), want)

    final = read(changed)
    check_page(plural, final["id"], final, reader, accept)
