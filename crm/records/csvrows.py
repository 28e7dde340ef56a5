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
import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

from flask_babel import gettext as _
from sqlalchemy import ScalarSelect, Select, and_, case, func, literal, select, true
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
    is_full_column,
    masked,
    plain_rows,
    restricted_rows,
    unscoped,
    visible_to,
)
from .loaders import trashed_ids_of
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


def _core(stmt: Select) -> Select:
    """A select of :func:`_attached_cells` that reads tables, not classes, on purpose."""
    return unscoped(stmt, keep_criteria=True)


def _postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _joined(value, separator: str, where, order, outer) -> ScalarSelect:
    """One cell of several values (a record's e-mail addresses, its tags) in ``order``, on
    SQLite: a correlated subquery of tables (:func:`_core`) the row's statement reads with it.
    SQLite's ``group_concat`` has no ORDER BY before 3.44, it concatenates in the order of an
    ordered subquery."""
    ordered = _core(select(value.label("value")).where(where).order_by(*order).correlate(outer)).subquery()
    return _core(select(func.group_concat(ordered.c.value, separator))).scalar_subquery()


def _tag_names(link, tags, key: str, model) -> ScalarSelect:
    """The cell of a record's tags: their names in order, separated by ", ".

    On PostgreSQL the name of each of the record's tags is a lookup of its own (a scalar
    subquery per tag link) rather than a join of the links with ``tags``: in a subquery run once
    per row, PostgreSQL joined them by hashing the tags table anew for each row (``EXPLAIN
    ANALYZE`` at 100k people: a third less time for this cell)."""
    mine = link.c[f"{key}_id"] == model.id
    if not _postgresql():
        return _joined(tags.c.name, ", ", and_(link.c.tag_id == tags.c.id, mine), (tags.c.name,), model)
    name = _core(select(tags.c.name).where(tags.c.id == link.c.tag_id)).scalar_subquery()
    names = _core(select(name.label("name")).where(mine).correlate(model)).subquery("tag_names")
    return _core(select(func.string_agg(names.c.name, aggregate_order_by(literal(", "), names.c.name)))
                 ).scalar_subquery()


def _attached_cells(rtype: RecordType, viewer: Viewer, fields) -> tuple[list, list]:
    """The cells of what hangs on a row's record: contact details, tags, the count of files, the
    custom field values - correlated subqueries of the export's statement, one per cell (on
    PostgreSQL the three cells of contact details from one LATERAL join: the second list).

    They read the tables themselves (``Model.__table__``, :func:`unscoped` with
    ``keep_criteria``), not through their classes, so that the request's safety net adds no
    visibility test of its own per row and subquery: the row is one the statement's WHERE let
    through (``visible_to``), and which of its attached data the viewer sees follows from the row
    alone, by the rules of :data:`crm.visibility.SCOPES` - everything of a fully visible record
    (its contact details, files and values are ``Attached`` to it; a tag on a record the viewer
    fully sees is one the viewer sees, ``Linked``), of a restricted one only the values of the
    fields shared with the viewer (``field_value_visible_to``). :func:`masked` empties the rest
    of a restricted row."""
    model, key = rtype.model, rtype.key
    cells, joins = [], []
    if rtype.has_contact_details:
        details = ContactDetail.__table__
        kinds = ("email", "phone", "address")
        if _postgresql():
            # the three cells from one read of the record's details (a LATERAL join), sorted once:
            # each ``string_agg`` takes its kind's values (``FILTER``) in the order of the
            # subquery - PostgreSQL's documented way to order an aggregate's input ("supplying the
            # input values from a sorted subquery"; the aggregate runs on that subquery alone, no
            # join in between). Three ``string_agg(… ORDER BY …)`` sorted the rows three times.
            mine = details.c[f"{key}_id"] == model.id
            ordered = _core(select(details.c.kind, details.c.value).where(mine)
                            .order_by(details.c.position, details.c.id).correlate(model)).subquery("ordered")
            aggs = [func.string_agg(ordered.c.value, literal("; ")).filter(ordered.c.kind == kind).label(kind)
                    for kind in kinds]
            per_kind = _core(select(*aggs)).lateral("details")
            joins.append(per_kind)
            cells += [masked(model, viewer, per_kind.c[kind]) for kind in kinds]
        else:
            for kind in kinds:
                mine = and_(details.c[f"{key}_id"] == model.id, details.c.kind == kind)
                cells.append(masked(model, viewer, _joined(details.c.value, "; ", mine,
                                                           (details.c.position, details.c.id), model)))
    cells.append(masked(model, viewer, _tag_names(TAG_LINKS[key].__table__, Tag.__table__, key, model)))
    # how many files the record has (its files are its content: empty for a restricted row)
    files = Attachment.__table__
    cells.append(masked(model, viewer, _core(select(func.count()).where(files.c[f"{key}_id"] == model.id)
                                             .correlate(model)).scalar_subquery()))
    values = CustomFieldValue.__table__
    shared = viewer.shared_field_ids(key)
    for f in fields:
        value = _core(select(values.c.value).where(values.c[f"{key}_id"] == model.id, values.c.field_id == f.id)
                      .correlate(model)).scalar_subquery()
        cells.append(value if f.id in shared else masked(model, viewer, value))
    return cells, joins


def export_rows(rtype: RecordType, viewer: Viewer, where, order=None) -> Iterator[Sequence]:
    """The CSV's rows, streamed: one statement reads every cell (custom field values, contact
    details and tags as correlated subqueries, :func:`_attached_cells`), whatever the number of
    rows; only links to records in the recycle bin ("(deleted)") take one more statement per
    :data:`CHUNK` rows that have such links.

    The statement's columns are the CSV's columns in their order, then the links to other
    records (to tell "none" from "(hidden)" / "(deleted)"), so a row needs few changes. A cell is
    text, or None or a number that :mod:`csv` writes as it is (no formula can start it): only the
    columns that can hold text go through the formula check."""
    model = rtype.model
    key = rtype.key
    fields = fields_for(key)
    refs = _reference_keys(rtype)
    full = is_full_column(model, viewer)
    cols = [model.id, case((full, literal("full")), else_=literal("restricted")), Group.name]
    plain = {0, 1}  # the CSV positions of columns that hold no text: ids, counts, the access level
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
            plain.add(len(cols))
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
    attached, attached_joins = _attached_cells(rtype, viewer, fields)
    plain.add(len(cols) + len(attached) - len(fields) - 1)  # the count of files
    cols += attached
    yield [_cell(name) for name in header(rtype, fields)]  # custom field names are anyone's text
    width = len(cols)
    text = [i for i in range(width) if i not in plain]
    stmt = select(*cols, *(c for c, _at, _key in links)).join(Group, Group.id == model.group_id)
    for alias, on in stmt_joins:
        stmt = stmt.outerjoin(alias, on)
    for per_row in attached_joins:  # (one row per record: an aggregate without GROUP BY)
        stmt = stmt.join(per_row, true())
    stmt = stmt.where(where).order_by(*(order or [model.sort_key, model.id]))
    links = [(width + i, at, target) for i, (_c, at, target) in enumerate(links)]
    hidden, deleted = _("(hidden)"), _("(deleted)")
    result = db.session.execute(plain_rows(restricted_rows(stmt)).execution_options(yield_per=CHUNK))
    for rows in result.partitions():
        # a chunk column by column (``zip`` turns rows into columns and back)
        cells = list(zip(*rows, strict=True))
        # a link the viewer cannot follow: to a record in the recycle bin of a group they fully
        # see it reads "(deleted)", else "(hidden)"
        lost = [[fk for fk, name in zip(cells[link], cells[at], strict=True) if name is None and fk is not None]
                for link, at, _target in links]
        wanted: dict[str, list] = {}
        for (_link, _at, target), ids in zip(links, lost, strict=True):
            wanted.setdefault(target, []).extend(ids)
        trashed = trashed_ids_of(wanted, viewer) if any(lost) else {}
        for (link, at, target), ids in zip(links, lost, strict=True):
            if ids:
                bin_ids = trashed[target]
                cells[at] = [name if name is not None or fk is None else deleted if fk in bin_ids else hidden
                             for fk, name in zip(cells[link], cells[at], strict=True)]
        if value_at is not None:
            cells[value_at] = [None if v is None else f"{v / 100:.2f}" for v in cells[value_at]]
        for i in text:
            cells[i] = _escaped(cells[i])
        yield from zip(*cells[:width], strict=True)


#: a cell starting with one of these would be a formula to a spreadsheet (``_FORMULA_START``),
#: after the NUL that :func:`_escaped` puts before each cell
_FORMULA = re.compile(r"\x00[=+\-@\t\r]")


def _escaped(column):
    """A column's cells (text, None, or values such as dates) as :func:`_cell` would write them,
    except None, which :mod:`csv` writes as an empty cell: one search over the column first,
    since a formula is rare."""
    try:
        if not _FORMULA.search("\x00" + "\x00".join(filter(None, column))):
            return column
    except TypeError:  # a value that is not text
        pass
    return [None if v is None else _cell(v) for v in column]


#: the CSV is sent in pieces of about this many characters (a piece per row costs more than the row)
PIECE = 32_768


#: rows written at a time (``writerows``: less Python per row than one ``writerow`` each)
BATCH = 64


def csv_stream(rows: Iterable[Sequence]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")  # BOM: Excel opens UTF-8 with umlauts correctly
    rows = iter(rows)
    while batch := list(islice(rows, BATCH)):
        writer.writerows(batch)
        if buf.tell() >= PIECE:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate(0)
    yield buf.getvalue()


def export_filename(rtype: RecordType) -> str:
    return f"{rtype.plural}-{utcnow():%Y-%m-%d}.csv"
