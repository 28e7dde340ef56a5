from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..visibility import current_viewer, task_visible_to
from .models import Task


def tasks_for_record(key: str, record_id: int) -> list[Task]:
    return list(db.session.scalars(
        select(Task)
        .where(getattr(Task, f"{key}_id") == record_id, task_visible_to(current_viewer()))
        .order_by(Task.done, Task.due_date.is_(None), Task.due_date, Task.id)
    ))


def record_names(tasks: list[Task]) -> dict[tuple[str, int], object]:
    """References to the records the tasks belong to, in one query."""
    from ..records.loaders import references_by_type

    wanted: dict[str, set[int]] = {}
    for task in tasks:
        if task.record_key:
            wanted.setdefault(task.record_key, set()).add(task.record_id)
    return {(key, rid): ref for key, refs in references_by_type(wanted).items() for rid, ref in refs.items()}


def task_list(viewer, user_id: int, scope: str = "mine", status: str = "open"):
    """The statement of a task list under the visibility predicate of tasks: ``scope`` "mine"
    (assigned to the user), "created" (by them) or "all" (every task the viewer sees); ``status``
    "open" (due soonest first: overdue ones first of all, undated ones last) or "done" (the last
    done first). One user's tasks are few: their predicate looks each task's record up by its key
    (``per_row``); all tasks keep the predicate planned as a whole, which for a user in one group
    reads their few records once."""
    stmt = select(Task).where(task_visible_to(viewer, per_row=scope != "all"))
    if scope == "mine":
        stmt = stmt.where(Task.assignee_id == user_id)
    elif scope == "created":
        stmt = stmt.where(Task.created_by_id == user_id)
    if status == "done":
        return stmt.where(Task.done.is_(True)).order_by(Task.done_at.desc(), Task.id.desc())
    return stmt.where(Task.done.is_(False)).order_by(Task.due_date.is_(None), Task.due_date, Task.id)


def open_tasks_of(viewer, user_id: int, limit: int = 20) -> list[Task]:
    """The user's open tasks, the ones due soonest first, at most ``limit``: the home page's, and
    the task list's first page again when a new task was refused. One bounded query."""
    return list(db.session.scalars(task_list(viewer, user_id).limit(limit)))
