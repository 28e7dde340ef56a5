"""Reading API input: the JSON body and query parameters; for the admin API (users, groups, custom
fields, settings, tokens) also the JSON type of each value and form errors as the ``fields`` of an
error answer.

The body is read with every JSON number as a ``Decimal`` (never a binary float), exactly as
written, without any locale. Records, notes and assignments validate the body against their input
models (:mod:`crm.records.schemas`, :mod:`crm.notes.schemas`), which own their rules; nothing of
theirs passes through a form.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from flask import request
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest

from ..common import MAX_ID
from ..forms_common import has_control_chars
from .errors import ApiError

#: Ids are 32-bit integers in every table.
#: Largest JSON body the API reads (records, notes and settings are far smaller).
MAX_BODY = 1024 * 1024
#: Most ids one bulk request may name.
MAX_IDS = 10_000

_LINE_BREAK = re.compile("[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_SURROGATE = re.compile("[\ud800-\udfff]")

UNSTORABLE = _l("Contains characters that cannot be stored.")


def json_body() -> dict:
    """The request's JSON object: 415 if it is not JSON, 400 if it cannot be parsed, 422 if it is
    not an object."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", _l("Send a JSON body with Content-Type: application/json."))
    request.max_content_length = MAX_BODY
    try:
        # numbers with a fraction or exponent as Decimal, exactly as written (0.1 stays 0.1);
        # NaN and Infinity, which Python's reader would take, are not JSON
        data = json.loads(request.get_data(cache=True), parse_float=Decimal, parse_constant=_not_json)
    except (BadRequest, ValueError, RecursionError):  # ValueError: JSONDecodeError, UnicodeDecodeError
        raise ApiError(400, "bad_json", _l("The body is not valid JSON.")) from None
    if _has_surrogates(data):
        raise ApiError(400, "bad_json", _l("The body is not valid Unicode."))
    if not isinstance(data, dict):
        raise ApiError(422, "invalid", _l("The body must be a JSON object."), {"body": _l("Expected an object.")})
    return data


def _not_json(name: str):
    raise ValueError(f"{name} is not JSON")


def _has_surrogates(value) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


# --------------------------------------------------------------------------------------------
# JSON kinds: a check (None when fine, else the message) and the JSON Schema the OpenAPI shows
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    check: Callable[[object], object | None]
    schema: dict
    nullable: bool = True
    #: how the value goes into a form field (None for kinds that are not form input)
    to_form: Callable[[object], list[str]] | None = None
    extra: dict = field(default_factory=dict)

    def __call__(self, value) -> object | None:
        if value is None:
            return None if self.nullable else _l("May not be null.")
        return self.check(value)

    def json_schema(self, **more) -> dict:
        schema = {**self.schema, **self.extra, **more}
        if self.nullable:
            t = schema.get("type")
            schema["type"] = [t, "null"] if isinstance(t, str) else t
        return schema


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_line(value):
    if not isinstance(value, str):
        return _l("Expected a string.")
    if has_control_chars(value):
        return UNSTORABLE
    if _LINE_BREAK.search(value):
        return _l("Line breaks are not allowed here.")
    return None


def _check_any_string(value):
    return None if isinstance(value, str) else _l("Expected a string.")


def _check_id(value):
    if not _is_int(value) or not 1 <= value <= MAX_ID:
        return _l("Expected an id (a positive integer).")
    return None


def _check_bool(value):
    return None if isinstance(value, bool) else _l("Expected true or false.")


def _scalar_form(value) -> list[str]:
    return [""] if value is None else [str(value)]


def _checked_list(item_check: Callable, max_items: int | None = None, separator: str | None = None):
    def check(value):
        if not isinstance(value, list):
            return _l("Expected a list.")
        if max_items is not None and len(value) > max_items:
            return _l("At most %(n)d entries.", n=max_items)
        for item in value:
            if item is None:
                return _l("An entry may not be null.")
            problem = item_check(item)
            if problem:
                return problem
            if separator is not None and separator in item:
                return _l("An entry may not contain “%(sep)s”.", sep=separator.replace("\n", "\\n"))
        return None
    return check


LINE = Kind(_check_line, {"type": "string", "pattern": r"^[^\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]*$"},
            to_form=_scalar_form)
SECRET = Kind(_check_any_string, {"type": "string"}, nullable=False, to_form=_scalar_form)
ID = Kind(_check_id, {"type": "integer", "minimum": 1, "maximum": MAX_ID}, to_form=_scalar_form)
BOOL = Kind(_check_bool, {"type": "boolean"}, nullable=False)
IDS = Kind(_checked_list(_check_id, MAX_IDS),
           {"type": "array", "items": ID.schema, "maxItems": MAX_IDS}, nullable=False,
           to_form=lambda v: [str(i) for i in v])
#: ``POST /tokens``
TOKEN_INPUT = {"email": LINE, "password": SECRET}
LINE_LIST = Kind(_checked_list(_check_line), {"type": "array", "items": LINE.schema}, nullable=False)


def check_types(data: dict, spec: dict[str, Kind], *, read_only: Iterable[str] = ()) -> dict:
    """``data`` with the keys of ``spec``, each of its JSON kind. Keys the API only reports
    (``read_only``, such as ``id``) are dropped; any other unknown key is an error (422)."""
    errors: dict[str, object] = {}
    read_only = set(read_only)
    for key, value in data.items():
        kind = spec.get(key)
        if kind is None:
            if key not in read_only:
                errors[key] = _l("Unknown field.")
            continue
        problem = kind(value)
        if problem:
            errors[key] = problem
    if errors:
        raise invalid(errors)
    return {k: v for k, v in data.items() if k in spec}


def invalid(fields: dict, message=None) -> ApiError:
    return ApiError(422, "invalid", message or _l("Some fields are not valid."), fields)


def formdata(data: dict, spec: dict[str, Kind], names: dict[str, str] | None = None) -> MultiDict:
    """The values of ``data`` as a form would post them (field names renamed by ``names``)."""
    names = names or {}
    items = []
    for key, value in data.items():
        kind = spec[key]
        if kind.to_form is None:
            continue
        items += [(names.get(key, key), v) for v in kind.to_form(value)]
    return MultiDict(items)


def form_errors(form, names: dict[str, str] | None = None, only: Iterable[str] | None = None) -> dict:
    """A form's errors keyed by API name (``names`` maps form field -> API name); with ``only``,
    just the errors of those form fields (a PATCH reports only on what it sends)."""
    names = names or {}
    only = set(only) if only is not None else None
    out = {}
    for name, messages in form.errors.items():
        if only is not None and name not in only:
            continue
        if isinstance(messages, dict):  # not used by Kontor's forms, but keep it safe
            messages = [m for ms in messages.values() for m in ms]
        out[names.get(name, name)] = " ".join(str(m) for m in messages)
    return out


def int_arg(name: str, default: int | None, *, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    """An integer query parameter; 422 if it is not one or out of range."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or not minimum <= int(raw) <= maximum:
        raise invalid({name: _l("Expected a whole number from %(a)d to %(b)d.", a=minimum, b=maximum)})
    return int(raw)


def str_arg(name: str, max_length: int) -> str:
    value = request.args.get(name, "")
    if has_control_chars(value):
        raise invalid({name: UNSTORABLE})
    value = value.strip()
    if len(value) > max_length:
        raise invalid({name: _l("At most %(n)d characters.", n=max_length)})
    return value
