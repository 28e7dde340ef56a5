"""Files in the API: ``GET/POST /<type>/<id>/files``, ``GET /files/<id>`` (the bytes, streamed),
``DELETE /files/<id>``.

They follow their record (:mod:`crm.files.services`): the files of a hidden record answer 404,
of a restricted one 403; a file id of a record the caller does not fully see is 404 like an
unknown one. Uploads are ``multipart/form-data`` with one or more parts named ``files``, all in
one transaction: one file refused (too large, empty) refuses the request, and nothing is stored.
"""
from __future__ import annotations

from flask import g, jsonify, request, url_for
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..files.queries import files_for
from ..files.schemas import FileOut
from ..files.services import delete_file, file_response, load_file, max_upload_bytes, upload
from ..records.loaders import load_record
from ..records.schemas import dump
from ..records.types import TYPES, RecordType
from .base import ID, bp
from .errors import ApiError
from .inputs import invalid
from .serialize import timestamp


def file_json(f) -> dict:
    return dump(FileOut, {
        "id": f.id, "name": f.name, "content_type": f.content_type, "size": f.size,
        "uploaded_by": {"id": f.uploaded_by.id, "name": f.uploaded_by.name} if f.uploaded_by else None,
        "created_at": timestamp(f.created_at), "record_type": f.record_key, "record_id": f.record_id,
        "inline": f.inline, "url": url_for("api.file_download", file_id=f.id),
    })


def register(rtype: RecordType) -> None:
    """``GET/POST /<plural>/<id>/files`` of one record type."""
    plural = rtype.plural

    def record_files(record_id: int):
        record = load_record(rtype, record_id, write=True)  # files exist only for fully visible records
        return jsonify(items=[file_json(f) for f in files_for(rtype.key, record.id, g.viewer)])

    def upload_files(record_id: int):
        record = load_record(rtype, record_id, write=True)
        if request.mimetype != "multipart/form-data":
            raise ApiError(415, "unsupported_media_type",
                           _l("Send the files as multipart/form-data, each in a part named 'files'."))
        request.max_content_length = max_upload_bytes() * 2 + 1024 * 1024  # room to name the limit (422)
        parts = [f for f in request.files.getlist("files") if f.filename or f.content_length]
        if not parts:
            raise invalid({"files": _l("Choose at least one file.")})
        added = [upload(rtype.key, record.id, part.filename, part.stream, g.viewer) for part in parts]
        db.session.commit()
        return jsonify(items=[file_json(f) for f in added]), 201

    rule = f"/{plural}/<{ID}:record_id>/files"
    bp.add_url_rule(rule, f"{plural}_files", record_files, methods=["GET"])
    bp.add_url_rule(rule, f"{plural}_upload_files", upload_files, methods=["POST"])


for _rtype in TYPES.values():
    register(_rtype)


@bp.get(f"/files/<{ID}:file_id>")
def file_download(file_id: int):
    """The bytes; ``?inline=1`` lets a browser show images and PDF (nothing else)."""
    return file_response(load_file(file_id, g.viewer), inline=request.args.get("inline") == "1")


@bp.delete(f"/files/<{ID}:file_id>")
def file_delete(file_id: int):
    delete_file(file_id, g.viewer)
    db.session.commit()
    return "", 204
