"""The rows of a list's CSV export, for the list's export (:mod:`crm.records.export`, streamed in
the request) and for an export job (:mod:`crm.jobs.services`, written by the worker).

Restricted rows carry only the columns a restricted record shows: id, access, group, the name
and the shared custom fields; every other cell is empty (the count of files too: "Dateien:
verborgen"). Hidden records are not there. A link to
another record (a person's company) carries that record's id and name only if the user may see
it; a link to a hidden record says "(hidden)" without id or name, as the pages do.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from flask_babel import gettext as _
from sqlalchemy import ScalarSelect, and_, case, func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import aliased

from ..common import utcnow
from ..customfields.models import CustomFieldValue
from ..customfields.services import fields_for
from ..extensions import db
from ..files.models import Attachment
from ..groups.models import Group
from ..stages.models import DealReason
from ..visibility import (
    Viewer,
    field_value_visible_to,
    is_full_column,
    masked,
    restricted_rows,
    visible_to,
)
from .loaders import trashed_ids
from .models import TAG_LINKS, ContactDetail, Tag
from .types import TYPES, RecordType, display_name_column

CHUNK = 1000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    """Text for a CSV cell; a leading formula character is escaped so spreadsheets do not run it."""
    if value is None:
        return ""
    text = value if value.__class__ is str else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


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
    return [*out, "tags", "files", *[f.name for f in fields]]


def _joined(value, separator: str, where, order, outer) -> ScalarSelect:
    """One cell of several values (a record's e-mail addresses, its tags) in ``order``: a
    correlated subquery the row's statement reads with it. ``string_agg(… ORDER BY …)`` on
    PostgreSQL; SQLite's ``group_concat`` has no ORDER BY before 3.44, it concatenates in the order
    of an ordered subquery."""
    if db.session.get_bind().dialect.name == "postgresql":
        return (select(func.string_agg(value, aggregate_order_by(literal(separator), *order))).where(where)
                .correlate(outer).scalar_subquery())
    ordered = select(value.label("value")).where(where).order_by(*order).correlate(outer).subquery()
    return select(func.group_concat(ordered.c.value, separator)).scalar_subquery()


def export_rows(rtype: RecordType, viewer: Viewer, where, order=None) -> Iterator[list[str]]:
    """The CSV's rows, streamed: one statement reads every cell (custom field values, contact
    details and tags as correlated subqueries), whatever the number of rows; only links to
    records in the recycle bin ("(deleted)") take one more statement per :data:`CHUNK` rows
    that have such links.

    The statement's columns are the CSV's columns in their order, then the links to other
    records (to tell "none" from "(hidden)" / "(deleted)"), so a row needs few changes."""
    model = rtype.model
    key = rtype.key
    fields = fields_for(key)
    refs = _reference_keys(rtype)
    full = is_full_column(model, viewer)
    cols = [model.id, case((full, literal("full")), else_=literal("restricted")), Group.name]
    links = []  # (the link column, the CSV position of the linked record's name, its type)
    stmt_joins = []
    value_at = None
    for name in plain_columns(rtype):
        if name in refs:
            target = TYPES[refs[name]]
            alias = aliased(target.model, name=f"ref_{name}")
            fk = getattr(model, name)
            stmt_joins.append((alias, and_(fk == alias.id, visible_to(alias, viewer))))
            # the target's id and name if visible
            cols += [masked(model, viewer, alias.id), masked(model, viewer, display_name_column(target, alias))]
            links.append((masked(model, viewer, fk), len(cols) - 1, refs[name]))
            continue
        if name == "value":
            value_at = len(cols)
        if name == "reason":  # a deal's won/lost reason, by name (the reasons are no record data)
            cols.append(masked(model, viewer, select(DealReason.name).where(DealReason.id == model.reason_id)
                               .correlate(model).scalar_subquery()))
            continue
        column = getattr(model, "value_cents" if name == "value" else name)
        cols.append(column if name in rtype.name_fields else masked(model, viewer, column))
    # contact details and tags: of fully visible rows only (``masked``); the safety net scopes
    # the subqueries' tables as well
    if rtype.has_contact_details:
        dfk = getattr(ContactDetail, f"{key}_id")
        for kind in ("email", "phone", "address"):
            mine = and_(dfk == model.id, ContactDetail.kind == kind)
            cols.append(masked(model, viewer, _joined(ContactDetail.value, "; ", mine,
                                                      (ContactDetail.position, ContactDetail.id), model)))
    link = TAG_LINKS[key]
    tagged = and_(link.tag_id == Tag.id, getattr(link, f"{key}_id") == model.id)
    cols.append(masked(model, viewer, _joined(Tag.name, ", ", tagged, (Tag.name,), model)))
    # how many files the record has (its files are its content: empty for a restricted row)
    cols.append(masked(model, viewer, select(func.count(Attachment.id))
                       .where(getattr(Attachment, f"{key}_id") == model.id).correlate(model).scalar_subquery()))
    # custom field values: all of a fully visible row, the shared ones of a restricted one
    fk = getattr(CustomFieldValue, f"{key}_id")
    for f in fields:
        cols.append(select(CustomFieldValue.value)
                    .where(fk == model.id, CustomFieldValue.field_id == f.id, field_value_visible_to(viewer))
                    .scalar_subquery())
    yield [_cell(name) for name in header(rtype, fields)]  # custom field names are anyone's text
    width = len(cols)
    stmt = select(*cols, *(c for c, _at, _key in links)).join(Group, Group.id == model.group_id)
    for alias, on in stmt_joins:
        stmt = stmt.outerjoin(alias, on)
    stmt = stmt.where(where).order_by(*(order or [model.sort_key, model.id]))
    links = [(width + i, at, target) for i, (_c, at, target) in enumerate(links)]
    hidden, deleted = _("(hidden)"), _("(deleted)")
    result = db.session.execute(restricted_rows(stmt).execution_options(yield_per=CHUNK))
    for rows in result.partitions():
        # a link the viewer cannot follow: to a record in the recycle bin of a group they fully
        # see it reads "(deleted)", else "(hidden)"
        trashed = [trashed_ids(target, [r[link] for r in rows if r[at] is None and r[link] is not None], viewer)
                   for link, at, target in links]
        for row in rows:
            out = list(row[:width])
            for (link, at, _target), bin_ids in zip(links, trashed, strict=True):
                if out[at] is None and row[link] is not None:
                    out[at] = deleted if row[link] in bin_ids else hidden
            if value_at is not None and out[value_at] is not None:
                out[value_at] = f"{out[value_at] / 100:.2f}"
            yield [_cell(v) for v in out]


#: the CSV is sent in pieces of about this many characters (a piece per row costs more than the row)
PIECE = 32_768


def csv_stream(rows: Iterable[list[str]]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")  # BOM: Excel opens UTF-8 with umlauts correctly
    for row in rows:
        writer.writerow(row)
        if buf.tell() >= PIECE:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate(0)
    yield buf.getvalue()


def export_filename(rtype: RecordType) -> str:
    return f"{rtype.plural}-{utcnow():%Y-%m-%d}.csv"
