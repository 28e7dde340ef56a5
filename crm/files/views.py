"""The "Files" section of a record page: list, upload (several at once, by the file input or by
drag and drop, with progress: static/files.js), download, preview, delete.

Everything follows the record (:mod:`crm.files.services`): a hidden record's files, and a file id
of a hidden or restricted record, answer 404 like an id that never existed; a restricted record
shows "Files: hidden" (records/restricted.html) and refuses uploads with 403.
"""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _

from ..errors import Refused, flash_refusal
from ..extensions import db
from ..htmx import targets
from ..records.loaders import load_record
from ..records.types import BY_PLURAL, TYPES
from ..visibility import current_viewer
from .queries import files_for
from .services import delete_file, file_response, load_file, max_upload_bytes, may_delete, upload

bp = Blueprint("files", __name__)

PLURALS = "any(companies, people, deals, projects)"


@bp.app_template_global("files_of")
def files_of(rtype, record):
    """The files of a record shown on its page (the detail page's section)."""
    return files_for(rtype.key, record.id)


@bp.app_template_global("may_delete_file")
def may_delete_file(attachment) -> bool:
    return may_delete(attachment, current_viewer())


@bp.app_template_filter("filesize")
def filesize(size: int) -> str:
    """A size in the user's number format: "980 B", "12,5 KB", "3,1 MB"."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            return f"{format_decimal(size / factor, format='#,##0.#')} {unit}"
    return f"{format_decimal(size)} B"


@bp.app_template_global("max_upload_mb")
def max_upload_mb() -> int:
    return max_upload_bytes() // (1024 * 1024)


def _section(rtype, record, errors=(), status=200):
    return render_template("files/_files.html", rtype=rtype, record=record, file_errors=list(errors)), status


def _back(rtype, record):
    return redirect(url_for(f"{rtype.plural}.detail", record_id=record.id, files=1) + "#files")


@bp.get(f"/<{PLURALS}:plural>/<int:record_id>/files")
def section(plural: str, record_id: int):
    rtype = BY_PLURAL[plural]
    record = load_record(rtype, record_id, write=True)  # files exist only for fully visible records
    return _section(rtype, record)


@bp.post(f"/<{PLURALS}:plural>/<int:record_id>/files")
def create(plural: str, record_id: int):
    """Upload one or several files (field ``files``); each is its own transaction, so one file
    refused (too large, empty) does not stop the others."""
    rtype = BY_PLURAL[plural]
    viewer = current_viewer()
    request.max_content_length = max_upload_bytes() * 2 + 1024 * 1024  # room to name the limit (422)
    record = load_record(rtype, record_id, write=True)
    uploads = [f for f in request.files.getlist("files") if f and (f.filename or f.content_length)]
    errors = []
    if not uploads:
        errors.append(_("Choose at least one file."))
    for item in uploads:
        try:
            upload(rtype.key, record.id, item.filename, item.stream, viewer)
        except Refused as refused:
            db.session.rollback()
            errors.append(refused.message)
        else:
            db.session.commit()
    record = load_record(rtype, record_id, write=True)
    status = 422 if errors else 200
    if targets("files"):
        return _section(rtype, record, errors, status)
    for message in errors:
        flash_refusal(Refused(message))
    return _back(rtype, record)


@bp.get("/files/<int:file_id>")
def download(file_id: int):
    """The file as a download; ``?inline=1`` shows images and PDFs in the browser (nothing else)."""
    try:
        attachment = load_file(file_id, current_viewer())
    except Refused as refused:
        abort(refused.status)
    return file_response(attachment, inline=request.args.get("inline") == "1")


@bp.post("/files/<int:file_id>/delete")
def delete(file_id: int):
    try:
        attachment = delete_file(file_id, current_viewer())
    except Refused as refused:
        abort(refused.status)
    rtype = TYPES[attachment.record_key]
    record_id = attachment.record_id
    db.session.commit()
    record = load_record(rtype, record_id, write=True)
    if targets("files"):
        return _section(rtype, record)
    return _back(rtype, record)
