"""Reading a record's change history, for the record page and the API.

Only for a record the viewer fully sees (the caller loaded it with ``write=True``; the safety
net's declaration of :class:`RecordEvent` says the same). A value that names another record - a
linked company or person - is shown by that record's name only while the viewer fully sees it;
otherwise it is ``hidden`` (no name, no id), like a link to a hidden record on the record page.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..auth.models import User
from ..customfields.models import CustomField
from ..extensions import db
from ..records.types import DEAL_STAGE_LABELS, PROJECT_STATUS_LABELS, TYPES, RecordType, display_name_column
from ..stages.models import DealReason
from ..visibility import Viewer, criteria_for, fully_visible_to
from .models import CUSTOM_PREFIX, RecordEvent

#: the most events a record's history shows (newest first)
LIMIT = 100

FIELD_LABELS = {
    "group": _l("Responsible group"), "responsible_id": _l("Responsible"), "tags": _l("Tags"),
    "name": _l("Name"), "website": _l("Website"), "emails": _l("Email addresses"),
    "phones": _l("Phone numbers"), "addresses": _l("Addresses"), "background": _l("Background"),
    "salutation": _l("Salutation"), "title": _l("Title"), "first_name": _l("First name"),
    "last_name": _l("Last name"), "company_id": _l("Company"), "person_id": _l("Person"),
    "position": _l("Position"), "value": _l("Value"), "currency": _l("Currency"), "stage": _l("Stage"),
    "target_date": _l("Target date"), "description": _l("Description"), "status": _l("Status"),
    "start_date": _l("Start"),
    "reason_id": _l("Reason"), "reason_note": _l("Note on the reason"),
}
CHOICE_LABELS = {"stage": DEAL_STAGE_LABELS, "status": PROJECT_STATUS_LABELS}
#: fields whose value is another record's id, by that record's type
REFERENCES = {"company_id": "company", "person_id": "person"}


@dataclass(frozen=True)
class Change:
    field: str  # the stored name: a record field, "group", "tags" or "custom:<id>"
    label: str
    old: str | None
    new: str | None
    #: the value names a record the viewer does not fully see: shown as a placeholder only
    old_hidden: bool = False
    new_hidden: bool = False


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    kind: str
    who: str | None
    changes: list[Change]


def history_of(rtype: RecordType, record_id: int, viewer: Viewer, limit: int = LIMIT) -> list[Entry]:
    """The events of a record the viewer fully sees, newest first (three statements: the events
    with their authors, their fields, the names the values need)."""
    fk = getattr(RecordEvent, f"{rtype.key}_id")
    events = list(db.session.scalars(
        select(RecordEvent).where(fk == record_id, criteria_for(RecordEvent, viewer))
        .order_by(RecordEvent.at.desc(), RecordEvent.id.desc()).limit(limit)
    ))
    names = _names([f for e in events for f in e.fields], viewer)
    return [Entry(e.id, e.at, e.kind, e.actor.name if e.actor else None,
                  [_change(f.field, f.old, f.new, names) for f in e.fields]) for e in events]


def _names(fields, viewer: Viewer) -> dict:
    """Names for the values that are ids: ``(kind, id) -> name`` (kind: a record type key, "user"
    or "custom"); a record only if the viewer fully sees it."""
    wanted: dict[str, set[int]] = {}
    for f in fields:
        kind = REFERENCES.get(f.field) or {"responsible_id": "user", "reason_id": "reason"}.get(f.field)
        if kind:
            wanted.setdefault(kind, set()).update(int(v) for v in (f.old, f.new) if v and v.isdigit())
        elif f.field.startswith(CUSTOM_PREFIX):
            wanted.setdefault("custom", set()).add(int(f.field[len(CUSTOM_PREFIX):]))
    out: dict = {}
    for kind, ids in wanted.items():
        if kind == "user":
            stmt = select(User.id, User.name).where(User.id.in_(ids))
        elif kind == "custom":
            stmt = select(CustomField.id, CustomField.name).where(CustomField.id.in_(ids))
        elif kind == "reason":  # a deal's won/lost reason: the team's vocabulary, by name
            stmt = select(DealReason.id, DealReason.name).where(DealReason.id.in_(ids))
        else:
            model = TYPES[kind].model
            stmt = select(model.id, display_name_column(TYPES[kind])).where(
                model.id.in_(ids), fully_visible_to(model, viewer))
        out.update({(kind, i): name for i, name in db.session.execute(stmt)})
    return out


def _change(field: str, old: str | None, new: str | None, names: dict) -> Change:
    if field.startswith(CUSTOM_PREFIX):
        label = names.get(("custom", int(field[len(CUSTOM_PREFIX):])), str(_l("Deleted field")))
        return Change(field, label, old, new)
    label = str(FIELD_LABELS.get(field, field))
    if field == "reason_id":
        old, new = (names.get(("reason", int(v)), v) if v and v.isdigit() else v for v in (old, new))
        return Change(field, label, old, new)
    kind = REFERENCES.get(field) or ("user" if field == "responsible_id" else None)
    if kind:
        def show(v):
            name = names.get((kind, int(v))) if v and v.isdigit() else None
            return name, v is not None and name is None

        (o, oh), (n, nh) = show(old), show(new)
        return Change(field, label, o, n, oh, nh)
    if field in CHOICE_LABELS:
        old, new = (str(CHOICE_LABELS[field].get(v, v)) if v else v for v in (old, new))
    return Change(field, label, old, new)
