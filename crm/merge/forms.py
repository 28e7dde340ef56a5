"""The merge page's picker of the other record (a GET form: it only chooses what to compare)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField


class PickForm(FlaskForm):
    class Meta:
        csrf = False  # (sent by GET: it changes nothing)

    other_id = HiddenField(_l("Merge with"))
