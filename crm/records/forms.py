"""WTForms for the four record types, with the custom fields of the type added per request: the
HTML adapter of the input models (:mod:`.schemas`). A form only parses what the user typed into
Python values - dates, numbers in the user's language (Babel, strict), lists from lines - and
:func:`form_input` hands them to the model; every rule is the model's or the service's, and their
refusals come back onto the form (:func:`crm.errors.apply_to_form` with :func:`error_names`). The
browser hints (``maxlength``, ``required``) are read from the model (:func:`_hints`).
"""
from __future__ import annotations

from functools import cache

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from ..common import to_id
from ..customfields.models import CustomField
from ..decimals import DecimalError, format_typed, parse_typed
from ..forms_common import IsoDateField, Strip, lines
from ..i18n import ui_locale
from ..stages.models import REASON_OUTCOMES
from ..stages.queries import all_stages, reasons
from .schemas import CREATE, PLAIN_FIELDS
from .types import CURRENCIES, DEAL_STAGE_LABELS, PROJECT_STATUS_LABELS, RecordType


def _optional_int(value):
    if value in (None, "", "None"):
        return None
    return int(value)


class LocalDecimalField(StringField):
    """A number typed the German way ("1.234,50") or the English way ("1234.50"), read strictly by
    Babel (:func:`crm.decimals.parse_typed`: ``parse_decimal(..., strict=True)``); its scale and
    range are the input model's rule (refused, never rounded). Shown to edit in the UI's language."""

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        try:
            self.data = parse_typed(valuelist[0], ui_locale())
        except DecimalError:
            # no number in either language: the text goes to the input model as typed, which
            # refuses it with the API's words (a JSON-style number such as "1e3" it takes)
            self.data = valuelist[0].strip()

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return format_typed(self.data, ui_locale())


class _Unchanged:
    """The type of :data:`UNCHANGED`."""

    def __repr__(self) -> str:
        return "UNCHANGED"


#: A link field's value meaning "keep the link as it is". The forms send it for a link whose target
#: the user does not fully see: such a target's id is never sent to the user (product.md §8), so
#: the form cannot send it back, and saving the form must not drop the link (:func:`form_input`
#: leaves such a field out of the input).
UNCHANGED = _Unchanged()


class RecordIdField(HiddenField):
    """The id of a linked record, chosen with the picker next to it. A link to a record the user
    does not fully see carries no id but :data:`UNCHANGED` (sent as ``unchanged``): the service
    keeps the link as it is."""

    KEEP = "unchanged"

    def process_formdata(self, valuelist):
        raw = valuelist[0].strip() if valuelist else ""
        self.data = None
        if raw == self.KEEP:
            self.data = UNCHANGED
        elif raw:
            self.data = to_id(raw)
            if self.data is None:
                raise ValueError(_l("There is no such record."))

    def _value(self):
        if self.data is UNCHANGED:
            return self.KEEP
        return "" if self.data is None else str(self.data)


class LinesField(TextAreaField):
    """One entry per line (emails, phones)."""

    def process_data(self, value):
        self.data = list(value) if isinstance(value, (list, tuple)) else []

    def process_formdata(self, valuelist):
        self.data = lines(valuelist[0]) if valuelist else []

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "\n".join(self.data or [])


class BlocksField(TextAreaField):
    """Entries separated by an empty line (postal addresses)."""

    def process_data(self, value):
        self.data = list(value) if isinstance(value, (list, tuple)) else []

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").replace("\r\n", "\n")
        self.data = [b.strip() for b in text.split("\n\n") if b.strip()]

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "\n\n".join(self.data or [])


class TagsField(StringField):
    def process_data(self, value):
        # from the record (a form posted without the field falls back to it): Tag objects -> names
        self.data = [getattr(t, "name", t) for t in value] if isinstance(value, (list, tuple)) else []

    def process_formdata(self, valuelist):
        text = valuelist[0] if valuelist else ""
        self.data = [t.strip() for t in text.split(",") if t.strip()]

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return ", ".join(self.data or [])


class RecordForm(FlaskForm):
    version = HiddenField()
    #: the values the edit form started from, one digest per field (``pages.base_token``): after
    #: an edit conflict, a field only the other user changed takes their value
    base = HiddenField()
    group_id = SelectField(_l("Responsible group"), coerce=_optional_int, validate_choice=False)
    responsible_id = SelectField(_l("Responsible"), coerce=_optional_int, validate_choice=False)
    tags = TagsField(_l("Tags"), description=_l("Separated by commas"))


class CompanyForm(RecordForm):
    name = StringField(_l("Name"), filters=[Strip])
    website = StringField(_l("Website"), filters=[Strip])
    emails = LinesField(_l("Email addresses"), description=_l("One per line"))
    phones = LinesField(_l("Phone numbers"), description=_l("One per line"))
    addresses = BlocksField(_l("Addresses"), description=_l("Separate addresses by an empty line"))
    background = TextAreaField(_l("Background"), filters=[Strip])


class PersonForm(RecordForm):
    salutation = SelectField(_l("Salutation"), default="", validate_choice=False, choices=[
        ("", "—"), ("Frau", _l("Ms")), ("Herr", _l("Mr")), ("Divers", _l("Mx"))])
    title = StringField(_l("Title"), filters=[Strip])
    first_name = StringField(_l("First name"), filters=[Strip])
    last_name = StringField(_l("Last name"), filters=[Strip])
    company_id = RecordIdField(_l("Company"))
    position = StringField(_l("Position"), filters=[Strip])
    emails = CompanyForm.emails
    phones = CompanyForm.phones
    addresses = CompanyForm.addresses
    background = TextAreaField(_l("Background"), filters=[Strip])


class DealForm(RecordForm):
    name = StringField(_l("Name"), filters=[Strip])
    value = LocalDecimalField(_l("Value"), validators=[Optional()])
    currency = SelectField(_l("Currency"), choices=[(c, c) for c in CURRENCIES], default="EUR",
                           validate_choice=False)
    stage_id = SelectField(_l("Stage"), coerce=_optional_int, validate_choice=False)
    # (shown for a won or lost stage only: app.css, by the stage option's data-kind)
    reason_id = SelectField(_l("Reason"), coerce=_optional_int, validate_choice=False,
                            description=_l("Why the deal was won or lost"))
    reason_note = TextAreaField(_l("Note on the reason"), filters=[Strip])
    target_date = IsoDateField(_l("Target date"), validators=[Optional()])
    company_id = RecordIdField(_l("Company"))
    person_id = RecordIdField(_l("Person"))
    description = TextAreaField(_l("Description"), filters=[Strip])


class ProjectForm(RecordForm):
    name = StringField(_l("Name"), filters=[Strip])
    status = SelectField(_l("Status"), choices=list(PROJECT_STATUS_LABELS.items()), default="planned",
                         validate_choice=False)
    start_date = IsoDateField(_l("Start"), validators=[Optional()])
    target_date = IsoDateField(_l("Target date"), validators=[Optional()])
    company_id = RecordIdField(_l("Company"))
    person_id = RecordIdField(_l("Person"))
    description = TextAreaField(_l("Description"), filters=[Strip])


FORMS = {"company": CompanyForm, "person": PersonForm, "deal": DealForm, "project": ProjectForm}
#: form field -> input key (the same names the API uses)
FIELD_ORDER = PLAIN_FIELDS


def custom_field(field: CustomField) -> Field:
    label = field.name
    if field.kind == "number":
        return LocalDecimalField(label, validators=[Optional()])
    if field.kind == "date":
        return IsoDateField(label, validators=[Optional()])
    if field.kind == "select":  # not sent: empty, as "—"
        return SelectField(label, choices=[("", "—")] + [(o, o) for o in field.options or []],
                           validate_choice=False, default="")
    return StringField(label, filters=[Strip])


def _hints(rtype: RecordType) -> dict[str, dict]:
    """The browser hints of each field (``maxlength``, ``required``), read from the create model."""
    return _hints_of(rtype.key)


@cache
def _hints_of(key: str) -> dict[str, dict]:
    """(Once per record type and process: the model's JSON schema costs more than the rest of a
    form, and an import builds one form per row. The result is only read.)"""
    schema = CREATE[key].model_json_schema()
    out: dict[str, dict] = {}
    for name, prop in schema["properties"].items():
        options = [prop, *prop.get("anyOf", [])]
        hint = {}
        for option in options:
            if "maxLength" in option:
                hint["maxlength"] = option["maxLength"]
        if name in schema.get("required", ()):
            hint["required"] = True
        if hint:
            out[name] = hint
    return out


def form_class(rtype: RecordType, fields: list[CustomField]) -> type[RecordForm]:
    """The form class of ``rtype`` plus its custom fields (made once for many forms: an import)."""
    attrs = {f"cf_{f.id}": custom_field(f) for f in fields}
    return type(f"{rtype.key.title()}Form", (FORMS[rtype.key],), attrs)


def build_form(rtype: RecordType, fields: list[CustomField], *, groups, users, groups_enabled: bool,
               cls: type[RecordForm] | None = None, **kwargs) -> RecordForm:
    """The form of ``rtype`` plus its custom fields, with choices and browser hints filled in."""
    form = (cls or form_class(rtype, fields))(**kwargs)
    form.custom_fields = fields
    form.custom_field_names = [f"cf_{f.id}" for f in fields]
    form.group_id.choices = [(g.id, g.name) for g in groups]
    # While the group system is off the field is not shown, but a group sent anyway still reaches
    # the record service, which refuses a change of group (GroupsOff) instead of ignoring it; its
    # message then goes on top of the form.
    form.offers_group = groups_enabled
    form.group_id.hidden_from_user = not groups_enabled
    if rtype.key == "deal":
        stages = all_stages()
        form.stage_id.choices = [(s.id, s.name, {"data-kind": s.kind}) for s in stages]
        if form.stage_id.data is None:  # a new deal: the first open stage
            form.stage_id.data = next((s.id for s in stages if s.kind == "open"), None)
        form.reason_id.choices = reason_choices(form.reason_id.data)
    form.responsible_id.choices = [(None, "—")] + [(u.id, u.name) for u in users]
    for name, hint in _hints(rtype).items():
        field = getattr(form, name, None)
        if field is not None and name not in ("group_id", "responsible_id"):
            field.render_kw = {**(field.render_kw or {}), **hint}
    return form


def reason_choices(current: int | None) -> dict:
    """The won/lost reasons by outcome (the select's groups), with "—" first; a deal's current
    reason stays offered after it was deleted (so saving the form keeps it)."""
    out: dict = {"": [(None, "—")]}
    for reason in reasons(retired=True):
        if reason.retired_at is None or reason.id == current:
            out.setdefault(str(DEAL_STAGE_LABELS[reason.outcome]), []).append((reason.id, reason.name))
    return out


def form_input(rtype: RecordType, form: RecordForm) -> dict:
    """What the form parsed, as the input of the record's model (API names). A link kept as it is
    (:data:`UNCHANGED`) is left out, so the service does not touch it. A deal's reason fields are
    not shown for an open stage, so then they are not sent either (the service clears them)."""
    data = {name: getattr(form, name).data for name in FIELD_ORDER[rtype.key]}
    data = {k: v for k, v in data.items() if v is not UNCHANGED}
    if rtype.key == "deal":
        kinds = {c[0]: c[2].get("data-kind") for c in form.stage_id.choices or []}
        if kinds.get(form.stage_id.data) not in REASON_OUTCOMES:
            data.pop("reason_id", None)
            data.pop("reason_note", None)
    data["tags"] = form.tags.data
    data["responsible_id"] = form.responsible_id.data
    if form.group_id.data is not None:  # not sent (the group system is off): the default / unchanged
        data["group_id"] = form.group_id.data
    data["custom_fields"] = {f.name: getattr(form, f"cf_{f.id}").data for f in form.custom_fields}
    return data


def error_names(form: RecordForm) -> dict[str, str]:
    """Input names of a refusal -> the form's field names (custom fields by id)."""
    return {f"custom_fields.{f.name}": f"cf_{f.id}" for f in form.custom_fields}
