from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..htmx import targets
from ..tasks.models import Task
from ..tasks.queries import record_names
from ..visibility import current_viewer, task_visible_to
from .queries import Cursor, page

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    viewer = current_viewer()
    shown, next_cursor = page(viewer, Cursor.parse(request.args.get("after")))
    ctx = {"batches": shown, "next_cursor": next_cursor}
    if targets("activity-more"):
        return render_template("home/_events.html", **ctx)
    tasks = list(db.session.scalars(
        select(Task)
        .where(task_visible_to(viewer), Task.assignee_id == current_user.id, Task.done.is_(False))
        .order_by(Task.due_date.is_(None), Task.due_date, Task.id)
        .limit(20)
    ))
    return render_template("home/index.html", tasks=tasks, names=record_names(tasks), **ctx)
