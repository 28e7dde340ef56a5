"""Merging two duplicate records of one type - people or companies, the two an import duplicates.

:func:`merge` keeps one record (the survivor) and merges the other into it, in the caller's
transaction, with one audit entry (``records_merged``):

* both records must be fully visible to the actor and not in the recycle bin, of one type, two
  different ids; a hidden or missing one is :class:`~crm.errors.NotFound`, a restricted one
  :class:`~crm.errors.Forbidden` - as for every other write. The other record goes to the recycle
  bin, so merging needs the role that may delete (admins, extended users);
* per mergeable field (:data:`~.schemas.MERGEABLE`, and the custom fields) the survivor keeps its
  own value or takes the other's. The group obeys the rules of assigning
  (:func:`crm.records.assign.check_target`; as the actor fully sees the other record, its group is
  one they may assign to, so the survivor never leaves their view) and is no choice while the
  group system is off;
  a linked company and the responsible user are checked as a save checks them;
* contact details and tags are united (a value the survivor has already is not added twice);
* notes, tasks and files of the other record, and the records linked to it (a company's people,
  deals and projects; a person's deals and projects) move to the survivor - those the actor
  fully sees. Any other (hidden from the actor, or in the recycle bin) stays where deleting the
  other record would leave it: linked to the record in the bin (:mod:`crm.records.trash`). The
  counts name only what moved, so no answer tells that anything else exists;
* the other record goes to the recycle bin as a delete would put it there (restorable).

The audit entry keeps what :func:`undo_merge` needs: the survivor's previous field values, what was
added to it and what moved, with the versions the merge left. The actor (or an admin) can undo
while nothing involved changed since; otherwise the undo is refused as a whole (409).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from ..audit.models import AuditEntry
from ..audit.services import audit
from ..common import utcnow
from ..customfields.services import fields_for, set_values
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..extensions import db
from ..files.models import Attachment
from ..groups.models import Group
from ..history import services as history
from ..notes.models import Note
from ..records.assign import check_target
from ..records.loaders import load_for_write
from ..records.models import ContactDetail
from ..records.schemas import PLAIN_FIELDS
from ..records.services import EditConflict, _check_reference, _check_user, require_groups_on
from ..records.trash import NotInTrash, restore_record, trash_records
from ..records.types import TYPES, RecordType
from ..tasks.models import Task
from ..visibility import (
    Viewer,
    attachment_visible_to,
    fully_visible_to,
    note_visible_to,
    task_visible_to,
    unscoped,
)
from .schemas import CUSTOM_KEY, MERGEABLE, MergeInput

#: what hangs on a record and moves with a merge, by the name the counts use
ATTACHED = {"notes": Note, "tasks": Task, "files": Attachment}
#: which of them the actor sees (:mod:`crm.visibility`): only those move
ATTACHED_VISIBLE = {"notes": note_visible_to, "tasks": task_visible_to, "files": attachment_visible_to}
#: the records that link to a merged record and move to the survivor: (type key, foreign key)
LINKED = {
    "company": (("person", "company_id"), ("deal", "company_id"), ("project", "company_id")),
    "person": (("deal", "person_id"), ("project", "person_id")),
}


class MergeConflict(Conflict):
    """An undo of a merge whose records changed since (or that was undone already)."""

    default_message = None

    def __init__(self):
        super().__init__(_("This merge cannot be undone: the records involved changed since."))


@dataclass
class Merged:
    survivor: object
    audit_id: int
    #: what moved to the survivor, by kind ("notes", "tasks", "files", "people", "deals", "projects")
    moved: dict[str, int]
    other_name: str = ""


def mergeable(rtype: RecordType) -> bool:
    return rtype.key in MERGEABLE


def may_merge(viewer: Viewer) -> bool:
    """The other record goes to the recycle bin: who may delete may merge."""
    return viewer.role in ("admin", "extended")


def choice_keys(rtype: RecordType, viewer: Viewer) -> list[str]:
    """The keys a merge of this type takes among its choices (the group only while groups are on)."""
    keys = [k for k in MERGEABLE[rtype.key] if k != "group_id" or viewer.groups_enabled]
    return keys + [CUSTOM_KEY + f.name for f in fields_for(rtype.key)]


def to_move(rtype: RecordType, other_id: int, viewer: Viewer) -> dict[str, list[int]]:
    """The ids that a merge of ``other_id`` would move, by kind: only rows the viewer fully sees."""
    out: dict[str, list[int]] = {}
    fk = f"{rtype.key}_id"
    for name, cls in ATTACHED.items():
        # (they follow their record, which the viewer fully sees - and another's private task stays)
        out[name] = list(db.session.scalars(
            select(cls.id).where(getattr(cls, fk) == other_id, ATTACHED_VISIBLE[name](viewer)).order_by(cls.id)))
    for key, link in LINKED[rtype.key]:
        model = TYPES[key].model
        out[TYPES[key].plural] = list(db.session.scalars(
            select(model.id).where(getattr(model, link) == other_id, fully_visible_to(model, viewer))
            .order_by(model.id)))
    return out


def preview(rtype: RecordType, other_id: int, viewer: Viewer) -> dict[str, int]:
    """How many of each kind would move (for the page's summary): over what the viewer fully sees."""
    return {name: len(ids) for name, ids in to_move(rtype, other_id, viewer).items()}


def _custom(rtype: RecordType, record_id: int) -> dict[int, str | None]:
    return history.stored_custom(rtype, record_id)


def merge(viewer: Viewer, rtype: RecordType, keep_id: int, data: MergeInput) -> Merged:
    """Merge ``data.other_id`` into ``keep_id`` (module docstring). The caller commits, or rolls
    back on a :class:`~crm.errors.Refused`: then nothing changed."""
    if not mergeable(rtype):
        raise NotFound()
    if not may_merge(viewer):
        raise Forbidden(_("You may not merge records."))
    keep = load_for_write(rtype, keep_id, viewer)
    if data.other_id == keep.id:
        raise Invalid(fields={"other_id": _("Choose another record to merge with.")})
    other = load_for_write(rtype, data.other_id, viewer)
    if (data.keep_version is not None and data.keep_version != keep.version) or (
            data.other_version is not None and data.other_version != other.version):
        raise EditConflict()
    allowed = set(choice_keys(rtype, viewer)) | {"group_id"}
    unknown = sorted(k for k in data.choices if k not in allowed)
    if unknown:
        raise Invalid(fields={"choices": _("No field of this name: %(names)s", names=", ".join(unknown))})
    taken = [k for k, side in data.choices.items() if side == "other"]
    plain = PLAIN_FIELDS[rtype.key]
    before = history.snapshot(rtype, plain, keep)
    keep_custom = _custom(rtype, keep.id)
    other_custom = _custom(rtype, other.id)
    previous = {name: getattr(keep, name) for name in MERGEABLE[rtype.key]}
    errors: dict[str, str] = {}
    groups = None
    with db.session.no_autoflush:
        for name in (k for k in taken if not k.startswith(CUSTOM_KEY)):
            value = getattr(other, name)
            if value == getattr(keep, name):
                continue
            try:
                if name == "group_id":
                    require_groups_on(viewer)
                    value = check_target(viewer, value).id
                elif name == "company_id":
                    value = _check_reference(viewer, "company", name, value, keep.company_id)
                elif name == "responsible_id":
                    value = _check_user(name, value)
            except Invalid as err:
                errors.update(err.fields)
                continue
            setattr(keep, name, value)
        if errors:
            raise Invalid(fields=errors)
        by_name = {f.name: f.id for f in fields_for(rtype.key)}
        custom = {}
        for key in (k for k in taken if k.startswith(CUSTOM_KEY)):
            fid = by_name[key[len(CUSTOM_KEY):]]
            if other_custom.get(fid) != keep_custom.get(fid):
                custom[fid] = other_custom.get(fid)
        added_contacts = []
        if rtype.has_contact_details:
            have = {(d.kind, d.value.casefold()) for d in keep.contact_details}
            last = max((d.position for d in keep.contact_details), default=-1)
            for d in other.contact_details:
                if (d.kind, d.value.casefold()) in have:
                    continue
                have.add((d.kind, d.value.casefold()))
                last += 1
                item = ContactDetail(kind=d.kind, label=d.label, value=d.value, position=last)
                keep.contact_details.append(item)
                added_contacts.append(item)
        keys = {t.key for t in keep.tags}
        added_tags = [t for t in other.tags if t.key not in keys]
        keep.tags = [*keep.tags, *added_tags]
        keep.updated_by_id = viewer.user_id
        flag_modified(keep, "updated_by_id")  # a merge is a change of the survivor: its version moves on
    if custom:
        set_values(rtype.key, keep.id, custom)
        keep.updated_at = utcnow()
    try:
        db.session.flush()
    except StaleDataError:
        raise EditConflict() from None
    if previous["group_id"] != keep.group_id:
        names = dict(db.session.execute(
            select(Group.id, Group.name).where(Group.id.in_([previous["group_id"], keep.group_id]))).all())
        groups = (names.get(previous["group_id"]), names.get(keep.group_id))
    history.record_changed(rtype, plain, keep, before, viewer, custom, groups)
    moved = _move(rtype, other.id, keep.id, viewer)
    other_name, other_id = other.display_name, other.id
    if trash_records(rtype, [other_id], viewer, audited=False) != 1:
        raise EditConflict()  # (merged or deleted by someone else meanwhile: the caller rolls back)
    other_version = db.session.scalar(unscoped(select(rtype.model.version).where(rtype.model.id == other_id)))
    counts = {k: len(v) for k, v in moved.items()}
    entry = audit(
        viewer, "records_merged", record_type=rtype.plural, keep_id=keep.id, other_id=other_id,
        keep_name=keep.display_name, other_name=other_name, counts=counts,
        changed=sorted(set(k for k in taken if k in previous and previous[k] != getattr(keep, k))
                       | {CUSTOM_KEY + str(f) for f in custom}),
        undo={
            "keep_version": keep.version, "other_version": other_version,
            "fields": previous, "custom": {str(f): keep_custom.get(f) for f in custom},
            "contacts": [d.id for d in added_contacts], "tags": [t.id for t in added_tags],
            "moved": {k: [list(pair) for pair in v] if k in _LINKED_PLURALS else v for k, v in moved.items()},
        })
    return Merged(keep, entry.id, counts, other_name)


_LINKED_PLURALS = {TYPES[k].plural for links in LINKED.values() for k, _fk in links}


def _move(rtype: RecordType, from_id: int, to_id: int, viewer: Viewer) -> dict[str, list]:
    """Move what :func:`to_move` finds from ``from_id`` to ``to_id``. Returns the ids per kind (the
    linked records as ``(id, version after)``)."""
    now = utcnow()
    fk = f"{rtype.key}_id"
    wanted = to_move(rtype, from_id, viewer)
    out: dict[str, list] = {}
    for name, cls in ATTACHED.items():
        ids = wanted[name]
        if ids:
            db.session.execute(update(cls).where(cls.id.in_(ids), getattr(cls, fk) == from_id)
                               .values({fk: to_id}).execution_options(synchronize_session=False))
        out[name] = ids
    for key, link in LINKED[rtype.key]:
        model, plural = TYPES[key].model, TYPES[key].plural
        ids = wanted[plural]
        if ids:
            db.session.execute(
                update(model).where(model.id.in_(ids), getattr(model, link) == from_id, fully_visible_to(model, viewer))
                .values({link: to_id, "version": model.version + 1, "updated_at": now,
                         "updated_by_id": viewer.user_id})
                .execution_options(synchronize_session=False))
        history.records_relinked(TYPES[key], ids, link, from_id, to_id, viewer)
        versions = dict(db.session.execute(
            select(model.id, model.version).where(model.id.in_(ids))).all()) if ids else {}
        out[plural] = [(i, versions[i]) for i in ids]
    db.session.expire_all()
    return out


# -- undo --------------------------------------------------------------------------------------

def find_merge(entry_id: int, viewer: Viewer) -> AuditEntry | None:
    """The merge with this audit id as far as the viewer may know of it: an admin any, everyone
    else their own; ``None`` otherwise (answered like an id that does not exist)."""
    stmt = select(AuditEntry).where(AuditEntry.id == entry_id, AuditEntry.action == "records_merged")
    if not viewer.is_admin:
        stmt = stmt.where(AuditEntry.actor_id == viewer.user_id)
    return db.session.scalar(stmt)


def undoable_merge_into(rtype: RecordType, record, viewer: Viewer) -> AuditEntry | None:
    """The latest merge into ``record`` (not undone) if the viewer may undo it and nothing changed
    the survivor since (its version as the merge left it): the Undo button on the record's page.
    Found in SQL by the entry's record type and survivor, however many merges came after it."""
    if not mergeable(rtype) or not may_merge(viewer):  # (who may not merge has no merge to undo)
        return None
    stmt = (select(AuditEntry)
            .where(AuditEntry.action == "records_merged", AuditEntry.undone_at.is_(None),
                   AuditEntry.details["record_type"].as_string() == rtype.plural,
                   AuditEntry.details["keep_id"].as_integer() == record.id)
            .order_by(AuditEntry.id.desc()).limit(1))
    if not viewer.is_admin:
        stmt = stmt.where(AuditEntry.actor_id == viewer.user_id)
    entry = db.session.scalar(stmt)
    if entry is None or not may_undo(entry, viewer):
        return None
    return entry if (entry.details.get("undo") or {}).get("keep_version") == record.version else None


def may_undo(entry: AuditEntry | None, viewer: Viewer) -> bool:
    return (entry is not None and entry.action == "records_merged" and entry.undone_at is None
            and (viewer.is_admin or entry.actor_id == viewer.user_id))


def undo_merge(entry: AuditEntry, viewer: Viewer):
    """Undo a merge: the other record back from the recycle bin, what moved back to it, the
    survivor's fields as they were. Refused as a whole (:class:`MergeConflict`, 409) if the
    survivor, the other record or anything that moved changed since, or if the undoer does not
    fully see them all (an undo never changes a record its actor cannot fully see). Returns the
    survivor. The caller commits, or rolls back on a refusal."""
    if not may_undo(entry, viewer):
        raise MergeConflict()
    details = entry.details or {}
    rtype = next(t for t in TYPES.values() if t.plural == details.get("record_type"))
    undo = details["undo"]
    keep_id, other_id = details["keep_id"], details["other_id"]
    model = rtype.model
    claimed = db.session.execute(
        update(AuditEntry).where(AuditEntry.id == entry.id, AuditEntry.undone_at.is_(None))
        .values(undone_at=utcnow(), undone_by_id=viewer.user_id).execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise MergeConflict()
    keep = db.session.scalar(select(model).where(model.id == keep_id, fully_visible_to(model, viewer),
                                                 model.version == undo["keep_version"]))
    in_bin = db.session.scalar(unscoped(select(func.count()).select_from(model).where(
        model.id == other_id, model.deleted_at.is_not(None), model.version == undo["other_version"])))
    if keep is None or not in_bin:
        raise MergeConflict()
    try:
        restore_record(rtype, other_id, viewer, audited=False)
    except NotInTrash:
        raise MergeConflict() from None
    now = utcnow()
    fk = f"{rtype.key}_id"
    moved = undo["moved"]
    for name, cls in ATTACHED.items():
        ids = moved.get(name) or []
        if ids and db.session.execute(
                update(cls).where(cls.id.in_(ids), getattr(cls, fk) == keep_id).values({fk: other_id})
                .execution_options(synchronize_session=False)).rowcount != len(ids):
            raise MergeConflict()
    for key, link in LINKED[rtype.key]:
        linked, plural = TYPES[key].model, TYPES[key].plural
        for record_id, version in moved.get(plural) or []:
            if db.session.execute(
                    update(linked).where(linked.id == record_id, linked.version == version,
                                         getattr(linked, link) == keep_id, fully_visible_to(linked, viewer))
                    .values({link: other_id, "version": linked.version + 1, "updated_at": now,
                             "updated_by_id": viewer.user_id})
                    .execution_options(synchronize_session=False)).rowcount != 1:
                raise MergeConflict()
        history.records_relinked(TYPES[key], [i for i, _v in moved.get(plural) or []], link, keep_id, other_id,
                                 viewer)
    db.session.expire_all()
    keep = db.session.get(model, keep_id)
    plain = PLAIN_FIELDS[rtype.key]
    before = history.snapshot(rtype, plain, keep)
    old_group = keep.group_id
    with db.session.no_autoflush:
        for name, value in undo["fields"].items():
            if name == "group_id" and value != keep.group_id:
                require_groups_on(viewer)
            setattr(keep, name, value)
        if undo["contacts"]:
            keep.contact_details = [d for d in keep.contact_details if d.id not in set(undo["contacts"])]
        if undo["tags"]:
            keep.tags = [t for t in keep.tags if t.id not in set(undo["tags"])]
        keep.updated_by_id = viewer.user_id
        flag_modified(keep, "updated_by_id")
    custom = {int(f): v for f, v in undo["custom"].items()}
    if custom:
        set_values(rtype.key, keep.id, custom)
        keep.updated_at = now
    try:
        db.session.flush()
    except StaleDataError:
        raise MergeConflict() from None
    groups = None
    if old_group != keep.group_id:
        names = dict(db.session.execute(
            select(Group.id, Group.name).where(Group.id.in_([old_group, keep.group_id]))).all())
        groups = (names.get(old_group), names.get(keep.group_id))
    history.record_changed(rtype, plain, keep, before, viewer, custom, groups)
    audit(viewer, "merge_undone", of=entry.id, record_type=rtype.plural, keep_id=keep_id, other_id=other_id,
          keep_name=keep.display_name, other_name=details.get("other_name"), counts=details.get("counts") or {})
    return keep

