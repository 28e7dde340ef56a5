"""Helpers shared by the WTForms forms of several features."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import DateField
from wtforms.validators import ValidationError

from .common import CONTROL_CHARS as _CONTROL
from .common import has_control_chars  # noqa: F401  (the forms' name for it)


def Strip(value):
    """Trim whitespace and drop control characters (but keep line breaks and tabs)."""
    if isinstance(value, str):
        return _CONTROL.sub("", value).strip()
    return value


class NoControlChars:
    def __call__(self, form, field):
        if isinstance(field.data, str) and _CONTROL.search(field.data):
            raise ValidationError(_l("Contains characters that cannot be stored."))


def lines(text: str | None) -> list[str]:
    return [ln.strip() for ln in (text or "").splitlines() if ln.strip()]



class IsoDateField(DateField):
    """A date as the browser's date input sends it (``YYYY-MM-DD``). Text that is no date is kept
    as it was typed, so the input model refuses it with the same message the API gives."""

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if text:
            try:
                self.data = date.fromisoformat(text) if len(text) == 10 else text
            except ValueError:
                self.data = text
