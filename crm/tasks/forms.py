from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import Optional

from ..auth.services import active_users
from ..forms_common import IsoDateField, Strip


def _optional_int(value):
    if value in (None, "", "None"):
        return None
    return int(value)


class TaskForm(FlaskForm):
    """The HTML adapter of :class:`~.schemas.TaskInput`: the rules are the model's and the service's."""

    title = StringField(_l("Task"), filters=[Strip], render_kw={"required": True})
    due_date = IsoDateField(_l("Due"), validators=[Optional()])
    assignee_id = SelectField(_l("Assignee"), coerce=_optional_int, validate_choice=False)
    record_type = HiddenField()
    record_id = HiddenField()

    def to_input(self) -> dict:
        return {"title": self.title.data or "", "due_date": self.due_date.data,
                "assignee_id": self.assignee_id.data}


def task_form(**kwargs) -> TaskForm:
    """The task form with the active users to assign to."""
    form = TaskForm(**kwargs)
    form.assignee_id.choices = [(None, "—")] + [(u.id, u.name) for u in active_users()]
    return form


#: the headings of the open task list's groups (:data:`.services.GROUPS`)
GROUP_LABELS = {"overdue": _l("Overdue"), "today": _l("Today"), "this_week": _l("This week"),
                "later": _l("Later"), "no_date": _l("No due date")}
