"""The input of a record write, typed (pydantic v2): one model per record type for a create and one
for a change (PATCH: only the fields sent change, :meth:`Input.sent`), and the output shapes of the
API (full and restricted).

The models own every rule about the input itself: lengths, required fields (only ``name`` /
``last_name``; every other field may be omitted or null), choices (from the constants the code
uses), dates, emails, phones and addresses with their limits, web addresses, tags, decimals (the
field's :class:`~crm.decimals.DecimalRule`: refused, never rounded) and the value of each custom
field by its kind (:func:`custom_values`). What needs the database - the group the user may use,
a referenced record the user fully sees, an active responsible user, the custom fields of the type,
the group system's switch, the record's version, permissions - is the services' (:mod:`.services`).

Both edges build these models: the API from the JSON body (``Model.model_validate(body)``), the
pages from what their WTForms forms parsed. A refusal is a :class:`pydantic.ValidationError`,
turned into :class:`crm.errors.Invalid` by :func:`crm.errors.from_validation`, so the same rule
answers with the same words on both.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from flask_babel import lazy_gettext as _l
from pydantic import AfterValidator, Field, PlainSerializer, TypeAdapter, ValidationError, WithJsonSchema

from ..customfields.models import CUSTOM_NUMBER, FIELD_KINDS
from ..errors import MESSAGES, Invalid, from_validation
from ..input_types import (
    Day,
    Email,
    Id,
    Input,
    Items,
    Line,
    Number,
    Output,
    Phone,
    Text,
    Timestamp,
    WebAddress,
    parse_input,
)
from .models import DEAL_STAGES, PROJECT_STATUSES, SALUTATIONS
from .types import CURRENCIES, DEAL_VALUE

MAX_TEXT = 20_000
MAX_TAGS, MAX_TAG = 50, 60
MAX_EMAILS, MAX_PHONES, MAX_ADDRESSES = 20, 20, 10
MAX_CUSTOM_TEXT, MAX_CUSTOM_URL = 2000, 500
MAX_REASON_NOTE = 2000

Name = Line(200, min_length=1)
Tags = Items(Line(MAX_TAG), MAX_TAGS, separator=",")
Emails = Items(Email, MAX_EMAILS)
Phones = Items(Phone(60), MAX_PHONES)
#: postal addresses: entries of several lines; the form separates them by an empty line
Addresses = Items(Text(500), MAX_ADDRESSES, separator="\n\n")
Description = Text(MAX_TEXT)


def _custom_scalars(values: dict) -> dict:
    for value in values.values():
        if not (value is None or isinstance(value, (str, Decimal, date))
                or (isinstance(value, int) and not isinstance(value, bool))):
            raise ValueError(str(_l("Expected a text, number or date.")))
    return values


#: Custom field values by name as sent: numbers, strings (an ISO date, a choice, an address), null to
#: empty a field; a form hands over what it parsed (a Decimal, a date). Typed per field kind by
#: :func:`custom_values`, which needs the field definitions.
CustomValues = Annotated[dict[str, object], AfterValidator(_custom_scalars), WithJsonSchema(
    {"type": "object", "additionalProperties": {"type": ["string", "number", "null"]}}, mode="validation")]

VALUE_DESCRIPTION = (f"A decimal, {DEAL_VALUE.describe()}: a JSON number or a string such as \"1234.5\" "
                     "(read without locale: \"1.234\" is one point two three four); more decimals are "
                     "refused (422), never rounded")
CUSTOM_DESCRIPTION = ("Values by field name; null empties a field. A number field takes a JSON number or a "
                      "string such as \"-1234.5\" (no locale), below 10^15 with at most 15 significant "
                      "digits; more is refused (422), never rounded. A date field takes YYYY-MM-DD, a "
                      "select field one of its options, a url field an http(s) address")


class RecordInput(Input):
    """What every record type has: tags, group, responsible user, custom fields. A field sent as
    null is emptied (a list: no entries; a choice: its default); the group cannot be null (a
    record is always in one group)."""

    tags: Tags = None
    group_id: Id = Field(default=None, description="Not sent: the default group (a new record: the type's, "
                                                   "else your default group, else your only group; a member "
                                                   "of several groups without a default one must send it "
                                                   "unless an assignment rule places the record), or "
                                                   "unchanged (a change)")
    responsible_id: Id | None = None
    custom_fields: CustomValues | None = Field(default=None, description=CUSTOM_DESCRIPTION)


class _Company(RecordInput):
    website: WebAddress(300) | None = None
    emails: Emails = None
    phones: Phones = None
    addresses: Addresses = None
    background: Description | None = None


class _Person(RecordInput):
    salutation: Literal[("", *SALUTATIONS)] | None = None
    title: Line(60) | None = None
    first_name: Line(100) | None = None
    company_id: Id | None = None
    position: Line(120) | None = None
    emails: Emails = None
    phones: Phones = None
    addresses: Addresses = None
    background: Description | None = None


class _Linked(RecordInput):
    company_id: Id | None = None
    person_id: Id | None = None
    description: Description | None = None


class _Deal(_Linked):
    value: Number(DEAL_VALUE, VALUE_DESCRIPTION) | None = None
    currency: Literal[CURRENCIES] | None = None
    stage_id: Id | None = Field(default=None, description="The deal's stage (defined by admins under "
                                                          "Settings -> Deal stages)")
    stage: Literal[DEAL_STAGES] | None = Field(
        default=None, description="The kind of the stage: without stage_id, a deal of another kind moves to "
                                  "the first stage of this kind")
    reason_id: Id | None = Field(default=None, description="Why a won or lost deal ended so: a reason of its "
                                 "outcome (Settings -> Deal stages); null removes it. Leaving won or lost "
                                 "clears the reason and its note")
    reason_note: Text(MAX_REASON_NOTE) | None = Field(default=None, description="The deal's own words on "
                                                      "its reason (won or lost deals only)")
    target_date: Day | None = None


class _Project(_Linked):
    status: Literal[PROJECT_STATUSES] | None = None
    start_date: Day | None = None
    target_date: Day | None = None


class _Patch(Input):
    version: Id | None = Field(default=None, description="The version read; a stale one is a 409 conflict")


# Create: the required field has no default. Change: it may be left out, but not emptied (null is
# refused as "expected a string", "" as "required"; ``null_refused`` keeps the null to refuse it).
class CompanyCreate(_Company):
    name: Name


class CompanyPatch(_Company, _Patch):
    null_refused = frozenset({"name"})
    name: Name = None


class PersonCreate(_Person):
    last_name: Line(100, min_length=1)


class PersonPatch(_Person, _Patch):
    null_refused = frozenset({"last_name"})
    last_name: Line(100, min_length=1) = None


class DealCreate(_Deal):
    name: Name


class DealPatch(_Deal, _Patch):
    null_refused = frozenset({"name"})
    name: Name = None


class ProjectCreate(_Project):
    name: Name


class ProjectPatch(_Project, _Patch):
    null_refused = frozenset({"name"})
    name: Name = None


CREATE: dict[str, type[RecordInput]] = {
    "company": CompanyCreate, "person": PersonCreate, "deal": DealCreate, "project": ProjectCreate}
PATCH: dict[str, type[RecordInput]] = {
    "company": CompanyPatch, "person": PersonPatch, "deal": DealPatch, "project": ProjectPatch}
#: the plain fields of each type, in the order of the forms and the API
PLAIN_FIELDS = {
    "company": ("name", "website", "emails", "phones", "addresses", "background"),
    "person": ("salutation", "title", "first_name", "last_name", "company_id", "position", "emails",
               "phones", "addresses", "background"),
    "deal": ("name", "value", "currency", "stage_id", "reason_id", "reason_note", "target_date", "company_id",
             "person_id", "description"),
    "project": ("name", "status", "start_date", "target_date", "company_id", "person_id", "description"),
}
#: the choice fields and the value null (or not sent on a create) stands for
CHOICE_DEFAULTS = {"salutation": "", "currency": "EUR", "stage": "open", "status": "planned"}


def record_input(key: str, data: dict, *, patch: bool = False) -> RecordInput:
    """``data`` (the JSON body, or what a form parsed) as the input model of record type ``key``;
    :class:`~crm.errors.Invalid` naming each field at fault."""
    return parse_input((PATCH if patch else CREATE)[key], data)


# ---------------------------------------------------------------------------------------------
# Custom field values, typed by the field's kind
# ---------------------------------------------------------------------------------------------

_KIND_ADAPTERS = {
    "text": TypeAdapter(Line(MAX_CUSTOM_TEXT)),
    "number": TypeAdapter(Number(CUSTOM_NUMBER)),
    "date": TypeAdapter(Day),
    "url": TypeAdapter(WebAddress(MAX_CUSTOM_URL)),
    "select": TypeAdapter(Line(100)),
}
assert set(_KIND_ADAPTERS) == set(FIELD_KINDS)


def _canonical(value) -> str | None:
    """The stored text of a custom value: ISO dates, plain decimals ("1000", "2.125")."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def custom_value(field, value) -> str | None:
    """The stored text of ``value`` for ``field`` (a :class:`CustomField`); ``ValueError`` with the
    message otherwise. Null and the empty string empty the field."""
    if isinstance(value, str):
        value = value.strip()
    if value is None or value == "":
        return None
    if field.kind in ("text", "url", "select", "date") and isinstance(value, (Decimal, int)):
        raise ValueError(str(_l("Expected a string.")))
    adapter = _KIND_ADAPTERS.get(field.kind)
    if adapter is None:
        raise ValueError(str(_l("Not a valid value.")))  # explicit deny: a kind without a rule
    try:
        typed = adapter.validate_python(value)
    except ValidationError as err:
        raise ValueError(next(iter(from_validation(err).fields.values()))) from None
    if field.kind == "select" and typed not in (field.options or []):
        raise ValueError(str(MESSAGES["literal_error"]))
    return _canonical(typed)


def custom_values(fields, values: dict) -> dict[int, str | None]:
    """The values sent by field name (``fields``: the custom fields of the record type) as field id
    -> stored text; :class:`Invalid` naming ``custom_fields.<name>`` for an unknown field or a
    value its kind does not take."""
    by_name = {f.name: f for f in fields}
    out: dict[int, str | None] = {}
    errors: dict[str, str] = {}
    for name, value in (values or {}).items():
        field = by_name.get(name)
        if field is None:
            errors[f"custom_fields.{name}"] = str(_l("There is no such field."))
            continue
        try:
            out[field.id] = custom_value(field, value)
        except ValueError as err:
            errors[f"custom_fields.{name}"] = str(err)
    if errors:
        raise Invalid(fields=errors)
    return out


# ---------------------------------------------------------------------------------------------
# Output: a record as the API shows it, full or restricted (interfaces.md, "A record's JSON")
# ---------------------------------------------------------------------------------------------

def _json_number(value: Decimal) -> int | float:
    """A stored decimal as a JSON number (exact as written: ``1234.5``, ``2.125``, ``1000``)."""
    return int(value) if value == value.to_integral_value() else float(value)


#: a decimal in an answer: a JSON number (read it as a decimal: the digits are exact)
NumberOut = Annotated[Decimal, PlainSerializer(_json_number, return_type=int | float)]
CustomOut = dict[str, NumberOut | str | None]


class GroupRef(Output):
    id: int
    name: str


class _Full(Output):
    id: int
    access: Literal["full"]
    group: GroupRef
    tags: list[str]
    responsible_id: int | None
    custom_fields: CustomOut = Field(description="Custom field values by field name")
    created_at: Timestamp
    updated_at: Timestamp
    version: int = Field(description="Send it back with a PATCH to detect concurrent changes")


class _Restricted(Output):
    id: int
    access: Literal["restricted"]
    group: GroupRef
    custom_fields: CustomOut = Field(description="Only the fields shared with one of your groups")


class _CompanyFields(Output):
    name: str
    website: str
    background: str
    emails: list[str]
    phones: list[str]
    addresses: list[str]


class _PersonFields(Output):
    salutation: str
    title: str
    first_name: str
    last_name: str
    company_id: int | None = Field(description="null also when the company is hidden from you")
    position: str
    emails: list[str]
    phones: list[str]
    addresses: list[str]
    background: str


class _LinkedFields(Output):
    name: str
    company_id: int | None = Field(description="null also when the company is hidden from you")
    person_id: int | None = Field(description="null also when the person is hidden from you")
    target_date: date | None
    description: str


class _DealFields(_LinkedFields):
    value: NumberOut | None = Field(description="Exact to the cent: read it as a decimal")
    currency: Literal[CURRENCIES]
    stage: Literal[DEAL_STAGES] = Field(description="The kind of the deal's stage")
    stage_id: int
    reason_id: int | None = Field(description="The won/lost reason (won or lost deals only)")
    reason: str | None = Field(description="The reason's name (also of a reason deleted since)")
    reason_note: str


class _ProjectFields(_LinkedFields):
    status: Literal[PROJECT_STATUSES]
    start_date: date | None


class CompanyFull(_Full, _CompanyFields):
    type: Literal["company"]


class PersonFull(_Full, _PersonFields):
    type: Literal["person"]


class DealFull(_Full, _DealFields):
    type: Literal["deal"]


class ProjectFull(_Full, _ProjectFields):
    type: Literal["project"]


class CompanyRestricted(_Restricted):
    type: Literal["company"]
    name: str


class PersonRestricted(_Restricted):
    type: Literal["person"]
    first_name: str
    last_name: str


class DealRestricted(_Restricted):
    type: Literal["deal"]
    name: str


class ProjectRestricted(_Restricted):
    type: Literal["project"]
    name: str


class _Elsewhere(Output):
    """A record its creator just put in a group they are not a member of (the type's default group,
    Settings -> Gruppen): it is gone from their view, so the answer says no more than where it went."""

    id: int
    access: Literal["hidden"]
    group: GroupRef


class CompanyElsewhere(_Elsewhere):
    type: Literal["company"]


class PersonElsewhere(_Elsewhere):
    type: Literal["person"]


class DealElsewhere(_Elsewhere):
    type: Literal["deal"]


class ProjectElsewhere(_Elsewhere):
    type: Literal["project"]


FULL_OUT: dict[str, type[Output]] = {
    "company": CompanyFull, "person": PersonFull, "deal": DealFull, "project": ProjectFull}
RESTRICTED_OUT: dict[str, type[Output]] = {
    "company": CompanyRestricted, "person": PersonRestricted, "deal": DealRestricted, "project": ProjectRestricted}
ELSEWHERE_OUT: dict[str, type[Output]] = {
    "company": CompanyElsewhere, "person": PersonElsewhere, "deal": DealElsewhere, "project": ProjectElsewhere}


def dump(model: type[Output], data: dict) -> dict:
    """``data`` checked against an output model, as JSON values."""
    return model.model_validate(data).model_dump(mode="json")
