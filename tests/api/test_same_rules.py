"""The pages and the API refuse the same input with the same message (issue 13: one typed write
path). Each rule is tried once through the record form of the pages and once through the JSON API,
in the same language; both must refuse, name the same rule in the same words, and create nothing.
"""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from crm.auth.services import issue_token
from crm.extensions import db
from crm.groups.models import BASIS_ID
from crm.models import Company, Deal, Note, Person, Project

SELECT = "Stufe"


class Rule:
    """One rule: the form post, the JSON body, the API field (and status) the refusal names."""

    def __init__(self, plural, model, form, body, field, status=422, groups=True):
        self.plural, self.model, self.form, self.body = plural, model, form, body
        self.field, self.status, self.groups = field, status, groups


def _rules(other_group: int, select_field: int, date_field: int = 0, url_field: int = 0) -> dict[str, Rule]:
    return {
        "too long name": Rule("companies", Company, {"name": "x" * 201}, {"name": "x" * 201}, "name"),
        "missing required": Rule("people", Person, {"last_name": ""}, {"first_name": "Anna"}, "last_name"),
        "bad choice": Rule("deals", Deal, {"name": "D", "stage_id": "999"}, {"name": "D", "stage_id": 999}, "stage_id"),
        "bad date": Rule("deals", Deal, {"name": "D", "target_date": "31.02.2026"},
                         {"name": "D", "target_date": "31.02.2026"}, "target_date"),
        "bad email": Rule("companies", Company, {"name": "A", "emails": "nope"},
                          {"name": "A", "emails": ["nope"]}, "emails"),
        "too many phones": Rule("companies", Company, {"name": "A", "phones": "\n".join(["1"] * 21)},
                                {"name": "A", "phones": ["1"] * 21}, "phones"),
        "phone with letters": Rule("people", Person, {"last_name": "K", "phones": "0561 12345\nabc"},
                                   {"last_name": "K", "phones": ["0561 12345", "abc"]}, "phones"),
        "bad website": Rule("companies", Company, {"name": "A", "website": "javascript:alert(1)"},
                            {"name": "A", "website": "javascript:alert(1)"}, "website"),
        "decimal too precise": Rule("deals", Deal, {"name": "D", "value": "1.234"},  # English page: 1.234
                                    {"name": "D", "value": 1.234}, "value"),
        "not a number": Rule("deals", Deal, {"name": "D", "value": "viel"}, {"name": "D", "value": "viel"}, "value"),
        "select value not an option": Rule("deals", Deal, {"name": "D", f"cf_{select_field}": "C"},
                                           {"name": "D", "custom_fields": {SELECT: "C"}}, f"custom_fields.{SELECT}"),
        "bad custom date": Rule("deals", Deal, {"name": "D", f"cf_{date_field}": "morgen"},
                                {"name": "D", "custom_fields": {"Termin": "morgen"}}, "custom_fields.Termin"),
        "bad custom url": Rule("deals", Deal, {"name": "D", f"cf_{url_field}": "ftp://x.example"},
                               {"name": "D", "custom_fields": {"Link": "ftp://x.example"}}, "custom_fields.Link"),
        "bad salutation": Rule("people", Person, {"last_name": "K", "salutation": "Dr"},
                               {"last_name": "K", "salutation": "Dr"}, "salutation"),
        "target before start": Rule("projects", Project, {"name": "P", "start_date": "2026-05-02",
                                                          "target_date": "2026-05-01"},
                                    {"name": "P", "start_date": "2026-05-02", "target_date": "2026-05-01"},
                                    "target_date"),
        "no such company": Rule("people", Person, {"last_name": "K", "company_id": "999999"},
                                {"last_name": "K", "company_id": 999999}, "company_id"),
        "group not allowed": Rule("companies", Company, {"name": "A", "group_id": other_group},
                                  {"name": "A", "group_id": other_group}, "group_id"),
        # new-user trial: a tab in a name was stored; a single line takes no control character
        "tab in a name": Rule("companies", Company, {"name": "Tab\there"}, {"name": "Tab\there"}, "name"),
        "C1 control in a title": Rule("people", Person, {"last_name": "K", "title": "Dr\x9b"},
                                      {"last_name": "K", "title": "Dr\x9b"}, "title"),
        "group system off": Rule("companies", Company, {"name": "A", "group_id": other_group},
                                 {"name": "A", "group_id": other_group}, "group_id", status=409, groups=False),
    }


RULES = list(_rules(0, 0))


@pytest.fixture
def setting(app, make):
    """A normal user (English) with a page session and a token; a group they are not in; a select
    field on deals."""
    make.enable_groups()
    user = make.user("normal", name="Nora Normal")
    other = make.group("Süd", [])
    field = make.field("deal", SELECT, kind="select", options=["A", "B"])
    day = make.field("deal", "Termin", kind="date")
    url = make.field("deal", "Link", kind="url")
    pages = app.test_client()
    make.login(pages, user)
    return user, issue_token(user), pages, _rules(other.id, field.id, day.id, url.id)


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("rule", RULES)
def test_page_and_api_refuse_with_the_same_message(api, make, setting, rule):
    _user, token, pages, rules = setting
    r = rules[rule]
    if not r.groups:
        make.enable_groups(False)
    before = _count(r.model)
    headers = {"Accept-Language": "en"}

    resp = api.post(f"/{r.plural}", token=token, json=r.body, headers=headers)
    assert resp.status_code == r.status, resp.get_json()
    message = resp.get_json()["error"]["fields"][r.field]
    assert message

    page = pages.post(f"/{r.plural}/new", headers=headers, data={"group_id": BASIS_ID, **r.form})  # as a browser
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    shown = re.findall(r'class="error">([^<]*)<|<p>([^<]*)</p>', text)
    assert html.escape(message, quote=True) in text, (message, rule, shown)
    assert _count(r.model) == before


def test_an_unknown_custom_field_is_named(api, setting):
    """A form has only the fields that exist, so only the API can name an unknown one."""
    token = setting[1]
    resp = api.post("/deals", token=token, json={"name": "D", "custom_fields": {"Nope": 1}},
                    headers={"Accept-Language": "en"})
    assert resp.status_code == 422
    assert resp.get_json()["error"]["fields"] == {"custom_fields.Nope": "There is no such field."}


@pytest.mark.parametrize("form,body,field", [
    ({"body": "", "kind": "note"}, {"body": ""}, "body"),
    ({"body": "Anruf", "kind": "fax"}, {"body": "Anruf", "kind": "fax"}, "kind"),
    ({"body": "x" * 20001, "kind": "note"}, {"body": "x" * 20001}, "body"),
])
def test_notes_are_refused_with_the_same_message(api, make, setting, form, body, field):
    _user, token, pages, _rules = setting
    company = make.company("Kontorhaus")
    headers = {"Accept-Language": "en"}
    resp = api.post(f"/companies/{company.id}/notes", token=token, json=body, headers=headers)
    assert resp.status_code == 422
    message = resp.get_json()["error"]["fields"][field]
    page = pages.post(f"/companies/{company.id}/notes", headers=headers, data=form)
    assert page.status_code == 400
    assert html.escape(message, quote=True) in page.get_data(as_text=True), message
    assert _count(Note) == 0


def test_the_form_hints_come_from_the_model(setting):
    """maxlength and required of the record forms are read from the input model, not repeated."""
    text = setting[2].get("/companies/new", headers={"Accept-Language": "en"}).get_data(as_text=True)
    name = re.search(r'<input[^>]*name="name"[^>]*>', text).group(0)
    assert 'maxlength="200"' in name and "required" in name
    website = re.search(r'<input[^>]*name="website"[^>]*>', text).group(0)
    assert 'maxlength="300"' in website and "required" not in website


def test_every_problem_of_one_submit_is_named_at_once(api, make, setting):
    """A bad value, a bad custom value and two bad email addresses: one answer names them all, on the
    page and in the API (not one after the other, submit by submit)."""
    _user, token, pages, rules = setting
    number = make.field("deal", "Wahrscheinlichkeit %", kind="number")
    headers = {"Accept-Language": "en"}
    resp = api.post("/deals", token=token, headers=headers, json={
        "name": "D", "value": "99999999999999999999999", "custom_fields": {"Wahrscheinlichkeit %": "abc",
                                                                          SELECT: "C"}})
    assert resp.status_code == 422
    fields = resp.get_json()["error"]["fields"]
    assert set(fields) == {"value", "custom_fields.Wahrscheinlichkeit %", f"custom_fields.{SELECT}"}
    # a group the user may not use, with a custom value and a link the service checks
    other = rules["group not allowed"].body["group_id"]
    resp = api.post("/deals", token=token, headers=headers, json={
        "name": "D", "group_id": other, "company_id": 999999, "custom_fields": {SELECT: "C"}})
    assert set(resp.get_json()["error"]["fields"]) == {"group_id", "company_id", f"custom_fields.{SELECT}"}
    page = pages.post("/deals/new", headers=headers, data={
        "group_id": BASIS_ID, "name": "D", "value": "99999999999999999999999", f"cf_{number.id}": "abc"})
    text = page.get_data(as_text=True)
    assert page.status_code == 400
    for message in (fields["value"], fields["custom_fields.Wahrscheinlichkeit %"]):
        assert html.escape(message, quote=True) in text, message

    body = {"name": "A", "emails": ["ok@example.com", "nope", "also-not"]}
    message = api.post("/companies", token=token, headers=headers, json=body).get_json()["error"]["fields"]["emails"]
    assert "nope" in message and "also-not" in message
    page = pages.post("/companies/new", headers=headers, data={"group_id": BASIS_ID, "name": "A",
                                                               "emails": "ok@example.com\nnope\nalso-not"})
    assert html.escape(message, quote=True) in page.get_data(as_text=True)
    assert _count(Deal) == _count(Company) == 0


def test_a_website_without_its_scheme_is_taken_as_https(api, setting):
    """"www.firma.de" is what people type and what lists hold: the page and the API store it as
    https://…; what is no host name ("abc", "javascript:…") is refused with the same words."""
    _user, token, pages, _rules = setting
    headers = {"Accept-Language": "en"}
    made = api.post("/companies", token=token, headers=headers, json={"name": "A", "website": "www.firma.de"})
    assert made.status_code == 201 and made.get_json()["website"] == "https://www.firma.de"
    page = pages.post("/companies/new", headers=headers,
                      data={"group_id": BASIS_ID, "name": "B", "website": "firma.de/kontakt"})
    assert page.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(Company.website).where(Company.name == "B")) == "https://firma.de/kontakt"
    for bad in ("abc", "javascript:alert(1)"):
        resp = api.post("/companies", token=token, headers=headers, json={"name": "C", "website": bad})
        assert resp.get_json()["error"]["fields"] == {"website": "Not a web address (http:// or https://)."}
