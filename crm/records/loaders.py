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
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, and_, cast, literal, null, select, union_all
from sqlalchemy.orm import joinedload, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from ..customfields.models import CustomField, CustomFieldValue
from ..errors import Forbidden, NotFound, Refused
from ..extensions import db
from ..groups.models import Group
from ..visibility import (
    FULL,
    HIDDEN,
    RESTRICTED,
    Viewer,
    current_viewer,
    fully_visible_to,
    restricted_rows,
    restricted_to,
    trashed_fully_visible_to,
    unscoped,
    visible_to,
)
from .models import TAG_LINKS, Tag
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


#: the level of a reference to a record in the recycle bin, for a viewer who fully sees its group
DELETED = "deleted"


@dataclass(frozen=True)
class Ref:
    """A reference from a visible record to another one. A hidden target has neither id nor name;
    nor has a deleted one (in the recycle bin), which reads "(deleted)" instead of the hidden
    placeholder - but only to a viewer who fully sees its group: to anyone else it is hidden."""

    key: str
    id: int | None
    level: str
    name: str | None

    @property
    def hidden(self) -> bool:
        """Not to be shown or linked (hidden, or in the recycle bin)."""
        return self.level in (HIDDEN, DELETED)

    @property
    def deleted(self) -> bool:
        return self.level == DELETED


def fully_visible_records(rtype: RecordType, ids, viewer: Viewer) -> list:
    """The records ``ids`` the viewer fully sees (in no particular order), with their contact
    details and tags: the record with its group and contact details in one statement, the tags by a
    second one (joined, the link table's nested join made SQLite scan every tag link: 290 ms at 1M
    people) - :func:`load_tags`, not the ``tags`` relationship's own load."""
    model = rtype.model
    eager = [lazyload(model.tags)]
    if rtype.has_contact_details:
        eager.append(joinedload(model.contact_details))
    objs = list(db.session.scalars(
        select(model).options(*eager).where(model.id.in_(ids), fully_visible_to(model, viewer))
    ).unique())
    load_tags(rtype, objs, viewer)
    return objs


def load_tags(rtype: RecordType, objs: list, viewer: Viewer) -> None:
    """Each record's ``tags``, as its relationship would load them (sorted by name), for records the
    viewer fully sees: read past the safety net (``unscoped``) with the rule written out, as the
    list's tags are (:func:`crm.records.queries.tags_for`, whose docstring says why that is sound).
    The relationship's own load gets the net's rule for tags - one ``EXISTS`` per link type, for a
    tag that the record in hand already shows the viewer - which PostgreSQL planned for 2-3 ms on
    every detail page and API list (100k people; with the group system off there is no such rule)."""
    if not objs:
        return
    link = TAG_LINKS[rtype.key]
    model = rtype.model
    fk = getattr(link, f"{rtype.key}_id")
    found: dict[int, list] = {obj.id: [] for obj in objs}
    for rid, tag in db.session.execute(unscoped(  # (past the net: see the docstring)
        select(fk, Tag).join(Tag, Tag.id == link.tag_id).join(model, model.id == fk)
        .where(fk.in_(list(found)), fully_visible_to(model, viewer)).order_by(Tag.name)
    )):
        found[rid].append(tag)
    for obj in objs:
        set_committed_value(obj, "tags", found[obj.id])


def fully_visible_record(rtype: RecordType, record_id: int, viewer: Viewer):
    """The record if the viewer fully sees it, else None (hidden, restricted and missing alike)."""
    objs = fully_visible_records(rtype, [record_id], viewer)
    return objs[0] if objs else None


def load_record(rtype: RecordType, record_id: int, *, write: bool = False, viewer: Viewer | None = None):
    viewer = viewer or current_viewer()
    if write:
        try:
            return load_for_write(rtype, record_id, viewer)
        except Refused as err:
            abort(err.status, description=str(err))
    obj = fully_visible_record(rtype, record_id, viewer)
    if obj is not None:
        return obj
    projection = restricted_projection(rtype, record_id, viewer)
    if projection is None:
        abort(404)
    return projection


#: why a write to a record the viewer sees restricted is refused (an edit form left open while the
#: record moved to another group: the user learns why the save did nothing)
RESTRICTED_WRITE = _l("You see this record only restricted: it is in a group you are not a member of, so "
                      "you cannot change it.")


def load_for_write(rtype: RecordType, record_id: int, viewer: Viewer):
    """:func:`load_record`'s rule for a service that writes, as the services' errors: the record
    if the viewer fully sees it; restricted -> :class:`~crm.errors.Forbidden`; hidden or missing ->
    :class:`~crm.errors.NotFound` (the same answer)."""
    obj = fully_visible_record(rtype, record_id, viewer)
    if obj is not None:
        return obj
    if restricted_projection(rtype, record_id, viewer) is not None:
        raise Forbidden(RESTRICTED_WRITE)
    raise NotFound(str(rtype.not_found))


def restricted_projection(rtype: RecordType, record_id: int, viewer: Viewer) -> RestrictedRecord | None:
    return restricted_projections(rtype, [record_id], viewer).get(record_id)


def restricted_projections(rtype: RecordType, ids, viewer: Viewer, *, known: dict | None = None
                           ) -> dict[int, RestrictedRecord]:
    """:class:`RestrictedRecord` of each of ``ids`` the viewer sees restricted (others are left
    out), in two queries however many ids (one if no field is shared): for lists and search in
    the API. ``known``: rows ``(id, group_id, group name, *name fields)`` that a list query read
    already under the visibility predicates (restricted rows only) - they are not read again."""
    ids = list(ids)
    if not ids or not viewer.sees_restricted(rtype.key):
        return {}
    model = rtype.model
    if known is None:
        name_cols = [getattr(model, f) for f in rtype.name_fields]
        rows = db.session.execute(restricted_rows(
            select(model.id, model.group_id, Group.name, *name_cols)
            .join(Group, Group.id == model.group_id)
            .where(model.id.in_(ids), restricted_to(model, viewer))
        )).all()
    else:
        rows = [known[rid] for rid in ids if rid in known]
    if not rows:
        return {}
    found = [row[0] for row in rows]
    shared_ids = viewer.shared_field_ids(rtype.key)
    fk = getattr(CustomFieldValue, f"{rtype.key}_id")
    fields: list[tuple[int, str, str]] = []
    values = {}
    if shared_ids:  # the shared fields with these records' values, in one statement
        for fid, name, kind, rid, value in db.session.execute(restricted_rows(
            select(CustomField.id, CustomField.name, CustomField.kind, fk, CustomFieldValue.value)
            .outerjoin(CustomFieldValue, and_(CustomFieldValue.field_id == CustomField.id, fk.in_(found)))
            .where(CustomField.id.in_(shared_ids))
            .order_by(CustomField.position, CustomField.id)
        )):
            if not fields or fields[-1][0] != fid:
                fields.append((fid, name, kind))
            if rid is not None:
                values[(rid, fid)] = value
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
    row = db.session.execute(restricted_rows(
        select(model.group_id, *[getattr(model, f) for f in rtype.name_fields])
        .where(model.id == record_id, visible_to(model, viewer))
    )).first()
    if row is None:
        return Ref(key, None, DELETED if record_id in trashed_ids(key, [record_id], viewer) else HIDDEN, None)
    level = viewer.level(key, row[0])
    return Ref(key, record_id, level, " ".join(v for v in row[1:] if v))


def trashed_ids(key: str, ids, viewer: Viewer) -> set[int]:
    """Those of ``ids`` (records of type ``key``) that are in the recycle bin in a group the viewer
    fully sees: a link to one of them reads "(deleted)" to this viewer (:func:`trashed_ids_of` for
    one type)."""
    return trashed_ids_of({key: ids}, viewer)[key]


def trashed_ids_of(wanted: dict[str, list], viewer: Viewer) -> dict[str, set[int]]:
    """Those of ``wanted[type]`` that are in the recycle bin in a group the viewer fully sees, for
    several record types in one statement (a list's links to companies and people): record type ->
    the ids whose link reads "(deleted)". Unscoped (the request's safety net hides the bin); the
    rule is :func:`crm.visibility.trashed_fully_visible_to`."""
    arms = []
    for key, ids in wanted.items():
        ids = {i for i in ids if i is not None}
        if ids:
            model = TYPES[key].model
            arms.append(select(literal(key).label("key"), model.id.label("id"))
                        .where(model.id.in_(ids), trashed_fully_visible_to(model, viewer)))
    found: dict[str, set[int]] = {key: set() for key in wanted}
    if arms:
        stmt = arms[0] if len(arms) == 1 else union_all(*arms)
        for key, rid in db.session.execute(unscoped(stmt)):
            found[key].add(rid)
    return found


def is_fully_visible(key: str, record_id: int, viewer: Viewer | None = None) -> bool:
    viewer = viewer or current_viewer()
    model = TYPES[key].model
    return db.session.scalar(
        select(model.id).where(model.id == record_id, fully_visible_to(model, viewer))
    ) is not None


__all__ = [
    "DELETED",
    "FULL",
    "HIDDEN",
    "RESTRICTED",
    "Ref",
    "RestrictedRecord",
    "SharedValue",
    "is_fully_visible",
    "load_record",
    "reference",
    "references_by_type",
    "restricted_projection",
    "restricted_projections",
    "trashed_ids",
    "trashed_ids_of",
]


def references(key: str, ids, viewer: Viewer | None = None) -> dict[int, Ref]:
    """:func:`reference` for many ids of one type in one query."""
    return references_by_type({key: ids}, viewer).get(key, {})


def references_by_type(wanted: dict[str, object], viewer: Viewer | None = None) -> dict[str, dict[int, Ref]]:
    """:func:`reference` for many ids of several types (record key -> ids) in one query: one
    select per type, glued by UNION ALL (the name fields padded to two)."""
    viewer = viewer or current_viewer()
    wanted = {key: {i for i in ids if i is not None} for key, ids in wanted.items()}
    out = {key: {i: Ref(key, None, HIDDEN, None) for i in ids} for key, ids in wanted.items() if ids}
    if not out:
        return {}
    arms = []
    for key in out:
        model = TYPES[key].model
        names = [getattr(model, f) for f in TYPES[key].name_fields]
        names += [cast(null(), String)] * (2 - len(names))
        arms.append(select(literal(key).label("key"), model.id.label("id"), model.group_id.label("group_id"),
                           names[0].label("n1"), names[1].label("n2"))
                    .where(model.id.in_(wanted[key]), visible_to(model, viewer)))
    stmt = union_all(*arms) if len(arms) > 1 else arms[0]
    for key, rid, group_id, *names in db.session.execute(restricted_rows(stmt)):
        out[key][rid] = Ref(key, rid, viewer.level(key, group_id), " ".join(v for v in names if v))
    for key, refs in out.items():
        for rid in trashed_ids(key, [rid for rid, ref in refs.items() if ref.id is None], viewer):
            refs[rid] = Ref(key, None, DELETED, None)
    return out
