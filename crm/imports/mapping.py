"""Which CSV column goes into which field, and the form data of one row.

A row becomes the form data of the record form (``crm.records.forms``), so an import checks
exactly what the form checks, and then goes through the same service as a record created by hand.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from ..customfields.models import CustomField

IMPORTABLE = ("company", "person")

#: fields several columns may feed: each column adds entries (an address: its lines)
MULTI = ("emails", "phones", "addresses", "tags")


@dataclass(frozen=True)
class Target:
    key: str  # form field name ("name", "emails", "company", "cf_12")
    label: object
    required: bool = False


_COMMON_TAIL = [
    Target("emails", _l("Email addresses")),
    Target("phones", _l("Phone numbers")),
    Target("addresses", _l("Address")),
    Target("background", _l("Background")),
    Target("tags", _l("Tags")),
]
_TARGETS = {
    "company": [Target("name", _l("Name"), True), Target("website", _l("Website")), *_COMMON_TAIL],
    "person": [
        Target("salutation", _l("Salutation")), Target("title", _l("Title")),
        Target("first_name", _l("First name")), Target("last_name", _l("Last name"), True),
        Target("company", _l("Company (by name)")), Target("position", _l("Position")), *_COMMON_TAIL,
    ],
}

#: header names (lower case, letters and digits only) that suggest a target
_SYNONYMS = {
    "name": ("name", "firma", "firmenname", "company", "companyname", "unternehmen", "organisation",
             "organization"),
    "website": ("website", "webseite", "homepage", "url", "internet", "web"),
    "salutation": ("anrede", "salutation"),
    "title": ("titel", "title", "akademischertitel"),
    "first_name": ("vorname", "firstname", "givenname", "first"),
    "last_name": ("nachname", "lastname", "familienname", "surname", "name", "last"),
    "company": ("firma", "company", "unternehmen", "arbeitgeber", "organisation", "organization", "employer"),
    "position": ("position", "funktion", "rolle", "jobtitle", "job", "stelle"),
    "emails": ("email", "mail", "emailadresse", "emailaddress", "emails"),
    "phones": ("telefon", "phone", "tel", "telefonnummer", "mobil", "mobile", "handy", "fax", "phonenumber"),
    "addresses": ("adresse", "anschrift", "address", "strasse", "str", "street", "plz", "postleitzahl", "zip",
                  "ort", "stadt", "city", "land", "country"),
    "background": ("hintergrund", "background", "notiz", "notizen", "bemerkung", "bemerkungen", "notes",
                   "beschreibung", "description", "kommentar"),
    "tags": ("tags", "tag", "schlagworte", "stichworte", "kategorie", "kategorien", "labels"),
}


def targets(key: str, fields: list[CustomField]) -> list[Target]:
    return _TARGETS[key] + [Target(f"cf_{f.id}", f.name) for f in fields]


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold().replace("ß", "ss"))
    return re.sub(r"[^a-z0-9]", "", "".join(c for c in text if not unicodedata.combining(c)))


def guess(key: str, header: list[str], fields: list[CustomField]) -> dict[int, str]:
    """A first mapping from the column names: custom fields by their name, else known words."""
    available = targets(key, fields)
    by_name = {_norm(f.name): f"cf_{f.id}" for f in fields}
    used: set[str] = set()
    out: dict[int, str] = {}
    for i, name in enumerate(header):
        n = _norm(name)
        if not n:
            continue
        candidates = [by_name[n]] if n in by_name else [
            t.key for t in available if n in _SYNONYMS.get(t.key, ()) or any(
                n.startswith(s) for s in _SYNONYMS.get(t.key, ()) if len(s) > 4)
        ]
        for target in candidates:
            if target in MULTI or target not in used:
                out[i] = target
                used.add(target)
                break
    return out


def check(key: str, mapping: dict[int, str], fields: list[CustomField]) -> list[str]:
    """Problems of a mapping: a required field without a column, a field with two columns."""
    problems = []
    available = {t.key: t for t in targets(key, fields)}
    chosen = [t for t in mapping.values() if t]
    for t in available.values():
        if t.required and t.key not in chosen:
            problems.append(str(_l("Choose the column for “%(f)s”.", f=t.label)))
    for target in set(chosen):
        if target not in available:
            problems.append(str(_l("There is no such field.")))
        elif target not in MULTI and chosen.count(target) > 1:
            problems.append(str(_l("Only one column can go into “%(f)s”.", f=available[target].label)))
    return problems


_GERMAN_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


def _date(text: str) -> str:
    """"31.12.2026" -> "2026-12-31" (how German spreadsheets write dates); else unchanged."""
    m = _GERMAN_DATE.fullmatch(text.strip())
    return f"{m[3]}-{int(m[2]):02d}-{int(m[1]):02d}" if m else text


def _split(text: str, target: str) -> list[str]:
    if target == "addresses":
        return [text.strip()] if text.strip() else []
    seps = r"[\n;,]" if target in ("emails", "tags") else r"[\n;]"
    return [p.strip() for p in re.split(seps, text) if p.strip()]


def formdata(cells: list[str], mapping: dict[int, str], date_fields: set[str]) -> tuple[MultiDict, str | None]:
    """The form data of one row, and the company name to look up (people only)."""
    values: dict[str, list[str]] = {}
    for i, target in mapping.items():
        if not target or i >= len(cells):
            continue
        text = cells[i].strip()
        if not text:
            continue
        if target in MULTI:
            values.setdefault(target, []).extend(_split(text, target))
        else:
            values[target] = [_date(text) if target in date_fields else text]
    data = MultiDict()
    company = None
    for target, parts in values.items():
        if target == "company":
            company = parts[0]
        elif target == "tags":
            data[target] = ", ".join(p.replace(",", " ") for p in parts)
        elif target == "addresses":
            data[target] = "\n".join(parts)  # the columns of one address (street, postcode, city)
        elif target in MULTI:
            data[target] = "\n".join(parts)
        else:
            data[target] = parts[0]
    return data, company
