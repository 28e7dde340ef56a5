"""The one loader per record type: fetch, scope, authorize.

``load_record`` answers every detail, edit, note, task and API request for a single record:

* hidden or missing -> 404, the same in both cases;
* restricted -> a :class:`RestrictedRecord` projection (display name, group, shared fields only),
  and 403 for any write;
* full -> the ORM object.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..customfields.models import CustomField, CustomFieldValue
from ..extensions import db
from ..groups.models import Group
from ..visibility import FULL, HIDDEN, RESTRICTED, Viewer, current_viewer, fully_visible_to, restricted_to, visible_to
from .types import TYPES, RecordType


@dataclass(frozen=True)
class SharedValue:
    name: str
    kind: str
    value: str | None


@dataclass(frozen=True)
class RestrictedRecord:
    """What a restricted record may show, and nothing else."""

    rtype: RecordType
    id: int
    names: dict
    group_id: int
    group_name: str
    shared: tuple[SharedValue, ...]
    access: str = RESTRICTED

    @property
    def key(self) -> str:
        return self.rtype.key

    @property
    def display_name(self) -> str:
        return " ".join(v for v in self.names.values() if v)


@dataclass(frozen=True)
class Ref:
    """A reference from a visible record to another one. A hidden target has neither id nor name."""

    key: str
    id: int | None
    level: str
    name: str | None

    @property
    def hidden(self) -> bool:
        return self.level == HIDDEN


def load_record(rtype: RecordType, record_id: int, *, write: bool = False, viewer: Viewer | None = None):
    viewer = viewer or current_viewer()
    model = rtype.model
    # the record with its group and contact details in one statement; the tags by a second one
    # (joined, the link table's nested join made SQLite scan every tag link: 290 ms at 1M people)
    eager = [selectinload(model.tags)]
    if rtype.has_contact_details:
        eager.append(joinedload(model.contact_details))
    obj = db.session.scalars(
        select(model).options(*eager).where(model.id == record_id, fully_visible_to(model, viewer))
    ).unique().first()
    if obj is not None:
        return obj
    projection = restricted_projection(rtype, record_id, viewer)
    if projection is None:
        abort(404)
    if write:
        abort(403)
    return projection


def restricted_projection(rtype: RecordType, record_id: int, viewer: Viewer) -> RestrictedRecord | None:
    return restricted_projections(rtype, [record_id], viewer).get(record_id)


def restricted_projections(rtype: RecordType, ids, viewer: Viewer) -> dict[int, RestrictedRecord]:
    """:class:`RestrictedRecord` of each of ``ids`` the viewer sees restricted (others are left
    out), in two queries however many ids: for lists and search in the API."""
    ids = list(ids)
    if not ids or not viewer.sees_restricted(rtype.key):
        return {}
    model = rtype.model
    name_cols = [getattr(model, f) for f in rtype.name_fields]
    rows = db.session.execute(
        select(model.id, model.group_id, Group.name, *name_cols)
        .join(Group, Group.id == model.group_id)
        .where(model.id.in_(ids), restricted_to(model, viewer))
    ).all()
    if not rows:
        return {}
    found = [row[0] for row in rows]
    shared_ids = viewer.shared_field_ids(rtype.key)
    fields = db.session.execute(
        select(CustomField.id, CustomField.name, CustomField.kind)
        .where(CustomField.id.in_(shared_ids))
        .order_by(CustomField.position, CustomField.id)
    ).all()
    fk = getattr(CustomFieldValue, f"{rtype.key}_id")
    values = {
        (rid, fid): value
        for rid, fid, value in db.session.execute(
            select(fk, CustomFieldValue.field_id, CustomFieldValue.value)
            .where(fk.in_(found), CustomFieldValue.field_id.in_(shared_ids))
        )
    }
    return {
        row[0]: RestrictedRecord(
            rtype=rtype,
            id=row[0],
            names=dict(zip(rtype.name_fields, row[3:], strict=True)),
            group_id=row[1],
            group_name=row[2],
            shared=tuple(SharedValue(name, kind, values.get((row[0], fid))) for fid, name, kind in fields),
        )
        for row in rows
    }


def reference(key: str, record_id: int | None, viewer: Viewer | None = None) -> Ref | None:
    """The reference to record ``key``/``record_id`` as the viewer may see it."""
    if record_id is None:
        return None
    viewer = viewer or current_viewer()
    rtype = TYPES[key]
    model = rtype.model
    row = db.session.execute(
        select(model.group_id, *[getattr(model, f) for f in rtype.name_fields])
        .where(model.id == record_id, visible_to(model, viewer))
    ).first()
    if row is None:
        return Ref(key, None, HIDDEN, None)
    level = viewer.level(key, row[0])
    return Ref(key, record_id, level, " ".join(v for v in row[1:] if v))


def is_fully_visible(key: str, record_id: int, viewer: Viewer | None = None) -> bool:
    viewer = viewer or current_viewer()
    model = TYPES[key].model
    return db.session.scalar(
        select(model.id).where(model.id == record_id, fully_visible_to(model, viewer))
    ) is not None


__all__ = [
    "FULL",
    "HIDDEN",
    "RESTRICTED",
    "Ref",
    "RestrictedRecord",
    "SharedValue",
    "is_fully_visible",
    "load_record",
    "reference",
    "restricted_projection",
    "restricted_projections",
]


def references(key: str, ids, viewer: Viewer | None = None) -> dict[int, Ref]:
    """:func:`reference` for many ids of one type in one query."""
    viewer = viewer or current_viewer()
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    rtype = TYPES[key]
    model = rtype.model
    out = {i: Ref(key, None, HIDDEN, None) for i in ids}
    for row in db.session.execute(
        select(model.id, model.group_id, *[getattr(model, f) for f in rtype.name_fields])
        .where(model.id.in_(ids), visible_to(model, viewer))
    ):
        out[row[0]] = Ref(key, row[0], viewer.level(key, row[1]), " ".join(v for v in row[2:] if v))
    return out
