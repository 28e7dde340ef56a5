"""Jobs on the queue: large group assignments and their undo, large CSV exports, the search rebuild,
the daily purge.

Starting a job writes its row (:class:`~.models.Job`, status ``queued``) and commits it *before*
the task is enqueued, so the worker finds it; the edge then shows the job's page (htmx polls it)
or answers ``202 Accepted`` with the job's URL. The worker (``flask --app app worker``) runs the
task in an app context of its own:

* :func:`claim` takes the job (``queued`` -> ``running``, one worker only, ``attempts`` + 1);
* the work and the job's final state are **one transaction**: a worker killed halfway leaves
  nothing changed, and the job ``running`` with a heartbeat that gets old - except applying the
  assignment rules, whose plan is read first and whose bulk assignments (each whole, audited and
  undoable by itself) are a transaction each, recorded in the job's result as they are done;
* :func:`reap_stale` (every minute, and whenever someone looks at the job) takes such a job up
  once more, then fails it with a message - never half-applied either way;
* a job still queued can be cancelled: it then never runs.

A job runs as its owner: the viewer is built when it runs (:func:`~crm.visibility.viewer_for`),
so it moves exactly what its owner fully sees then, by the same service the request would have
called (:func:`crm.records.assign.assign_group`). Only the owner and admins find a job
(:func:`find_job`); for anyone else it does not exist, like a made-up id.

A job speaks its requester's language (:mod:`crm.i18n`): the row keeps it when it is queued, the
work and every message about it (the end, a failure, a cancel by an admin, the reaper's) are in it,
and a list filter is kept as the request read it (canonical text: :func:`_filter_param`).
"""
from __future__ import annotations

import io
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale, format_decimal, get_translations
from flask_babel import gettext as _
from huey import crontab
from sqlalchemy import and_, func, or_, select, update
from werkzeug.datastructures import MultiDict

from ..auth.models import User
from ..common import utcnow
from ..errors import Forbidden, Invalid, Refused
from ..extensions import app_periodic_task, app_task, db
from ..i18n import job_locale, requester_locale
from ..records import queries
from ..records.assign import CASCADE, check_target, find_assignment, preview, undo_assignment
from ..records.assign import assign_group as assign_service
from ..records.services import require_groups_on
from ..records.types import TYPES, RecordType
from ..rules import services as rules
from ..visibility import Viewer, access_fingerprint, fully_visible_to, restricted_rows, viewer_for
from .models import Job

#: a job is taken up at most this often (the second time after its worker died), then failed
MAX_ATTEMPTS = 2


def stale_after() -> timedelta:
    return timedelta(seconds=current_app.config["JOBS_STALE_SECONDS"])


def _counted(text: str, n: int) -> str:
    """A message counting ``n`` (``text`` from ``get_translations().ngettext``), the number written
    as the lists write it ("1.004" / "1,004"; flask_babel's ``ngettext`` would print 1004)."""
    return text % {"num": format_decimal(n)}


def _moved_message(moved: int) -> str:
    return _counted(get_translations().ngettext("Done: %(num)s record moved.", "Done: %(num)s records moved.", moved),
                    moved)


def threshold() -> int:
    return current_app.config["BULK_JOB_THRESHOLD"]


# ---------------------------------------------------------------------------------------------
# Starting, finding, cancelling
# ---------------------------------------------------------------------------------------------

def _create(kind: str, user_id: int | None, params: dict, total: int = 0) -> Job:
    """The job's row, committed, then the task on the queue (immediate mode: run now). It keeps the
    requester's language (:func:`crm.i18n.requester_locale`), in which the worker runs it."""
    job = Job(kind=kind, user_id=user_id, params=params, total=total, status="queued",
              locale=requester_locale(user_id))
    db.session.add(job)
    db.session.commit()
    run_job(job.id)
    return job


def assignment_size(rtype: RecordType, ids, viewer: Viewer, group_id: int, cascade) -> int:
    """How many records an assignment would move, the chosen cascade included."""
    counts = preview(rtype, ids, viewer, group_id, cascade)
    return counts[rtype.plural] + sum(counts.get(c, 0) for c in cascade)


def start_assignment(rtype: RecordType, viewer: Viewer, group_id, *, ids: list[int] | None = None,
                     filter_args: list[tuple[str, str]] | None = None, cascade=(),
                     source: str = "list") -> Job | None:
    """A group assignment as a job, if it moves more than :func:`threshold` records; ``None``
    if it is small enough to run in the request (the caller then calls the service itself).

    The selection is ``ids`` or a list filter (``filter_args``: "all matching" as the list's query
    parameters, :meth:`ListFilter.pairs`; resolved again when the job runs). What the service
    would refuse at once (group system off, a group the user may not assign to, a cascade of
    anything but companies) is refused here, before anything is queued; the rest the service
    checks again when the job runs."""
    require_groups_on(viewer)
    cascade = list(dict.fromkeys(cascade or ()))
    if any(c not in CASCADE for c in cascade) or (cascade and rtype.key != "company"):
        raise Invalid(fields={"cascade": _("Only companies take people, deals and projects along.")})
    check_target(viewer, group_id)
    flt = None if filter_args is None else _list_filter(rtype, filter_args)
    selection = ids if flt is None else queries.ids_matching(rtype, viewer, flt)
    size = assignment_size(rtype, selection, viewer, group_id, cascade)
    db.session.rollback()  # (check_target locked the group: let go before the job runs)
    if size <= threshold():
        return None
    params = {"type": rtype.key, "group_id": group_id, "cascade": cascade, "source": source}
    if flt is None:
        params["ids"] = sorted(set(ids or ()))
    else:
        params["filter"] = _filter_param(flt)
    return _create("assign", viewer.user_id, params, total=size)


def _list_filter(rtype: RecordType, pairs) -> queries.ListFilter:
    """The list filter of query parameters kept as (name, value) pairs (a name may repeat); a
    number typed in a filter is read in the UI's language (:func:`crm.i18n.ui_locale`)."""
    return queries.ListFilter.from_args(rtype, MultiDict([(name, value) for name, value in pairs]))


def _filter_param(flt: queries.ListFilter) -> list[list[str]]:
    """A list filter as a job keeps it: read once, in the request, in its requester's language, and
    kept as canonical text (:meth:`ListFilter.pairs`: plain numbers, ISO dates), which the job reads
    alike in any language - a typed "1.250" is 1250 on a German page and 1.25 on an English one."""
    return [[name, value] for name, value in flt.pairs()]


def start_rules_apply(viewer: Viewer, record_type: str) -> Job | None:
    """Applying the assignment rules of a type to its existing records as a job, if it could move
    more than :func:`threshold` records (:func:`crm.rules.services.work_bound`: counts, the plan
    itself is computed by the job); ``None`` if small enough for the request."""
    require_groups_on(viewer, None)
    size = rules.work_bound(viewer, record_type)
    db.session.rollback()
    if size <= threshold():
        return None
    return _create("rules_apply", viewer.user_id, {"type": record_type}, total=size)


def start_rules_preview(viewer: Viewer, record_type: str) -> Job:
    """The preview of applying the assignment rules of a type, as a job (the page offers it when
    :func:`crm.rules.services.work_bound` is above :func:`threshold`): the counts per target group
    become the job's result, which its page shows with the button that applies them."""
    require_groups_on(viewer, None)
    size = rules.work_bound(viewer, record_type)
    db.session.rollback()
    return _create("rules_preview", viewer.user_id, {"type": record_type}, total=size)


def undo_size(entry) -> int:
    return sum((entry.details or {}).get("counts", {}).values())


def start_undo(entry, plural: str, viewer: Viewer) -> Job | None:
    """The undo of a bulk assignment as a job if it moved more than :func:`threshold` records."""
    size = undo_size(entry)
    if size <= threshold():
        return None
    db.session.rollback()
    return _create("assign_undo", viewer.user_id, {"entry_id": entry.id, "plural": plural}, total=size)


def export_where(rtype: RecordType, viewer: Viewer, flt: queries.ListFilter, ids=None, full_only: bool = False):
    """The rows of an export: the list filter's (fully visible and restricted ones), narrowed to
    ``ids``; ``full_only``: the fully visible ones (a selection on the list, as every bulk action)."""
    where = queries.filtered(rtype, viewer, flt)
    if ids is not None:
        where = and_(where, rtype.model.id.in_(ids))
    if full_only:
        where = and_(where, fully_visible_to(rtype.model, viewer))
    return where


def export_size(rtype: RecordType, viewer: Viewer, flt: queries.ListFilter, ids=None, full_only: bool = False) -> int:
    """How many rows the CSV of the list filter (narrowed to ``ids``) has for this viewer."""
    where = export_where(rtype, viewer, flt, ids, full_only)
    # restricted rows count (the safety net lets them through as it does for the export itself)
    return db.session.scalar(restricted_rows(select(func.count()).select_from(rtype.model).where(where)))


def export_threshold() -> int:
    return current_app.config["EXPORT_JOB_ROWS"]


def start_export(rtype: RecordType, viewer: Viewer, filter_args: list[tuple[str, str]],
                 ids: list[int] | None = None, full_only: bool = False) -> Job | None:
    """A CSV export as a job, if it has more than ``EXPORT_JOB_ROWS`` rows; ``None`` if it is small
    enough to stream in the request (the caller then does). Extended users and admins only. The
    filter (and ``ids``) are resolved again when the job runs, as its owner sees then."""
    _require_export(viewer)
    flt = _list_filter(rtype, filter_args)
    size = export_size(rtype, viewer, flt, ids, full_only)
    if size <= export_threshold():
        return None
    params = {"type": rtype.key, "filter": _filter_param(flt), "full_only": full_only}
    if ids is not None:
        params["ids"] = sorted(set(ids))
    db.session.rollback()
    return _create("export", viewer.user_id, params, total=size)


def _require_export(viewer: Viewer) -> None:
    user = db.session.get(User, viewer.user_id) if viewer.user_id else None
    if user is None or not user.active or not user.can_export:
        raise Forbidden(_("Only extended users and admins export lists."))


def _export_of(job_id: int, viewer: Viewer):
    """The conditions under which an export's file is the viewer's: their own finished export,
    kept, written for exactly the access they have now (a user who lost a group, a shared field or
    the right to export since gets nothing), and they may still export."""
    user = db.session.get(User, viewer.user_id) if viewer.user_id else None
    if user is None or not user.active or not user.can_export:
        return None
    return (Job.id == job_id, Job.kind == "export", Job.status == "done", Job.user_id == viewer.user_id,
            Job.file.is_not(None))


def export_download(job_id: int, viewer: Viewer) -> tuple[str, bytes] | None:
    """An export's file: for its owner only - not for admins, whose groups may differ - while it
    has not expired and the owner's access is what it was when it was written. ``None`` for
    anything else, answered like an unknown id."""
    where = _export_of(job_id, viewer)
    if where is None:
        return None
    row = db.session.execute(select(Job.file_name, Job.file, Job.params).where(*where)).first()
    if row is None or (row.params or {}).get("access") != access_fingerprint(viewer):
        return None
    return row.file_name, row.file


def export_ready(job_id: int, viewer: Viewer) -> bool:
    """Whether :func:`export_download` would give the viewer the file (without reading it)."""
    where = _export_of(job_id, viewer)
    if where is None:
        return False
    params = db.session.scalar(select(Job.params).where(*where))
    return params is not None and params.get("access") == access_fingerprint(viewer)


def shows_numbers(job: Job, viewer: Viewer) -> bool:
    """Whether the viewer sees a job's counts and messages: an export's and a rules preview's are
    their owner's only (an admin looking at them would learn how many records match a filter, or
    would move, in groups they may not see)."""
    return job.kind not in ("export", "rules_preview") or job.user_id == viewer.user_id


def expire_exports() -> int:
    """Drop the files of exports finished more than ``EXPORT_KEEP_HOURS`` ago; their page then
    says so. Returns how many."""
    cutoff = utcnow() - timedelta(hours=current_app.config["EXPORT_KEEP_HOURS"])
    with db.engine.begin() as conn:
        return conn.execute(
            update(Job).where(Job.kind == "export", Job.file.is_not(None), Job.finished_at < cutoff)
            .values(file=None)
        ).rowcount


def start_search_rebuild(user_id: int | None = None) -> Job:
    return _create("search_rebuild", user_id, {})


def find_job(job_id: int, viewer: Viewer) -> Job | None:
    """The job as far as the viewer may know of it: their own; admins any. ``None`` otherwise -
    someone else's job answers exactly like an id that does not exist."""
    stmt = select(Job).where(Job.id == job_id)
    if not viewer.is_admin:
        stmt = stmt.where(Job.user_id == viewer.user_id)
    job = db.session.scalar(stmt)
    return refresh_stale(job) if job is not None else None


def cancel(job: Job) -> bool:
    """Cancel a job that has not started: it never runs. A running one finishes (it is one short
    transaction), and so does one queued again after its worker died (applying the rules may have
    done part of its work); returns whether it was cancelled. Its message is in the job's language
    (an admin may cancel someone else's job)."""
    owner = db.session.get(User, job.user_id) if job.user_id else None
    with force_locale(job_locale(job.locale, owner.locale if owner else None)):
        message = _("Cancelled before it started. Nothing was changed.")
    with db.engine.begin() as conn:
        done = conn.execute(
            update(Job).where(Job.id == job.id, Job.status == "queued", Job.attempts == 0)
            .values(status="cancelled", cancel_requested=True, finished_at=utcnow(),
                    message=message)
        ).rowcount == 1
    db.session.refresh(job)
    return done


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------

def _set(job_id: int, **values) -> None:
    """Write the job's state in a transaction of its own, so that others see it at once."""
    with db.engine.begin() as conn:
        conn.execute(update(Job).where(Job.id == job_id).values(**values))


def claim(job_id: int) -> bool:
    now = utcnow()
    with db.engine.begin() as conn:
        return conn.execute(
            update(Job).where(Job.id == job_id, Job.status == "queued")
            .values(status="running", started_at=now, heartbeat_at=now, attempts=Job.attempts + 1)
        ).rowcount == 1


@app_task()
def run_job(job_id: int) -> None:
    """The task: run a queued job to its end (done or failed)."""
    if not claim(job_id):
        return  # cancelled, or taken by another worker
    job = db.session.get(Job, job_id)
    attempt = job.attempts
    user = db.session.get(User, job.user_id) if job.user_id else None
    locale = job_locale(job.locale, user.locale if user else None)
    try:
        with force_locale(locale):
            RUNNERS[job.kind](job, user)
    except Refused as err:
        db.session.rollback()
        with force_locale(locale):
            before = _done_before(_result(job_id))
            _fail(job_id, attempt, f"{err.summary} {before}" if before else str(err.summary))
    except Exception:
        db.session.rollback()
        with force_locale(locale):
            before = _done_before(_result(job_id))
            _fail(job_id, attempt, (_("The job stopped because of an error on our side.") + " " + before) if before
                  else _("The job stopped because of an error on our side. Nothing was changed."))
        raise


def _result(job_id: int) -> dict | None:
    return db.session.scalar(select(Job.result).where(Job.id == job_id))


def _this_run(job_id: int, attempt: int) -> tuple:
    """The job is still this run's: running, and not claimed again since (a reaper that took it for
    dead sets it back to ``queued``, or fails it; another run may have claimed it since)."""
    return Job.id == job_id, Job.status == "running", Job.attempts == attempt


def _fail(job_id: int, attempt: int, message: str) -> None:
    """The job failed - if it is still this run's (a run taken for dead must not end the one that
    took it up)."""
    with db.engine.begin() as conn:
        conn.execute(update(Job).where(*_this_run(job_id, attempt)).values(
            status="failed", finished_at=utcnow(), message=message))


def _done_before(result: dict | None) -> str | None:
    """What a job working in several transactions (applying the rules) had done, for the message
    of a job that stopped before its end; ``None`` if it had done nothing."""
    assignments = (result or {}).get("assignments") or []
    if not assignments:
        return None
    moved = _moved(assignments)
    return _counted(get_translations().ngettext(
        "Before that, %(num)s record was moved; each assignment can be undone in the audit log.",
        "Before that, %(num)s records were moved; each assignment can be undone in the audit log.", moved), moved)


def _finish(job: Job, message: str, result: dict, progress: int) -> None:
    """The job's final state, in the transaction of its work; then commit."""
    db.session.execute(update(Job).where(Job.id == job.id).values(
        status="done", finished_at=utcnow(), heartbeat_at=utcnow(), message=message, result=result,
        progress=progress))
    db.session.commit()


def _hold(job: Job) -> None:
    """First write of the work's transaction: the job's row, locked until the commit. A reaper that
    took the job for dead (a long transaction sends no heartbeat) waits for it, and then finds it
    done - it never runs the work a second time beside the first."""
    db.session.execute(update(Job).where(Job.id == job.id).values(heartbeat_at=utcnow()))


def _assign(job: Job, user: User) -> None:
    _hold(job)
    p = job.params
    rtype = TYPES[p["type"]]
    viewer = viewer_for(user)
    ids = p["ids"] if "ids" in p else queries.ids_matching(
        rtype, viewer, _list_filter(rtype, p["filter"]))
    result = assign_service(rtype, ids, p["group_id"], viewer, cascade=p["cascade"], source=p["source"])
    moved = sum(result["updated"].values())
    _finish(job, _moved_message(moved), result, moved)


def _assign_undo(job: Job, user: User) -> None:
    _hold(job)
    viewer = viewer_for(user)
    entry = find_assignment(job.params["entry_id"], job.params["plural"], viewer)
    if entry is None:
        raise Invalid(_("This assignment cannot be undone."))
    result = undo_assignment(entry, viewer)
    restored = sum(result["restored"].values())
    _finish(job, _counted(get_translations().ngettext(
        "Done: %(num)s record put back.", "Done: %(num)s records put back.", restored), restored), result,
            restored)


def _rules_apply(job: Job, user: User) -> None:
    """Applying the rules, large: the plan is read first (no write lock meanwhile: at 100k
    companies it takes a minute), then each of its bulk assignments is a transaction of its own,
    with the job's progress and heartbeat, so that the team's saves go on between them. Each
    assignment is whole and undoable by itself, made as its owner is *then* (role, groups, still
    active); the job's result lists those done, so a job that a dead worker's reaper takes up again
    goes on with what is left (the plan, made again, holds no record that is where its rule says
    any more), and a job that fails says what was moved."""
    key = job.params["type"]
    job_id, attempt, user_id = job.id, job.attempts, user.id
    plan = rules.steps(viewer_for(user), key, beat=lambda: _beat(job_id, attempt))
    db.session.rollback()  # (the plan only read)
    done = list((job.result or {}).get("assignments", ()))  # an earlier attempt's, committed
    for move, ids in plan:
        if not _hold_running(job_id, attempt):
            db.session.rollback()
            return  # taken for dead meanwhile (and taken up again, or failed): not this run's any more
        result = rules.apply_step(_owner_now(user_id), key, move, ids)
        if result is not None:
            done.append({"audit_id": result["audit_id"], "group": result["group"], "updated": result["updated"]})
            db.session.execute(update(Job).where(Job.id == job_id).values(
                progress=_moved(done), result={"assignments": done}))
        db.session.commit()
    if not _hold_running(job_id, attempt):
        db.session.rollback()
        return
    rules.record_applied(_owner_now(user_id), key, done)
    moved = _moved(done)
    _finish(db.session.get(Job, job_id), _moved_message(moved),
            {"assignments": done}, moved)


def _owner_now(user_id: int) -> Viewer:
    """The viewer of a job's owner as they are now (a job in several transactions may outlast a
    change of their role or groups); refused if they were deactivated meanwhile."""
    owner = db.session.get(User, user_id)
    if owner is None or not owner.active:
        raise Forbidden()
    return viewer_for(owner)


def _beat(job_id: int, attempt: int) -> None:
    """The heartbeat of a run that holds no transaction open, if the job is still this run's."""
    with db.engine.begin() as conn:
        conn.execute(update(Job).where(*_this_run(job_id, attempt)).values(heartbeat_at=utcnow()))


def _moved(assignments: list[dict]) -> int:
    return sum(sum(a["updated"].values()) for a in assignments)


def _hold_running(job_id: int, attempt: int) -> bool:
    """:func:`_hold` for work in several transactions: the job's row, locked until the commit, and
    whether it is still this run's (:func:`_this_run`)."""
    return db.session.execute(update(Job).where(*_this_run(job_id, attempt))
                              .values(heartbeat_at=utcnow())).rowcount == 1


def _rules_preview(job: Job, user: User) -> None:
    viewer = viewer_for(user)
    moves = rules.preview(viewer, job.params["type"])
    n = rules.plan_size(moves)
    db.session.rollback()  # (the plan only read)
    _finish(job, _counted(get_translations().ngettext(
        "Preview ready: %(num)s record would move.", "Preview ready: %(num)s records would move.", n), n),
            {"moves": rules.moves_out(moves), "losses": rules.losses(viewer, moves)}, n)


def _export(job: Job, user: User) -> None:
    """Write the CSV as its owner sees now, reading in one statement (no write transaction open
    meanwhile); the progress and a heartbeat every :data:`~crm.records.csvrows.CHUNK` rows in
    transactions of their own; the file and the job's end in one."""
    from ..records.csvrows import CHUNK, csv_stream, export_filename, export_rows

    viewer = viewer_for(user)
    _require_export(viewer)
    p = job.params
    rtype = TYPES[p["type"]]
    _set(job.id, heartbeat_at=utcnow())  # (the statement may take a while before its first row)
    flt = _list_filter(rtype, p["filter"])
    where = export_where(rtype, viewer, flt, p.get("ids"), p.get("full_only", False))
    out = io.BytesIO()
    counted = _Counted(export_rows(rtype, viewer, where, queries.list_order(rtype, viewer, flt)), job.id, CHUNK)
    for piece in csv_stream(counted):
        out.write(piece.encode("utf-8"))
    rows = counted.n - 1  # (the header)
    db.session.rollback()  # (the read's transaction)
    with db.engine.begin() as conn:  # only if still this run's: a reaper may have taken it for dead
        conn.execute(update(Job).where(Job.id == job.id, Job.status == "running").values(
            status="done", finished_at=utcnow(), heartbeat_at=utcnow(), progress=rows, total=rows,
            file=out.getvalue(), file_name=export_filename(rtype), result={"rows": rows},
            params={**p, "access": access_fingerprint(viewer)},
            message=_counted(get_translations().ngettext(
                "Done: %(num)s row exported.", "Done: %(num)s rows exported.", rows), rows)))


class _Counted:
    """``rows``, counted, reporting the progress (and that the worker lives) every ``every`` rows."""

    def __init__(self, rows, job_id: int, every: int):
        self.rows, self.job_id, self.every, self.n = rows, job_id, every, 0

    def __iter__(self):
        for row in self.rows:
            if self.n and self.n % self.every == 0:
                _set(self.job_id, progress=self.n, heartbeat_at=utcnow())
            self.n += 1
            yield row


def _search_rebuild(job: Job, user: User | None) -> None:
    from ..search import schema

    db.session.rollback()
    with db.engine.begin() as conn:
        docs = schema.rebuild(conn)
    _set(job.id, status="done", finished_at=utcnow(), progress=docs, total=docs, result={"docs": docs},
         message=_("Search index rebuilt."))


RUNNERS = {"assign": _assign, "assign_undo": _assign_undo, "rules_apply": _rules_apply,
           "rules_preview": _rules_preview, "export": _export, "search_rebuild": _search_rebuild}


# ---------------------------------------------------------------------------------------------
# Jobs whose worker died
# ---------------------------------------------------------------------------------------------

def refresh_stale(job: Job) -> Job:
    if job.status == "running" and _is_stale(job):
        reap_stale_jobs([job.id])
        db.session.refresh(job)
    return job


def _is_stale(job: Job) -> bool:
    beat = job.heartbeat_at or job.started_at or job.created_at
    return beat is not None and utcnow() - beat > stale_after()


def reap_stale_jobs(ids=None) -> dict[str, int]:
    """Running jobs whose heartbeat is older than ``JOBS_STALE_SECONDS`` (their worker died):
    taken up once more (back to ``queued``, enqueued again), failed after the second time. Their
    work was one transaction that died with the worker, so nothing of it was applied (applying the
    rules: the assignments its result lists were, and a second run goes on from there). Each change
    is conditional on the state just read: a second reaper (another app server) changes nothing."""
    cutoff = utcnow() - stale_after()
    stale = (Job.status == "running", or_(Job.heartbeat_at < cutoff, Job.heartbeat_at.is_(None)))
    stmt = select(Job.id, Job.attempts, Job.locale, User.locale, Job.result).outerjoin(
        User, User.id == Job.user_id).where(*stale)
    if ids is not None:
        stmt = stmt.where(Job.id.in_(ids))
    with db.engine.connect() as conn:
        rows = list(conn.execute(stmt))
    counts = {"retried": 0, "failed": 0}
    for job_id, attempts, locale, owner_locale, result in rows:
        with db.engine.begin() as conn:
            if attempts < MAX_ATTEMPTS:
                changed = conn.execute(update(Job).where(Job.id == job_id, *stale).values(status="queued"))
                kind = "retried"
            else:
                with force_locale(job_locale(locale, owner_locale)):
                    before = _done_before(result)
                    message = (_("The job was interrupted twice and has been stopped.") + " " + before if before
                               else _("The job was interrupted twice and has been stopped. Nothing was changed."))
                changed = conn.execute(update(Job).where(Job.id == job_id, *stale).values(
                    status="failed", finished_at=utcnow(), message=message))
                kind = "failed"
        if changed.rowcount == 1:
            counts[kind] += 1
            if kind == "retried":
                run_job(job_id)
    return counts


@app_periodic_task(crontab(minute="*"))
def reap_stale_periodically() -> None:
    reap_stale_jobs()


@app_periodic_task(crontab(minute="*"))
def compact_deal_sums_periodically() -> None:
    """PostgreSQL: the deals' sums appended since the last time, added up per key (crm/pipeline/models.py)."""
    from ..pipeline.models import compact

    compact(db.session.connection())
    db.session.commit()


@app_periodic_task(crontab(minute="7"))
def expire_exports_hourly() -> None:
    expire_exports()


@app_periodic_task(crontab(hour="3", minute="17"))
def purge_trash_daily() -> None:
    """The recycle bin's daily purge: records deleted more than 30 days ago, for good (audited), then the
    bytes of files that no row names any more."""
    from ..files.services import sweep
    from ..records.trash import purge

    purge(None)
    db.session.commit()
    sweep()  # the purged records' files (the rows went with them), an hour old at least

