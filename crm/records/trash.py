"""The recycle bin (Papierkorb, product.md §8): deleting a record moves it here; the deleter or an
admin restores it within :data:`RETENTION_DAYS`; a purge removes it for good.

* **Delete** (:func:`trash_records`) sets ``deleted_at``/``deleted_by_id`` and steps the version,
  nothing else: no ``ON DELETE SET NULL`` fires, links from other records (a person's employer)
  keep pointing at the record, its notes, tasks, tags and contact details stay with it. From then
  on the visibility predicates and the safety net (:mod:`crm.visibility`) hide it from everyone.
* **Restore** (:func:`restore_record`): by the deleter or an admin, within the retention time,
  and only while the actor fully sees the record's group. Everything else is "no such record":
  :class:`NotInTrash`, which the edges answer with 404 like a missing id.
* **Purge** (:func:`purge`): the one function behind the command line (``flask --app app trash
  purge``) and the admin's buttons. It acts as the system: it detaches every link to a purged
  record explicitly (the linking row's version and time of change move on), deletes the record
  with what hangs on it (notes, tasks, contact details, field values, tag links) and writes one
  audit entry naming what went and how many links were detached.

Reading the bin needs :func:`crm.visibility.unscoped`: the request's safety net hides it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, func, literal, or_, select, union_all, update
from sqlalchemy.orm import aliased

from ..audit.services import audit
from ..auth.models import User
from ..common import utcnow
from ..errors import Forbidden, NotFound
from ..extensions import db
from ..groups.models import Group
from ..history import services as history
from ..search import schema as search_index
from ..visibility import Viewer, fully_visible_to, trashed_fully_visible_to, unscoped
from .types import TYPES, RecordType, display_name_column

#: days a deleted record can be restored; the daily purge removes it afterwards
RETENTION_DAYS = 30
#: ids written into an audit entry per record type, at most (the counts are always complete)
AUDIT_IDS = 1000
#: records purged per statement (a bound list of ids)
CHUNK = 500


class NotAllowed(Forbidden):
    """The actor's role may not do this to the bin (a purge: admins only)."""


class NotInTrash(NotFound):
    """No record in the bin that this actor may restore or purge: answered like a missing id."""


def _deleters(viewer: Viewer, model):
    """Trashed records the viewer may act on: in a group the viewer fully sees now, and - unless
    an admin - deleted by the viewer. Explicit deny for everyone who may not delete."""
    if viewer.role not in ("admin", "extended"):
        return literal(False)
    cond = trashed_fully_visible_to(model, viewer)
    if not viewer.is_admin:
        cond = and_(cond, model.deleted_by_id == viewer.user_id)
    return cond


def cutoff(days: int = RETENTION_DAYS, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=days)


# -- delete ------------------------------------------------------------------------------------

def trash_records(rtype: RecordType, ids_stmt, viewer: Viewer, *, audited: bool = True) -> int:
    """Move the records selected by ``ids_stmt`` (ids, or a select of ids) that the viewer fully
    sees to the recycle bin, in the caller's transaction, with one audit entry (``audited=False``:
    the caller's own entry says it, as a merge's does). Returns how many moved. (The caller
    checked the role.)"""
    model = rtype.model
    chosen = select(model.id).where(model.id.in_(ids_stmt), fully_visible_to(model, viewer))
    ids = list(db.session.scalars(chosen.order_by(model.id)))
    if not ids:
        return 0
    now = utcnow()
    moved = 0
    for start in range(0, len(ids), CHUNK):
        part = ids[start:start + CHUNK]
        moved += db.session.execute(
            update(model)
            .where(model.id.in_(part), fully_visible_to(model, viewer))
            .values(deleted_at=now, deleted_by_id=viewer.user_id, version=model.version + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
    search_index.take_out(db.session.connection(), rtype.key, ids)
    history.records_status(rtype, ids, "deleted", viewer)
    if audited:
        audit(viewer, "records_deleted", record_type=rtype.plural, counts={rtype.plural: moved},
              ids=ids[:AUDIT_IDS])
    _expire(model, ids)
    return moved


def _expire(model, ids) -> None:
    """Objects of these rows already in the session hold the old state: read them anew."""
    for obj in _in_session(model, ids):
        db.session.expire(obj)


def _in_session(model, ids) -> list:
    """The session's objects of these rows (found by identity key: never loads one)."""
    wanted = set(ids)
    return [obj for key, obj in list(db.session.identity_map.items())
            if issubclass(key[0], model) and key[1][0] in wanted]


# -- the bin as a viewer sees it ----------------------------------------------------------------

@dataclass(frozen=True)
class TrashedRecord:
    rtype: RecordType
    id: int
    name: str
    group: str
    deleted_by: str | None
    deleted_at: datetime
    #: days left to restore it, counted as a calendar would: 30 right after deleting, 1 on its
    #: last day; 0: expired, waits for the purge
    days_left: int

    @property
    def restorable(self) -> bool:
        return self.days_left > 0


def _days_left(deleted_at: datetime, now: datetime) -> int:
    left = deleted_at + timedelta(days=RETENTION_DAYS) - now
    return max(0, -(-left // timedelta(days=1)))  # rounded up: 29 days and 23 hours read "30"


#: who deleted a record of each type, one alias each for every call
_DELETERS = {key: aliased(User, name=f"deleter_{key}") for key in TYPES}


def trash_query(viewer: Viewer):
    """One select (UNION ALL over the four types) of the bin as ``viewer`` may act on it, newest
    deletion first; unscoped (the caller executes it as is)."""
    arms = []
    for i, rtype in enumerate(TYPES.values()):
        model = rtype.model
        who = _DELETERS[rtype.key]
        arms.append(
            select(literal(i).label("type_no"), model.id.label("id"),
                   display_name_column(rtype).label("name"), Group.name.label("grp"),
                   who.name.label("who"), model.deleted_at.label("deleted_at"))
            .join(Group, Group.id == model.group_id)
            .outerjoin(who, who.id == model.deleted_by_id)
            .where(model.deleted_at.is_not(None), _deleters(viewer, model))
        )
    both = union_all(*arms).subquery("trash")
    return unscoped(select(both).order_by(both.c.deleted_at.desc(), both.c.type_no, both.c.id.desc()))


def trash_page(viewer: Viewer, limit: int, offset: int = 0) -> list[TrashedRecord]:
    types = list(TYPES.values())
    now = utcnow()
    return [
        TrashedRecord(types[t], rid, name, grp, who, at, _days_left(at, now))
        for t, rid, name, grp, who, at in db.session.execute(trash_query(viewer).limit(limit).offset(offset))
    ]


def trash_count(viewer: Viewer) -> int:
    inner = trash_query(viewer).order_by(None).subquery()
    return db.session.scalar(unscoped(select(func.count()).select_from(inner))) or 0


# -- restore -----------------------------------------------------------------------------------

def restore_record(rtype: RecordType, record_id: int, viewer: Viewer, *, audited: bool = True) -> int:
    """Take one record out of the bin. :class:`NotInTrash` unless the viewer may (the deleter or
    an admin, within the retention time, fully seeing the record's group now). Returns the id.
    (``audited=False``: the caller's own entry says it, as the undo of a merge's does.)"""
    model = rtype.model
    now = utcnow()
    allowed = and_(model.id == record_id, model.deleted_at.is_not(None), model.deleted_at >= cutoff(now=now),
                   _deleters(viewer, model))
    done = db.session.execute(
        update(model).where(allowed)
        .values(deleted_at=None, deleted_by_id=None, version=model.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not done:
        raise NotInTrash()
    search_index.put_back(db.session.connection(), rtype.key, [record_id])
    history.records_status(rtype, [record_id], "restored", viewer)
    if audited:
        audit(viewer, "records_restored", record_type=rtype.plural, counts={rtype.plural: 1}, ids=[record_id])
    _expire(model, [record_id])
    return record_id


# -- purge -------------------------------------------------------------------------------------

def _links_to(key: str) -> list[tuple[RecordType, str]]:
    """(record type, foreign key) of every link that can point at a record of type ``key``."""
    return [(rtype, fk) for rtype in TYPES.values() for fk, target in rtype.references if target == key]


def purge(actor=None, *, older_than_days: int | None = RETENTION_DAYS, viewer: Viewer | None = None,
          records: dict[str, list[int]] | None = None) -> dict[str, int]:
    """Remove records from the bin for good; in the caller's transaction, with one audit entry.

    Which: the records deleted more than ``older_than_days`` days ago (``None``: any age), narrowed
    to ``records`` (record key -> ids) if given, and - with a ``viewer`` (an admin's action) - to
    those the viewer may act on in the bin. ``actor``: who started it (None: the command line or
    the daily job); the changes themselves are the system's. Returns the counts per record type
    (plural) and ``links``: how many rows had a link detached."""
    if viewer is not None and not viewer.is_admin:
        raise NotAllowed()  # a user's purge is an admin's action; explicit deny for everyone else
    now = utcnow()
    chosen: dict[str, list[int]] = {}
    for key, rtype in TYPES.items():
        model = rtype.model
        conds = [model.deleted_at.is_not(None)]
        if older_than_days is not None:
            conds.append(model.deleted_at < cutoff(older_than_days, now))
        if records is not None:
            conds.append(model.id.in_(records.get(key) or []))
        if viewer is not None:
            conds.append(_deleters(viewer, model))
        chosen[key] = list(db.session.scalars(unscoped(select(model.id).where(*conds).order_by(model.id))))
    counts = {TYPES[k].plural: len(ids) for k, ids in chosen.items()}
    links = 0
    for key, ids in chosen.items():
        for start in range(0, len(ids), CHUNK):
            part = ids[start:start + CHUNK]
            links += _detach(key, part, now)
    for key, ids in chosen.items():
        model = TYPES[key].model
        for start in range(0, len(ids), CHUNK):
            part = ids[start:start + CHUNK]
            db.session.execute(
                delete(model).where(model.id.in_(part), model.deleted_at.is_not(None))
                .execution_options(synchronize_session=False)
            )
    if sum(counts.values()):
        audit(actor, "records_purged", counts=counts, links=links, older_than_days=older_than_days,
              ids={TYPES[k].plural: ids[:AUDIT_IDS] for k, ids in chosen.items() if ids})
        for key, ids in chosen.items():
            _expunge(TYPES[key].model, ids)
    return {**counts, "links": links}


def _detach(key: str, ids: list[int], now: datetime) -> int:
    """Set every link to the records ``ids`` of type ``key`` to NULL, stepping the linking row's
    version and time of change (one statement per linking type: a deal linking to two purged
    people... changes once per purged type). Returns how many rows changed."""
    changed = 0
    by_type: dict[str, list[str]] = {}
    for rtype, fk in _links_to(key):
        by_type.setdefault(rtype.key, []).append(fk)
    for ref_key, fks in by_type.items():
        model = TYPES[ref_key].model
        cols = [getattr(model, fk) for fk in fks]
        values = {fk: case((col.in_(ids), None), else_=col) for fk, col in zip(fks, cols, strict=True)}
        changed += db.session.execute(
            update(model).where(or_(*(col.in_(ids) for col in cols)))
            .values(**values, version=model.version + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
    return changed


def _expunge(model, ids) -> None:
    for obj in _in_session(model, ids):
        db.session.expunge(obj)
