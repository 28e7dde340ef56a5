"""The settings form of a deal stage: the HTML adapter only (the rules are
:mod:`crm.stages.services`')."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import Optional

from ..forms_common import Strip
from ..records.types import DEAL_STAGE_LABELS


class StageForm(FlaskForm):
    name = StringField(_l("Name"), filters=[Strip])
    probability = IntegerField(_l("Probability (%)"), validators=[Optional()],
                               description=_l("The share of an open deal's value the weighted forecast counts"),
                               render_kw={"min": 0, "max": 100, "inputmode": "numeric"})
    kind = SelectField(_l("Kind"), choices=list(DEAL_STAGE_LABELS.items()), validate_choice=False,
                       description=_l("Fixed once the stage exists"))
