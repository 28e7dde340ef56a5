"""Files attached to records: every rule of uploading, downloading and deleting them.

* A file follows its record: it exists for a user only while the user fully sees the record
  (``SCOPES``: ``Attached``). A file of a hidden *or restricted* record answers 404 like an id that
  never existed (restricted viewers see "Files: hidden" on the record, nothing about single files);
  uploading to a restricted record is refused with 403 (``load_record(..., write=True)``).
* Size: at most ``KONTOR_MAX_UPLOAD_MB`` (default 25) per file; the refusal names the limit.
* Type: sniffed from the bytes (``filetype``; text and markup recognised here), never taken from
  the name or the browser. Only images (PNG, JPEG, GIF, WebP) and PDF are ever shown inline.
* Name: kept for display and download with its umlauts (path parts, control and
  reserved characters removed); the bytes are stored under a generated key
  (:func:`crm.files.storage.new_key`), never under the name.
* Upload and delete need the record in full; delete is the uploader's, or that of a user who may
  delete records (extended, admin). Deleting is immediate (no recycle bin for single files) and
  audited; when a record is purged from the recycle bin its files go with it (the database cascade),
  and their bytes are removed by ``flask --app app files sweep``.

Writes happen in the caller's transaction with their audit entry. The store is not transactional:
the bytes of an upload are removed again if the transaction rolls back, and the bytes of a deleted
file only after it commits (:func:`_after_commit`).
"""
from __future__ import annotations

import logging
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import BinaryIO
from urllib.parse import quote

import filetype
from flask import Response, current_app
from flask_babel import gettext as _
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..audit.services import audit
from ..errors import Forbidden, Invalid, NotFound
from ..extensions import db
from ..records.loaders import load_record
from ..records.types import TYPES
from ..visibility import Viewer, attachment_visible_to
from .models import MAX_NAME, Attachment
from .storage import CHUNK, is_storage_key, new_key, storage

log = logging.getLogger(__name__)

#: bytes read to recognise the type
SNIFF = 8192
_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>:\"/\\|?*]")
_MARKUP = (b"<!doctype html", b"<html", b"<script", b"<svg", b"<?xml")


def max_upload_bytes() -> int:
    return current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024


def display_name(raw: str | None) -> str:
    """A file name as typed by the uploader's system, made safe to show and to offer on download:
    the last path part, NFC, without control and reserved characters, at most ``MAX_NAME``
    characters (the extension kept). Umlauts and spaces stay ("Angebot Müller.pdf")."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = " ".join(_UNSAFE.sub("", name).split()).strip(" .")
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = stem[:MAX_NAME - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:MAX_NAME]
    return name or _("file")


def sniff(head: bytes) -> str:
    """The content type of a file from its first bytes: a known binary format by its signature,
    markup (HTML, SVG, XML) and UTF-8 text by looking, else ``application/octet-stream``."""
    kind = filetype.guess(head) if head else None
    if kind is not None:
        return kind.mime
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith(_MARKUP) or b"<svg" in lowered[:1024]:
        if b"<svg" in lowered:
            return "image/svg+xml"
        return "text/html" if b"<html" in lowered or lowered.startswith(b"<!doctype html") else "application/xml"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as err:
            if err.start < len(head) - 3:  # not just a character cut at the end of the sample
                return "application/octet-stream"
        return "text/plain"
    return "application/octet-stream"


def _spool(stream: BinaryIO, name: str):
    """The upload in a temporary file (memory up to 1 MB), refused as soon as it passes the limit."""
    limit = max_upload_bytes()
    spool = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)
    size = 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > limit:
            spool.close()
            raise Invalid(_("%(name)s is larger than the limit of %(limit)s MB.", name=name,
                            limit=current_app.config["MAX_UPLOAD_MB"]), {"files": _(
                "At most %(limit)s MB per file.", limit=current_app.config["MAX_UPLOAD_MB"])},
                code="too_large")
        spool.write(chunk)
    if size == 0:
        spool.close()
        raise Invalid(_("%(name)s is empty.", name=name), {"files": _("The file is empty.")}, code="empty")
    spool.seek(0)
    return spool, size


def upload(key: str, record_id: int, filename: str | None, stream: BinaryIO, viewer: Viewer) -> Attachment:
    """Attach a file to a record the viewer fully sees (404 hidden, 403 restricted), in the
    caller's transaction, with its audit entry."""
    rtype = TYPES[key]
    record = load_record(rtype, record_id, write=True, viewer=viewer)
    name = display_name(filename)
    spool, size = _spool(stream, name)
    with spool:
        content_type = sniff(spool.read(SNIFF))
        spool.seek(0)
        storage_key = new_key()
        storage().put(storage_key, spool, content_type)
    _on_rollback(storage_key)
    attachment = Attachment(storage_key=storage_key, name=name, content_type=content_type, size=size,
                            uploaded_by_id=viewer.user_id)
    attachment.attach_to(key, record.id)
    db.session.add(attachment)
    db.session.flush()
    audit(viewer, "file_uploaded", record_type=key, record_id=record.id, file_id=attachment.id, name=name,
          size=size, content_type=content_type)
    return attachment


def load_file(file_id: int, viewer: Viewer) -> Attachment:
    """A file the viewer may read: its record fully visible; otherwise 404 like an unknown id."""
    attachment = db.session.scalar(select(Attachment).where(Attachment.id == file_id,
                                                            attachment_visible_to(viewer)))
    if attachment is None:
        raise NotFound()
    return attachment


def open_file(attachment: Attachment) -> Iterator[bytes]:
    """The bytes of a file loaded by :func:`load_file`, in chunks."""
    return storage().open(attachment.storage_key)


def file_response(attachment: Attachment, *, inline: bool = False) -> Response:
    """The bytes of a file loaded by :func:`load_file` as a streamed answer, for the pages and the
    API alike (the headers are a rule, not a page's choice): a download
    (``Content-Disposition: attachment``) unless ``inline`` is asked for an image or a PDF
    (:attr:`Attachment.inline`; SVG and HTML never), ``nosniff`` and a sandbox always, and no
    shared or stored copy (a kept URL must answer 404 once the record is out of sight)."""
    disposition = "inline" if inline and attachment.inline else "attachment"
    resp = Response(open_file(attachment), mimetype=attachment.content_type,
                    direct_passthrough=True)
    resp.content_length = attachment.size
    ascii_name = unicodedata.normalize("NFKD", attachment.name).encode("ascii", "ignore").decode("ascii")
    ascii_name = ascii_name.replace('"', "").strip() or "file"
    resp.headers.set("Content-Disposition", disposition, filename=ascii_name,
                     **{"filename*": "UTF-8''" + quote(attachment.name, safe="")})
    resp.headers["X-Content-Type-Options"] = "nosniff"
    # nothing in a file runs: no scripts, no plugins, no frames of others; a sandbox too, except for
    # a PDF shown inline (browsers' PDF viewers refuse to run in a sandboxed document)
    policy = "default-src 'none'; img-src 'self'; object-src 'none'; frame-ancestors 'none'"
    if disposition == "inline" and attachment.content_type == "application/pdf":
        resp.headers["Content-Security-Policy"] = policy
    elif disposition == "inline":  # the browser's own image page styles itself inline; no script runs
        resp.headers["Content-Security-Policy"] = policy + "; style-src 'unsafe-inline'; sandbox"
    else:
        resp.headers["Content-Security-Policy"] = policy + "; sandbox"
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def may_delete(attachment: Attachment, viewer: Viewer) -> bool:
    """Its uploader, and users who may delete records (extended, admins). Nobody else."""
    if viewer.role in ("admin", "extended"):
        return True
    if attachment.uploaded_by_id is not None and attachment.uploaded_by_id == viewer.user_id:
        return True
    return False


def delete_file(file_id: int, viewer: Viewer) -> Attachment:
    """Delete a file for good (404 unless its record is fully visible; 403 unless
    :func:`may_delete`), in the caller's transaction with its audit entry; the bytes go when the
    transaction commits."""
    attachment = load_file(file_id, viewer)
    record = load_record(TYPES[attachment.record_key], attachment.record_id, write=True, viewer=viewer)
    if not may_delete(attachment, viewer):
        raise Forbidden(_("Only its uploader or a user who may delete records may delete this file."))
    audit(viewer, "file_deleted", record_type=attachment.record_key, record_id=record.id, file_id=attachment.id,
          name=attachment.name, size=attachment.size)
    _on_commit(attachment.storage_key)
    db.session.delete(attachment)
    db.session.flush()
    return attachment


#: bytes younger than this are never swept: an upload stores them before its row commits
SWEEP_MIN_AGE = timedelta(hours=1)


def sweep(min_age: timedelta = SWEEP_MIN_AGE) -> int:
    """Remove bytes from the store that no file row names any more (files of purged records, or a
    delete whose commit could not reach the store), if they were stored at least ``min_age`` ago -
    an upload in progress has its bytes stored and its row not yet committed. Outside requests only
    (the command line, the worker's daily purge)."""
    store = storage()
    cutoff = datetime.now(UTC) - min_age
    old = [key for key, stored_at in store.entries() if stored_at <= cutoff]
    known = set(db.session.scalars(select(Attachment.storage_key)))
    gone = 0
    for stored in old:
        if stored in known or not is_storage_key(stored):
            continue  # (something that is no file of ours - another program's object - stays)
        try:
            store.delete(stored)
        except Exception as err:  # (S3 or disk) one that cannot be deleted now is tried again next time
            log.warning("file sweep: %s not deleted: %s", stored, err)
            continue
        gone += 1
    return gone


# -- the store follows the transaction ------------------------------------------------------------

_DISCARD_ON_COMMIT = "kontor_files_discard_on_commit"
_DISCARD_ON_ROLLBACK = "kontor_files_discard_on_rollback"


def _on_commit(storage_key: str) -> None:
    db.session.info.setdefault(_DISCARD_ON_COMMIT, []).append(storage_key)


def _on_rollback(storage_key: str) -> None:
    db.session.info.setdefault(_DISCARD_ON_ROLLBACK, []).append(storage_key)


def _discard(keys) -> None:
    for storage_key in keys:
        try:
            storage().delete(storage_key)
        except Exception:  # the sweep removes what is left
            log.exception("could not remove file %s from the store", storage_key)


@event.listens_for(Session, "after_commit")
def _after_commit(session) -> None:
    session.info.pop(_DISCARD_ON_ROLLBACK, None)
    _discard(session.info.pop(_DISCARD_ON_COMMIT, []))


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session, previous_transaction) -> None:
    if session.in_transaction():  # a savepoint rolled back: the outer transaction may still commit
        return
    session.info.pop(_DISCARD_ON_COMMIT, None)
    _discard(session.info.pop(_DISCARD_ON_ROLLBACK, []))
