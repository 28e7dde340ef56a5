"""Duplicates of an import's rows: among the records the importer fully sees, and inside the file.

A person row matches an existing person by one of its e-mail addresses (case-insensitive), or by
first name, last name and company together; a company row matches by name (case-insensitive) or by
its website's domain (``https://www.example.com/`` and ``example.com`` are the same domain; a
website with a path is compared as written). A row that matches no record but repeats an earlier
row of the file (the same keys) is a repetition.

Every match is found in SQL, in chunks, under :func:`crm.visibility.fully_visible_to`: a record the
importer does not fully see (hidden, restricted, in the recycle bin, pending in another import) is
never a candidate, so no count, choice or change depends on it.

The lookups use expression indexes on ``lower(...)`` (crm/imports/models.py). Names and addresses
are compared with SQL's ``lower()``, which on SQLite folds ASCII letters only
(as the company lookup of the import does); PostgreSQL folds every letter.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import islice

from sqlalchemy import func, literal, select

from ..extensions import db
from ..records.models import Company, ContactDetail, Person
from ..visibility import Viewer, fully_visible_to

#: keys per ``IN (...)`` list (up to 3 000 bound parameters: well below SQLite's limit of 32 766)
CHUNK = 1000

#: a person's name as the lookup compares it, ``lower(last_name) || '|' || lower(first_name)``: the
#: expression of the index ix_people_name_key (crm/imports/models.py, migration dedupe_01)
NAME_KEY = (func.lower(Person.last_name).op("||")(literal("|", literal_execute=True))
            .op("||")(func.lower(Person.first_name)))

# (SQLite's planner, without statistics - no ANALYZE - prefers the indexes of the visibility
# predicate (deleted_at, group_id) to these expression indexes; PostgreSQL chooses by its statistics)

#: the kinds of a row: no duplicate; matches a record the importer fully sees; repeats an earlier row
NEW, EXISTING, REPEATED = "new", "existing", "repeated"


@dataclass(frozen=True)
class Keys:
    """What identifies one row: e-mail addresses and name (person: first, last, company), or
    name and website domain (company). Empty parts identify nothing."""

    emails: tuple[str, ...] = ()
    name: tuple = ()
    domain: str = ""

    def all(self) -> list[tuple]:
        out = [("email", e) for e in self.emails]
        if self.name:
            out.append(("name", self.name))
        if self.domain:
            out.append(("domain", self.domain))
        return out


def domain(website: str) -> str:
    """``https://www.Example.com/`` -> ``example.com``: the spelling the SQL side compares."""
    text = (website or "").strip().lower()
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = text.removeprefix("www.")
    return text.rstrip("/")


def _domain_sql(column):
    """:func:`domain` in SQL (the same on SQLite and PostgreSQL), for a stored website."""
    text = func.lower(func.trim(column))
    for prefix in ("https://", "http://", "www."):
        text = func.replace(text, prefix, "")
    return func.rtrim(text, "/")


def person_keys(first: str, last: str, company, emails) -> Keys:
    """``company``: the company's id (a company the importer fully sees), or its name as written
    when there is no such company (then only a repetition in the file can match)."""
    name = (first.strip().lower(), last.strip().lower(),
            company.strip().lower() if isinstance(company, str) else company) if last.strip() else ()
    return Keys(emails=tuple(sorted({e.strip().lower() for e in emails if e.strip()})), name=name)


def company_keys(name: str, website: str) -> Keys:
    return Keys(name=(name.strip().lower(),) if name.strip() else (), domain=domain(website))


def _chunks(values, size: int = CHUNK):
    it = iter(values)
    while chunk := list(islice(it, size)):
        yield chunk


def _people(keys: list[Keys], viewer: Viewer) -> dict[tuple, int]:
    """Key -> id of the first person (by id) the viewer fully sees that has it."""
    found: dict[tuple, int] = {}
    emails = sorted({e for k in keys for e in k.emails})
    for chunk in _chunks(emails):
        value = func.lower(ContactDetail.value)
        stmt = (select(value, ContactDetail.person_id).join(Person, Person.id == ContactDetail.person_id)
                .where(ContactDetail.kind == "email", value.in_(chunk), fully_visible_to(Person, viewer))
                .order_by(ContactDetail.person_id))
        for email, person_id in _rows(stmt):
            found.setdefault(("email", email), person_id)
    wanted = {k.name for k in keys if k.name and not isinstance(k.name[2], str)}
    by_key = {f"{last}|{first}" for first, last, _company in wanted}
    for chunk in _chunks(sorted(by_key)):
        stmt = (select(Person.id, func.lower(Person.first_name), func.lower(Person.last_name), Person.company_id)
                .where(NAME_KEY.in_(chunk), fully_visible_to(Person, viewer)).order_by(Person.id))
        for person_id, first_l, last_l, company_id in _rows(stmt):
            name = (first_l, last_l, company_id)
            if name in wanted:  # (the same name at another company is not a duplicate)
                found.setdefault(("name", name), person_id)
    return found


def _companies(keys: list[Keys], viewer: Viewer) -> dict[tuple, int]:
    found: dict[tuple, int] = {}
    for chunk in _chunks(sorted({k.name[0] for k in keys if k.name})):
        name = func.lower(Company.name)
        stmt = (select(name, Company.id).where(name.in_(chunk), fully_visible_to(Company, viewer)).order_by(Company.id))
        for value, company_id in _rows(stmt):
            found.setdefault(("name", (value,)), company_id)
    for chunk in _chunks(sorted({k.domain for k in keys if k.domain})):
        site = _domain_sql(Company.website)
        stmt = (select(site, Company.id).where(Company.website != "", site.in_(chunk),
                                               fully_visible_to(Company, viewer)).order_by(Company.id))
        for value, company_id in _rows(stmt):
            found.setdefault(("domain", value), company_id)
    return found


def _rows(stmt):
    return db.session.execute(stmt).all()


def companies_named(names, viewer: Viewer) -> dict[str, list[int]]:
    """Lower-cased name -> ids (up to two) of the companies of that name the viewer fully sees."""
    out: dict[str, list[int]] = {}
    for chunk in _chunks(sorted({n.strip().lower() for n in names if n and n.strip()})):
        name = func.lower(Company.name)
        for value, company_id in _rows(select(name, Company.id).where(
                name.in_(chunk), fully_visible_to(Company, viewer)).order_by(Company.id)):
            ids = out.setdefault(value, [])
            if len(ids) < 2:
                ids.append(company_id)
    return out


@dataclass
class Matcher:
    """Finds the duplicates of an import's rows, batch by batch (the rows of the file in order):
    each row is :data:`NEW`, :data:`EXISTING` (with the id of the record it matches) or
    :data:`REPEATED` (it repeats an earlier row of the file and matches no record)."""

    key: str
    viewer: Viewer
    seen: set = field(default_factory=set)

    def classify(self, keys: list[Keys]) -> list[tuple[str, int | None]]:
        found = (_people if self.key == "person" else _companies)(keys, self.viewer)
        out: list[tuple[str, int | None]] = []
        for k in keys:
            parts = k.all()
            match = next((found[p] for p in parts if p in found), None)
            if match is not None:
                out.append((EXISTING, match))
            elif any(p in self.seen for p in parts):
                out.append((REPEATED, None))
            else:
                out.append((NEW, None))
            self.seen.update(parts)
        return out
