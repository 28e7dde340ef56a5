from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectField, TextAreaField
from wtforms.validators import Optional

from ..forms_common import Strip
from .services import local_time

KIND_LABELS = {"note": _l("Note"), "call": _l("Call"), "email": _l("Email"), "meeting": _l("Meeting")}


class NoteForm(FlaskForm):
    """The HTML adapter of :class:`~.schemas.NoteInput`: the rules are the model's."""

    body = TextAreaField(_l("Note"), filters=[Strip], render_kw={"required": True})
    kind = SelectField(_l("Kind"), choices=list(KIND_LABELS.items()), default="note", validate_choice=False)
    occurred_at = DateTimeLocalField(_l("When"), validators=[Optional()], format="%Y-%m-%dT%H:%M")

    def to_input(self) -> dict:
        """What the user typed, parsed (a local time with the account's time zone)."""
        return {"body": self.body.data or "", "kind": self.kind.data,
                "occurred_at": local_time(self.occurred_at.data)}


class NoteEditForm(NoteForm):
    """The same fields, to change a note (:class:`~.schemas.NotePatch`): the time stays what it was
    when it is left empty."""

    def to_patch(self) -> dict:
        data = self.to_input()
        if data["occurred_at"] is None:
            del data["occurred_at"]
        return data
