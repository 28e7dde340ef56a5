from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..forms_common import NoControlChars, Strip

KIND_LABELS = {"note": _l("Note"), "call": _l("Call"), "email": _l("Email"), "meeting": _l("Meeting")}


class NoteForm(FlaskForm):
    body = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=20000), NoControlChars()],
                         filters=[Strip])
    kind = SelectField(_l("Kind"), choices=list(KIND_LABELS.items()), default="note")
    occurred_at = DateTimeLocalField(_l("When"), validators=[Optional()], format="%Y-%m-%dT%H:%M")
