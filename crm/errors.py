"""The one error type of the services: :class:`Refused`.

A service that refuses a request raises a :class:`Refused` (or one of its kinds below) carrying an
HTTP status, a short machine-readable ``code``, a message for people and the ``fields`` it is
about (field name -> message). Each edge maps it once:

- the JSON API (:mod:`crm.api`) answers ``{"error": {"code", "message", "fields"}}`` with the
  status (one error handler on the API blueprint);
- the pages put ``fields`` on the form's fields and the message on top (:func:`apply_to_form`),
  or flash it (:func:`flash_refusal`).

Input models (pydantic) report their errors as :class:`pydantic.ValidationError`;
:func:`from_validation` turns one into an :class:`Invalid` with the same translated messages the
pages show, so a rule refuses the same input with the same words on every edge.
"""
from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from pydantic import ValidationError


class Refused(Exception):
    """A request a service refuses. ``fields`` maps input names (dotted for nested input, e.g.
    ``custom_fields.Kundenstatus``) to messages; ``message`` says what went wrong as a whole."""

    status = 422
    code = "invalid"
    default_message = _l("Some fields are not valid.")

    def __init__(self, message=None, fields: Mapping[str, object] | None = None, *,
                 code: str | None = None, status: int | None = None):
        self.fields = {k: str(v) for k, v in (fields or {}).items()}
        self.message = str(message if message is not None else self.default_message)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        super().__init__(self.message)

    @property
    def summary(self) -> str:
        """One line for a flash or a dialog: the first field message, else the message."""
        return next(iter(self.fields.values()), self.message)

    def renamed(self, names: Mapping[str, str]) -> Refused:
        """The same refusal with its field names translated (e.g. a form's ``groups`` to the
        API's ``group_ids``); names not in ``names`` stay."""
        self.fields = {names.get(k, k): v for k, v in self.fields.items()}
        return self


class Invalid(Refused):
    """Input that breaks a rule (422)."""


class NotFound(Refused):
    """A record, user, group or field that does not exist *for this user* (404): hidden and
    missing are the same answer."""

    status = 404
    code = "not_found"
    default_message = _l("Not found.")


class Forbidden(Refused):
    """The user sees the thing but may not do this to it (403)."""

    status = 403
    code = "forbidden"
    default_message = _l("You may not do this.")


class Conflict(Refused):
    """The request conflicts with the current state: someone else changed the record, a name is
    taken, the group system is off (409)."""

    status = 409
    code = "conflict"
    default_message = _l("The request conflicts with the current state.")


# ---------------------------------------------------------------------------------------------
# pydantic's errors in the words of the pages
# ---------------------------------------------------------------------------------------------

#: pydantic error type -> message (formatted with the error's ``ctx``). Types not listed fall back
#: to "Not a valid value."; ``value_error`` / ``assertion_error`` carry the service's own message.
MESSAGES = {
    "missing": _l("This field is required."),
    "extra_forbidden": _l("Unknown field."),
    "string_type": _l("Expected a string."),
    "string_too_short": _l("This field is required."),
    "string_too_long": _l("At most %(max_length)d characters."),
    "string_pattern_mismatch": _l("Not a valid value."),
    "int_type": _l("Expected an id (a positive integer)."),
    "int_parsing": _l("Expected an id (a positive integer)."),
    "int_from_float": _l("Expected an id (a positive integer)."),
    "greater_than_equal": _l("Expected a whole number from %(ge)s."),
    "less_than_equal": _l("At most %(le)s."),
    "bool_type": _l("Expected true or false."),
    "bool_parsing": _l("Expected true or false."),
    "list_type": _l("Expected a list."),
    "dict_type": _l("Expected an object of field names and values."),
    "model_type": _l("Expected an object of field names and values."),
    "date_type": _l("Expected a date (YYYY-MM-DD)."),
    "date_parsing": _l("Expected a date (YYYY-MM-DD)."),
    "date_from_datetime_parsing": _l("Expected a date (YYYY-MM-DD)."),
    "date_from_datetime_inexact": _l("Expected a date (YYYY-MM-DD)."),
    "literal_error": _l("Not a valid choice."),
    "enum": _l("Not a valid choice."),
    "decimal_type": _l("Expected a number."),
    "decimal_parsing": _l("Expected a number."),
    "none_required": _l("May not be set."),
}
FALLBACK = _l("Not a valid value.")
#: a list's length (pydantic's ``too_long`` / ``too_short``): counted with the plural rules, never
#: "At least 1 entries" (new-user trial: "Mindestens 1 Einträge.")
COUNTED = {
    "too_long": ("max_length", lambda n: ngettext("At most %(num)d entry.", "At most %(num)d entries.", n)),
    "too_short": ("min_length", lambda n: ngettext("At least %(num)d entry.", "At least %(num)d entries.", n)),
}


def _name(loc: tuple) -> str:
    return ".".join(str(part) for part in loc if not isinstance(part, int)) or "body"


def _message(error: dict):
    if error["type"] in ("value_error", "assertion_error"):
        cause = (error.get("ctx") or {}).get("error")
        if cause is not None:
            return str(cause.args[0]) if getattr(cause, "args", None) else str(cause)
    ctx = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, (int, float, str))}
    if error["type"] in COUNTED:
        key, counted = COUNTED[error["type"]]
        if ctx.get("field_type") not in ("List", "Set", "Tuple", "Dictionary"):
            # a text whose length is checked after its own rule (a note's body): its characters
            if error["type"] == "too_short":
                return str(MESSAGES["string_too_short"] if ctx.get(key) == 1
                           else _l("At least %(n)d characters.", n=ctx.get(key, 0)))
            return str(MESSAGES["string_too_long"]) % {"max_length": ctx.get(key, 0)}
        return counted(ctx.get(key, 0))
    template = MESSAGES.get(error["type"], FALLBACK)
    try:
        return str(template) % ctx if ctx else str(template)
    except (KeyError, TypeError, ValueError):
        return str(FALLBACK)


def from_validation(err: ValidationError, names: Mapping[str, str] | None = None) -> Invalid:
    """An :class:`Invalid` with one translated message per field: the first error of a field, or for
    a list every entry's that differs ("Not an email address: a; Not an email address: b"), so that
    one submit names each bad entry, not only the first."""
    found: dict[str, list[str]] = {}
    for error in err.errors(include_url=False):
        name, message = _name(error["loc"]), _message(error)
        messages = found.setdefault(name, [])
        if not messages or (_is_entry(error["loc"]) and message not in messages):
            messages.append(message)
    return Invalid(fields={k: "; ".join(v) for k, v in found.items()}).renamed(names or {})


def _is_entry(loc: tuple) -> bool:
    """Is this the error of a list's entry (its place is a number)?"""
    return any(isinstance(part, int) for part in loc)


# ---------------------------------------------------------------------------------------------
# The pages' side
# ---------------------------------------------------------------------------------------------

def apply_to_form(form, refused: Refused, names: Mapping[str, str] | None = None) -> None:
    """Put a refusal on a WTForms form: each field message on its field (``names`` maps service
    names to form field names), the rest - and the message when no field is named - on top."""
    names = names or {}
    for name, message in refused.fields.items():
        field = getattr(form, names.get(name, name), None)
        if field is not None and hasattr(field, "errors") and not getattr(field, "hidden_from_user", False):
            field.errors = [*field.errors, message]
        else:
            form.form_errors.append(message)
    if not refused.fields:
        form.form_errors.append(refused.message)


def flash_refusal(refused: Refused) -> None:
    """Flash a refusal on the next page (its message, then each field message)."""
    from flask import flash

    messages = [refused.message] if not refused.fields else list(dict.fromkeys(refused.fields.values()))
    for message in messages:
        flash(message, "error")
