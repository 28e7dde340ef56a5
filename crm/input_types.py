"""Typed input values shared by the input models of the features (pydantic v2): text lines and
texts, ids, dates, decimals, lists. Each type owns its rule and its message (the same words on the
pages and in the API, see :mod:`crm.errors`) and says what it can in the JSON Schema of the OpenAPI
document (lengths, patterns, formats).

Strings are stripped; control characters (other than line breaks and tabs in texts) are refused;
a single line refuses every control character (the tab, C1 and DEL too) and line breaks. Dates are
ISO dates (``YYYY-MM-DD``) or ``date`` objects (what a form parsed), never timestamps. Decimals
are JSON numbers or decimal strings read without locale, or Decimals a form parsed in the user's
locale: checked against their :class:`DecimalRule`, never rounded.
"""
from __future__ import annotations

import re
import types
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from .common import MAX_ID, is_web_address, line_problem, with_scheme
from .decimals import JSON_NUMBER, DecimalError, DecimalRule, from_json

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")

#: JSON Schema patterns of a single line and of a text (what :func:`_line` / :func:`_text` refuse)
LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def _accepts_none(annotation) -> bool:
    if annotation is None or annotation is type(None) or annotation is Any:
        return True
    origin = get_origin(annotation)
    if origin is Annotated:
        return _accepts_none(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(_accepts_none(arg) for arg in get_args(annotation))
    return False


@cache
def _null_means_omitted(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(name for name, info in model.model_fields.items()
                     if not info.is_required() and not _accepts_none(info.annotation)
                     and name not in model.null_refused)


def _nullable(prop: dict) -> dict:
    """A property's JSON Schema that also takes null."""
    if "enum" in prop:
        prop = {**prop, "enum": [*prop["enum"], None]}
    kind = prop.get("type")
    if isinstance(kind, str):
        return {**prop, "type": [kind, "null"]}
    if isinstance(kind, list):
        return {**prop, "type": [*kind, "null"]} if "null" not in kind else prop
    return {"anyOf": [prop, {"type": "null"}]}


class NullMeansOmitted(BaseModel):
    """Every optional field of an input may be left out or sent as null, alike: a null for an
    optional field that has no "none" value of its own (a choice with a default, a list, a switch)
    is taken as not sent - the default on a create, no change on a patch. Fields where null means
    something (no responsible user, no company, no value) keep their null. The JSON Schema says
    so (each optional field takes null). A model names in ``null_refused`` the fields where a null
    is a mistake to report rather than "not sent" (a record's name on a change: it cannot be
    emptied)."""

    null_refused: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data):
        if isinstance(data, dict):
            omitted = _null_means_omitted(cls)
            return {k: v for k, v in data.items() if v is not None or k not in omitted}
        return data

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema, handler):
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        props = target.get("properties", {})
        for name in _null_means_omitted(cls):
            if name in props:
                props[name] = _nullable(props[name])
        return schema


class Input(NullMeansOmitted):
    """Base of every input model: unknown keys are refused, strings are stripped, an optional
    field may be null (:class:`NullMeansOmitted`)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    def sent(self, name: str) -> bool:
        """Was ``name`` part of the input (a PATCH changes only what it sends)?"""
        return name in self.model_fields_set


class Output(BaseModel):
    """Base of the output models of the API: exactly these keys."""

    model_config = ConfigDict(extra="forbid")


#: a time in an answer: ISO 8601 in UTC ("2026-11-28T22:14:11Z")
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


def _text(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError(str(_l("Contains characters that cannot be stored.")))
    return value


def _line(value: str) -> str:
    problem = line_problem(value)
    if problem == "break":
        raise ValueError(str(_l("Line breaks are not allowed here.")))
    if problem:
        raise ValueError(str(_l("Contains characters that cannot be stored.")))
    return value


def Line(max_length: int, *, min_length: int = 0):
    """A single line of at most ``max_length`` characters (after stripping)."""
    return Annotated[str, Field(max_length=max_length, min_length=min_length,
                                json_schema_extra={"pattern": LINE_PATTERN}), AfterValidator(_line)]


def Text(max_length: int):
    """A text of several lines."""
    return Annotated[str, Field(max_length=max_length, json_schema_extra={"pattern": TEXT_PATTERN}),
                     AfterValidator(_text)]


def _web_address(max_length: int):
    def check(value: str) -> str:
        if not value:
            return value
        value = with_scheme(value)
        if not is_web_address(value):
            raise ValueError(str(_l("Not a web address (http:// or https://).")))
        if len(value) > max_length:  # (with the "https://" it was typed without)
            raise ValueError(str(_l("At most %(max_length)d characters.", max_length=max_length)))
        return value
    return check


WEB_ADDRESS_DESCRIPTION = ("An http:// or https:// address, or empty. One typed without its scheme that is "
                           "otherwise a host name (\"www.firma.de\", \"firma.de/kontakt\") is taken as "
                           "https://… and answered so")


def WebAddress(max_length: int):
    """An ``http``/``https`` address (or empty); one typed without its scheme that is otherwise a
    host name ("www.firma.de", "firma.de/kontakt") is taken as ``https://…``
    (:func:`crm.common.with_scheme`), on the pages, in the API and in an import alike."""
    # (no "format": "uri" in the JSON Schema: it would refuse "www.firma.de", which is taken)
    return Annotated[str, Field(max_length=max_length, description=WEB_ADDRESS_DESCRIPTION),
                     AfterValidator(_line), AfterValidator(_web_address(max_length))]


def _email(value: str) -> str:
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise ValueError(str(_l("Not an email address: %(a)s", a=value[:60]))) from None
    return value


Email = Annotated[str, Field(max_length=254, json_schema_extra={"format": "email"}), AfterValidator(_line),
                  AfterValidator(_email)]

#: A phone number: digits with spaces and + ( ) / - . between them, optionally followed by an
#: extension ("x12", "ext. 12", "Durchwahl 12", "DW 12"); at least one digit, no other letters.
#: One pattern for the check and the JSON Schema (ECMA and Python alike: ASCII digits, no flags).
PHONE_PATTERN = (r"^[0-9 +()/.\-]*[0-9][0-9 +()/.\-]*"
                 r"(?:(?:[xX]|[eE][xX][tT]\.?|[dD]urchwahl|DW)\s*[0-9]+)?$")
_PHONE = re.compile(PHONE_PATTERN)


def _phone(value: str) -> str:
    if value and not _PHONE.match(value):
        raise ValueError(str(_l("Not a phone number: %(a)s (digits, spaces and + ( ) / - . only; "
                                "an extension as x12)", a=value[:60])))
    return value


def Phone(max_length: int):
    """A phone number (:data:`PHONE_PATTERN`): the same rule on the pages, in the API, in an import
    and in a record's contact details. Numbers stored before the rule are left as they are; a save
    that sends one again is refused, naming it, so that it is corrected then."""
    return Annotated[str, Field(max_length=max_length, json_schema_extra={"pattern": PHONE_PATTERN}),
                     AfterValidator(_line), AfterValidator(_phone)]


def _id(value: int) -> int:
    if not 1 <= value <= MAX_ID:
        raise ValueError(str(_l("Expected an id (a positive integer).")))
    return value


#: an id of a record, group or user: a JSON integer (not a string, not a boolean) from 1 to MAX_ID
Id = Annotated[int, Field(strict=True, json_schema_extra={"minimum": 1, "maximum": MAX_ID}), AfterValidator(_id)]


def _day(value):
    if isinstance(value, datetime):
        raise ValueError(str(_l("Expected a date (YYYY-MM-DD).")))
    if isinstance(value, date) or value is None:
        return value
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(str(_l("Expected a date (YYYY-MM-DD).")))


#: An ISO date (a string ``YYYY-MM-DD`` in JSON, a ``date`` from a form); nothing else.
Day = Annotated[date, BeforeValidator(_day)]


def Number(rule: DecimalRule, description: str = ""):
    """A decimal checked against ``rule``: a JSON number or a decimal string (no locale), or a
    Decimal a form parsed. Too many decimals or digits, or out of range: refused, never rounded."""

    def read(value):
        if isinstance(value, Decimal):
            number = value
        else:
            try:
                number = from_json(value)
            except DecimalError as err:
                raise ValueError(str(err)) from None
        try:
            return rule.check(number)
        except DecimalError as err:
            raise ValueError(str(err)) from None

    schema = {"anyOf": [{"type": "number", **rule.json_schema()}, {"type": "string", "pattern": JSON_NUMBER}]}
    if description:
        schema["description"] = description
    return Annotated[Decimal, BeforeValidator(read), WithJsonSchema(schema, mode="validation")]


def _no_separator(separator: str):
    def check(items: list[str] | None):
        for item in items or []:
            if separator in item:
                raise ValueError(str(_l("An entry may not contain “%(sep)s”.", sep=separator.replace("\n", "\\n"))))
        return items
    return check


def Items(item, max_items: int, *, separator: str | None = None):
    """A list of at most ``max_items`` entries (null: none); ``separator``: what the form splits
    the entries on, so no entry may contain it."""
    more = [AfterValidator(_no_separator(separator))] if separator else []
    return Annotated[list[item] | None, Field(max_length=max_items), *more]


def parse_input(model: type[BaseModel], data: dict, names: dict[str, str] | None = None):
    """``data`` as a ``model`` (an input model); a refusal as :class:`crm.errors.Invalid` naming each
    field at fault (``names``: input names to the edge's names)."""
    from pydantic import ValidationError

    from .errors import from_validation

    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise from_validation(err, names) from None
