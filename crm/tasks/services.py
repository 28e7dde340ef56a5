from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from ..auth.models import User
from ..common import utcnow
from ..errors import Invalid
from ..extensions import db
from .models import Task
from .schemas import TaskInput


def add_task(data: TaskInput, *, created_by_id: int, record_key: str | None = None,
             record_id: int | None = None) -> Task:
    """Create a task; a record, if any, has been loaded in full by the caller. The assignee must be
    an active user. Not audited (the task keeps who created it)."""
    if data.assignee_id is not None and db.session.scalar(
            select(User.id).where(User.id == data.assignee_id, User.active.is_(True))) is None:
        raise Invalid(fields={"assignee_id": _("There is no such user.")})
    task = Task(title=data.title, created_by_id=created_by_id, assignee_id=data.assignee_id,
                due_date=data.due_date)
    if record_key:
        task.attach_to(record_key, record_id)
    db.session.add(task)
    db.session.flush()
    return task


def set_done(task: Task, done: bool) -> None:
    task.done = done
    task.done_at = utcnow() if done else None
