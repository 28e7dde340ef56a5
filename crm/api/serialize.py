"""Records, notes, groups, users and fields as the API shows them (interfaces.md, "A record's JSON").

A fully visible record carries its fields; a restricted one only ``id, type, access, group``, its
display name fields and the shared custom fields - built from :class:`RestrictedRecord`, the
projection the loaders make, so the API cannot show more than the restricted page. A reference to a
record the user cannot see at all (a person's employer in a hidden group) is ``null``, like the
placeholder on the pages. Records and notes go through their output models
(:data:`~crm.records.schemas.FULL_OUT`, :data:`~crm.records.schemas.RESTRICTED_OUT`,
:class:`~crm.notes.schemas.NoteOut`), the shapes the OpenAPI document shows.
"""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from ..customfields.models import CustomFieldValue
from ..customfields.services import fields_for
from ..extensions import db
from ..history.schemas import HistoryEntryOut
from ..notes.schemas import NoteOut
from ..records.loaders import RestrictedRecord, fully_visible_records, references_by_type, restricted_projections
from ..records.schemas import FULL_OUT, RESTRICTED_OUT, dump
from ..records.types import RecordType
from ..stages.queries import reason_names
from ..tasks.schemas import TaskOut
from ..visibility import Viewer, field_value_visible_to

_CONTACT_KINDS = {"emails": "email", "phones": "phone", "addresses": "address"}


def timestamp(value: datetime | None) -> str | None:
    """Stored times are naive UTC; the API says so."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC, microsecond=0).isoformat().replace("+00:00", "Z")


def custom_value(kind: str, text: str | None):
    """A stored custom value (canonical text) as the output model takes it: numbers as Decimals
    (JSON numbers in the answer), the rest as text."""
    if text is None:
        return None
    if kind == "number":
        return Decimal(text)
    return text


def restricted_json(record: RestrictedRecord) -> dict:
    return dump(RESTRICTED_OUT[record.key], {
        "id": record.id,
        "type": record.key,
        "access": "restricted",
        "group": {"id": record.group_id, "name": record.group_name},
        **{name: record.names.get(name) or "" for name in record.rtype.name_fields},
        "custom_fields": {v.name: custom_value(v.kind, v.value) for v in record.shared},
    })


def _plain(rtype: RecordType, obj, name: str, refs: dict):
    if name == "reason":  # a deal's won/lost reason, by name (refs["reason"]: the reasons' names)
        return refs["reason"].get(obj.reason_id)
    if name in _CONTACT_KINDS:
        return [d.value for d in obj.contact_details if d.kind == _CONTACT_KINDS[name]]
    if name == "tags":
        return [t.name for t in obj.tags]
    if name in refs:
        target = getattr(obj, name)
        ref = refs[name].get(target) if target is not None else None
        return ref.id if ref is not None else None
    value = getattr(obj, name)
    if name == "value" or name.endswith("_date"):
        return value
    return "" if value is None else value


def full_json(rtype: RecordType, objs: list, viewer: Viewer) -> list[dict]:
    """Fully visible records (ORM objects the caller loaded with the visibility predicate) as JSON,
    with a fixed number of queries for any number of records."""
    if not objs:
        return []
    ids = [o.id for o in objs]
    fields = fields_for(rtype.key)
    fk = getattr(CustomFieldValue, f"{rtype.key}_id")
    values = {
        (rid, fid): text
        for rid, fid, text in db.session.execute(
            select(fk, CustomFieldValue.field_id, CustomFieldValue.value)
            .where(fk.in_(ids), field_value_visible_to(viewer))
        )
    }
    wanted: dict[str, list] = {}
    for fk_name, key in rtype.references:
        wanted.setdefault(key, []).extend(getattr(o, fk_name) for o in objs)
    by_type = references_by_type(wanted, viewer)
    refs = {fk_name: by_type.get(key, {}) for fk_name, key in rtype.references}
    if rtype.key == "deal":
        refs["reason"] = reason_names()
    out = []
    for obj in objs:
        item = {
            "id": obj.id,
            "type": rtype.key,
            "access": "full",
            "group": {"id": obj.group_id, "name": obj.group.name},
        }
        for name in rtype.fields:
            item[name] = _plain(rtype, obj, name, refs)
        if rtype.key == "deal":
            item["stage_id"] = obj.stage_id
            item["reason_id"] = obj.reason_id
        item["responsible_id"] = obj.responsible_id
        item["custom_fields"] = {f.name: custom_value(f.kind, values.get((obj.id, f.id))) for f in fields}
        item["created_at"] = timestamp(obj.created_at)
        item["updated_at"] = timestamp(obj.updated_at)
        item["version"] = obj.version
        out.append(dump(FULL_OUT[rtype.key], item))
    return out


def records_json(rtype: RecordType, rows: list[tuple[int, bool]], viewer: Viewer, *,
                 known: dict | None = None) -> list[dict]:
    """``(id, fully visible?)`` rows of a list or search, in their order, as JSON. Each full row is
    loaded again under the visibility predicates; a row that is neither full nor restricted (moved
    away meanwhile) is left out. ``known``: see :func:`restricted_projections`."""
    full_ids = [rid for rid, full in rows if full]
    objs = fully_visible_records(rtype, full_ids, viewer) if full_ids else []
    by_id = {item["id"]: item for item in full_json(rtype, objs, viewer)}
    restricted = restricted_projections(rtype, [rid for rid, full in rows if not full], viewer, known=known)
    by_id.update({rid: restricted_json(r) for rid, r in restricted.items()})
    return [by_id[rid] for rid, _full in rows if rid in by_id]


def record_json(rtype: RecordType, record, viewer: Viewer) -> dict:
    """One record from :func:`load_record`: the ORM object or its restricted projection."""
    if isinstance(record, RestrictedRecord):
        return restricted_json(record)
    return full_json(rtype, [record], viewer)[0]


def note_json(note) -> dict:
    return dump(NoteOut, {
        "id": note.id,
        "body": note.body,
        "kind": note.kind,
        "author": {"id": note.author.id, "name": note.author.name} if note.author else None,
        "occurred_at": timestamp(note.occurred_at),
        "created_at": timestamp(note.created_at),
        "edited_at": timestamp(note.edited_at),
    })


def history_json(entry) -> dict:
    return dump(HistoryEntryOut, {
        "id": entry.id, "at": timestamp(entry.at), "kind": entry.kind, "who": entry.who,
        "changes": [{"field": c.field, "label": c.label, "old": c.old, "new": c.new,
                     "old_hidden": c.old_hidden, "new_hidden": c.new_hidden} for c in entry.changes],
    })


def task_json(task) -> dict:
    def user(u):
        return {"id": u.id, "name": u.name} if u is not None else None

    return dump(TaskOut, {
        "id": task.id,
        "title": task.title,
        "due_date": task.due_date.isoformat() if task.due_date else None,
        "done": bool(task.done),
        "assignee": user(task.assignee),
        "created_by": user(task.created_by),
        "record": {"type": task.record_key, "id": task.record_id} if task.record_key else None,
        "done_at": timestamp(task.done_at),
        "created_at": timestamp(task.created_at),
    })
