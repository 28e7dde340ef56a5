"""Assigning records to a group (product.md §5): one service for the list pages and the API.

* Only records the acting user fully sees are touched - the selected ones and, for companies, the
  people, deals and projects taken along (``cascade``).
* Set-based: per record type one ``INSERT … SELECT`` remembers each record's previous group (for
  undo) and one ``UPDATE`` moves them; all in the caller's transaction, with one audit entry
  holding the counts. Nothing is loaded into Python, so 50,000 records move in well under a second
  (``bench/cascade.py``).
* Records already in the target group are left alone and not counted: the counts say how many
  records change their group.

Undo (:func:`undo_assignment`): the actor may undo their own assignment, admins any assignment.
It puts back every record that has not changed since (same ``version``, still in the target
group) and whose previous group still exists; the others are counted as skipped. An undo that
can put back none of them is refused (:class:`~crm.errors.Conflict`) and changes nothing: the
entry stays open, with its counts, for its author or an admin who may move the records back. It is itself a
group assignment back to the previous group, so the undoer must be allowed to assign there (a
member of that group; admins any group) and must fully see the record there or where it is now.
An assignment is undone once (a second, concurrent undo is refused).

Hand-over targets (:class:`~crm.groups.models.HandOver`, set by an admin): a member of group A may
move records *of A* into group B if A -> B is configured, though not a member of B; the records then
leave their view. Records in other groups are not moved there (not counted, as if not selected);
a user with no hand-over into a group gets the same refusal as for any foreign group.

Undoing a hand-over (issue 18: "undoable by the user for a short time, by admins always"): the
records left the actor's sight, so the rule above would keep every one of them in B. For
``HANDOVER_UNDO_MINUTES`` (``KONTOR_HANDOVER_UNDO_MINUTES``, 10) the actor may still put back the
records *nobody has touched since*: same version, not deleted, and no note, file or task added,
edited or completed on them after the hand-over (:func:`_untouched_since`). Such a record is, to
the field, what the actor handed over - putting it back shows them nothing of B. What someone in B
did to a record in those minutes keeps it in B (counted as skipped, like any changed record). After
the window, the ordinary rule again: an admin, or someone who sees the records in B.

While the group system is off, both refuse (:class:`~.services.GroupsOff`) and move nothing.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, func, insert, literal, or_, select, update

from ..audit.models import AssignmentChange, AuditEntry
from ..audit.services import audit
from ..auth.models import User
from ..common import utcnow
from ..errors import Conflict, Forbidden, Invalid
from ..extensions import db
from ..files.models import Attachment
from ..groups.models import BASIS_ID, Group, HandOver, group_members
from ..history import services as history
from ..notes.models import Note
from ..tasks.models import Task
from ..visibility import Viewer, fully_visible_to, group_fully_visible_to, in_id_list, not_trashed
from .locking import lock_group, lock_groups
from .models import Company, Deal, Person, Project
from .services import require_groups_on
from .types import BY_PLURAL, TYPES, RecordType

#: what a company can take along, by API name
CASCADE = {"people": Person, "deals": Deal, "projects": Project}


def handover_sources(viewer: Viewer, group_id: int) -> list[int]:
    """The viewer's groups whose records they may hand over into ``group_id`` though not a member
    of it (none for an admin or a member of ``group_id``: they may assign there anyway)."""
    if viewer.is_admin or viewer.is_member(group_id):
        return []
    return list(db.session.scalars(
        select(HandOver.source_group_id).where(HandOver.target_group_id == group_id,
                                               HandOver.source_group_id.in_(sorted(viewer.group_ids)))
        .order_by(HandOver.source_group_id)))


def handover_targets(viewer: Viewer) -> list[tuple[Group, int, str]]:
    """The groups the viewer may hand records over to (not being a member): ``(group, source group
    id, label)``, by the target's name."""
    if viewer.is_admin:
        return []
    rows = db.session.execute(
        select(Group, HandOver.source_group_id, HandOver.label)
        .join(HandOver, HandOver.target_group_id == Group.id)
        .where(HandOver.source_group_id.in_(sorted(viewer.group_ids)), Group.id.not_in(sorted(viewer.group_ids)))
        .order_by(Group.name, HandOver.source_group_id))
    return [(group, source, label) for group, source, label in rows]


def check_target(viewer: Viewer, group_id) -> Group:
    """The group records may be assigned to: one of the viewer's groups; admins any group; a
    hand-over target of one of the viewer's groups (:func:`handover_sources`). Locked against its
    deletion until the caller commits (:func:`~crm.records.locking.lock_group`)."""
    if not isinstance(group_id, int) or isinstance(group_id, bool):
        raise Invalid(fields={"group_id": _("Choose a group.")})
    group = lock_group(group_id)
    if group is None or not (viewer.is_admin or viewer.is_member(group.id) or handover_sources(viewer, group.id)):
        raise Invalid(fields={"group_id": _("You cannot assign records to this group.")})
    return group


def ids_clause(model, ids):
    """``ids`` is a list of ids or a ``select()`` of ids (e.g. "all matching the filter")."""
    if isinstance(ids, (list, tuple, set, frozenset)):
        return in_id_list(model.id, [i for i in ids if isinstance(i, int) and not isinstance(i, bool)])
    return model.id.in_(ids)


def targets(rtype: RecordType, ids, viewer: Viewer, group_id: int, cascade: Iterable[str] = ()) -> dict[str, object]:
    """The WHERE clause per affected table: fully visible, selected (or taken along), and not yet
    in the target group."""
    model = rtype.model
    out: dict[str, object] = {}
    # into a group the viewer is not a member of (and not an admin): only records of the groups
    # that hand over to it (:func:`handover_sources`; none: nothing, check_target refuses anyway)
    sources = handover_sources(viewer, group_id) if group_id > 0 and not (
        viewer.is_admin or viewer.is_member(group_id)) else None
    selected = and_(ids_clause(model, ids), fully_visible_to(model, viewer))
    if rtype.key == "company":
        companies = select(Company.id).where(selected)
        for name in cascade:
            child = CASCADE[name]
            out[name] = and_(child.company_id.in_(companies), fully_visible_to(child, viewer),
                             child.group_id != group_id,
                             *([child.group_id.in_(sources)] if sources is not None else []))
    out[rtype.plural] = and_(selected, model.group_id != group_id,
                             *([model.group_id.in_(sources)] if sources is not None else []))
    return out


def preview(rtype: RecordType, ids, viewer: Viewer, group_id: int | None, cascade=None) -> dict[str, int]:
    """How many records an assignment would move, per type (for the dialog's checkboxes). Without
    a ``group_id`` it counts every selected (and related) fully visible record."""
    cascade = tuple(CASCADE) if cascade is None and rtype.key == "company" else tuple(cascade or ())
    counts = {}
    gid = group_id if group_id is not None else -1
    for plural, where in targets(rtype, ids, viewer, gid, cascade).items():
        model = BY_PLURAL[plural].model
        counts[plural] = db.session.scalar(select(func.count()).select_from(model).where(where)) or 0
    return counts


def preview_sources(rtype: RecordType, ids, viewer: Viewer, group_id: int, cascade=()) -> dict[str, dict[int, int]]:
    """:func:`preview` by the group the records come from: per type, source group id -> how many
    of the records an assignment into ``group_id`` would move (only what the viewer fully sees,
    :func:`targets`; a type with nothing to move maps to ``{}``)."""
    out: dict[str, dict[int, int]] = {}
    for plural, where in targets(rtype, ids, viewer, group_id, tuple(cascade)).items():
        model = BY_PLURAL[plural].model
        out[plural] = {int(gid): int(n) for gid, n in db.session.execute(
            select(model.group_id, func.count()).where(where).group_by(model.group_id))}
    return out


def workers_losing_sight(rtype: RecordType, ids, viewer: Viewer, group_id: int,
                         cascade=()) -> tuple[list[tuple[str, int]], bool]:
    """Who works on the records an assignment into ``group_id`` would move (:func:`targets`: only
    what the viewer fully sees): the active users responsible for them or with an open task on
    them, other than the viewer (who is warned by the dialog anyway), as ``(name, how many of the
    moving records)`` by name. Their tasks on those records silently leave their task lists when
    they lose sight of them (a new-user trial).

    Returns ``(workers, judged)``. For an admin (``judged``) only those who see the records in full
    now and not in the target group. Anyone else is not told who is in which group (SECURITY.md,
    trust rule 4; "Wer kann das sehen?" is the admins'): judged by memberships, the names were an
    oracle of them - a responsible user named or not named told a normal user whether they are a
    member of the target group. They get everyone who works on the records, whatever their groups
    (what the records' pages show them anyway), and the dialog says that those not in the group
    lose them. Nobody while the group system is off, nor into Basis (everyone is a member)."""
    judged = viewer.is_admin
    if not viewer.groups_enabled or group_id == BASIS_ID:
        return [], judged
    # (user, record group) -> how many of the moving records they work on: grouped in SQL, then
    # judged by the users' memberships (a few rows per user, not one test per record)
    per_group: dict[tuple[int, int], int] = {}
    for plural, where in targets(rtype, ids, viewer, group_id, cascade).items():
        model = BY_PLURAL[plural].model
        task_fk = getattr(Task, f"{BY_PLURAL[plural].key}_id")
        responsible = (select(model.responsible_id, model.group_id, func.count())
                       .where(where, model.responsible_id.is_not(None), model.responsible_id != viewer.user_id)
                       .group_by(model.responsible_id, model.group_id))
        # open tasks on records one is not responsible for (counted above), each record once
        tasks = (select(Task.assignee_id, model.group_id, func.count(model.id.distinct()))
                 .join(Task, task_fk == model.id)
                 .where(where, Task.assignee_id.is_not(None), Task.done.is_(False), Task.assignee_id != viewer.user_id,
                        or_(model.responsible_id.is_(None), model.responsible_id != Task.assignee_id))
                 .group_by(Task.assignee_id, model.group_id))
        rows = [*db.session.execute(responsible), *db.session.execute(tasks)]
        for uid, gid, n in rows:
            per_group[uid, gid] = per_group.get((uid, gid), 0) + n
    if not per_group:
        return [], judged
    users = sorted({uid for uid, _gid in per_group})
    counts: dict[int, int] = {}
    if judged:
        member_of: dict[int, set[int]] = {uid: {BASIS_ID} for uid in users}
        for uid, gid in db.session.execute(select(group_members.c.user_id, group_members.c.group_id)
                                           .where(group_members.c.user_id.in_(users))):
            member_of[uid].add(gid)
        for (uid, gid), n in per_group.items():
            # sees it in full now, not in the target group
            if gid in member_of[uid] and group_id not in member_of[uid]:
                counts[uid] = counts.get(uid, 0) + n
    else:
        for (uid, _gid), n in per_group.items():
            counts[uid] = counts.get(uid, 0) + n
    if not counts:
        return [], judged
    names = db.session.execute(select(User.id, User.name).where(User.id.in_(sorted(counts)),
                                                                 User.active.is_(True))).all()
    return sorted(((name, counts[uid]) for uid, name in names), key=lambda row: (row[0].casefold(), row[1])), judged


def assign_group(rtype: RecordType, ids, group_id, viewer: Viewer, cascade=(), source: str = "list") -> dict:
    """Move the selected records (and for companies the chosen related records) into ``group_id``.

    Returns ``{"audit_id": …, "updated": {"companies": n, …}}``. Runs in the caller's transaction;
    the caller commits (or rolls back on error: nothing is then changed).
    """
    require_groups_on(viewer)
    cascade = list(dict.fromkeys(cascade or ()))
    unknown = [c for c in cascade if c not in CASCADE]
    if unknown or (cascade and rtype.key != "company"):
        raise Invalid(fields={"cascade": _("Only companies take people, deals and projects along.")})
    group = check_target(viewer, group_id)
    entry = audit(viewer, "group_assigned", group=group.name, group_id=group.id, counts={},
                  record_type=rtype.plural, cascade=cascade, source=source)
    now = utcnow()
    updated: dict[str, int] = {}
    # Related records first: their selection goes by company id, and a filter on the companies
    # (say, "group = Süd") must still match while they move.
    plan = targets(rtype, ids, viewer, group.id, cascade)
    for plural in [*cascade, rtype.plural]:
        model = BY_PLURAL[plural].model
        key = BY_PLURAL[plural].key
        db.session.execute(
            insert(AssignmentChange).from_select(
                ["audit_id", "record_type", "record_id", "old_group_id", "new_version"],
                # FOR UPDATE (PostgreSQL; SQLite serializes writers anyway): a concurrent edit of one
                # of these rows either finishes first and is what gets recorded and moved, or waits
                # and then fails its version check - the move never rests on a stale version.
                select(literal(entry.id), literal(key), model.id, model.group_id, model.version + 1)
                .where(plan[plural]).with_for_update(of=model),
            )
        )
        # each record's history, while it is still in its old group (its name is read from there)
        history.records_assigned(BY_PLURAL[plural], entry.id, group.name, viewer)
        result = db.session.execute(
            update(model)
            .where(model.id.in_(select(AssignmentChange.record_id).where(
                AssignmentChange.audit_id == entry.id, AssignmentChange.record_type == key)),
                   fully_visible_to(model, viewer))  # (as selected above: the rule, written out)
            .values(group_id=group.id, version=model.version + 1, updated_at=now, updated_by_id=viewer.user_id)
            .execution_options(synchronize_session=False)
        )
        updated[plural] = result.rowcount
    counts = {p: updated[p] for p in [rtype.plural, *cascade]}
    entry.details = {**entry.details, "counts": counts, "undoable": sum(counts.values()) > 0,
                     # into a group the actor does not see: they may undo it for a short time only
                     "handover": is_handover(viewer, group.id)}
    db.session.flush()
    db.session.expire_all()
    return {"audit_id": entry.id, "updated": counts}


def undoable(entry: AuditEntry) -> bool:
    """A bulk assignment that moved something and was not undone yet."""
    details = entry.details or {}
    return entry.action == "group_assigned" and entry.undone_at is None and bool(details.get("undoable"))


def may_undo(entry: AuditEntry, viewer: Viewer) -> bool:
    """Who may undo: admins any bulk assignment, everyone else their own (a hand-over only for
    ``HANDOVER_UNDO_MINUTES``)."""
    return undoable(entry) and (viewer.is_admin or (
        entry.actor_id == viewer.user_id and not _handover_undo_over(entry, viewer)))


def is_handover(viewer: Viewer, group_id: int) -> bool:
    """An assignment into ``group_id`` is a hand-over: a non-admin moves records into a group they
    are not in (one of their hand-over targets); they may undo it for a short time only
    (:func:`handover_undo_open`). An admin not in the group may not undo it at all."""
    return not (viewer.is_admin or viewer.is_member(group_id))


def offers_undo(entry: AuditEntry, viewer: Viewer) -> bool:
    """Whether to offer Undo (the message after an assignment, the audit log): :func:`may_undo`, and
    the viewer could put something back - they fully see the group the records went to, or it is
    their own hand-over's short time (:func:`_may_restore`). By groups only, nothing of a record: an
    admin who is not in that group is not offered an Undo that could move nothing (the undo itself
    would refuse, :func:`undo_assignment`)."""
    target = (entry.details or {}).get("group_id")
    return may_undo(entry, viewer) and (
        not viewer.groups_enabled or (isinstance(target, int) and viewer.is_member(target))
        or handover_undo_open(entry, viewer))


def _handover_undo_over(entry: AuditEntry, viewer: Viewer) -> bool:
    return bool((entry.details or {}).get("handover")) and not handover_undo_open(entry, viewer)


def undo_assignment(entry: AuditEntry, viewer: Viewer) -> dict[str, dict[str, int]]:
    """Put the records of a bulk assignment back into their previous groups (see the module
    docstring for which ones). Returns ``{"restored": {plural: n}, "skipped": {plural: n}}``."""
    if not undoable(entry):
        raise Conflict(_("This assignment cannot be undone."))
    if not viewer.is_admin and entry.actor_id == viewer.user_id and _handover_undo_over(entry, viewer):
        raise Conflict(_("A hand-over can be undone by the one who made it for %(minutes)s minutes only; "
                         "an admin can still undo it.", minutes=current_app.config["HANDOVER_UNDO_MINUTES"]))
    if not may_undo(entry, viewer):
        raise Forbidden(_("Only the person who made an assignment, or an admin, can undo it."))
    require_groups_on(viewer, None)
    now = utcnow()
    # Claim the entry first: a second undo running at the same time finds it taken and stops.
    claimed = db.session.execute(
        update(AuditEntry)
        .where(AuditEntry.id == entry.id, AuditEntry.undone_at.is_(None))
        .values(undone_at=now, undone_by_id=viewer.user_id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise Conflict(_("This assignment was undone already."))
    target = (entry.details or {}).get("group_id")
    change = AssignmentChange
    # the previous groups, locked against their deletion (one deleted already is skipped below)
    lock_groups(db.session.scalars(select(change.old_group_id).where(change.audit_id == entry.id).distinct()))
    restored: dict[str, int] = {}
    skipped: dict[str, int] = {}
    moved: dict[str, list] = {}
    for rtype in TYPES.values():
        model = rtype.model
        mine = and_(change.audit_id == entry.id, change.record_type == rtype.key)
        total = db.session.scalar(select(func.count()).select_from(change).where(mine)) or 0
        if not total:
            continue
        # one UPDATE … FROM: each record joined to its own change row by primary key
        result = db.session.execute(
            update(model)
            .where(
                mine,
                model.id == change.record_id,
                model.version == change.new_version,
                model.group_id == target,
                change.old_group_id.in_(select(Group.id)),
                _may_restore(rtype, viewer, entry, now),
            )
            .values(group_id=change.old_group_id, version=model.version + 1, updated_at=now,
                    updated_by_id=viewer.user_id)
            .returning(model.id)
            .execution_options(synchronize_session=False)
        ).scalars().all()
        moved[rtype.key] = result
        restored[rtype.plural] = len(result)
        skipped[rtype.plural] = total - len(result)
    if not sum(restored.values()):
        # Nothing moved back: the undo did not happen. The caller rolls back (the claim above
        # included), so the entry stays open with its counts, for whoever can still undo it.
        raise Conflict(_("Nothing could be moved back: the records were changed since, or you may not move "
                         "them back. The assignment stays open, so it can still be undone by someone who may."))
    undo = audit(viewer, "assignment_undone", of=entry.id, group=(entry.details or {}).get("group"),
                 counts=restored, skipped=skipped)
    # each record's history: back from the assignment's group into its own (where it is now)
    target_name = db.session.scalar(select(Group.name).where(Group.id == target))
    for key, ids in moved.items():
        if ids:
            history.records_regrouped(TYPES[key], undo.id, viewer,
                                      select(TYPES[key].model.id).where(in_id_list(TYPES[key].model.id, ids)),
                                      target_name, history.GROUP_NOW)
    db.session.expire_all()
    return {"restored": restored, "skipped": skipped}


def _may_restore(rtype: RecordType, viewer: Viewer, entry: AuditEntry, now):
    """The undoer fully sees the record where it is now and in its previous group. An undo never
    changes a record its actor cannot fully see (product.md §8): records the assignment moved out
    of the actor's sight stay where they are (an admin of another group can move them back) -
    except, for a short time, the untouched records of the actor's own hand-over (module
    docstring)."""
    model = rtype.model
    back_there = group_fully_visible_to(AssignmentChange.old_group_id, viewer)
    if handover_undo_open(entry, viewer, now):
        return and_(back_there, not_trashed(model), _untouched_since(rtype, entry.at))
    return and_(fully_visible_to(model, viewer), back_there)


def handover_undo_open(entry: AuditEntry, viewer: Viewer, now=None) -> bool:
    """The actor's own hand-over, less than ``HANDOVER_UNDO_MINUTES`` ago."""
    minutes = current_app.config["HANDOVER_UNDO_MINUTES"]
    return (bool((entry.details or {}).get("handover")) and entry.actor_id == viewer.user_id
            and (now or utcnow()) - entry.at <= timedelta(minutes=minutes))


def _untouched_since(rtype: RecordType, at) -> ColumnElement[bool]:
    """No note, file or task of the record was added, edited or completed after ``at`` (its own
    fields: the version check of the caller)."""
    model, fk = rtype.model, f"{rtype.key}_id"
    later = [
        select(Note.id).where(getattr(Note, fk) == model.id,
                              or_(Note.created_at > at, Note.edited_at > at)),
        select(Attachment.id).where(getattr(Attachment, fk) == model.id, Attachment.created_at > at),
        select(Task.id).where(getattr(Task, fk) == model.id, or_(Task.created_at > at, Task.done_at > at)),
    ]
    return and_(*(~q.exists() for q in later))



def find_assignment(entry_id: int, plural: str, viewer: Viewer) -> AuditEntry | None:
    """The bulk assignment of ``plural`` with this id as far as the viewer may know of it: an
    admin any, everyone else their own. ``None`` otherwise - someone else's assignment answers
    exactly like an id that does not exist (product.md §8: no 403 that a 404 would not give)."""
    stmt = select(AuditEntry).where(AuditEntry.id == entry_id, AuditEntry.action == "group_assigned")
    if not viewer.is_admin:
        stmt = stmt.where(AuditEntry.actor_id == viewer.user_id)
    entry = db.session.scalar(stmt)
    if entry is None or (entry.details or {}).get("record_type") != plural:
        return None
    return entry
