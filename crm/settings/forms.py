from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms_common import NoControlChars, Strip

ROLE_LABELS = {"admin": _l("Admin"), "extended": _l("Extended"), "normal": _l("Normal")}
ENTITY_LABELS = {"company": _l("Companies"), "person": _l("People"), "deal": _l("Deals"), "project": _l("Projects")}
KIND_LABELS = {"text": _l("Text"), "number": _l("Number"), "date": _l("Date"), "select": _l("Selection"),
               "url": _l("Web address")}


def _optional_int(value):
    if value in (None, "", "None"):
        return None
    return int(value)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AccountForm(FlaskForm):
    name = StringField(_l("Account name"), validators=[DataRequired(), Length(max=120), NoControlChars()],
                       filters=[Strip])


class ExtensionsForm(FlaskForm):
    groups_enabled = BooleanField(_l("Group system"))


class UserForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120), NoControlChars()], filters=[Strip])
    email = StringField(_l("Email"), validators=[DataRequired(), Length(max=254), Email(
        message=_l("Not an email address."))], filters=[Strip])
    role = SelectField(_l("Role"), choices=list(ROLE_LABELS.items()), default="normal")
    locale = SelectField(_l("Language"), choices=[("", _l("As the browser says")), ("de", "Deutsch"),
                                                  ("en", "English")], validators=[Optional()])
    default_group_id = SelectField(_l("Default group for new records"), coerce=_optional_int,
                                   validate_choice=True)
    groups = MultiCheckboxField(_l("Groups"), coerce=int, validate_choice=True)
    password = PasswordField(_l("Password"), validators=[Optional(), Length(min=8, max=500)],
                             description=_l("Leave empty to keep the password."))
    active = BooleanField(_l("Active (may log in)"), default=True)


class GroupForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80), NoControlChars()], filters=[Strip])
    members = MultiCheckboxField(_l("Members"), coerce=int, validate_choice=True)


class GroupDeleteForm(FlaskForm):
    move_to = SelectField(_l("Move its records to"), coerce=_optional_int, validate_choice=True)


class FieldForm(FlaskForm):
    entity = SelectField(_l("Record type"), choices=list(ENTITY_LABELS.items()))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80), NoControlChars()], filters=[Strip])
    kind = SelectField(_l("Kind"), choices=list(KIND_LABELS.items()))
    options = TextAreaField(_l("Options"), description=_l("For selections: one option per line"),
                            validators=[Optional(), Length(max=5000)])
    shared_with = MultiCheckboxField(
        _l("Shared with groups"), coerce=int, validate_choice=True,
        description=_l("Members of these groups see this field (with the record's name and group) "
                       "on records they may not otherwise see."))
