from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField

from ..records.types import TYPES
from .mapping import IMPORTABLE


class UploadForm(FlaskForm):
    record_type = RadioField(_l("What the file holds"), default="company",
                             choices=[(k, TYPES[k].label_plural) for k in IMPORTABLE])
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a file."))],
                     description=_l("Comma or semicolon separated, UTF-8 or Windows encoding (as Excel saves it). "
                                    "The first line names the columns."))
