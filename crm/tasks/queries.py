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



def open_tasks_of(viewer, user_id: int, limit: int = 20) -> list[Task]:
    """The user's open tasks, the ones due soonest first (overdue ones first of all, undated ones
    last): for the home page. One bounded query, under the visibility predicate of tasks, which
    looks each of these few tasks' record up by its key (``per_row``)."""
    return list(db.session.scalars(
        select(Task)
        .where(task_visible_to(viewer, per_row=True), Task.assignee_id == user_id, Task.done.is_(False))
        .order_by(Task.due_date.is_(None), Task.due_date, Task.id)
        .limit(limit)
    ))
