from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ..auth.services import active_users
from ..forms_common import NoControlChars, Strip


def _optional_int(value):
    if value in (None, "", "None"):
        return None
    return int(value)


class TaskForm(FlaskForm):
    title = StringField(_l("Task"), validators=[DataRequired(), Length(max=200), NoControlChars()],
                        filters=[Strip])
    due_date = DateField(_l("Due"), validators=[Optional()])
    assignee_id = SelectField(_l("Assignee"), coerce=_optional_int, validate_choice=True)
    record_type = HiddenField()
    record_id = HiddenField()


def task_form(**kwargs) -> TaskForm:
    """A task form whose assignee choices are the active users (and nobody)."""
    form = TaskForm(**kwargs)
    form.assignee_id.choices = [(None, "—")] + [(u.id, u.name) for u in active_users()]
    return form
