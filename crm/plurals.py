"""Counted record types in the user's language, with Babel's plural rules ("1 Firma, 2 Personen",
never "1 Firmen"): for the audit log and the group pages."""
from __future__ import annotations

from flask_babel import format_decimal, get_translations


def record_count(plural: str, n: int) -> str:
    """``n`` records of the type whose URL name is ``plural`` ("companies", ...), counted, the
    number in the user's format (flask_babel's ``ngettext`` would print it raw)."""
    t = get_translations()
    if plural == "companies":
        text = t.ngettext("%(num)s company", "%(num)s companies", n)
    elif plural == "people":
        text = t.ngettext("%(num)s person", "%(num)s people", n)
    elif plural == "deals":
        text = t.ngettext("%(num)s deal", "%(num)s deals", n)
    elif plural == "projects":
        text = t.ngettext("%(num)s project", "%(num)s projects", n)
    else:
        text = f"%(num)s {plural}"  # a type of an older release: its key as it was stored
    return text % {"num": format_decimal(n)}
