"""Reading API input: the JSON body and query parameters.

The body is read with every JSON number as a ``Decimal`` (never a binary float), exactly as
written, without any locale. Every body is then validated by its feature's input model
(``crm/<feature>/schemas.py``), which owns the rules; no JSON passes through a form.
"""
from __future__ import annotations

import json
import re
from decimal import Decimal

from flask import request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest

from ..common import MAX_ID, has_control_chars
from .errors import ApiError

#: Ids are 32-bit integers in every table.
#: Largest JSON body the API reads (records, notes and settings are far smaller).
MAX_BODY = 1024 * 1024
#: Most ids one bulk request may name.
MAX_IDS = 10_000

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
def invalid(fields: dict, message=None) -> ApiError:
    return ApiError(422, "invalid", message or _l("Some fields are not valid."), fields)


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
