from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import get_timezone
from flask_babel import gettext as _
from sqlalchemy import select

from ..auth.models import User
from ..common import utcnow
from ..errors import Forbidden, Invalid, NotFound
from ..extensions import db
from ..records.loaders import is_fully_visible, load_record
from ..records.types import TYPES
from ..visibility import Viewer, task_visible_to, viewer_for
from .models import Task
from .schemas import RescheduleInput, TaskInput, TaskPatch

#: the groups of the open task list, in this order
GROUPS = ("overdue", "today", "this_week", "later", "no_date")


def today() -> date:
    """Today in the account's time zone."""
    return datetime.now(get_timezone()).date()


def _check_assignee(assignee_id: int | None, viewer: Viewer, record_key: str | None = None,
                    record_id: int | None = None) -> None:
    """The assignee is an active user. For a task of a record, and only when the actor is an admin,
    also one who sees that record in full (a task follows its record; assigned to someone else it
    would be on nobody's list). Only an admin: who sees a record at which level is the admins'
    "who can see this" panel; everyone else sees their own level only (product.md §8), so the
    answer to a non-admin must not depend on the assignee's groups - refusing some users and taking
    others would tell them who is in the record's group."""
    if assignee_id is None:
        return
    assignee = db.session.scalar(select(User).where(User.id == assignee_id, User.active.is_(True)))
    if assignee is None:
        raise Invalid(fields={"assignee_id": _("There is no such user.")})
    if record_key is None or not viewer.is_admin:
        return
    if not is_fully_visible(record_key, record_id, viewer_for(assignee)):
        raise Invalid(fields={"assignee_id": _(
            "%(name)s does not see this record in full and would not see the task. "
            "Choose someone who does, or add them to the record's group first.", name=assignee.name)})


def add_task(data: TaskInput, viewer: Viewer, *, created_by_id: int, record_key: str | None = None,
             record_id: int | None = None) -> Task:
    """Create a task; a record, if any, has been loaded in full by the caller. The assignee must be
    an active user (:func:`_check_assignee`). Not audited (the task keeps who created it)."""
    _check_assignee(data.assignee_id, viewer, record_key, record_id)
    task = Task(title=data.title, created_by_id=created_by_id, assignee_id=data.assignee_id,
                due_date=data.due_date)
    if record_key:
        task.attach_to(record_key, record_id)
    db.session.add(task)
    db.session.flush()
    return task


def load_task(task_id: int, viewer: Viewer, *, write: bool = False) -> Task:
    """Tasks follow their record: a task of a record the user does not fully see does not exist
    (404 like an unknown id), nor someone else's task without a record. ``write``: its record
    is loaded for writing too (``load_record(..., write=True)``)."""
    task = db.session.scalar(select(Task).where(Task.id == task_id, task_visible_to(viewer)))
    if task is None:
        raise NotFound()
    if write and task.record_key:
        load_record(TYPES[task.record_key], task.record_id, write=True, viewer=viewer)
    return task


def set_done(task: Task, done: bool) -> None:
    task.done = done
    task.done_at = utcnow() if done else None


def update_task(task: Task, data: TaskInput | TaskPatch, viewer: Viewer) -> Task:
    """Change a task loaded by :func:`load_task` (``write=True``): whoever sees it may, as they may
    tick it off. A :class:`TaskInput` (the edit form) replaces title, due date and assignee; a
    :class:`TaskPatch` (the API) changes what it sends."""
    patch = isinstance(data, TaskPatch)
    names = ("title", "due_date", "assignee_id")
    changes = {n: getattr(data, n) for n in names if not patch or data.sent(n)}
    if "assignee_id" in changes and changes["assignee_id"] != task.assignee_id:
        _check_assignee(changes["assignee_id"], viewer, task.record_key, task.record_id)
    for name, value in changes.items():
        setattr(task, name, value)
    if patch and data.sent("done") and data.done is not None and data.done != task.done:
        set_done(task, data.done)
    db.session.flush()
    return task


def reschedule_date(data: RescheduleInput, base: date | None = None) -> date:
    """The new due date of a reschedule: tomorrow, Monday of next week, or the date given."""
    base = base or today()
    if data.when == "tomorrow":
        return base + timedelta(days=1)
    if data.when == "next_week":
        return base + timedelta(days=7 - base.weekday())
    if data.due_date is not None:
        return data.due_date
    raise Invalid(fields={"due_date": _("Choose a date.")})


def reschedule(task: Task, data: RescheduleInput, viewer: Viewer) -> Task:
    """Move the due date of a task loaded by :func:`load_task` (``write=True``)."""
    task.due_date = reschedule_date(data)
    db.session.flush()
    return task


def may_delete(task: Task, viewer: Viewer) -> bool:
    """Its creator, extended users and admins delete a task; nobody else."""
    if viewer.role in ("admin", "extended"):
        return True
    if task.created_by_id is not None and task.created_by_id == viewer.user_id:
        return True
    return False


def delete_task(task: Task, viewer: Viewer) -> None:
    """Delete a task loaded by :func:`load_task` (``write=True``)."""
    if not may_delete(task, viewer):
        raise Forbidden(_("Only its creator, extended users and admins may delete this task."))
    db.session.delete(task)
    db.session.flush()


def group_of(task: Task, base: date | None = None) -> str:
    """Which group of the open task list a task belongs to: overdue, today, this week (until
    Sunday), later, or without a date."""
    base = base or today()
    if task.due_date is None:
        return "no_date"
    if task.due_date < base:
        return "overdue"
    if task.due_date == base:
        return "today"
    if task.due_date <= base + timedelta(days=6 - base.weekday()):
        return "this_week"
    return "later"


def grouped(tasks: list[Task], base: date | None = None) -> list[tuple[str, list[Task]]]:
    """The (already loaded, already visible) tasks in their groups, in the order of :data:`GROUPS`;
    empty groups left out. Only sorts rows the query returned: it filters nothing."""
    base = base or today()
    out: dict[str, list[Task]] = {g: [] for g in GROUPS}
    for task in tasks:
        out[group_of(task, base)].append(task)
    return [(g, out[g]) for g in GROUPS if out[g]]
