"""Writing a record's change history (:mod:`.models`). The records' services call these in the
transaction of the change itself, so a change and its history land together or not at all.

What a change records: every plain field of the type, the contact details (one line each), the
tags (by name), the responsible user and linked records (by id: the page and the API show a
linked record's name only to who fully sees it, :mod:`.queries`), the group (by name, as it was
then, like the audit log) and the custom fields (``custom:<field id>``, the stored text).
"""
from __future__ import annotations

from sqlalchemy import String, exists, insert, literal, select
from sqlalchemy.orm import aliased

from ..audit.models import AssignmentChange
from ..common import utcnow
from ..customfields.models import CustomFieldValue
from ..extensions import db
from ..groups.models import Group
from ..records.models import MODELS
from ..records.types import RecordType
from ..visibility import Viewer, unscoped
from .models import CUSTOM_PREFIX, FieldChange, RecordEvent

Snapshot = dict[str, "str | None"]

_CONTACT_KINDS = {"emails": "email", "phones": "phone", "addresses": "address"}


def _text(value) -> str | None:
    if value is None or value == "":
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def snapshot(rtype: RecordType, fields: tuple[str, ...], obj, custom: dict[int, str | None] | None = None
             ) -> Snapshot:
    """The record's fields as the history compares them (``fields``: the type's plain fields,
    ``crm.records.schemas.PLAIN_FIELDS``). ``custom``: its custom field values
    (field id -> text) if the caller knows them, else read (one statement; none for a new record)."""
    out: Snapshot = {}
    for name in fields:
        if name in _CONTACT_KINDS:
            kind = _CONTACT_KINDS[name]
            out[name] = _text("\n".join(d.value for d in obj.contact_details if d.kind == kind))
        else:
            out[name] = _text(getattr(obj, name))
    out["responsible_id"] = _text(obj.responsible_id)
    out["tags"] = _text(", ".join(sorted(t.name for t in obj.tags)))
    if custom is None:
        custom = {} if obj.id is None else stored_custom(rtype, obj.id)
    out.update({f"{CUSTOM_PREFIX}{k}": _text(v) for k, v in custom.items()})
    return out


def stored_custom(rtype: RecordType, record_id: int) -> dict[int, str | None]:
    col = getattr(CustomFieldValue, f"{rtype.key}_id")
    return {f: v for f, v in db.session.execute(
        select(CustomFieldValue.field_id, CustomFieldValue.value).where(col == record_id))}


def _event(rtype: RecordType, record_id: int, kind: str, viewer: Viewer | None, changes) -> RecordEvent:
    event = RecordEvent(kind=kind, at=utcnow(), actor_id=getattr(viewer, "user_id", None))
    event.attach_to(rtype.key, record_id)
    event.fields = [FieldChange(field=f, old=old, new=new) for f, old, new in changes]
    db.session.add(event)
    return event


def created_changes(rtype: RecordType, fields: tuple[str, ...], obj, group: str | None,
                    custom: dict[int, str | None]) -> list[tuple[str, None, str | None]]:
    """What the "created" event of a new record ``obj`` holds: its non-empty fields, each from
    nothing (``group``: its group's name; ``custom``: its custom values)."""
    after = snapshot(rtype, fields, obj, custom)
    return [("group", None, group)] + [(f, None, v) for f, v in after.items() if v is not None]


def record_created(rtype: RecordType, fields: tuple[str, ...], obj, viewer: Viewer | None, group: str | None,
                   custom: dict[int, str | None]) -> RecordEvent:
    """A new record (flushed: it has its id): its non-empty fields, each from nothing."""
    return _event(rtype, obj.id, "created", viewer, created_changes(rtype, fields, obj, group, custom))


def records_created(rtype: RecordType, items: list[tuple[int, list]], viewer: Viewer | None) -> None:
    """:func:`record_created` for many new records at once (a batch of an import): ``items`` are
    (record id, :func:`created_changes`). The events in one ``INSERT … RETURNING`` (PostgreSQL; on
    SQLite one per row, as it does not promise RETURNING's order), their fields in one executemany -
    instead of one INSERT per event and per field."""
    if not items:
        return
    now = utcnow()
    actor = getattr(viewer, "user_id", None)
    ids = db.session.scalars(
        insert(RecordEvent).returning(RecordEvent.id, sort_by_parameter_order=True),
        [{"at": now, "actor_id": actor, "kind": "created", f"{rtype.key}_id": record_id} for record_id, _c in items],
    ).all()
    db.session.execute(insert(FieldChange), [
        {"event_id": event_id, "field": f, "old": old, "new": new}
        for event_id, (_r, changes) in zip(ids, items, strict=True) for f, old, new in changes])


def record_changed(rtype: RecordType, fields: tuple[str, ...], obj, before: Snapshot, viewer: Viewer,
                   custom: dict[int, str | None], groups: tuple[str | None, str | None] | None = None
                   ) -> RecordEvent | None:
    """A save of a record: the fields that differ from ``before`` (``custom``: the custom values
    the save wrote; ``groups``: old and new group name if it moved). Nothing if nothing changed."""
    after = dict(before)
    after.update({k: v for k, v in snapshot(rtype, fields, obj, {}).items()})
    after.update({f"{CUSTOM_PREFIX}{k}": _text(v) for k, v in custom.items()})
    changes = [(f, before.get(f), after[f]) for f in after if before.get(f) != after[f]]
    if groups is not None and groups[0] != groups[1]:
        changes.insert(0, ("group", *groups))
    if not changes:
        return None
    return _event(rtype, obj.id, "changed", viewer, changes)


def records_status(rtype: RecordType, ids: list[int], kind: str, viewer: Viewer | None) -> None:
    """One event per record of ``ids`` (moved to the recycle bin or back), in one INSERT."""
    if not ids:
        return
    now = utcnow()
    actor = getattr(viewer, "user_id", None)
    db.session.execute(insert(RecordEvent), [
        {"at": now, "actor_id": actor, "kind": kind, f"{rtype.key}_id": i} for i in ids])


def records_relinked(rtype: RecordType, ids: list[int], field: str, old: int | None, new: int | None,
                     viewer: Viewer) -> None:
    """The records ``ids`` now link to ``new`` instead of ``old`` by ``field`` (a merge moved them
    to the survivor, or its undo back): one "changed" event each with that one change."""
    for record_id in ids:
        _event(rtype, record_id, "changed", viewer, [(field, _text(old), _text(new))])


class _GroupNow:
    """In :func:`records_regrouped`: the name of the group the record is in when its history is
    written (an object, not a string: any string may be a group's name)."""


GROUP_NOW = _GroupNow()


def records_regrouped(rtype: RecordType, audit_id: int, viewer: Viewer, record_ids, old, new) -> None:
    """Records a bulk assignment or its undo (the audit entry ``audit_id``) moved: one "assigned"
    event each with its group change, ``old`` -> ``new`` (group names as they are now; one of them
    :data:`GROUP_NOW`: the name of the group the record is in while this runs - the assignment
    writes the history before it moves the records, the undo after). ``record_ids``: a select of
    the records' ids.

    Two statements, set-based on both databases, nothing read into Python: the events by one
    ``INSERT … SELECT``, their field rows by a second one that finds the new events by the audit
    entry's index (a record moves once per entry) and joins each to its record and group by primary
    key. No join of two sets written in this transaction by anything but a primary key or that
    index: PostgreSQL has no statistics for fresh rows (joining the events to the assignment's
    change rows took a nested loop over all of them for each event - 24 s of a 34 s cascade of
    10,000 companies). (Not ``RETURNING``: SQLite does not promise its order.)"""
    if (old is GROUP_NOW) == (new is GROUP_NOW):
        raise ValueError("exactly one of old and new is GROUP_NOW")
    now, fk, model, group = utcnow(), getattr(RecordEvent, f"{rtype.key}_id"), rtype.model, aliased(Group)
    db.session.execute(insert(RecordEvent).from_select(
        ["at", "actor_id", "kind", "audit_id", fk.key],
        select(literal(now), literal(viewer.user_id), literal("assigned"), literal(audit_id),
               record_ids.subquery().c[0])))

    def name(value):
        return group.name if value is GROUP_NOW else literal(value, String)

    # (unscoped: the events just written, of records that may have gone to a group the actor does
    # not see - a hand-over; the net leaves an INSERT alone, the option says so to the reader)
    db.session.execute(insert(FieldChange).from_select(
        ["event_id", "field", "old", "new"],
        unscoped(select(RecordEvent.id, literal("group"), name(old), name(new))
                 .join(model, model.id == fk).outerjoin(group, group.id == model.group_id)
                 .where(RecordEvent.audit_id == audit_id, fk.is_not(None)))))


def records_assigned(rtype: RecordType, audit_id: int, group: str, viewer: Viewer) -> None:
    """The records a bulk assignment is about to move (its :class:`AssignmentChange` rows of this
    type, written; the records not yet moved), each from its group to ``group``."""
    change = AssignmentChange
    records_regrouped(rtype, audit_id, viewer,
                      select(change.record_id).where(change.audit_id == audit_id, change.record_type == rtype.key),
                      GROUP_NOW, group)


def start_histories() -> None:
    """The "created" event of every record that has no history yet, in one INSERT per type: for
    records written in bulk without the services (the demo data), so that they appear in the
    activity stream like any other."""
    for key, model in MODELS.items():
        fk = getattr(RecordEvent, f"{key}_id")
        db.session.execute(insert(RecordEvent).from_select(
            ["at", "actor_id", "kind", fk.key],
            unscoped(select(model.created_at, model.created_by_id, literal("created"), model.id)
                     .where(~exists().where(fk == model.id))),
        ))
