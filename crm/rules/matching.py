"""Evaluating assignment rules, without the database: the record's :class:`Facts` in, the first
rule whose conditions all hold out (:func:`first_match`). Who builds the facts - the create path
(:mod:`crm.records.services`), the import, the "apply to existing records" of
:mod:`crm.rules.services` - reads only what the actor fully sees.

An address is a free-text contact detail ("Hauptstr. 3\\n20123 Hamburg\\nDeutschland");
:func:`parse_address` reads it as:

- postcode: the first number of 4 or 5 digits standing alone (not part of a longer number);
- city: what follows that number on its line (up to a comma), trimmed; if nothing does, the next
  line (addresses an import wrote before it joined postcode and city on one line);
- country: the last line, if it has no digit in it and comes after the postcode's line and the
  city (without a postcode: if there is more than one line); else none.

The first address of a record counts; people, deals and projects without one use their company's.
Texts are compared case-insensitively (:func:`fold`).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
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


def postcode_test(spec: str) -> Callable[[str | None], bool]:
    """``spec`` read once: comma-separated prefixes ("1,2,3") and ranges ("20000-29999", both ends
    included, compared as numbers of the postcode's length); the test of a postcode."""
    prefixes: list[str] = []
    ranges: list[tuple[int, int]] = []
    for part in (p.strip() for p in (spec or "").split(",")):
        if not part:
            continue
        if "-" in part:
            low, _dash, high = (x.strip() for x in part.partition("-"))
            if low.isdigit() and high.isdigit():
                ranges.append((int(low), int(high)))
        else:
            prefixes.append(part)
    starts = tuple(prefixes)

    def test(postcode: str | None) -> bool:
        if not postcode:
            return False
        if starts and postcode.startswith(starts):
            return True
        return any(low <= int(postcode) <= high for low, high in ranges)
    return test


def postcode_matches(spec: str, postcode: str | None) -> bool:
    """Whether ``postcode`` matches ``spec`` (:func:`postcode_test`)."""
    return postcode_test(spec)(postcode)


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


def condition_test(condition: dict) -> Callable[[Facts], bool]:
    """One condition (a dict as stored on :class:`crm.rules.models.AssignmentRule`) read once: the
    test of a record's facts. An unknown kind never holds."""
    kind, value = condition.get("kind"), condition.get("value") or ""
    wanted = fold(value)
    if kind == "postcode":
        test = postcode_test(value)
        return lambda facts: test(facts.address.postcode)
    if kind == "country":
        return lambda facts: facts.address.country is not None and fold(facts.address.country) == wanted
    if kind == "city":
        return lambda facts: facts.address.city is not None and fold(facts.address.city) == wanted
    if kind == "tag":
        return lambda facts: wanted in {fold(t) for t in facts.tags}
    if kind == "field":
        field_id = condition.get("field_id")

        def field_holds(facts: Facts) -> bool:
            current = facts.fields.get(field_id)
            return current is not None and fold(current) == wanted
        return field_holds
    if kind == "creator_group":
        group_id = condition.get("group_id")
        return lambda facts: group_id in facts.creator_groups
    if kind == "import":
        return lambda facts: facts.import_name is not None and wanted in fold(facts.import_name)
    return lambda facts: False


def holds(condition: dict, facts: Facts) -> bool:
    """Whether one condition holds for a record's facts (:func:`condition_test`)."""
    return condition_test(condition)(facts)


def matches(rule: Rule, facts: Facts) -> bool:
    """All of the rule's conditions hold (a rule without conditions matches nothing)."""
    return Matcher([rule]).first(facts) is rule


class Matcher:
    """Rules read once, in the given order, for the facts of many records (an import, the rules
    applied to every existing record): :meth:`first` is the first rule that matches."""

    def __init__(self, rules: Sequence[Rule]):
        self._rules = [(rule, tuple(condition_test(c) for c in rule.conditions)) for rule in rules]

    def first(self, facts: Facts):
        """The first rule whose conditions all hold (a rule without conditions matches nothing),
        or None."""
        for rule, tests in self._rules:
            if tests and all(test(facts) for test in tests):
                return rule
        return None


def first_match(rules: Sequence[Rule], facts: Facts):
    """The first rule (in the given order) that matches, or None."""
    return Matcher(rules).first(facts)
