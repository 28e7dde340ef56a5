"""Duplicates of an import's rows: among the records the importer fully sees, and inside the file.

A person row matches an existing person by one of its e-mail addresses (case-insensitive), or by
first name, last name and company together; a company row matches by name (case-insensitive) or by
its website's domain (``https://www.example.com/`` and ``example.com`` are the same domain; a
website with a path is compared as written). A row that matches no record but repeats an earlier
row of the file (the same keys) is a repetition.

Every match is found in SQL under :func:`crm.visibility.fully_visible_to`: a record the importer
does not fully see (hidden, restricted, in the recycle bin, pending in another import) is never a
candidate, so no count, choice or change depends on it.

One statement per kind of key, whatever the number of rows: the file's keys are sent as one
parameter and read as a table (:func:`_table_of`), and the records are joined to it by a ``LEFT
JOIN`` through the expression indexes on ``lower(...)`` (crm/imports/models.py). That shape leaves
SQLite's planner (without statistics) one order: the keys outside, one index lookup per key inside.
(With ``IN`` lists of many keys it started from the index of the visibility predicate,
``deleted_at``, and scanned every visible record per list; with a plain join it scanned the keys
per visible record; a correlated subquery per key made PostgreSQL, before its statistics, hash the
visible records per key: bench/NOTES.md.) A website's domain has no index: it is one ``IN (SELECT
...)`` over the visible companies. Names and addresses are compared with SQL's
``lower()``, which on SQLite folds ASCII letters only (as the company lookup of the import does);
PostgreSQL folds every letter.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from sqlalchemy import Integer, String, and_, bindparam, func, literal, select, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY

from ..extensions import db
from ..records.models import Company, ContactDetail, Person
from ..visibility import Viewer, fully_visible_to

#: ids per ``IN (...)`` list of an update (crm/imports/services.py)
CHUNK = 1000

#: a person's name as the lookup compares it, ``lower(last_name) || '|' || lower(first_name)``: the
#: expression of the index ix_people_name_key (crm/imports/models.py, migration dedupe_01)
NAME_KEY = (func.lower(Person.last_name).op("||")(literal("|", literal_execute=True))
            .op("||")(func.lower(Person.first_name)))

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


def _table_of(rows: list[tuple], types: tuple) -> tuple:
    """``rows`` (tuples of the values of ``types``) as a table a statement reads, in one bound
    parameter whatever their number: a JSON array read by ``json_each`` on SQLite, arrays read
    together by ``unnest`` on PostgreSQL. Returns (the table, its columns)."""
    if db.session.get_bind().dialect.name == "postgresql":
        arrays = [bindparam(None, [row[i] for row in rows], type_=ARRAY(t)) for i, t in enumerate(types)]
        table = (func.unnest(*arrays).table_valued(*(f"k{i}" for i in range(len(types))), name="file_keys")
                 .render_derived())
        return table, list(table.c)
    table = func.json_each(bindparam(None, json.dumps(rows), type_=String)).table_valued("value", name="file_keys")
    return table, [type_coerce(func.json_extract(table.c.value, f"$[{i}]"), t) for i, t in enumerate(types)]


def _people(keys: list[Keys], viewer: Viewer) -> dict[tuple, int]:
    """Key -> id of the first person (by id) the viewer fully sees that has it. (``LEFT JOIN``s
    with the visibility in their ``ON``: a record the viewer does not fully see joins as NULL,
    which ``min()`` leaves out; a key no record has comes back with NULL.)"""
    found: dict[tuple, int] = {}
    emails = sorted({e for k in keys for e in k.emails})
    if emails:
        table, (email,) = _table_of([(e,) for e in emails], (String(),))
        stmt = (select(email, func.min(Person.id)).select_from(table)
                .outerjoin(ContactDetail, and_(ContactDetail.kind == "email", func.lower(ContactDetail.value) == email))
                .outerjoin(Person, and_(Person.id == ContactDetail.person_id, fully_visible_to(Person, viewer)))
                .group_by(email))
        for value, person_id in _rows(stmt):
            if person_id is not None:
                found[("email", value)] = person_id
    # (no company: 0, which no company's id is; the same name at another company is no duplicate)
    wanted = sorted((f"{last}|{first}", first, last, company or 0)
                    for first, last, company in {k.name for k in keys if k.name and not isinstance(k.name[2], str)})
    if wanted:
        table, (name, first, last, company) = _table_of(wanted, (String(), String(), String(), Integer()))
        stmt = (select(first, last, company, func.min(Person.id)).select_from(table)
                .outerjoin(Person, and_(NAME_KEY == name, func.lower(Person.first_name) == first,
                                        func.lower(Person.last_name) == last,
                                        func.coalesce(Person.company_id, 0) == company,
                                        fully_visible_to(Person, viewer)))
                .group_by(name, first, last, company))
        for first_l, last_l, company_id, person_id in _rows(stmt):
            if person_id is not None:
                found[("name", (first_l, last_l, company_id or None))] = person_id
    return found


def _named(names, viewer: Viewer) -> list[tuple[str, int | None, int | None]]:
    """(lower-cased name, the lowest and the highest id of the companies of that name the viewer
    fully sees - None if none) per name."""
    if not names:
        return []
    table, (name,) = _table_of([(n,) for n in sorted(names)], (String(),))
    return _rows(select(name, func.min(Company.id), func.max(Company.id)).select_from(table)
                 .outerjoin(Company, and_(func.lower(Company.name) == name, fully_visible_to(Company, viewer)))
                 .group_by(name))


def _companies(keys: list[Keys], viewer: Viewer) -> dict[tuple, int]:
    found: dict[tuple, int] = {}
    for value, company_id, _last in _named({k.name[0] for k in keys if k.name}, viewer):
        if company_id is not None:
            found[("name", (value,))] = company_id
    domains = sorted({k.domain for k in keys if k.domain})
    if domains:
        table, (domain_,) = _table_of([(d,) for d in domains], (String(),))
        site = _domain_sql(Company.website)
        stmt = (select(site, func.min(Company.id))
                .where(Company.website != "", site.in_(select(domain_).select_from(table)),
                       fully_visible_to(Company, viewer))
                .group_by(site))
        for value, company_id in _rows(stmt):
            found[("domain", value)] = company_id
    return found


def _rows(stmt):
    return db.session.execute(stmt).all()


def companies_named(names, viewer: Viewer) -> dict[str, list[int]]:
    """Lower-cased name -> ids (the first and, if there are several, the last) of the companies of
    that name the viewer fully sees; a name none of them has is left out."""
    out: dict[str, list[int]] = {}
    for value, lowest, highest in _named({n.strip().lower() for n in names if n and n.strip()}, viewer):
        if lowest is not None:
            out[value] = [lowest] if lowest == highest else [lowest, highest]
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
