from __future__ import annotations

from datetime import date

from ..common import utcnow
from ..extensions import db
from .models import Task


def add_task(title: str, *, created_by_id: int, assignee_id: int | None, due_date: date | None,
             record_key: str | None = None, record_id: int | None = None) -> Task:
    """Create a task; a record, if any, has been loaded in full by the caller."""
    task = Task(title=title, created_by_id=created_by_id, assignee_id=assignee_id, due_date=due_date)
    if record_key:
        task.attach_to(record_key, record_id)
    db.session.add(task)
    db.session.flush()
    return task


def set_done(task: Task, done: bool) -> None:
    task.done = done
    task.done_at = utcnow() if done else None
