"""CSV import pages: upload, column mapping with preview, progress and report, undo."""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from ..common import to_id
from ..customfields.services import fields_for
from ..extensions import db
from ..htmx import targets as htmx_targets
from ..records.pages import rules_notice
from ..records.services import default_group_id, new_record_groups
from ..records.types import TYPES
from ..visibility import current_viewer
from . import csvfile, mapping, services
from .forms import UploadForm
from .models import ImportJob

bp = Blueprint("imports", __name__, url_prefix="/import")


@bp.record_once
def _defaults(state) -> None:
    cfg = state.app.config
    cfg.setdefault("IMPORT_MAX_BYTES", 5 * 1024 * 1024)
    cfg.setdefault("IMPORT_MAX_ROWS", 20_000)
    # files up to this many rows are imported while the browser waits; larger ones in the
    # background, with progress
    cfg.setdefault("IMPORT_INLINE_ROWS", 300)


@bp.before_request
def _gate():
    if not services.may_import(current_user):
        abort(403)


def _job(job_id: int, *, own: bool = False) -> ImportJob:
    """A job of the user's own - or, to look at and to undo, anyone's for admins; else 404."""
    job = db.session.get(ImportJob, job_id)
    if job is None or not (job.user_id == current_user.id or (current_user.is_admin and not own)):
        abort(404)
    return job


@bp.route("", methods=["GET", "POST"])
def index():
    form = UploadForm()
    status = 200
    if request.method == "POST":
        limit = current_app.config["IMPORT_MAX_BYTES"]
        if (request.content_length or 0) > limit + 64 * 1024:
            form.file.errors = [services.too_large_message()]
            status = 413
        elif form.validate_on_submit():
            data = form.file.data.read(limit + 1)
            try:
                job = services.create_job(current_user, form.record_type.data, form.file.data.filename, data)
            except (csvfile.FileError, services.ImportRefused) as err:
                form.file.errors = [str(err)]
                status = 422
            else:
                db.session.commit()
                return redirect(url_for(".map_columns", job_id=job.id))
        else:
            status = 400
    jobs = list(db.session.scalars(
        select(ImportJob).where(ImportJob.user_id == current_user.id).order_by(ImportJob.id.desc()).limit(20)
    ))
    return render_template("imports/index.html", form=form, jobs=jobs, can_undo=services.can_undo), status


def _chosen(job: ImportJob) -> dict[int, str]:
    return {i: request.form.get(f"col-{i}", "") for i in range(len(job.header))}


def _mapping_context(job: ImportJob, chosen: dict[int, str], problems=()):
    viewer = current_viewer()
    fields = fields_for(job.record_type)
    sample = services.preview(job)
    date_fields = {f"cf_{f.id}" for f in fields if f.kind == "date"}
    targets = mapping.targets(job.record_type, fields)
    used = [t for t in targets if t.key in chosen.values()]
    mapped = []
    for line, cells in sample:
        data, company = mapping.formdata(cells, {i: t for i, t in chosen.items() if t}, date_fields, job.header)
        mapped.append((line, [company if t.key == "company" else data.get(t.key, "") for t in used]))
    on_duplicate = request.form.get("on_duplicate", job.on_duplicate or "skip")
    create_companies = bool(request.form.get("create_companies")) if request.method == "POST" else job.create_companies
    return {
        "job": job, "rtype": TYPES[job.record_type], "targets": targets, "chosen": chosen, "sample": sample,
        "used": used, "mapped": mapped, "problems": problems, "on_duplicate": on_duplicate,
        "create_companies": create_companies,
        "duplicates": services.duplicates(job, viewer, chosen, on_duplicate),
        # what a new record's form offers: the type's default group (an admin's setting, even if
        # the importer is not a member), and the importer's own groups unless it forbids them
        "groups": new_record_groups(viewer, job.record_type) if viewer.groups_enabled else [],
        "rules_notice": rules_notice(TYPES[job.record_type]),
        # preselected as on a new record's form: the type's or the user's default group, their only
        # group; none for a member of several groups without a default one (they choose)
        "group_id": to_id(request.form.get("group_id")) or default_group_id(viewer, current_user,
                                                                            key=job.record_type),
    }


@bp.route("/<int:job_id>/map", methods=["GET", "POST"])
def map_columns(job_id: int):
    job = _job(job_id, own=True)
    if job.status != "mapping":
        return redirect(url_for(".job", job_id=job.id))
    if request.method == "GET":
        return render_template("imports/map.html", **_mapping_context(job, services.job_mapping(job)))
    chosen = _chosen(job)
    problems = services.configure(job, current_viewer(), chosen, to_id(request.form.get("group_id")),
                                  request.form.get("on_duplicate", "skip"), bool(request.form.get("create_companies")))
    if problems:
        db.session.rollback()
        return render_template("imports/map.html", **_mapping_context(job, chosen, problems)), 422
    db.session.commit()
    services.start(job)
    return redirect(url_for(".job", job_id=job.id))


@bp.post("/<int:job_id>/preview")
def preview(job_id: int):
    """The preview table as the mapping stands (htmx, on every change of a column's field)."""
    job = _job(job_id, own=True)
    chosen = _chosen(job)
    problems = mapping.check(job.record_type, {i: t for i, t in chosen.items() if t}, fields_for(job.record_type))
    return render_template("imports/_preview.html", **_mapping_context(job, chosen, problems))


@bp.get("/<int:job_id>")
def job(job_id: int):
    job = services.refresh_stale(_job(job_id))
    ctx = {"job": job, "rtype": TYPES[job.record_type], "can_undo": services.can_undo(job, current_user),
           "deadline": services.undo_deadline(job),
           "went": services.where_they_went(job, current_viewer()) if job.status == "done" else []}
    if htmx_targets("import-status"):
        return render_template("imports/_status.html", **ctx)
    return render_template("imports/job.html", **ctx)


@bp.post("/<int:job_id>/cancel")
def cancel(job_id: int):
    """Cancel (the owner): a waiting job never runs, a running one stops and saves nothing."""
    job = _job(job_id, own=True)
    if services.cancel(job, current_user):
        flash(_("The import is being cancelled. Nothing will be imported."), "success")
    return redirect(url_for(".job", job_id=job_id))


@bp.post("/<int:job_id>/undo")
def undo(job_id: int):
    job = _job(job_id)
    try:
        counts = services.undo(job, current_viewer(), current_user)
    except services.ImportRefused as err:
        db.session.rollback()
        flash(str(err), "error")
        return redirect(url_for(".job", job_id=job_id))
    db.session.commit()
    message = ngettext("The import was undone: %(num)s record deleted.",
                       "The import was undone: %(num)s records deleted.", counts["deleted"])
    if counts["kept"]:
        message += " " + ngettext("%(num)s was changed since the import and was kept.",
                                  "%(num)s were changed since the import and were kept.", counts["kept"])
    if counts["gone"]:
        # (one sentence for both: a record deleted since and one no longer in the user's view, e.g.
        # put into another group by the assignment rules, must read alike - product.md §8)
        message += " " + ngettext("%(num)s was deleted already or is not in your view; it stays as it is.",
                                  "%(num)s were deleted already or are not in your view; they stay as they are.",
                                  counts["gone"])
    flash(message, "success" if not counts["kept"] else "warning")
    return redirect(url_for(".job", job_id=job_id))
