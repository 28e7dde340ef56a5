"""Building blocks of the typed input models (pydantic v2) of the services: one-line texts, ids,
passwords, email addresses - each with the rule and the message the pages and the API share.

Input models are strict (``strict=True``: a JSON ``"1"`` is not an id, ``"yes"`` not a boolean) and
closed (``extra="forbid"``); an edge builds them from what it parsed (a form's data, a JSON body)
and :func:`crm.errors.from_validation` turns their errors into the refusal both edges show.
"""
from __future__ import annotations

from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, ValidationError

from .common import MAX_ID, line_problem
from .errors import from_validation
from .input_types import NullMeansOmitted

#: The shortest and longest password a user may be given.
PASSWORD_MIN, PASSWORD_MAX = 8, 500


class Input(NullMeansOmitted):
    """Base of every input model: closed, strict, whitespace around texts trimmed."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    @classmethod
    def parse(cls, data: dict, names: dict[str, str] | None = None):
        """The model of ``data``, or an :class:`crm.errors.Invalid` naming each field at fault
        (``names`` renames them for the edge, e.g. to a form's field names)."""
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            raise from_validation(err, names) from None


def _storable_line(value: str) -> str:
    problem = line_problem(value)
    if problem == "break":
        raise ValueError(_l("Line breaks are not allowed here."))
    if problem:
        raise ValueError(_l("Contains characters that cannot be stored."))
    return value


def line(max_length: int) -> object:
    """A required one-line text of at most ``max_length`` characters (empty: "This field is
    required.")."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
                     AfterValidator(_storable_line)]


def _password(value: str) -> str:
    if len(value) < PASSWORD_MIN:
        raise ValueError(_l("At least %(n)d characters.", n=PASSWORD_MIN))
    if len(value) > PASSWORD_MAX:
        raise ValueError(_l("At most %(max_length)d characters.", max_length=PASSWORD_MAX))
    return value


#: A password as typed (never trimmed), 8 to 500 characters.
Password = Annotated[str, StringConstraints(strip_whitespace=False), AfterValidator(_password),
                     Field(json_schema_extra={"minLength": PASSWORD_MIN, "maxLength": PASSWORD_MAX})]


def _email(value: str) -> str:
    if len(value) > 254:
        raise ValueError(_l("At most %(max_length)d characters.", max_length=254))
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise ValueError(_l("Not an email address.")) from None
    return value.lower()


#: An email address (syntax only), stored in lower case.
Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_email),
                  Field(json_schema_extra={"format": "email", "maxLength": 254})]

#: A row id (users, groups, fields): a whole number from 1 to ``MAX_ID``.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
#: A list of ids, each at most once (duplicates are dropped, order kept).
Ids = Annotated[list[Id], Field(max_length=10_000), AfterValidator(lambda ids: list(dict.fromkeys(ids)))]
