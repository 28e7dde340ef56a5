"""CSV export of a list (its filter, or a selection), in the list's order.

Restricted rows carry only the columns a restricted record shows: id, access, group, the name
and the shared custom fields; every other cell is empty. Hidden records are not there. A link to
another record (a person's company) carries that record's id and name only if the user may see
it; a link to a hidden record says "(hidden)" without id or name, as the pages do.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from flask import Response, abort, stream_with_context
from flask_babel import gettext as _
from sqlalchemy import and_, select
from sqlalchemy.orm import aliased

from ..common import parse_id_list, utcnow
from ..customfields.models import CustomFieldValue
from ..customfields.services import fields_for
from ..extensions import db
from ..groups.models import Group
from ..visibility import (
    Viewer,
    current_viewer,
    field_value_visible_to,
    is_full_column,
    masked,
    restricted_rows,
    visible_to,
)
from .loaders import trashed_ids
from .models import TAG_LINKS, ContactDetail, Tag
from .queries import ListFilter, filtered, list_order
from .types import TYPES, RecordType, display_name_column

CHUNK = 1000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    """Text for a CSV cell; a leading formula character is escaped so spreadsheets do not run it."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def plain_columns(rtype: RecordType) -> list[str]:
    return [f for f in rtype.fields if f not in ("emails", "phones", "addresses", "tags")]


def _reference_keys(rtype: RecordType) -> dict[str, str]:
    return dict(rtype.references)


def header(rtype: RecordType, fields) -> list[str]:
    refs = _reference_keys(rtype)
    out = ["id", "access", "group"]
    for name in plain_columns(rtype):
        out.append(name)
        if name in refs:
            out.append(refs[name])  # the linked record's name, next to its id
    if rtype.has_contact_details:
        out += ["emails", "phones", "addresses"]
    return [*out, "tags", *[f.name for f in fields]]


def export_rows(rtype: RecordType, viewer: Viewer, where, order=None) -> Iterator[list[str]]:
    model = rtype.model
    fields = fields_for(rtype.key)
    refs = _reference_keys(rtype)
    cols = []
    stmt_joins = []
    for name in plain_columns(rtype):
        if name in refs:
            target = TYPES[refs[name]]
            alias = aliased(target.model, name=f"ref_{name}")
            fk = getattr(model, name)
            stmt_joins.append((alias, and_(fk == alias.id, visible_to(alias, viewer))))
            # the link itself (to tell "none" from "hidden"), the target's id and name if visible
            cols += [masked(model, viewer, fk), masked(model, viewer, alias.id),
                     masked(model, viewer, display_name_column(target, alias))]
            continue
        attr = "value_cents" if name == "value" else name
        column = getattr(model, attr)
        cols.append(column if name in rtype.name_fields else masked(model, viewer, column))
    yield [_cell(name) for name in header(rtype, fields)]  # custom field names are anyone's text
    stmt = (
        select(model.id, is_full_column(model, viewer), Group.name, *cols)
        .join(Group, Group.id == model.group_id)
    )
    for alias, on in stmt_joins:
        stmt = stmt.outerjoin(alias, on)
    stmt = stmt.where(where).order_by(*(order or [model.sort_key, model.id]))
    batch: list = []
    for row in db.session.execute(restricted_rows(stmt).execution_options(yield_per=CHUNK)):
        batch.append(row)
        if len(batch) >= CHUNK:
            yield from _emit(rtype, viewer, batch, fields)
            batch = []
    if batch:
        yield from _emit(rtype, viewer, batch, fields)


def _emit(rtype, viewer, rows, fields) -> Iterable[list[str]]:
    ids = [r[0] for r in rows]
    full_ids = [r[0] for r in rows if r[1]]
    key = rtype.key
    refs = _reference_keys(rtype)
    values: dict[tuple[int, int], str] = {}
    fk = getattr(CustomFieldValue, f"{key}_id")
    for rid, fid, value in db.session.execute(restricted_rows(
        select(fk, CustomFieldValue.field_id, CustomFieldValue.value)
        .where(fk.in_(ids), field_value_visible_to(viewer))
    )):
        values[(rid, fid)] = value
    details: dict[tuple[int, str], list[str]] = {}
    if rtype.has_contact_details and full_ids:
        dfk = getattr(ContactDetail, f"{key}_id")
        for rid, kind, value in db.session.execute(
            select(dfk, ContactDetail.kind, ContactDetail.value).where(dfk.in_(full_ids))
            .order_by(ContactDetail.position, ContactDetail.id)
        ):
            details.setdefault((rid, kind), []).append(value)
    tags: dict[int, list[str]] = {}
    if full_ids:
        link = TAG_LINKS[key]
        tfk = getattr(link, f"{key}_id")
        for rid, name in db.session.execute(
            select(tfk, Tag.name).join(Tag, Tag.id == link.tag_id).where(tfk.in_(full_ids)).order_by(Tag.name)
        ):
            tags.setdefault(rid, []).append(name)
    hidden, deleted = _("(hidden)"), _("(deleted)")
    # links to records in the recycle bin whose group the viewer fully sees read "(deleted)"
    trashed: dict[str, set[int]] = {}
    position = 3
    for name in plain_columns(rtype):
        if name in refs:
            trashed[name] = trashed_ids(refs[name], [r[position] for r in rows if r[position + 1] is None], viewer)
            position += 3
        else:
            position += 1
    for row in rows:
        rid, full, group = row[0], row[1], row[2]
        out = [rid, "full" if full else "restricted", group]
        cells = iter(row[3:])
        for name in plain_columns(rtype):
            if name in refs:
                link, target_id, target_name = next(cells), next(cells), next(cells)
                out += [target_id, target_name if target_id is not None else (
                    None if link is None else deleted if link in trashed[name] else hidden)]
                continue
            value = next(cells)
            if name == "value" and value is not None:
                value = f"{value / 100:.2f}"
            out.append(value)
        if rtype.has_contact_details:
            out += ["; ".join(details.get((rid, k), [])) for k in ("email", "phone", "address")]
        out.append(", ".join(tags.get(rid, [])))
        out += [values.get((rid, f.id)) for f in fields]
        yield [_cell(v) for v in out]


def csv_stream(rows: Iterable[list[str]]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")  # BOM: Excel opens UTF-8 with umlauts correctly
    for row in rows:
        writer.writerow(row)
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate(0)


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
    filename = f"{rtype.plural}-{utcnow():%Y-%m-%d}.csv"
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp
