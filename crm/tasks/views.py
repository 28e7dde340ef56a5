"""Tasks: the task list (open tasks grouped by due date), adding a task (on its own or on a
record), editing and rescheduling it, completing it in place."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from ..common import to_id, to_int
from ..errors import Refused, apply_to_form, flash_refusal
from ..extensions import db
from ..htmx import targets
from ..input_types import parse_input
from ..records.loaders import load_record
from ..records.types import TYPES
from ..visibility import current_viewer
from .forms import TaskForm, task_form
from .models import Task
from .queries import open_tasks_of, record_names, task_list, tasks_for_record
from .schemas import RESCHEDULE_CHOICES, RescheduleInput, TaskInput
from .services import add_task, delete_task, grouped, reschedule, reschedule_date, set_done, update_task
from .services import load_task as _load

bp = Blueprint("tasks", __name__, url_prefix="/tasks")
PER_PAGE = 50


def load_task(task_id: int, *, write: bool = False) -> Task:
    """Tasks follow their record (:func:`.services.load_task`): 404 like an unknown id."""
    try:
        return _load(task_id, current_viewer(), write=write)
    except Refused as refused:
        abort(refused.status)


def _record_tasks(key: str, record_id: int, form: TaskForm, status: int = 200):
    record = load_record(TYPES[key], record_id, write=True)
    return render_template("tasks/_record_tasks.html", rtype=TYPES[key], record=record,
                           tasks=tasks_for_record(key, record_id), task_form=form), status


@bp.get("")
def index():
    viewer = current_viewer()
    scope = request.args.get("scope", "mine")
    scope = scope if scope in ("mine", "created") else "all"
    status = "done" if request.args.get("status") == "done" else "open"
    stmt = task_list(viewer, current_user.id, scope, status)
    page = max(1, min(to_int(request.args.get("page"), 1), 10_000))
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    tasks = list(db.session.scalars(stmt.limit(PER_PAGE).offset((page - 1) * PER_PAGE)))
    form = task_form(formdata=None)
    form.assignee_id.data = current_user.id
    groups = grouped(tasks) if status == "open" else [("done", tasks)] if tasks else []
    return render_template("tasks/index.html", tasks=tasks, groups=groups, names=record_names(tasks),
                           scope=scope, status=status, page=page, pages=max(1, -(-total // PER_PAGE)),
                           total=total, task_form=form)


@bp.post("")
def create():
    form = task_form()
    key = form.record_type.data if form.record_type.data in TYPES else None
    record_id = to_id(form.record_id.data) if key else None
    if key and record_id is None:
        abort(404)
    if key:
        load_record(TYPES[key], record_id, write=True)
    added = False
    if form.validate_on_submit():
        try:
            add_task(parse_input(TaskInput, form.to_input()), current_viewer(), created_by_id=current_user.id,
                     record_key=key, record_id=record_id)
        except Refused as refused:
            db.session.rollback()
            apply_to_form(form, refused)
        else:
            added = True
    if added:
        db.session.commit()
        if key and targets("tasks"):
            fresh = task_form(formdata=None)
            fresh.assignee_id.data = current_user.id
            return _record_tasks(key, record_id, fresh)
        if key:
            return redirect(url_for(f"{TYPES[key].plural}.detail", record_id=record_id) + "#tasks")
        return redirect(url_for("tasks.index"))
    if key and targets("tasks"):
        return _record_tasks(key, record_id, form, status=422)
    if key:
        from ..records.pages import detail_context

        ctx = detail_context(TYPES[key], load_record(TYPES[key], record_id, write=True))
        ctx["task_form"] = form
        return render_template("records/detail.html", **ctx), 400
    tasks = open_tasks_of(current_viewer(), current_user.id, PER_PAGE)
    return render_template("tasks/index.html", tasks=tasks, groups=grouped(tasks), names=record_names(tasks),
                           scope="mine", status="open", page=1, pages=1, total=len(tasks),
                           task_form=form), 400


@bp.post("/<int:task_id>/toggle")
def toggle(task_id: int):
    task = load_task(task_id, write=True)
    set_done(task, not task.done)
    db.session.commit()
    if targets(f"task-{task.id}"):
        return _row(task)
    return redirect(request.referrer if _same_site(request.referrer) else url_for("tasks.index"))


def _row(task: Task):
    return render_template("tasks/_task.html", task=task, names=record_names([task]),
                           show_record=request.args.get("context") == "list")


def _back(task: Task):
    """Where a change made without htmx returns to: the page it came from, or the task list."""
    target = request.form.get("next") or request.referrer
    return redirect(target if _same_site(target) else url_for("tasks.index"))


@bp.route("/<int:task_id>/edit", methods=["GET", "POST"])
def edit(task_id: int):
    """Change a task's title, due date and assignee."""
    task = load_task(task_id, write=True)
    form = task_form(obj=task) if request.method == "GET" else task_form()
    if form.validate_on_submit():
        try:
            update_task(task, parse_input(TaskInput, form.to_input()), current_viewer())
        except Refused as refused:
            db.session.rollback()
            task = load_task(task_id, write=True)
            apply_to_form(form, refused)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return _back(task)
    nxt = request.form.get("next") or request.args.get("next") or request.referrer
    quick = {when: reschedule_date(RescheduleInput(when=when)).isoformat() for when in RESCHEDULE_CHOICES}
    return render_template("tasks/edit.html", task=task, form=form, names=record_names([task]),
                           quick_dates=quick, next=nxt if _same_site(nxt) else None), \
        400 if request.method == "POST" else 200


@bp.post("/<int:task_id>/reschedule")
def reschedule_view(task_id: int):
    """Move a task's due date: tomorrow, next week (its Monday), or a date."""
    task = load_task(task_id, write=True)
    try:
        reschedule(task, parse_input(RescheduleInput, {
            "when": request.form.get("when") or None, "due_date": request.form.get("due_date") or None}),
            current_viewer())
    except Refused as refused:
        db.session.rollback()
        if targets(f"task-{task_id}"):
            return _row(load_task(task_id, write=True)), 422
        flash_refusal(refused)
        return _back(task)
    db.session.commit()
    if targets(f"task-{task.id}"):
        return _row(task)
    flash(_("Rescheduled to %(date)s.", date=format_date(task.due_date)), "success")
    return _back(task)


@bp.post("/<int:task_id>/delete")
def delete(task_id: int):
    task = load_task(task_id, write=True)
    try:
        delete_task(task, current_viewer())
    except Refused as refused:
        abort(refused.status)
    db.session.commit()
    if targets(f"task-{task_id}"):
        return ""
    return redirect(url_for("tasks.index"))


def _same_site(url: str | None) -> bool:
    from urllib.parse import urlsplit

    if not url:
        return False
    parts = urlsplit(url)
    if not parts.scheme and not parts.netloc:
        return url.startswith("/") and not url.startswith("//") and "\\" not in url
    return parts.netloc == request.host and parts.scheme in ("http", "https")


__all__ = ["_", "bp", "load_task"]
