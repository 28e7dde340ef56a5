"""Assigning records to a group (product.md §5): one service for the list pages and the API.

* Only records the acting user fully sees are touched - the selected ones and, for companies, the
  people, deals and projects taken along (``cascade``).
* Set-based: one ``INSERT … SELECT`` remembers each record's previous group (for undo), one
  ``UPDATE`` moves them; all in the caller's transaction, with one audit entry holding the counts.
* Records already in the target group are left alone and not counted: the counts say how many
  records change their group.
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import and_, func, insert, literal, select, update

from ..audit.models import AssignmentChange, AuditEntry
from ..audit.services import audit
from ..common import utcnow
from ..extensions import db
from ..groups.models import Group
from ..visibility import Viewer, fully_visible_to
from .models import Company, Deal, Person, Project
from .services import ServiceError
from .types import TYPES, RecordType

#: what a company can take along, by API name
CASCADE = {"people": Person, "deals": Deal, "projects": Project}


def check_target(viewer: Viewer, group_id) -> Group:
    """The group records may be assigned to: one of the viewer's groups; admins any group."""
    if not isinstance(group_id, int) or isinstance(group_id, bool):
        raise ServiceError({"group_id": _("Choose a group.")})
    group = db.session.get(Group, group_id)
    if group is None or not (viewer.is_admin or viewer.is_member(group.id)):
        raise ServiceError({"group_id": _("You cannot assign records to this group.")})
    return group


def _ids_clause(model, ids):
    """``ids`` is a list of ids or a ``select()`` of ids (e.g. "all matching the filter")."""
    if isinstance(ids, (list, tuple, set, frozenset)):
        return model.id.in_(list(ids))
    return model.id.in_(ids)


def targets(rtype: RecordType, ids, viewer: Viewer, group_id: int, cascade=()) -> dict[str, object]:
    """The WHERE clause per affected table: fully visible, selected (or taken along), and not yet
    in the target group."""
    model = rtype.model
    out: dict[str, object] = {}
    selected = and_(_ids_clause(model, ids), fully_visible_to(model, viewer))
    if rtype.key == "company":
        companies = select(Company.id).where(selected)
        for name in cascade:
            child = CASCADE[name]
            out[name] = and_(child.company_id.in_(companies), fully_visible_to(child, viewer),
                             child.group_id != group_id)
    out[rtype.plural] = and_(selected, model.group_id != group_id)
    return out


def preview(rtype: RecordType, ids, viewer: Viewer, group_id: int | None, cascade=None) -> dict[str, int]:
    """How many records an assignment would move, per type (for the dialog's checkboxes)."""
    cascade = tuple(CASCADE) if cascade is None and rtype.key == "company" else tuple(cascade or ())
    counts = {}
    gid = group_id if group_id is not None else -1
    for plural, where in targets(rtype, ids, viewer, gid, cascade).items():
        model = TYPES_BY_PLURAL[plural].model
        counts[plural] = db.session.scalar(select(func.count()).select_from(model).where(where)) or 0
    return counts


def assign_group(rtype: RecordType, ids, group_id, viewer: Viewer, cascade=(), source: str = "list") -> dict:
    """Move the selected records (and for companies the chosen related records) into ``group_id``.

    Returns ``{"audit_id": …, "updated": {"companies": n, …}}``. Runs in the caller's transaction;
    the caller commits (or rolls back on error: nothing is then changed).
    """
    unknown = [c for c in cascade if c not in CASCADE]
    if unknown or (cascade and rtype.key != "company"):
        raise ServiceError({"cascade": _("Only companies take people, deals and projects along.")})
    group = check_target(viewer, group_id)
    entry = audit(viewer, "group_assigned", group=group.name, group_id=group.id, counts={},
                  record_type=rtype.plural, cascade=list(cascade), source=source)
    now = utcnow()
    updated: dict[str, int] = {}
    # Related records first: their selection goes by company id, and a filter on the companies
    # (say, "group = Süd") must still match while they move.
    plan = targets(rtype, ids, viewer, group.id, cascade)
    order = [p for p in plan if p != rtype.plural] + [rtype.plural]
    for plural in order:
        model = TYPES_BY_PLURAL[plural].model
        key = TYPES_BY_PLURAL[plural].key
        where = plan[plural]
        db.session.execute(
            insert(AssignmentChange).from_select(
                ["audit_id", "record_type", "record_id", "old_group_id", "new_version"],
                # FOR UPDATE (PostgreSQL; SQLite serializes writers anyway): a concurrent edit of one
                # of these rows either finishes first and is what gets recorded and moved, or waits
                # and then fails its version check - the move never rests on a stale version.
                select(literal(entry.id), literal(key), model.id, model.group_id, model.version + 1)
                .where(where).with_for_update(of=model),
            )
        )
        result = db.session.execute(
            update(model)
            .where(model.id.in_(select(AssignmentChange.record_id).where(
                AssignmentChange.audit_id == entry.id, AssignmentChange.record_type == key)))
            .values(group_id=group.id, version=model.version + 1, updated_at=now, updated_by_id=viewer.user_id)
            .execution_options(synchronize_session=False)
        )
        updated[plural] = result.rowcount
    entry.details = {**entry.details, "counts": {p: updated[p] for p in [rtype.plural, *cascade]}}
    db.session.expire_all()
    return {"audit_id": entry.id, "updated": {p: updated[p] for p in [rtype.plural, *cascade]}}


def undo_assignment(entry: AuditEntry, viewer: Viewer) -> dict[str, dict[str, int]]:
    """Put records of a bulk assignment back into their previous groups - those the viewer fully
    sees and that have not changed since (same version). Returns restored and skipped counts."""
    if entry.action != "group_assigned" or entry.undone_at is not None:
        raise ServiceError({"_": _("This assignment cannot be undone.")}, status=409)
    restored: dict[str, int] = {}
    skipped: dict[str, int] = {}
    now = utcnow()
    for rtype in TYPES.values():
        model = rtype.model
        changes = select(AssignmentChange).where(
            AssignmentChange.audit_id == entry.id, AssignmentChange.record_type == rtype.key
        ).subquery()
        total = db.session.scalar(select(func.count()).select_from(changes)) or 0
        if not total:
            continue
        unchanged = and_(
            model.id.in_(select(changes.c.record_id).where(
                changes.c.new_version == model.version, changes.c.old_group_id.in_(select(Group.id)))),
            fully_visible_to(model, viewer),
        )
        old_group = (
            select(AssignmentChange.old_group_id)
            .where(AssignmentChange.audit_id == entry.id, AssignmentChange.record_type == rtype.key,
                   AssignmentChange.record_id == model.id)
            .scalar_subquery()
        )
        result = db.session.execute(
            update(model).where(unchanged)
            .values(group_id=old_group, version=model.version + 1, updated_at=now, updated_by_id=viewer.user_id)
            .execution_options(synchronize_session=False)
        )
        restored[rtype.plural] = result.rowcount
        skipped[rtype.plural] = total - result.rowcount
    entry.undone_at = now
    entry.undone_by_id = viewer.user_id
    audit(viewer, "assignment_undone", of=entry.id, group=entry.details.get("group"), counts=restored,
          skipped=skipped)
    db.session.expire_all()
    return {"restored": restored, "skipped": skipped}


TYPES_BY_PLURAL = {t.plural: t for t in TYPES.values()}
