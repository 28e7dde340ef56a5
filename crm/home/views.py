from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from ..htmx import targets
from ..tasks.queries import open_tasks_of, record_names
from ..tasks.services import grouped, today
from ..visibility import current_viewer
from .queries import Cursor, page

bp = Blueprint("home", __name__)
#: the most open tasks the home page shows (the rest: the task list)
HOME_TASKS = 20


@bp.get("/")
def index():
    viewer = current_viewer()
    shown, next_cursor = page(viewer, Cursor.parse(request.args.get("after")))
    ctx = {"batches": shown, "next_cursor": next_cursor}
    if targets("activity-more"):
        return render_template("home/_events.html", **ctx)
    # the user's open tasks, grouped by when they are due (overdue first): one bounded query
    tasks = open_tasks_of(viewer, current_user.id, limit=HOME_TASKS)
    return render_template("home/index.html", tasks=tasks, task_groups_shown=grouped(tasks, today()),
                           names=record_names(tasks), more_tasks=len(tasks) >= HOME_TASKS, **ctx)
