"""Evaluating assignment rules, without the database: the record's :class:`Facts` in, the first
rule whose conditions all hold out (:func:`first_match`). Who builds the facts - the create path
(:mod:`crm.records.services`), the import, the "apply to existing records" of
:mod:`crm.rules.services` - reads only what the actor fully sees.

An address is a free-text contact detail ("Hauptstr. 3\\n20123 Hamburg\\nDeutschland");
:func:`parse_address` reads it as:

- postcode: the first number of 4 or 5 digits standing alone (not part of a longer number);
- city: what follows that number on its line (up to a comma), trimmed; if nothing does, the next
  line (an import joins its street, postcode and city columns with line breaks);
- country: the last line, if it has no digit in it and comes after the postcode's line and the
  city (without a postcode: if there is more than one line); else none.

The first address of a record counts; people, deals and projects without one use their company's.
Texts are compared case-insensitively (:func:`fold`).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

_POSTCODE = re.compile(r"(?<!\d)(\d{4,5})(?!\d)[ \t]*([^\n,]*)")


def fold(text: str | None) -> str:
    """A text as compared: NFKC, case-folded, single spaces (the way tags compare)."""
    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())


@dataclass(frozen=True)
class Address:
    postcode: str | None = None
    city: str | None = None
    country: str | None = None


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def parse_address(text: str | None) -> Address:
    """Postcode, city and country of a free-text address (see the module's docstring)."""
    text = (text or "").strip()
    if not text:
        return Address()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    postcode = city = None
    last_used = 0  # the lines up to this index are street, postcode and city
    for i, line in enumerate(lines):
        match = _POSTCODE.search(line)
        if match:
            postcode, city, last_used = match.group(1), match.group(2).strip() or None, i
            if city is None and i + 1 < len(lines) and not _has_digit(lines[i + 1]):
                city, last_used = lines[i + 1].split(",")[0].strip() or None, i + 1
            break
    last = len(lines) - 1
    country = lines[last] if last > last_used and not _has_digit(lines[last]) else None
    return Address(postcode, city, country)


@dataclass(frozen=True)
class Facts:
    """What rules look at, for one record."""

    address: Address = field(default_factory=Address)
    #: tag keys (crm.records.models.tag_key)
    tags: frozenset[str] = frozenset()
    #: custom field id -> stored text
    fields: dict[int, str] = field(default_factory=dict)
    #: the groups of the user who creates the record (or whose import creates it)
    creator_groups: frozenset[int] = frozenset()
    #: the file name of the import that creates it; None: not an import
    import_name: str | None = None


class Rule(Protocol):
    conditions: list


def postcode_matches(spec: str, postcode: str | None) -> bool:
    """``spec``: comma-separated prefixes ("1,2,3") and ranges ("20000-29999", both ends included,
    compared as numbers of the postcode's length)."""
    if not postcode:
        return False
    for part in (p.strip() for p in (spec or "").split(",")):
        if not part:
            continue
        if "-" in part:
            low, _dash, high = (x.strip() for x in part.partition("-"))
            if low.isdigit() and high.isdigit() and int(low) <= int(postcode) <= int(high):
                return True
        elif postcode.startswith(part):
            return True
    return False


def valid_postcode_spec(spec: str) -> bool:
    """Each part a run of digits or two runs of digits joined by "-" (the lower first)."""
    parts = [p.strip() for p in (spec or "").split(",")]
    if not parts or any(not p for p in parts):
        return False
    for part in parts:
        low, dash, high = (x.strip() for x in part.partition("-"))
        if not low.isdigit() or (dash and (not high.isdigit() or int(high) < int(low))):
            return False
    return True


def holds(condition: dict, facts: Facts) -> bool:
    """One condition (a dict as stored on :class:`crm.rules.models.AssignmentRule`). An unknown
    kind never holds."""
    kind, value = condition.get("kind"), condition.get("value") or ""
    if kind == "postcode":
        return postcode_matches(value, facts.address.postcode)
    if kind == "country":
        return facts.address.country is not None and fold(facts.address.country) == fold(value)
    if kind == "city":
        return facts.address.city is not None and fold(facts.address.city) == fold(value)
    if kind == "tag":
        return fold(value) in {fold(t) for t in facts.tags}
    if kind == "field":
        current = facts.fields.get(condition.get("field_id"))
        return current is not None and fold(current) == fold(value)
    if kind == "creator_group":
        return condition.get("group_id") in facts.creator_groups
    if kind == "import":
        return facts.import_name is not None and fold(value) in fold(facts.import_name)
    return False


def matches(rule: Rule, facts: Facts) -> bool:
    """All of the rule's conditions hold (a rule without conditions matches nothing)."""
    return bool(rule.conditions) and all(holds(c, facts) for c in rule.conditions)


def first_match(rules: Sequence[Rule], facts: Facts):
    """The first rule (in the given order) that matches, or None."""
    return next((rule for rule in rules if matches(rule, facts)), None)
