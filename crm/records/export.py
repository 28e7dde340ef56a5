"""CSV export of a list (its filter, or a selection), in the list's order: streamed in the request;
one of more than ``EXPORT_JOB_ROWS`` rows runs as a job (:func:`crm.jobs.services.start_export`).
The rows and what they carry: :mod:`crm.records.csvrows`.
"""
from __future__ import annotations

from flask import Response, abort, stream_with_context
from flask_babel import gettext as _
from sqlalchemy import and_

from ..common import parse_id_list
from ..visibility import current_viewer
from .csvrows import csv_stream, export_filename, export_rows
from .queries import ListFilter, filtered, list_order
from .types import RecordType

#: most ids one export URL may name (a larger selection is "all matching", the filter itself)
MAX_IDS = 10_000


def parse_ids(raw: str | None) -> list[int] | None:
    """A selection from the list page: ``ids=3,5,8`` (None: no selection, the whole filter).
    Anything that is not such a list - a piece that is no id (``²``, ``-1``, a number beyond any
    id), more than :data:`MAX_IDS` - is refused with 400 and a message, before the CSV starts: a
    silently shortened selection would export something else than what was asked for."""
    if raw is None or not raw.strip():
        return None
    try:
        ids = parse_id_list(raw)
    except ValueError:
        abort(400, description=_("“ids” must be record ids separated by commas."))
    if len(ids) > MAX_IDS:
        abort(400, description=_("At most %(n)d ids; to export more, use the list's filter.", n=MAX_IDS))
    return ids


def export_response(rtype: RecordType, flt: ListFilter, ids=None) -> Response:
    """The CSV of the list filter, narrowed to ``ids`` (a list, or a select of ids) if given."""
    viewer = current_viewer()
    where = filtered(rtype, viewer, flt)
    if ids is not None:
        where = and_(where, rtype.model.id.in_(ids))
    rows = export_rows(rtype, viewer, where, list_order(rtype, viewer, flt))
    resp = Response(stream_with_context(csv_stream(rows)), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="{export_filename(rtype)}"'
    return resp
