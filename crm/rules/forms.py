"""The settings form of an assignment rule: the HTML adapter only (the rules about rules are
:mod:`crm.rules.services`'). A rule has up to :data:`ROWS` condition rows; a row without a kind is
left out."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, Form, FormField, SelectField, StringField

from ..forms_common import Strip
from ..records.types import TYPES
from .models import RULE_TYPES

#: how many condition rows the form shows
ROWS = 4

CONDITION_LABELS = {
    "postcode": _l("Postcode (prefixes or ranges)"),
    "country": _l("Country"),
    "city": _l("City"),
    "tag": _l("Tag"),
    "field": _l("Custom field"),
    "creator_group": _l("Creator's group"),
    "import": _l("Imported (file name contains)"),
}


def _optional_id(value):
    return int(value) if value not in (None, "") and str(value).isdigit() else None


class ConditionForm(Form):
    kind = SelectField(_l("Condition"), choices=[("", "—"), *CONDITION_LABELS.items()], validate_choice=False)
    value = StringField(_l("Value"), filters=[Strip])
    field_id = SelectField(_l("Custom field"), coerce=_optional_id, validate_choice=False)
    group_id = SelectField(_l("Group"), coerce=_optional_id, validate_choice=False)


class RuleForm(FlaskForm):
    record_type = SelectField(_l("Record type"), choices=[(k, TYPES[k].label_plural) for k in RULE_TYPES],
                              validate_choice=False)
    name = StringField(_l("Name"), filters=[Strip])
    conditions = FieldList(FormField(ConditionForm), min_entries=ROWS, max_entries=ROWS)
    group_id = SelectField(_l("Target group"), coerce=_optional_id, validate_choice=False)
    follow = BooleanField(_l("The company's people, deals and projects follow"), description=_l(
        "Takes effect when the rules are applied to the company (when it is created or imported, and on "
        "“Apply to existing records”), not when a person, deal or project is added to it later."))

    def set_choices(self, groups, fields) -> None:
        self.group_id.choices = [(g.id, g.name) for g in groups]
        for row in self.conditions:
            row.field_id.choices = [("", "—")] + [(f.id, f"{TYPES[f.entity].label}: {f.name}") for f in fields]
            row.group_id.choices = [("", "—")] + [(g.id, g.name) for g in groups]

    def condition_data(self) -> list[dict]:
        """The rows that name a kind, as the service's input takes them."""
        out = []
        for row in self.conditions:
            if not row.kind.data:
                continue
            item = {"kind": row.kind.data, "value": row.value.data or ""}
            if row.kind.data == "field":
                item["field_id"] = row.field_id.data
            if row.kind.data == "creator_group":
                item["group_id"] = row.group_id.data
            out.append(item)
        return out

    def fill(self, rule) -> None:
        """Show a rule's conditions in the rows."""
        for row, cond in zip(self.conditions, rule.conditions, strict=False):
            row.kind.data, row.value.data = cond.get("kind"), cond.get("value", "")
            row.field_id.data, row.group_id.data = cond.get("field_id"), cond.get("group_id")
