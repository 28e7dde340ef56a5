"""The HTML adapters of the administration pages: WTForms parse what a browser posts (and render
the fields); every rule - lengths, choices, unique names, passwords - is the input models' and
services' (crm/users, crm/groups, crm/customfields), whose refusals the pages put on these forms."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms_common import Strip
from ..schematypes import PASSWORD_MIN

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
    name = StringField(_l("Account name"), filters=[Strip])


class ExtensionsForm(FlaskForm):
    groups_enabled = BooleanField(_l("Group system"))


class UserForm(FlaskForm):
    """A new user's form; :class:`UserEditForm` for an existing one."""

    name = StringField(_l("Name"), filters=[Strip])
    email = StringField(_l("Email"), filters=[Strip])
    role = SelectField(_l("Role"), choices=list(ROLE_LABELS.items()), default="normal", validate_choice=False)
    locale = SelectField(_l("Language"), choices=[("", _l("As the browser says")), ("de", "Deutsch"),
                                                  ("en", "English")], validate_choice=False)
    default_group_id = SelectField(_l("Default group for new records"), coerce=_optional_int,
                                   validate_choice=False)
    groups = MultiCheckboxField(_l("Groups"), coerce=int, validate_choice=False)
    password = PasswordField(_l("Password"), description=_l("At least %(n)d characters.", n=PASSWORD_MIN))
    active = BooleanField(_l("Active (may log in)"), default=True)


class UserEditForm(UserForm):
    password = PasswordField(_l("Password"), description=_l("Leave empty to keep the password."))


class GroupForm(FlaskForm):
    name = StringField(_l("Name"), filters=[Strip])
    members = MultiCheckboxField(_l("Members"), coerce=int, validate_choice=False)


class GroupDeleteForm(FlaskForm):
    move_to = SelectField(_l("Move its records to"), coerce=_optional_int, validate_choice=False)


class FieldForm(FlaskForm):
    entity = SelectField(_l("Record type"), choices=list(ENTITY_LABELS.items()), validate_choice=False)
    name = StringField(_l("Name"), filters=[Strip])
    kind = SelectField(_l("Kind"), choices=list(KIND_LABELS.items()), validate_choice=False)
    options = TextAreaField(_l("Options"), description=_l("For selections: one option per line"))
    shared_with = MultiCheckboxField(
        _l("Shared with groups"), coerce=int, validate_choice=False,
        description=_l("Members of these groups see this field (with the record's name and group) "
                       "on records they may not otherwise see."))
