"""CSV export of a list (its filter, or a selection). Restricted rows carry only the columns a
restricted record shows: id, name, group, access and the shared custom fields."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from flask import Response, stream_with_context
from sqlalchemy import and_, select

from ..customfields.models import CustomField, CustomFieldValue
from ..customfields.services import fields_for
from ..extensions import db
from ..groups.models import Group
from ..visibility import Viewer, current_viewer, field_value_visible_to, is_full_column, masked
from .models import TAG_TABLES, ContactDetail, Tag
from .queries import ListFilter, filtered
from .types import RecordType

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


def export_rows(rtype: RecordType, viewer: Viewer, where, order=None) -> Iterator[list[str]]:
    model = rtype.model
    fields = fields_for(rtype.key)
    plain = plain_columns(rtype)
    cols = []
    for name in plain:
        attr = "value_cents" if name == "value" else name
        column = getattr(model, attr)
        cols.append(column if name in rtype.name_fields else masked(model, viewer, column))
    header = ["id", "access", "group", *plain]
    if rtype.has_contact_details:
        header += ["emails", "phones", "addresses"]
    header += ["tags", *[f.name for f in fields]]
    yield header
    stmt = (
        select(model.id, is_full_column(model, viewer), Group.name, *cols)
        .join(Group, Group.id == model.group_id)
        .where(where)
        .order_by(*(order or [model.sort_key, model.id]))
    )
    batch: list = []
    for row in db.session.execute(stmt.execution_options(yield_per=CHUNK)):
        batch.append(row)
        if len(batch) >= CHUNK:
            yield from _emit(rtype, viewer, batch, plain, fields)
            batch = []
    if batch:
        yield from _emit(rtype, viewer, batch, plain, fields)


def _emit(rtype, viewer, rows, plain, fields) -> Iterable[list[str]]:
    ids = [r[0] for r in rows]
    full_ids = [r[0] for r in rows if r[1]]
    key = rtype.key
    values: dict[tuple[int, int], str] = {}
    fk = getattr(CustomFieldValue, f"{key}_id")
    for rid, fid, value in db.session.execute(
        select(fk, CustomFieldValue.field_id, CustomFieldValue.value)
        .where(fk.in_(ids), field_value_visible_to(viewer))
    ):
        values[(rid, fid)] = value
    details: dict[tuple[int, str], list[str]] = {}
    if rtype.has_contact_details and full_ids:
        dfk = getattr(ContactDetail, f"{key}_id")
        for rid, kind, value in db.session.execute(
            select(dfk, ContactDetail.kind, ContactDetail.value).where(dfk.in_(full_ids))
            .order_by(ContactDetail.position)
        ):
            details.setdefault((rid, kind), []).append(value)
    tags: dict[int, list[str]] = {}
    if full_ids:
        table = TAG_TABLES[key]
        tfk = getattr(table.c, f"{key}_id")
        for rid, name in db.session.execute(
            select(tfk, Tag.name).join(Tag, Tag.id == table.c.tag_id).where(tfk.in_(full_ids)).order_by(Tag.name)
        ):
            tags.setdefault(rid, []).append(name)
    for row in rows:
        rid, full, group = row[0], row[1], row[2]
        out = [rid, "full" if full else "restricted", group]
        for name, value in zip(plain, row[3:]):
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


def export_response(rtype: RecordType, flt: ListFilter, ids: list[int] | None = None) -> Response:
    viewer = current_viewer()
    where = filtered(rtype, viewer, flt)
    if ids is not None:
        where = and_(where, rtype.model.id.in_(ids))
    resp = Response(stream_with_context(csv_stream(export_rows(rtype, viewer, where))),
                    mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="{rtype.plural}.csv"'
    return resp
