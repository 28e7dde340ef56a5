"""WTForms for the four record types, with the custom fields of the type added per request."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from email_validator import EmailNotValidError, validate_email
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, Field, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import URL, DataRequired, Length, Optional, ValidationError

from ..common import to_id
from ..customfields.models import CUSTOM_NUMBER, CustomField
from ..decimals import DecimalError, DecimalRule, format_typed, parse_typed
from ..forms_common import NoControlChars, Strip, lines
from .services import UNCHANGED
from .types import CURRENCIES, DEAL_STAGE_LABELS, DEAL_VALUE, PROJECT_STATUS_LABELS, RecordType


def _optional_int(value):
    if value in (None, "", "None"):
        return None
    return int(value)


class LocalDecimalField(StringField):
    """A number typed the German way ("1.234,50") or the English way ("1234.50"), read strictly by
    Babel (:func:`crm.decimals.parse_typed`) and checked against ``rule`` (scale and range): a
    number the field cannot keep is refused, never rounded. Shown to edit in the UI's language."""

    def __init__(self, *args, rule: DecimalRule, **kwargs):
        super().__init__(*args, **kwargs)
        self.rule = rule

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or not valuelist[0].strip():
            return
        self.raw = valuelist[0]
        try:
            self.data = self.rule.check(parse_typed(valuelist[0], _locale()))
        except DecimalError as err:
            raise ValueError(str(err)) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return format_typed(self.data, _locale())


def _locale() -> str:
    return str(get_locale() or "de")


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


def _emails(form, field):
    for item in field.data or []:
        if len(item) > 254:
            raise ValidationError(_l("An address is too long: %(a)s", a=item[:40]))
        try:
            validate_email(item, check_deliverability=False)
        except EmailNotValidError:
            raise ValidationError(_l("Not an email address: %(a)s", a=item)) from None


def _max_items(n, length):
    def check(form, field):
        if len(field.data or []) > n:
            raise ValidationError(_l("At most %(n)d entries.", n=n))
        for item in field.data or []:
            if len(item) > length:
                raise ValidationError(_l("An entry is longer than %(n)d characters.", n=length))
    return check


TEXT = [Optional(), Length(max=20000), NoControlChars()]


class RecordForm(FlaskForm):
    version = HiddenField()
    group_id = SelectField(_l("Responsible group"), coerce=int, validate_choice=True)
    responsible_id = SelectField(_l("Responsible"), coerce=_optional_int, validate_choice=True)
    tags = TagsField(_l("Tags"), description=_l("Separated by commas"),
                     validators=[_max_items(50, 60)])


class CompanyForm(RecordForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)], filters=[Strip])
    website = StringField(_l("Website"), validators=[Optional(), Length(max=300), URL(
        require_tld=False, message=_l("Not a web address (http:// or https://)."))], filters=[Strip])
    emails = LinesField(_l("Email addresses"), description=_l("One per line"),
                        validators=[_max_items(20, 254), _emails])
    phones = LinesField(_l("Phone numbers"), description=_l("One per line"), validators=[_max_items(20, 60)])
    addresses = BlocksField(_l("Addresses"), description=_l("Separate addresses by an empty line"),
                            validators=[_max_items(10, 500)])
    background = TextAreaField(_l("Background"), validators=TEXT, filters=[Strip])


class PersonForm(RecordForm):
    # optional: not sent (an API create, an import without the column) is "" like "—" chosen
    salutation = SelectField(_l("Salutation"), default="", choices=[
        ("", "—"), ("Frau", _l("Ms")), ("Herr", _l("Mr")), ("Divers", _l("Mx"))])
    title = StringField(_l("Title"), validators=[Optional(), Length(max=60)], filters=[Strip])
    first_name = StringField(_l("First name"), validators=[Optional(), Length(max=100)], filters=[Strip])
    last_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=100)], filters=[Strip])
    company_id = RecordIdField(_l("Company"))
    position = StringField(_l("Position"), validators=[Optional(), Length(max=120)], filters=[Strip])
    emails = CompanyForm.emails
    phones = CompanyForm.phones
    addresses = CompanyForm.addresses
    background = TextAreaField(_l("Background"), validators=TEXT, filters=[Strip])


class DealForm(RecordForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)], filters=[Strip])
    value = LocalDecimalField(_l("Value"), validators=[Optional()], rule=DEAL_VALUE)
    currency = SelectField(_l("Currency"), choices=[(c, c) for c in CURRENCIES], default="EUR")
    stage = SelectField(_l("Stage"), choices=list(DEAL_STAGE_LABELS.items()), default="open")
    target_date = DateField(_l("Target date"), validators=[Optional()])
    company_id = RecordIdField(_l("Company"))
    person_id = RecordIdField(_l("Person"))
    description = TextAreaField(_l("Description"), validators=TEXT, filters=[Strip])


class ProjectForm(RecordForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)], filters=[Strip])
    status = SelectField(_l("Status"), choices=list(PROJECT_STATUS_LABELS.items()), default="planned")
    start_date = DateField(_l("Start"), validators=[Optional()])
    target_date = DateField(_l("Target date"), validators=[Optional()])
    company_id = RecordIdField(_l("Company"))
    person_id = RecordIdField(_l("Person"))
    description = TextAreaField(_l("Description"), validators=TEXT, filters=[Strip])

    def validate_target_date(self, field):
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError(_l("The target date lies before the start."))


FORMS = {"company": CompanyForm, "person": PersonForm, "deal": DealForm, "project": ProjectForm}

#: form field -> service data key (the same names the API uses)
FIELD_ORDER = {
    "company": ("name", "website", "emails", "phones", "addresses", "background"),
    "person": ("salutation", "title", "first_name", "last_name", "company_id", "position", "emails",
               "phones", "addresses", "background"),
    "deal": ("name", "value", "currency", "stage", "target_date", "company_id", "person_id", "description"),
    "project": ("name", "status", "start_date", "target_date", "company_id", "person_id", "description"),
}


def custom_field(field: CustomField) -> Field:
    label = field.name
    if field.kind == "number":
        return LocalDecimalField(label, validators=[Optional()], rule=CUSTOM_NUMBER)
    if field.kind == "date":
        return DateField(label, validators=[Optional()])
    if field.kind == "select":
        return SelectField(label, choices=[("", "—")] + [(o, o) for o in field.options or []],
                           validate_choice=True, default="")  # not sent: empty, as "—"
    if field.kind == "url":
        return StringField(label, validators=[Optional(), Length(max=500), URL(
            require_tld=False, message=_l("Not a web address (http:// or https://)."))], filters=[Strip])
    return StringField(label, validators=[Optional(), Length(max=2000), NoControlChars()], filters=[Strip])


def form_class(rtype: RecordType, fields: list[CustomField]) -> type[RecordForm]:
    """The form class of ``rtype`` plus its custom fields (made once for many forms: an import)."""
    attrs = {f"cf_{f.id}": custom_field(f) for f in fields}
    return type(f"{rtype.key.title()}Form", (FORMS[rtype.key],), attrs)


def build_form(rtype: RecordType, fields: list[CustomField], *, groups, users, groups_enabled: bool,
               cls: type[RecordForm] | None = None, **kwargs) -> RecordForm:
    """The form of ``rtype`` plus its custom fields, with choices filled in."""
    form = (cls or form_class(rtype, fields))(**kwargs)
    form.custom_field_names = [f"cf_{f.id}" for f in fields]
    form.group_id.choices = [(g.id, g.name) for g in groups]
    # While the group system is off the field is not shown, but a group sent anyway still reaches
    # the record service, which refuses a change of group (GroupsOff) instead of ignoring it.
    form.offers_group = groups_enabled
    if not groups_enabled:
        form.group_id.validate_choice = False
    form.responsible_id.choices = [(None, "—")] + [(u.id, u.name) for u in users]
    return form


def form_to_data(rtype: RecordType, form: RecordForm) -> dict:
    data = {name: getattr(form, name).data for name in FIELD_ORDER[rtype.key]}
    data["tags"] = form.tags.data
    data["responsible_id"] = form.responsible_id.data
    data["group_id"] = form.group_id.data
    data["custom_fields"] = {
        int(name[3:]): _custom_raw(getattr(form, name).data) for name in form.custom_field_names
    }
    return data


def _custom_raw(value):
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value or None
