"""Helpers shared by the WTForms forms of several features."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def Strip(value):
    """Trim whitespace and drop control characters (but keep line breaks and tabs)."""
    if isinstance(value, str):
        return _CONTROL.sub("", value).strip()
    return value


def has_control_chars(text: str) -> bool:
    """Control characters other than line breaks and tabs (what :class:`NoControlChars` refuses)."""
    return bool(_CONTROL.search(text))


class NoControlChars:
    def __call__(self, form, field):
        if isinstance(field.data, str) and _CONTROL.search(field.data):
            raise ValidationError(_l("Contains characters that cannot be stored."))


def lines(text: str | None) -> list[str]:
    return [ln.strip() for ln in (text or "").splitlines() if ln.strip()]


def parse_number(text: str, locale: str = "de"):
    """A decimal typed by a person: "1.234,50" and "1234,50" (German), "1,234.50" and "1234.50"
    (English) all work. A lone separator followed by exactly three digits is a thousands separator
    in the UI's language ("1.250" is 1250 in German, "1,250" is 1250 in English).
    Raises ValueError when it is not a number."""
    from decimal import Decimal, InvalidOperation

    s = text.strip().replace(" ", "").replace("\u00a0", "").replace("€", "")
    if s.startswith("+"):
        s = s[1:]
    dots, commas = s.count("."), s.count(",")
    if dots and commas:
        decimal_sep = "." if s.rfind(".") > s.rfind(",") else ","
    elif dots > 1 or commas > 1:
        decimal_sep = "," if dots > 1 else "."
    elif dots or commas:
        sep = "." if dots else ","
        tail = s.rsplit(sep, 1)[1]
        thousands_here = (sep == ".") == (locale == "de")
        decimal_sep = ("," if sep == "." else ".") if (len(tail) == 3 and thousands_here) else sep
    else:
        decimal_sep = "."
    group_sep = "," if decimal_sep == "." else "."
    s = s.replace(group_sep, "").replace(decimal_sep, ".")
    try:
        number = Decimal(s)
    except InvalidOperation:
        raise ValueError(text) from None
    if not number.is_finite():
        raise ValueError(text)
    return number
