"""Decimal numbers: the rule of each kind of number field (scale and range), and the two ways a
number arrives - typed by a person in the UI's language (pages, imports) or sent by a program
(the JSON API), which never goes through a locale.

A value is checked against its rule, never rounded: a number with more decimals than the field
keeps, or outside its range, is refused with a message naming the limit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale
from babel.numbers import (
    NumberFormatError,
    format_currency,
    format_decimal,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    parse_decimal,
)
from flask_babel import lazy_gettext as _l

#: A number as JSON writes it (RFC 8259, section 6): no "+", no leading zeros, no spaces, no
#: thousands separators, "." as the decimal point, an optional exponent.
JSON_NUMBER = r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$"
_JSON_NUMBER = re.compile(JSON_NUMBER.rstrip("$") + r"\Z")
#: Languages a person may type a number in: their own first, then the other one ("1234.50" typed
#: on a German page is 1234.50, as the forms always accepted).
_LANGUAGES = ("de", "en")


class DecimalError(ValueError):
    """A number that is not one, or does not fit its field; ``str()`` is the message."""


@dataclass(frozen=True)
class DecimalRule:
    """What a number field stores: at most ``places`` decimals (None: any), at most ``digits``
    significant digits (None: any), and ``minimum <= value <= maximum`` or, with ``below``,
    ``abs(value) < below``. Each limit has its message."""

    places: int | None = None
    digits: int | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    below: Decimal | None = None
    range_message: object = _l("The number is too large.")

    def check(self, number: Decimal) -> Decimal:
        """``number`` if it fits (``-0`` as ``0``); DecimalError otherwise. Never rounds."""
        if isinstance(number, int) and not isinstance(number, bool):
            number = Decimal(number)
        if not isinstance(number, Decimal) or not number.is_finite():
            raise DecimalError(str(_l("Not a number.")))
        if ((self.minimum is not None and number < self.minimum)
                or (self.maximum is not None and number > self.maximum)
                or (self.below is not None and abs(number) >= self.below)):
            raise DecimalError(str(self.range_message))
        significant, places = _shape(number)
        if self.places is not None and places > self.places:
            raise DecimalError(str(_l("At most %(n)d decimal places.", n=self.places)))
        if self.digits is not None and significant > self.digits:
            raise DecimalError(str(_l("At most %(n)d significant digits.", n=self.digits)))
        return number if number else Decimal(0)

    def json_schema(self) -> dict:
        """The limits a JSON Schema can say (for the OpenAPI document)."""
        out: dict = {}
        if self.minimum is not None:
            out["minimum"] = _json_limit(self.minimum)
        if self.maximum is not None:
            out["maximum"] = _json_limit(self.maximum)
        if self.below is not None:
            out["exclusiveMinimum"], out["exclusiveMaximum"] = _json_limit(-self.below), _json_limit(self.below)
        return out

    def describe(self) -> str:
        """The scale in words (English, for the OpenAPI document)."""
        parts = []
        if self.places is not None:
            parts.append(f"at most {self.places} decimal places")
        if self.digits is not None:
            parts.append(f"at most {self.digits} significant digits")
        return ", ".join(parts)


def _json_limit(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _shape(number: Decimal) -> tuple[int, int]:
    """(significant digits, decimal places) of a finite Decimal, trailing zeros not counted:
    ``1.230`` is (3, 2), ``1200`` is (2, 0), ``0`` is (0, 0). Exact (no context rounding)."""
    _sign, digits, exponent = number.as_tuple()
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    significant = len(digits) - trailing
    if not significant:
        return 0, 0
    return significant, max(0, -(exponent + trailing))


def from_json(value) -> Decimal:
    """A number sent by a program: a JSON number (read as Decimal, never as a binary float) or a
    string holding one (``"1234.5"``, ``"-5"``, ``"1e3"``). Locale-free: ``"1.234"`` is one point
    two three four everywhere. Booleans, non-finite values, thousands separators and decimal
    commas are refused (DecimalError)."""
    if isinstance(value, bool):
        raise DecimalError(str(_l("Expected a number.")))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):  # not from the API (it reads floats as Decimal); exact as written
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise DecimalError(str(_l("Expected a number.")))
        return value
    if isinstance(value, str) and _JSON_NUMBER.match(value):
        return Decimal(value)
    raise DecimalError(str(_l("Expected a number.")))


def parse_typed(text: str, locale: str) -> Decimal:
    """A number typed by a person: in the UI's language first (``locale``), else in the other one
    Kontor speaks, each read strictly by Babel (``"1.234,50"`` and ``"1234,50"`` in German,
    ``"1,234.50"`` and ``"1234.50"`` in English; ``"1.250"`` is 1250 on a German page and 1.25 on
    an English one). DecimalError if it is no number in either."""
    language = (locale or "de").split("_")[0]
    for lang in (language, *(x for x in _LANGUAGES if x != language)):
        try:
            number = parse_decimal(text.strip(), lang, strict=True)
        except (NumberFormatError, InvalidOperation, ValueError):
            continue
        if number.is_finite():
            return number
    raise DecimalError(str(_l("Not a number.")))


def format_typed(number: Decimal, locale: str) -> str:
    """``number`` as a person types it in ``locale`` (what a form shows to edit): every decimal,
    no thousands separators, so that :func:`parse_typed` reads it back exactly."""
    return format_decimal(number, locale=locale or "de", decimal_quantization=False, group_separator=False)


def format_shown(number, locale: str) -> str:
    """``number`` (a Decimal or its canonical text) as a page shows it: the locale's separators,
    every decimal kept ("1.234,5678" - not rounded to three places as Babel's default pattern)."""
    return format_decimal(Decimal(number), locale=locale or "de", decimal_quantization=False)


@dataclass(frozen=True)
class _MoneyFormat:
    prefixes: tuple[str, str]  # (positive, negative), the currency's symbol in place
    suffixes: tuple[str, str]
    digits: int
    separators: dict[int, str]  # str.translate: Python's "," and "." to the locale's


#: the languages whose currency format :func:`format_money` writes itself (Kontor's, each checked
#: against Babel by a test); any other goes through Babel (de_CH, for one, groups by what Babel
#: decides per symbol)
_OWN_MONEY_FORMAT = ("de", "en")


@lru_cache(maxsize=64)
def _money_format(locale: str, currency: str) -> _MoneyFormat | None:
    """Babel's standard currency pattern of ``locale`` taken apart once, if it is one Python's
    own number formatting writes alike (groups of three, no scale, no quoted text); else ``None``."""
    if locale not in _OWN_MONEY_FORMAT:
        return None
    pattern = Locale.parse(locale).currency_formats["standard"]
    if pattern.grouping != (3, 3) or pattern.scale or "'" in pattern.pattern or "¤¤" in pattern.pattern:
        return None
    symbol = get_currency_symbol(currency, locale)
    return _MoneyFormat(
        tuple(p.replace("¤", symbol) for p in pattern.prefix), tuple(x.replace("¤", symbol) for x in pattern.suffix),
        get_currency_precision(currency),
        {ord(","): get_group_symbol(locale), ord("."): get_decimal_symbol(locale)})


def format_money(cents: int, currency: str, locale: str) -> str:
    """An amount in cents as a page shows it ("12.345,67 €", "€12,345.67"): the same text as
    Babel's ``format_currency`` in the locale's standard pattern, which costs 25-30 µs a value - the
    board shows some hundred (a test holds the two to each other)."""
    value = Decimal(cents).scaleb(-2)
    fmt = _money_format(locale, currency)
    if fmt is None:
        return format_currency(value, currency, locale=locale)
    negative = int(value < 0)
    digits = f"{abs(value):,.{fmt.digits}f}".translate(fmt.separators)
    return fmt.prefixes[negative] + digits + fmt.suffixes[negative]
