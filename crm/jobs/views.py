"""A job's page: its state, polled by htmx while it runs (no script of its own), and Cancel while
it waits. Only its owner - and admins - find it; for anyone else it answers 404 like a made-up id."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from ..audit.models import AuditEntry
from ..extensions import db
from ..htmx import targets as htmx_targets
from ..records.types import BY_PLURAL, TYPES
from ..visibility import current_viewer
from . import services
from .models import ASSIGNING, Job

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


def _job(job_id: int) -> Job:
    job = services.find_job(job_id, current_viewer())
    if job is None:
        abort(404)
    return job


def _context(job: Job) -> dict:
    params = job.params or {}
    rtype = TYPES.get(params.get("type", "")) or BY_PLURAL.get(params.get("plural", ""))
    audit_id = (job.result or {}).get("audit_id") if job.kind == "assign" else None
    entry = db.session.get(AuditEntry, audit_id) if audit_id else None
    viewer = current_viewer()
    download = job.kind == "export" and services.export_ready(job.id, viewer)
    # "Show them": the records the job moved (the lists' filter ``assignment=<job id>``), of its
    # type and of the types a company assignment took along
    show: dict = {"assignment": job.id} if job.kind in ASSIGNING else {}
    moved = (job.result or {}).get("updated") or {} if job.kind == "assign" and rtype else {}
    along = [BY_PLURAL[p] for p, n in moved.items() if n and p in BY_PLURAL and p != rtype.plural]
    return {"job": job, "rtype": rtype, "undo_entry": entry, "download": download,
            "numbers": services.shows_numbers(job, viewer), "show": show, "along": along}


@bp.get("/<int:job_id>")
def job(job_id: int):
    ctx = _context(_job(job_id))
    if htmx_targets("job-status"):
        return render_template("jobs/_status.html", **ctx)
    return render_template("jobs/job.html", **ctx)


@bp.get("/<int:job_id>/download")
def download(job_id: int):
    """An export's CSV: its owner's, while it is kept; for anyone else, admins included, 404."""
    found = services.export_download(job_id, current_viewer())
    if found is None:
        abort(404)
    name, data = found
    return Response(data, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "X-Content-Type-Options": "nosniff"})


@bp.post("/<int:job_id>/cancel")
def cancel(job_id: int):
    job = _job(job_id)
    if services.cancel(job):
        flash(_("The job was cancelled. Nothing was changed."), "success")
    else:
        flash(_("The job has started already and cannot be cancelled."), "warning")
    return redirect(url_for(".job", job_id=job_id))
