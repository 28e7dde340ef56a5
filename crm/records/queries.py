"""Query builders for lists of records. They return ``select()`` statements scoped by the
visibility predicates; views execute them."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Integer,
    Numeric,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import aliased, lazyload

from ..audit.models import AssignmentChange
from ..auth.models import User
from ..common import to_id
from ..customfields.models import CustomField, CustomFieldValue
from ..decimals import DecimalError, parse_typed
from ..extensions import db
from ..groups.models import BASIS_ID, Group
from ..i18n import ui_locale
from ..imports.models import ImportItem
from ..jobs.models import ASSIGNING, Job, assignment_audit_ids
from ..search.queries import matching_record_ids, parse
from ..visibility import (
    FEW_GROUPS,
    GroupName,
    Viewer,
    criteria_for,
    field_value_visible_to,
    fully_visible_to,
    in_groups,
    in_id_list,
    is_full_column,
    masked,
    restricted_rows,
    restricted_to,
    unscoped,
    visible_to,
)
from .models import TAG_LINKS, Company, ContactDetail, Person, Tag, count_term, tag_key
from .types import TYPES, RecordType, display_name_column  # noqa: F401  (the list pages import it from here)

#: the record types' states a list filters by (query parameter -> allowed values)
STATE_FILTERS = {"deal": ("stage", ("open", "won", "lost")),
                 "project": ("status", ("planned", "active", "on_hold", "done", "cancelled"))}
#: the most values one custom field filter (or one state filter) takes
MAX_CHOICES = 20
#: the filters by a job's records ("Show them" on the page of an import or a bulk assignment that
#: ran as a job): query parameter -> :class:`ListFilter` attribute and the filter chip's label
JOB_FILTERS = {"import": ("import_id", _l("Import")), "assignment": ("assignment_id", _l("Group assignment"))}


@dataclass(frozen=True)
class FieldFilter:
    """A filter on one custom field of the list's type: ``values`` (a select field: any of them;
    a text or url field: exactly one of them), or ``low``/``high`` (a number or date field: from -
    to, both ends included, as canonical text: a plain decimal or an ISO date)."""

    field_id: int
    kind: str
    values: tuple[str, ...] = ()
    low: str | None = None
    high: str | None = None

    def args(self) -> list[tuple[str, str]]:
        name = f"cf_{self.field_id}"
        out = [(name, v) for v in self.values]
        if self.low is not None:
            out.append((f"{name}_from", self.low))
        if self.high is not None:
            out.append((f"{name}_to", self.high))
        return out


def _state_name(state: str) -> str:
    """The query parameter of a state: "stage" for a deal's, "status" for a project's."""
    return next(name for name, allowed in STATE_FILTERS.values() if state in allowed)


def _bound(kind: str, raw, locale: str | None = None) -> str | None:
    """A number or date bound from the query string as canonical text; ``None`` if not one.

    A number is first read as a program writes it (``.`` as the decimal point, no separators:
    what the filter bar's number input and the list's own links send). Without ``locale`` (the
    API) that is the only way. With one (a page) a number that is not such a plain number is read
    as the forms read a typed one (:func:`crm.decimals.parse_typed`): ``"1.000.000"`` and
    ``"1.234,50"`` on a German page."""
    raw = (raw or "").strip()[:40]
    if not raw:
        return None
    try:
        if kind == "date":
            return date.fromisoformat(raw).isoformat()
        number = Decimal(raw) if "," not in raw else None
    except (ValueError, InvalidOperation):
        number = None
    if number is None and locale is not None:
        try:
            number = parse_typed(raw, locale)
        except DecimalError:
            return None
    return format(number, "f") if number is not None and number.is_finite() else None


def field_filters(entity: str, args, locale: str | None = None) -> tuple[FieldFilter, ...]:
    """The custom field filters in ``args`` (``cf_<id>=value`` repeated, ``cf_<id>_from`` /
    ``cf_<id>_to``) for the fields of ``entity``; other names and unusable values are left out
    (:func:`field_filter_problems` names them). ``locale``: a page's, whose number bounds may be
    typed as in its forms (:func:`_bound`). Field definitions are no secret (every form shows them)."""
    if not any(k.startswith("cf_") for k in args):
        return ()
    out = []
    for f in db.session.scalars(select(CustomField).options(lazyload(CustomField.shared_with))
                                .where(CustomField.entity == entity).order_by(CustomField.position, CustomField.id)):
        name = f"cf_{f.id}"
        if f.kind in ("number", "date"):
            low = _bound(f.kind, args.get(f"{name}_from"), locale)
            high = _bound(f.kind, args.get(f"{name}_to"), locale)
            if low is not None or high is not None:
                out.append(FieldFilter(f.id, f.kind, low=low, high=high))
        else:
            values = tuple(dict.fromkeys(v.strip()[:200] for v in args.getlist(name) if v.strip()))[:MAX_CHOICES]
            if values:
                out.append(FieldFilter(f.id, f.kind, values=values))
    return tuple(out)


_FIELD_ARG = re.compile(r"cf_(\d{1,9})(_from|_to)?\Z")


def field_filter_problems(entity: str, args, locale: str | None = None) -> dict[str, str]:
    """What :func:`field_filters` would leave out of ``args``, by parameter name: a ``cf_…`` name
    that is no custom field of ``entity`` (or the wrong form for its kind: a range for numbers
    and dates, values for the others), a bound that is no number (the API: ``.`` as the decimal
    point; a page: also as its forms read one, ``locale``) or ISO date. The API answers these with
    a 422, a list page names them above the list (and lists as if they were not there)."""
    names = [k for k in args if k.startswith("cf_")]
    if not names:
        return {}
    kinds = dict(db.session.execute(select(CustomField.id, CustomField.kind).where(CustomField.entity == entity)).all())
    problems: dict[str, str] = {}
    for name in names:
        match = _FIELD_ARG.match(name)
        kind = kinds.get(int(match.group(1))) if match else None
        ranged = kind in ("number", "date")
        if kind is None or ranged != bool(match.group(2)):
            problems[name] = _l("No such custom field filter: cf_<id> for a field of this type, "
                                "cf_<id>_from / cf_<id>_to for its numbers and dates.")
        elif ranged and any(_bound(kind, v, locale) is None for v in args.getlist(name)
                                if v.strip() or locale is None):  # a page's form sends empty bounds
            problems[name] = (_l("A date as YYYY-MM-DD.") if kind == "date"
                              else _l("A number, with a point as the decimal separator.") if locale is None
                              else _l("Not a number."))
    return problems


@dataclass
class ListFilter:
    q: str = ""
    tag: str = ""
    group_id: int | None = None
    sort: str = "name"
    desc: bool = False
    #: "me" or a user's id as text: records that user is responsible for
    responsible: str = ""
    #: a deal's stages or a project's statuses (any of them)
    states: tuple[str, ...] = ()
    company_id: int | None = None
    person_id: int | None = None
    fields: tuple[FieldFilter, ...] = ()
    #: count every matching record (rather than stopping at the cap)
    exact: bool = False
    #: custom fields shown as extra columns (the column chooser; not a filter)
    columns: tuple[int, ...] = ()
    #: the records an import created (``import=<job id>``: "Show them" after an import), of an
    #: import the viewer may see (their own; admins: any); another id matches nothing
    import_id: int | None = None
    #: the records a bulk assignment job moved (``assignment=<job id>``: "Show them" on its page;
    #: applying the rules: all of its assignments), of a job the viewer may see, like ``import_id``
    assignment_id: int | None = None
    #: the audit entries of ``assignment_id`` per viewer, read once (a list page runs its filter
    #: several times: the rows, the count, the choices)
    _assignments: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def from_args(cls, rtype: RecordType, args, locale: str | None = None) -> ListFilter:
        """The filter of a list page's query string (or a saved one); values it can't read are
        left out. ``locale`` (default: the request's UI language): numbers may be typed as in the
        forms (:func:`_bound`)."""
        group = args.get("group_id", "")
        sort = args.get("sort", "name")
        responsible = (args.get("responsible") or "").strip()
        if responsible != "me":
            responsible = str(to_id(responsible) or "")
        states: tuple[str, ...] = ()
        if rtype.key in STATE_FILTERS:
            name, allowed = STATE_FILTERS[rtype.key]
            states = tuple(s for s in allowed if s in args.getlist(name))
        refs = {key for _fk, key in rtype.references}
        return cls(
            q=(args.get("q") or "").strip()[:200],
            tag=(args.get("tag") or "").strip()[:60],
            group_id=to_id(group),
            sort=sort if sort in rtype.sorts else "name",
            desc=args.get("dir") == "desc",
            responsible=responsible,
            states=states,
            company_id=to_id(args.get("company_id")) if "company" in refs else None,
            person_id=to_id(args.get("person_id")) if "person" in refs else None,
            fields=field_filters(rtype.key, args, locale or ui_locale()),
            exact=args.get("count") == "exact",
            columns=tuple(dict.fromkeys(i for i in map(to_id, args.getlist("col")) if i is not None))[:MAX_CHOICES],
            **{attr: to_id(args.get(name)) for name, (attr, _label) in JOB_FILTERS.items()},
        )

    @property
    def narrowed(self) -> bool:
        """Does the filter leave out anything at all (an empty list then says "nothing matches")?"""
        return bool(self.q or self.tag or self.group_id or self.responsible or self.states or self.company_id
                    or self.person_id or self.fields or any(job for _name, _label, job in self.job_filters()))

    def args(self, **changes) -> dict:
        """The filter as query parameters (values that repeat as lists), for ``url_for``."""
        data: dict = {"q": self.q, "tag": self.tag, "group_id": self.group_id or "", "sort": self.sort,
                      "dir": "desc" if self.desc else "", "responsible": self.responsible,
                      "company_id": self.company_id or "", "person_id": self.person_id or "",
                      "count": "exact" if self.exact else "", "col": list(self.columns),
                      **{name: job or "" for name, _label, job in self.job_filters()}}
        if self.states:
            data[_state_name(self.states[0])] = list(self.states)
        for f in self.fields:
            for k, v in f.args():
                if k == f"cf_{f.field_id}":
                    data.setdefault(k, []).append(v)
                else:
                    data[k] = v
        data.update(changes)
        return {k: v for k, v in data.items() if v not in ("", None, [])}

    def job_filters(self) -> list[tuple[str, object, int | None]]:
        """The job filters (:data:`JOB_FILTERS`) as ``(query parameter, label, job id or None)``: the
        list page shows a chip for each one set."""
        return [(name, label, getattr(self, attr)) for name, (attr, label) in JOB_FILTERS.items()]

    def assignment_audits(self, viewer: Viewer) -> list[int]:
        """The audit entries of the bulk assignments of the job ``assignment_id``, as far as the
        viewer may see the job (:func:`job_assignments`)."""
        key = (viewer.user_id, viewer.is_admin)
        if key not in self._assignments:
            self._assignments[key] = job_assignments(self.assignment_id, viewer)
        return self._assignments[key]

    def pairs(self, **changes) -> list[tuple[str, str]]:
        """:meth:`args` as (name, value) pairs, one per value (hidden inputs, URL encoding)."""
        return [(k, str(x)) for k, v in self.args(**changes).items() for x in (v if isinstance(v, list) else [v])]


def text_match(rtype: RecordType, viewer: Viewer, q: str):
    """The list text filter, through the search index (:mod:`crm.search`): every word of ``q``
    must start a word of the same text (name, email, phone, text or select field), as on the
    search page. A restricted row matches only by what it shows (its name, fields shared with
    the viewer's groups), so a filter can't probe hidden fields. ``None``: no word, no filter."""
    ids = matching_record_ids(rtype, viewer, q)
    return None if ids is None else rtype.model.id.in_(ids)


def filtered(rtype: RecordType, viewer: Viewer, flt: ListFilter):
    """The WHERE clause of a list: what the viewer sees, narrowed by the filter."""
    model = rtype.model
    # tags are hidden on restricted rows, so only fully visible rows can match a tag: the rule of
    # those instead of the rule of every visible row, not both - which for most viewers is the same
    # rule twice, and a planner that multiplies the two (PostgreSQL) expects a hundredth of the
    # rows; it then tested every row of the viewer's groups for the tag (100k people: 42 ms instead
    # of 14)
    conds = [fully_visible_to(model, viewer) if flt.tag else visible_to(model, viewer)]
    match = text_match(rtype, viewer, flt.q) if flt.q else None
    if match is not None:
        conds.append(match)
    if flt.tag:
        # driven from the tag's links (IN), not by probing every row of the list (EXISTS); their
        # tables, not their classes (``unscoped`` with ``keep_criteria``): a link counts for a row
        # the rule above lets through, whose tags the viewer sees - the safety net's rules for tags
        # and links (an EXISTS per link type for the tag, one per link for its record) could only
        # say so again, in every arm of the list (PostgreSQL planned the people page's statement
        # for 6 ms)
        links, tags = TAG_LINKS[rtype.key].__table__, Tag.__table__
        tagged = select(links.c[f"{rtype.key}_id"]).join(tags, tags.c.id == links.c.tag_id) \
            .where(tags.c.key == tag_key(flt.tag))
        conds.append(model.id.in_(unscoped(tagged, keep_criteria=True)))
    if flt.group_id is not None and viewer.groups_enabled:
        conds.append(model.group_id == flt.group_id)
    conds += made_by_job(rtype, viewer, flt)
    conds += narrowing(rtype, viewer, flt)
    return and_(*conds)


def made_by_job(rtype: RecordType, viewer: Viewer, flt: ListFilter) -> list:
    """The conditions of the job filters (:data:`JOB_FILTERS`): the rows an import created, the
    rows a bulk assignment job moved - of a job the viewer may see (``criteria_for``: their own, or
    an admin); someone else's job and an id no job has match nothing, alike. The rows themselves
    as the viewer sees them now (``visible_to`` in :func:`filtered`): one handed over out of sight
    is not shown."""
    model = rtype.model
    conds = []
    if flt.import_id is not None:
        conds.append(model.id.in_(select(ImportItem.record_id).where(
            ImportItem.job_id == flt.import_id, ImportItem.record_type == rtype.key,
            criteria_for(ImportItem, viewer))))
    if flt.assignment_id is not None:
        conds.append(model.id.in_(select(AssignmentChange.record_id).where(
            in_id_list(AssignmentChange.audit_id, flt.assignment_audits(viewer), name="job_audits"),
            AssignmentChange.record_type == rtype.key, criteria_for(AssignmentChange, viewer))))
    return conds


def job_assignments(job_id: int, viewer: Viewer) -> list[int]:
    """The audit entries of the bulk assignments the job ``job_id`` made, if the viewer may see
    the job (their own; admins: any) - one row read by its primary key; else none."""
    row = db.session.execute(select(Job.kind, Job.result).where(
        Job.id == job_id, Job.kind.in_(ASSIGNING), criteria_for(Job, viewer))).first()
    return assignment_audit_ids(row.kind, row.result) if row is not None else []


def narrowing(rtype: RecordType, viewer: Viewer, flt: ListFilter) -> list:
    """The conditions of the filters by responsible user, state, linked company or person and
    custom field values. Each one tests a field that a restricted row hides, so it matches fully
    visible rows only - except a filter on a custom field shared with the viewer, which a
    restricted row shows (and so matches by). A link filter names a company or person the viewer
    fully sees, or matches nothing: a hidden id and a missing id answer alike."""
    model = rtype.model
    conds = []
    full_only = False
    if flt.responsible:
        user_id = viewer.user_id if flt.responsible == "me" else to_id(flt.responsible)
        conds.append(model.responsible_id == user_id)
        full_only = True
    if flt.states:
        conds.append(getattr(model, _state_name(flt.states[0])).in_(flt.states))
        full_only = True
    for fk, key, wanted in (("company_id", "company", flt.company_id), ("person_id", "person", flt.person_id)):
        if wanted is None or not hasattr(model, fk):
            continue
        target = _LINK_TARGETS[key]
        conds.append(getattr(model, fk) == wanted)
        conds.append(exists().where(target.id == wanted, fully_visible_to(target, viewer)))
        full_only = True
    shared = viewer.shared_field_ids(rtype.key)
    for f in flt.fields:
        conds.append(_field_match(rtype, f))
        full_only = full_only or f.field_id not in shared
    if full_only:
        conds.append(fully_visible_to(model, viewer))
    return conds


def _field_match(rtype: RecordType, f: FieldFilter):
    """Rows whose value of the custom field ``f`` matches it (an EXISTS over the field values,
    one primary-key lookup per row through the unique (field, record) index)."""
    value = CustomFieldValue.value
    conds = [CustomFieldValue.field_id == f.field_id, getattr(CustomFieldValue, f"{rtype.key}_id") == rtype.model.id]
    if f.values:
        conds.append(value.in_(f.values))
    if f.kind == "number":
        # the cast only for this field's values (CASE keeps the database from casting others first)
        number = case((CustomFieldValue.field_id == f.field_id, cast(value, Numeric())), else_=None)
        if f.low is not None:
            conds.append(number >= Decimal(f.low))
        if f.high is not None:
            conds.append(number <= Decimal(f.high))
    elif f.kind == "date":  # ISO dates compare as text
        if f.low is not None:
            conds.append(value >= f.low)
        if f.high is not None:
            conds.append(value <= f.high)
    return exists().where(*conds)


def ties_by_name(flt: ListFilter) -> bool:
    """Are equal sort keys ordered by name (:func:`list_order`)? Not for the name itself, nor for a
    time of change (next to no ties: without the name the (group, updated_at) index answers the
    whole ORDER BY)."""
    return flt.sort not in ("name", "updated")


def _order_terms(rtype: RecordType, viewer: Viewer, flt: ListFilter) -> list[tuple[object, bool]]:
    """The expressions a list is ordered by, each with whether it is descending (:func:`list_order`)."""
    model = rtype.model
    raw = getattr(model, rtype.sorts[flt.sort][1])
    column = raw if flt.sort == "name" else masked(model, viewer, raw)
    terms = [(column, flt.desc)]
    if ties_by_name(flt):  # (same stage, status, date)
        terms.append((model.sort_key, False))
    terms.append((model.id, flt.desc))
    return terms


def list_order(rtype: RecordType, viewer: Viewer, flt: ListFilter) -> list:
    """ORDER BY of a list: the chosen column (masked for restricted rows unless it is the name),
    then the name, then the id, so that pages never overlap."""
    model = rtype.model
    raw = getattr(model, rtype.sorts[flt.sort][1])
    terms = _order_terms(rtype, viewer, flt)
    column = terms[0][0]
    order = [expr.desc() if desc else expr.asc() for expr, desc in terms]
    if db.engine.dialect.name == "postgresql" and (column is not raw or raw.expression.nullable):
        # empty values (and masked ones) last, as SQLite has them descending; only where there can
        # be any: NULLS LAST keeps PostgreSQL from walking an index backwards, such as the one on
        # (updated_at, id) for the list sorted by last change
        order[0] = order[0].nulls_last()
    return order


#: the aliases of the list's statements, made once: an alias made per call builds its table's column
#: collection anew on first use (every column with its foreign keys: about half of the 8.8 ms it took
#: to build a deal list's statement)
_RESPONSIBLE = aliased(User)
_REFERENCED = {key: aliased(rtype.model, name=f"ref_{key}") for key, rtype in TYPES.items()}
_LINK_TARGETS = {key: aliased(TYPES[key].model, name=f"flt_{key}") for key in ("company", "person")}


def list_select(rtype: RecordType, viewer: Viewer, flt: ListFilter, page=None):
    """Columns for one list page. Restricted rows get NULL in every column but the name and group,
    and the sort key of a hidden column is NULL for them too. ``page``: a subquery of the ids of
    the page (see :func:`list_page`), else the whole list."""
    model = rtype.model
    responsible = _RESPONSIBLE
    cols = [
        model.id.label("id"),
        model.group_id.label("group_id"),
        Group.name.label("group_name"),
        is_full_column(model, viewer).label("full"),
        *[getattr(model, f).label(f) for f in rtype.name_fields],
        masked(model, viewer, model.updated_at).label("updated_at"),
        masked(model, viewer, responsible.name).label("responsible"),
    ]
    extra = {
        "company": ("website",),
        "person": ("position",),
        "deal": ("value_cents", "currency", "stage", "target_date"),
        "project": ("status", "start_date", "target_date"),
    }[rtype.key]
    cols += [masked(model, viewer, getattr(model, c)).label(c) for c in extra]
    stmt = select(*cols)
    if page is not None:
        stmt = stmt.select_from(page).join(model, model.id == page.c.id)
        if "n_all" in page.c:  # (the counts found with the page: list_page's ``counted``)
            stmt = stmt.add_columns(page.c.n_all, page.c.n_full)
    else:
        stmt = stmt.select_from(model)
    stmt = (
        stmt.join(Group, Group.id == model.group_id)
        .outerjoin(responsible, responsible.id == model.responsible_id)
    )
    for fk, ref_key in rtype.references:
        alias = _REFERENCED[ref_key]
        stmt = stmt.outerjoin(alias, and_(getattr(model, fk) == alias.id, visible_to(alias, viewer)))
        name_col = alias.name if ref_key == "company" else (alias.first_name + " " + alias.last_name)
        cols_ref = [
            masked(model, viewer, getattr(model, fk)).label(f"{ref_key}_fk"),
            masked(model, viewer, alias.id).label(f"{ref_key}_ref_id"),
            masked(model, viewer, name_col).label(f"{ref_key}_ref_name"),
        ]
        stmt = stmt.add_columns(*cols_ref)
    # a page's ids were found by the filter already: its rows need the visibility test only
    stmt = stmt.where(filtered(rtype, viewer, flt) if page is None else visible_to(model, viewer))
    # restricted rows are let through the safety net: every column but the name and group is masked
    return restricted_rows(stmt.order_by(*list_order(rtype, viewer, flt)))


#: up to this many groups a list sorted by name, last change or value finds its page group by group
#: (:func:`list_page`); above, the viewer's groups are written for SQLite to walk the sort index
#: (:data:`crm.visibility.FEW_GROUPS`)
PER_GROUP_ARMS = FEW_GROUPS
#: the sorts whose arms read an index on (group, sort key): ix_<table>_group_sort, _group_updated,
#: ix_deals_group_value
ARM_SORTS = ("name", "updated", "value")


def _group_arms(rtype: RecordType, viewer: Viewer, flt: ListFilter) -> tuple[int, ...] | None:
    """The viewer's groups, if the page is best found by reading each group's first rows from its
    (group, sort key) index - a list sorted by name, last change or value, of a viewer who sees
    only the records of a few groups; else ``None``. (A viewer who sees every record, restricted
    or not, walks the sort index itself; a text filter is answered by the full-text index.)"""
    if flt.sort not in ARM_SORTS or flt.q or flt.group_id is not None:
        return None
    if not viewer.groups_enabled or viewer.sees_restricted(rtype.key):
        return None
    groups = tuple(sorted(viewer.group_ids))
    return groups if 0 < len(groups) <= PER_GROUP_ARMS else None


def counted_with_page(flt: ListFilter) -> bool:
    """Are the list's counts best found with its page (:func:`list_page`'s ``counted``)? For the
    text filter: its page is found by reading and sorting every match, and a count of its own
    would find every match again (on SQLite half the filter's time: each match is looked up from
    the full-text index's row to its record). Any other list finds its page from an index without
    reading every row, which a count over the page's query would undo: it counts on its own
    (:func:`count_capped`), stopping at the cap - as does a text without a word (``?q=-``), which
    filters nothing: counted with the page it would count every row."""
    return bool(flt.q) and bool(parse(flt.q))


def list_page(rtype: RecordType, viewer: Viewer, flt: ListFilter, limit: int, offset: int = 0, *,
              counted: bool = False):
    """One page of :func:`list_select` as a "late row lookup": the ids of the page are found first
    by a narrow query (filter, order, limit, offset: what the indexes on (group, sort key) answer
    without touching the rows), and only those rows are joined to their group, responsible user
    and references. Sorting or skipping a deep page then never drags joined rows along.

    For a viewer who sees the records of a few groups only (:func:`_group_arms`), the ids come
    from one arm per group, each the group's first ``offset + limit`` rows in the list's order
    (its index in that order), merged and cut: SQLite otherwise sorts every visible row for the
    first page (0.84 s at 1M deals for a viewer of 3 of 20 groups, ``bench/pipeline.py``). On
    PostgreSQL a key that can be empty (a deal's value) has a second arm per group for the rows
    without one, so that each arm's order is the index's in either direction: :func:`list_order`'s
    ``NULLS LAST`` is not (an ascending index walked backwards has the NULLs first). SQLite's
    NULLs come first ascending and last descending, as its index has them: one arm is enough (and
    an arm of the empty ones only would be read through the name index there, every row of the
    group, when the group has none).

    ``counted`` (:func:`counted_with_page`): each row also holds how many rows match (``n_all``)
    and how many of them the viewer fully sees (``n_full``), counted over the same rows before the
    page is cut (:func:`_counted_ids`) - :func:`page_counts` reads them as :func:`count_capped`
    would have counted."""
    model = rtype.model
    groups = None if counted else _group_arms(rtype, viewer, flt)
    if counted:
        ids = _counted_ids(rtype, viewer, flt)
    elif groups is None:
        ids = select(model.id.label("id")).where(filtered(rtype, viewer, flt)).order_by(*list_order(rtype, viewer, flt))
    else:
        ids = _merged_arms(rtype, viewer, flt, groups, offset + limit)
    return list_select(rtype, viewer, flt, page=ids.limit(limit).offset(offset).subquery("page"))


def _counted_ids(rtype: RecordType, viewer: Viewer, flt: ListFilter):
    """:func:`list_page`'s ids in the list's order, each row with the counts of the whole list:
    ``n_all`` its rows, ``n_full`` those the viewer fully sees (a restricted row's id is masked).
    PostgreSQL counts with a window (``count(*) OVER ()``). SQLite finds the matching rows once
    (``WITH … AS MATERIALIZED``), counts them there and sorts them there: its window feeds the rows
    one by one through a temporary table of its own after the sort, 2 µs a row - 365 instead of
    254 ms for the deals matching "Wartung" at 1M people (60,459 of them) for a user who sees every
    deal."""
    model = rtype.model
    if db.engine.dialect.name == "postgresql":
        return select(
            model.id.label("id"), func.count().over().label("n_all"),
            func.count(masked(model, viewer, model.id)).over().label("n_full"),
        ).where(filtered(rtype, viewer, flt)).order_by(*list_order(rtype, viewer, flt))
    terms = _order_terms(rtype, viewer, flt)
    matches = (
        select(model.id.label("id"), masked(model, viewer, model.id).label("full"),
               *[expr.label(f"k{i}") for i, (expr, _desc) in enumerate(terms)])
        .where(filtered(rtype, viewer, flt))
        .cte("matches")
        .prefix_with("MATERIALIZED")
    )
    keys = [matches.c[f"k{i}"] for i in range(len(terms))]
    return select(
        matches.c.id.label("id"),
        select(func.count()).select_from(matches).scalar_subquery().label("n_all"),
        select(func.count(matches.c.full)).select_from(matches).scalar_subquery().label("n_full"),
    ).order_by(*[key.desc() if desc else key.asc() for key, (_expr, desc) in zip(keys, terms, strict=True)])


def _merged_arms(rtype: RecordType, viewer: Viewer, flt: ListFilter, groups: tuple[int, ...], first: int):
    """The ids of :func:`list_page` from the ``first`` rows of each group (:func:`_group_arms`),
    ordered as :func:`list_order` orders the whole list: sort key, then (but by name or last
    change) the name, then the id; empty keys last on PostgreSQL as there."""
    model = rtype.model
    key = getattr(model, rtype.sorts[flt.sort][1])
    by_name = ties_by_name(flt)
    nullable = bool(key.expression.nullable)
    postgresql = db.engine.dialect.name == "postgresql"

    def arm(group: int, empty: bool | None):
        order = [] if empty else [key.desc() if flt.desc else key.asc()]
        if by_name:
            order.append(model.sort_key.asc())
        order.append(model.id.desc() if flt.desc else model.id.asc())
        conds = [filtered(rtype, viewer, flt), model.group_id == group]
        if empty is not None:
            conds.append(key.is_(None) if empty else key.is_not(None))
        cols = [model.id.label("id"), key.label("k")] + ([model.sort_key.label("s")] if by_name else [])
        return select(select(*cols).where(*conds).order_by(*order).limit(first).subquery())

    split = (False, True) if nullable and postgresql else (None,)
    arms = [arm(group, empty) for group in groups for empty in split]
    merged = union_all(*arms).subquery("arms")
    outer = [merged.c.k.desc() if flt.desc else merged.c.k.asc()]
    if postgresql and nullable:
        outer[0] = outer[0].nulls_last()  # (as list_order has it)
    if by_name:
        outer.append(merged.c.s.asc())
    outer.append(merged.c.id.desc() if flt.desc else merged.c.id.asc())
    return select(merged.c.id.label("id")).order_by(*outer)


def count_capped(rtype: RecordType, viewer: Viewer, flt: ListFilter, cap: int, *,
                 selectable: bool = False) -> tuple[tuple[int, bool], tuple[int, bool] | None]:
    """How many rows match, counting at most ``cap + 1`` so large tables stay cheap; all of them
    when the user asked for the exact count (``flt.exact``): ``(count, capped)``. With
    ``selectable``, also how many of them the viewer fully sees (at most ``cap + 1``), in the same
    statement; else ``None``."""
    model = rtype.model
    term = _count_term(rtype, flt)
    inner = select(model.id).where(filtered(rtype, viewer, flt), *term)
    if not flt.exact:
        inner = inner.limit(cap + 1)
    counts = [select(func.count()).select_from(inner.subquery()).scalar_subquery()]
    if selectable:  # (fully visible: the predicate is in the statement, not left to the safety net)
        full = ids_matching(rtype, viewer, flt).where(*term).limit(cap + 1).subquery()
        counts.append(select(func.count()).select_from(full).scalar_subquery())
    row = db.session.execute(restricted_rows(select(*counts))).one()
    n = row[0] or 0
    total = (n, False) if flt.exact else (min(n, cap), n > cap)
    if not selectable:
        return total, None
    m = row[1] or 0
    return total, (min(m, cap), m > cap)


def _count_term(rtype: RecordType, flt: ListFilter) -> list:
    """SQLite: the term that lets :func:`count_capped` read the live records' groups from their
    index alone (:func:`~crm.records.models.count_term`) - for a list narrowed by nothing but a
    group, whose every condition the index covers. Else none: a filter's other columns are the
    table's, and their counts keep the plans they have."""
    if db.engine.dialect.name != "sqlite" or replace(flt, group_id=None).narrowed:
        return []
    return [count_term(rtype.model)]


def page_counts(first_row, flt: ListFilter, cap: int) -> tuple[tuple[int, bool], tuple[int, bool]]:
    """The counts a ``counted`` page's first row holds (:func:`list_page`), as :func:`count_capped`
    gives them with ``selectable``: (rows, capped), (fully visible rows, capped) - the exact figures
    only when the user asked for them (``flt.exact``), else at most ``cap`` and whether there are
    more, so that a page tells the same whichever way it was counted."""
    n, m = first_row["n_all"], first_row["n_full"]
    total = (n, False) if flt.exact else (min(n, cap), n > cap)
    return total, (min(m, cap), m > cap)


def ids_matching(rtype: RecordType, viewer: Viewer, flt: ListFilter, *, full_only: bool = True):
    """A subquery of the ids matching the filter: "select all N matching" without shipping ids."""
    model = rtype.model
    conds = [filtered(rtype, viewer, flt)]
    if full_only:
        conds.append(fully_visible_to(model, viewer))
    return select(model.id).where(*conds)


def column_values(rtype: RecordType, viewer: Viewer, ids: list[int], field_ids) -> dict[tuple[int, int], str]:
    """The values of the chosen custom field columns on a list page's rows, (record id, field id)
    -> value: all of a fully visible row, only the shared fields of a restricted one."""
    if not ids or not field_ids:
        return {}
    fk = getattr(CustomFieldValue, f"{rtype.key}_id")
    rows = db.session.execute(restricted_rows(
        select(fk, CustomFieldValue.field_id, CustomFieldValue.value)
        .where(fk.in_(ids), CustomFieldValue.field_id.in_(list(field_ids)), field_value_visible_to(viewer))
    ))
    return {(rid, fid): value for rid, fid, value in rows}


def telling_details(rtype: RecordType, viewer: Viewer, ids: list[int]) -> dict[int, list[str]]:
    """What tells records of the same name apart in a picker (the merge page's "Thomas Dublette"
    twice): a person's company and first e-mail, a company's city (the last line of its first
    address) and website. Only of the ``ids`` the viewer fully sees; a person's company only by
    the name the viewer may see (a restricted company's name, a hidden one's nothing)."""
    if not ids or rtype.key not in ("person", "company"):
        return {}
    model = rtype.model
    owner = getattr(ContactDetail, f"{rtype.key}_id")
    kind = "email" if rtype.key == "person" else "address"
    shown = select(model.id).where(model.id.in_(ids), fully_visible_to(model, viewer))
    # the first contact detail of the kind per record (by its position, then its id)
    first = (
        select(owner.label("rid"), ContactDetail.value,
               func.row_number().over(partition_by=owner,
                                      order_by=(ContactDetail.position, ContactDetail.id)).label("n"))
        .where(owner.in_(shown), ContactDetail.kind == kind)
        .subquery("first_detail")
    )
    details = dict(db.session.execute(select(first.c.rid, first.c.value).where(first.c.n == 1)).all())
    if rtype.key == "person":
        # the company's name as the viewer may see it: a restricted company shows its name
        other = dict(db.session.execute(restricted_rows(
            select(Person.id, Company.name).join(Company, Company.id == Person.company_id)
            .where(Person.id.in_(shown), visible_to(Company, viewer))
        )).all())
        return {rid: [v for v in (other.get(rid), details.get(rid)) if v] for rid in ids}
    websites = dict(db.session.execute(select(model.id, model.website).where(model.id.in_(shown))).all())
    return {rid: [v for v in (_last_line(details.get(rid)), websites.get(rid)) if v] for rid in ids}


def _last_line(text: str | None) -> str:
    """An address's last line: the postcode and city ("Am Markt 3\n20095 Hamburg")."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def tags_for(rtype: RecordType, ids: list[int], viewer: Viewer) -> dict[int, list[str]]:
    """The tag names of the records ``ids`` the viewer fully sees (a list page's rows), by record.

    This and the tag menu (:func:`all_tags`, :func:`tag_and_group_choices`) run past the safety net
    (``unscoped``), with every rule they need written out. They read tags only through links to
    records the statement requires fully visible (:func:`~crm.visibility.fully_visible_to`), and
    such a tag is visible by the tag rule itself (:func:`~crm.visibility.tag_visible_to`: on at
    least one record the viewer fully sees): the net's copy of that rule, one ``EXISTS`` per link
    type and tag, could only repeat it, and cost 5-10 ms of every list page on PostgreSQL. The
    group choices' branch reads groups (no record data) by :func:`~crm.visibility.in_groups` and
    :func:`~crm.visibility.restricted_to`. A change to these statements must keep that so:
    ``tests/test_trust_services.py`` asks them outside a request, where no net helps."""
    if not ids:
        return {}
    link = TAG_LINKS[rtype.key]
    model = rtype.model
    fk = getattr(link, f"{rtype.key}_id")
    out: dict[int, list[str]] = {}
    for rid, name in db.session.execute(unscoped(  # (past the net: see the docstring)
        select(fk, Tag.name).join(Tag, Tag.id == link.tag_id).join(model, model.id == fk)
        .where(fk.in_(ids), fully_visible_to(model, viewer)).order_by(Tag.name)
    )):
        out.setdefault(rid, []).append(name)
    return out


def _tags_of(rtype: RecordType, viewer: Viewer):
    link = TAG_LINKS[rtype.key]
    model = rtype.model
    fk = getattr(link, f"{rtype.key}_id")
    return exists().where(link.tag_id == Tag.id, fk == model.id, fully_visible_to(model, viewer))


def all_tags(rtype: RecordType, viewer: Viewer) -> list[str]:
    """Tag names on records of this type the viewer fully sees (offered as filter choices; a tag
    of a hidden or restricted record is one of its hidden fields)."""
    # (past the net: see tags_for)
    return list(db.session.scalars(unscoped(select(Tag.name).where(_tags_of(rtype, viewer)).order_by(Tag.name))))


def tag_and_group_choices(rtype: RecordType, viewer: Viewer) -> tuple[list[str], tuple[GroupName, ...]]:
    """What the list's tag and group filters offer: the tags of :func:`all_tags`, and the groups -
    the viewer's own (``viewer.groups``: Basis and the groups they are in) and the other groups
    holding a record of this type they see restricted, whose name that record shows them anyway.
    A group of which they see no record of the type is not offered. Basis first, then by name.
    One statement: the other groups' branch is glued to the tags' by UNION ALL (a list page
    stays within its statements)."""
    if not viewer.groups_enabled or not viewer.sees_restricted(rtype.key):
        return all_tags(rtype, viewer), viewer.groups if viewer.groups_enabled else ()
    model = rtype.model
    tags = select(literal("tag").label("kind"), cast(null(), Integer).label("id"), Tag.name.label("name")) \
        .where(_tags_of(rtype, viewer))
    # (of the records only whether one exists per group, read restricted)
    groups = select(literal("group"), Group.id, Group.name).where(
        in_groups(Group.id, viewer, negated=True),
        exists(select(model.id).where(model.group_id == Group.id, restricted_to(model, viewer))))
    both = union_all(tags, groups)
    stmt = both.order_by(both.selected_columns.kind, both.selected_columns.name)
    tag_names, others = [], []
    for kind, gid, name in db.session.execute(unscoped(stmt)):  # (past the net: see tags_for)
        if kind == "tag":
            tag_names.append(name)
        else:
            others.append(GroupName(gid, name))
    if not others:
        return tag_names, viewer.groups
    own = {g.id for g in viewer.groups}
    merged = sorted([*viewer.groups, *(g for g in others if g.id not in own)],
                    key=lambda g: (g.id != BASIS_ID, g.name.casefold(), g.id))
    return tag_names, tuple(merged)


@dataclass
class RelatedList:
    rtype: RecordType
    rows: list = field(default_factory=list)
    total: int = 0


#: the columns a related list shows besides the name
_RELATED_EXTRA = {
    "person": ("position",),
    "deal": ("value_cents", "currency", "stage"),
    "project": ("status", "target_date"),
    "company": (),
}


def related(rtypes: list[RecordType], fk: str, parent_id: int, viewer: Viewer, limit: int = 25) -> list[RelatedList]:
    """For each of ``rtypes``, its records pointing at a parent through ``fk`` that the viewer
    fully sees: a restricted record's links are among the fields it hides, so neither it nor a
    hidden one is there at all (nor in the count or the "N more"). All lists in one statement:
    one ordered, limited select per type (with its count, ``count(*) OVER ()``), glued by UNION
    ALL over the columns of all of them (NULL where a type has no such column)."""
    if not rtypes:
        return []
    slots: dict[str, object] = {}  # column name -> its SQL type
    for rtype in rtypes:
        for name in (*rtype.name_fields, *_RELATED_EXTRA[rtype.key]):
            slots.setdefault(name, getattr(rtype.model, name).type)
    arms = []
    for i, rtype in enumerate(rtypes):
        model = rtype.model
        own = {f: getattr(model, f) for f in rtype.name_fields}
        own |= {c: getattr(model, c) for c in _RELATED_EXTRA[rtype.key]}
        arms.append(
            select(
                literal(i).label("arm"),
                model.id.label("id"),
                *[(own[name] if name in own else cast(null(), type_)).label(name) for name, type_ in slots.items()],
                model.sort_key.label("sort"),
                func.count().over().label("total"),  # the count comes with the rows
            )
            .where(getattr(model, fk) == parent_id, fully_visible_to(model, viewer))
            .order_by(model.sort_key, model.id)
            .limit(limit)
            .subquery(f"related_{rtype.key}")
        )
    both = union_all(*[select(arm) for arm in arms]).subquery("related")
    stmt = select(both).order_by(both.c.arm, both.c.sort, both.c.id)
    out = [RelatedList(rtype) for rtype in rtypes]
    for row in db.session.execute(restricted_rows(stmt)):
        lst = out[row.arm]
        lst.total = row.total
        keep = ("id", *lst.rtype.name_fields, *_RELATED_EXTRA[lst.rtype.key])
        lst.rows.append({k: getattr(row, k) for k in keep})
    return out


def custom_values(rtype: RecordType, record_id: int) -> list[tuple[CustomField, str | None]]:
    """All custom fields of the type with this (fully visible) record's values."""
    fk = getattr(CustomFieldValue, f"{rtype.key}_id")
    rows = db.session.execute(
        select(CustomField, CustomFieldValue.value)
        .options(lazyload(CustomField.shared_with))  # (not shown here: one statement less)
        .outerjoin(CustomFieldValue, and_(CustomFieldValue.field_id == CustomField.id, fk == record_id))
        .where(CustomField.entity == rtype.key)
        .order_by(CustomField.position, CustomField.id)
    ).all()
    return [(f, v) for f, v in rows]
