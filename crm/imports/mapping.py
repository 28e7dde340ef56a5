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
    seps = r"[\n;,]" if target in ("emails", "tags") else r"[\n;]"
    return [p.strip() for p in re.split(seps, text) if p.strip()]


#: the parts of an address by the name of their column (as :func:`_norm` writes it; a longer name
#: may start with one of more than four letters): whatever else feeds the address is a street line
_ADDRESS_PARTS = {
    "postcode": ("plz", "postleitzahl", "zip", "zipcode", "postcode", "postalcode", "postal"),
    "city": ("ort", "stadt", "city", "town", "wohnort", "gemeinde", "ortschaft"),
    "country": ("land", "country", "staat", "laendercode", "countrycode"),
}
#: a cell that is only a postcode ("10115", "D-10115", "1010"), whatever its column's name
_BARE_POSTCODE = re.compile(r"(?:[A-Za-z]{1,2}-)?\d{4,5}")


def _address_part(column: str) -> str:
    n = _norm(column)
    for part, names in _ADDRESS_PARTS.items():
        if n in names or any(n.startswith(s) for s in names if len(s) > 4):
            return part
    return "line"


def join_address(parts: list[tuple[str, str]]) -> str:
    """One address from the cells of the columns that feed it, ``(column name, text)`` in the
    file's order, written as a German address is: the street lines (every column that is not one of
    the parts below, in their order), then postcode and city on one line with a space between them
    (in that order, whichever column comes first; one without the other alone on that line), then
    the country. A column is the postcode, city or country by its name (PLZ, Postleitzahl, ZIP;
    Ort, Stadt, City; Land, Country), a cell that is only a postcode also by its text. A cell of
    several lines is a whole address: then, and when no column is a postcode or city, the cells are
    joined line by line in the file's order, as they are."""
    texts = [text for _column, text in parts]
    if any("\n" in text for text in texts):
        return "\n".join(texts)
    roles = [_address_part(column) for column, _text in parts]
    roles = ["postcode" if role == "line" and _BARE_POSTCODE.fullmatch(text) else role
             for role, text in zip(roles, texts, strict=True)]
    if "postcode" not in roles and "city" not in roles:
        return "\n".join(texts)
    by_role: dict[str, list[str]] = {}
    for role, text in zip(roles, texts, strict=True):
        by_role.setdefault(role, []).append(text)
    place = " ".join([*by_role.get("postcode", []), *by_role.get("city", [])])
    return "\n".join([*by_role.get("line", []), place, *by_role.get("country", [])])


def formdata(cells: list[str], mapping: dict[int, str], date_fields: set[str],
             header: list[str] | None = None) -> tuple[MultiDict, str | None]:
    """The form data of one row, and the company name to look up (people only). ``header``: the
    file's column names (an address fed by several columns is joined by them: :func:`join_address`)."""
    values: dict[str, list[str]] = {}
    address: list[tuple[int, str, str]] = []  # (column index, name, text)
    for i, target in mapping.items():
        if not target or i >= len(cells):
            continue
        text = cells[i].strip()
        if not text:
            continue
        if target == "addresses":
            address.append((i, header[i] if header and i < len(header) else "", text))
        elif target in MULTI:
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
        elif target in MULTI:
            data[target] = "\n".join(parts)
        else:
            data[target] = parts[0]
    if address:
        data["addresses"] = join_address([(column, text) for _i, column, text in sorted(address)])
    return data, company
