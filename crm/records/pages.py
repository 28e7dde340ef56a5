"""What the record pages are built from: the list and detail contexts, the record form with its
values and link pickers, and the record a new one is created from. Used by the record views, the
bulk actions, the notes and tasks views (which show a record's detail page again on an error); no
view module is imported by another.
"""
from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

from flask import current_app, flash, get_flashed_messages, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Row, select

from ..audit.models import AuditEntry
from ..common import to_id, to_int
from ..customfields.services import fields_for
from ..extensions import db
from ..groups.models import Group
from ..groups.queries import contact_names
from ..i18n import ui_locale
from ..listviews.services import views_for
from ..visibility import Viewer, current_viewer, fully_visible_to
from . import queries
from .assign import handover_targets, offers_undo
from .forms import FIELD_ORDER, UNCHANGED, build_form
from .loaders import FULL, RESTRICTED, fully_visible_record, reference, references_by_type, trashed_ids_of
from .services import assignment_rules, default_group_id, member_groups, new_record_groups, type_default
from .types import TYPES, RecordType


def page_arg() -> int:
    return max(1, min(to_int(request.args.get("page"), 1), 100_000))


def flash_bulk(message: str, category: str = "success", entry_id: int | None = None) -> None:
    """The message after a bulk action whose answer is a redirect to the list (a plain form, or the
    hand-over button of a record's page): the list shows it as it shows the message after an htmx
    action, in ``#bulk-message`` (``records/_bulk_message.html``), with Undo after an assignment for
    whoever may undo it (:func:`bulk_message`)."""
    flash([message, category, entry_id], "bulk")


def bulk_message(rtype: RecordType) -> dict | None:
    """The message :func:`flash_bulk` left for this list page (the last one), ``None`` if none."""
    messages = get_flashed_messages(category_filter=["bulk"])
    if not messages:
        return None
    message, category, entry_id = messages[-1]
    entry = db.session.get(AuditEntry, entry_id) if isinstance(entry_id, int) else None
    if entry is not None and not ((entry.details or {}).get("record_type") == rtype.plural
                                  and offers_undo(entry, current_viewer())):
        entry = None
    return {"message": message, "category": category, "undo_entry": entry}


def active_users() -> list[Row]:
    from ..auth.services import active_users as cached

    return cached()


def list_context(rtype: RecordType, flt: queries.ListFilter, page: int) -> dict:
    viewer = current_viewer()
    per_page, cap = current_app.config["PAGE_SIZE"], current_app.config["COUNT_CAP"]
    counted = queries.counted_with_page(flt)
    stmt = queries.list_page(rtype, viewer, flt, per_page, (page - 1) * per_page, counted=counted)
    rows = [r._asdict() for r in db.session.execute(stmt)]
    tags = queries.tags_for(rtype, [r["id"] for r in rows if r["full"]], viewer)
    for r in rows:
        r["tags"] = tags.get(r["id"], [])
    # links to records in the recycle bin read "(deleted)" (one statement for all the link types)
    deleted = trashed_ids_of({key: [r[f"{key}_fk"] for r in rows if r[f"{key}_fk"] and not r[f"{key}_ref_id"]]
                              for _fk, key in rtype.references}, viewer)
    for _fk, key in rtype.references:
        for r in rows:
            r[f"{key}_deleted"] = r[f"{key}_fk"] in deleted[key] and not r[f"{key}_ref_id"]
    fields = {f.id: f for f in fields_for(rtype.key)}
    columns = [fields[i] for i in flt.columns if i in fields]
    values = queries.column_values(rtype, viewer, [r["id"] for r in rows], [f.id for f in columns])
    shared = viewer.shared_field_ids(rtype.key)
    for r in rows:  # a restricted row shows the shared fields only: the others read "hidden"
        r["columns"] = [(values.get((r["id"], f.id)), r["full"] or f.id in shared) for f in columns]
    if counted and rows:  # (the counts came with the page; an empty page counts on its own)
        (total, capped), selectable = queries.page_counts(rows[0], flt, cap)
        if not has_restricted(rtype, viewer):
            selectable = None
    else:
        (total, capped), selectable = queries.count_capped(
            rtype, viewer, flt, cap, selectable=has_restricted(rtype, viewer))
    pages = max(1, -(-total // per_page))
    return {
        **list_extras(flt, selectable or (total, capped)),
        "rtype": rtype,
        "rows": rows,
        "flt": flt,
        "page": page,
        "pages": pages,
        "total": total,
        "capped": capped,
        "has_more": capped or page < pages,
        **dict(zip(("filter_tags", "filter_groups"), queries.tag_and_group_choices(rtype, viewer), strict=True)),
        "columns": columns,
        "saved_views": views_for(viewer, rtype.key),
        "view_query": urlencode(flt.pairs(count="")),
        **filter_choices(rtype, viewer, flt, list(fields.values())),
    }


def filter_problems(rtype: RecordType, fields: list) -> list[tuple[str, str, str]]:
    """The custom field filter values of the request that the list could not read (and so left
    out): (the field's name with "from"/"to", or the parameter's if no field of the list has it;
    the value as given; what was expected)."""
    names = {f"cf_{f.id}": f.name for f in fields}
    out = []
    for param, message in sorted(queries.field_filter_problems(rtype.key, request.args, ui_locale()).items()):
        base, _sep, end = param.rpartition("_")
        if end in ("from", "to") and base in names:
            label = f"{names[base]} ({_('from') if end == 'from' else _('to')})"
        else:
            label = names.get(param, param)
        out.append((label, ", ".join(request.args.getlist(param))[:80], str(message)))
    return out


def filter_choices(rtype: RecordType, viewer: Viewer, flt: queries.ListFilter, fields: list) -> dict:
    """What the list's filter form offers besides text, tag and group: responsible users, the
    type's states, its custom fields, and the company or person the list is narrowed to (its name
    only if the viewer fully sees it: any other id reads alike, hidden or never used)."""
    links = {}
    for fk, key in rtype.references:
        wanted = getattr(flt, fk)
        if wanted is not None:
            ref = reference(key, wanted, viewer)
            links[fk] = (TYPES[key], ref.name if ref is not None and ref.level == FULL else None)
    state = queries.STATE_FILTERS.get(rtype.key)
    return {
        "filter_users": active_users(),
        "filter_state": state[0] if state else None,
        "filter_fields": fields,
        "filter_values": {f.field_id: f for f in flt.fields},
        "filter_links": links,
    }


def record_form(rtype: RecordType, obj=None, *, new: bool = False, **kwargs):
    """The record form of ``rtype`` for the current user (their groups, the active users; for a
    ``new`` record the groups it may go to, :func:`~crm.records.services.new_record_groups`)."""
    viewer = current_viewer()
    groups = new_record_groups(viewer, rtype.key) if new else member_groups(viewer)
    return build_form(
        rtype, fields_for(rtype.key), groups=groups, users=active_users(),
        groups_enabled=viewer.groups_enabled, obj=obj, **kwargs,
    )


def rules_notice(rtype: RecordType) -> list[str]:
    """The groups the type's assignment rules may put a new record into that the creator is not a
    member of (the new-record form warns that it may then leave their view); none while the group
    system is off."""
    viewer = current_viewer()
    if not viewer.groups_enabled:
        return []
    ids = {r.group_id for r in assignment_rules(rtype.key) if not viewer.is_member(r.group_id)}
    return sorted(db.session.scalars(select(Group.name).where(Group.id.in_(ids)))) if ids else []


def default_notice(rtype: RecordType) -> dict | None:
    """What the new-record form tells a creator who is not a member of the type's default group:
    its name, whether they may choose one of their groups instead, and whom to ask (None if the
    type has no default, the creator is a member, or the group system is off)."""
    viewer = current_viewer()
    td = type_default(rtype.key)
    if td is None or not viewer.groups_enabled or viewer.is_member(td.group_id):
        return None
    return {"group": db.session.get(Group, td.group_id).name, "allow_own": td.allow_own,
            "contacts": contact_names(td.group_id)}


def fill_form(form, rtype: RecordType, obj) -> None:
    """Put a record's values into its (unposted) edit form."""
    form.version.data = obj.version
    form.tags.data = [t.name for t in obj.tags]
    if rtype.has_contact_details:
        for kind, name in (("email", "emails"), ("phone", "phones"), ("address", "addresses")):
            getattr(form, name).data = [d.value for d in obj.contact_details if d.kind == kind]
    if rtype.key == "deal":
        form.value.data = obj.value
    for field, value in queries.custom_values(rtype, obj.id):
        f = getattr(form, f"cf_{field.id}")
        if value is None:
            continue
        if field.kind == "date":
            f.data = date.fromisoformat(value)
        elif field.kind == "number":
            f.data = Decimal(value)
        else:
            f.data = value


def picked(rtype: RecordType, form, record=None) -> dict:
    """The link pickers of a form as the viewer may see them (field -> :class:`Ref`). A link whose
    target the viewer does not fully see is sent as "unchanged", never with its id (the record's
    current link, shown as the placeholder or the restricted name)."""
    viewer = current_viewer()
    out = {}
    for fk, key in rtype.references:
        f = getattr(form, fk)
        current = getattr(record, fk) if record is not None else None
        value = current if f.data is UNCHANGED else f.data
        ref = reference(key, value, viewer) if isinstance(value, int) else None
        if ref is not None and ref.level != FULL and not (ref.level == RESTRICTED and value == current):
            # an id sent back that the service refused (hidden, missing, restricted): the form
            # shows the link as it is - the same answer whatever the id was
            value = current
            ref = reference(key, value, viewer) if value is not None else None
        f.data = UNCHANGED if ref is not None and ref.level != FULL else value
        out[fk] = ref
    return out


def parent_from_args():
    """A record named in the query string (``?company_id=3``) that the new record is created from."""
    viewer = current_viewer()
    for key in ("company", "person", "deal", "project"):
        raw = to_id(request.args.get(f"{key}_id"))
        if raw is not None:
            model = TYPES[key].model
            parent = db.session.scalar(
                select(model).where(model.id == raw, fully_visible_to(model, viewer))
            )
            if parent is not None:
                return parent
    return None


def picked_company(form):
    """The company picked on a new person's, deal's or project's form, if the user fully sees it
    (else ``None``, the same for a hidden, restricted and missing id)."""
    field = getattr(form, "company_id", None)
    value = field.data if field is not None else None
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return fully_visible_record(TYPES["company"], value, current_viewer())


def group_parent(rtype: RecordType, form, parent):
    """The record a new record counts as created from, for its default group (product.md §5): the
    one it is created from (``parent``, ``?company_id=3``); without one, the company picked on the
    form when the group is the one the form proposed for it (:func:`proposed_group_id`) - so an
    assignment rule or the type's default group decides as when the group is left at the user's
    default (:func:`~crm.records.services.rules_decide`). A group the user chose beats the rules
    as before; the API is unchanged (its default stays the user's default group)."""
    if parent is not None:
        return parent
    company = picked_company(form)
    if company is not None and form.group_id.data == default_group_id(
            current_viewer(), current_user, company, rtype.key):
        return company
    return None


def ask_for_group(form) -> None:
    """A new-record form with no group to propose (its user is a member of several groups and has
    no default group: :func:`~crm.records.services.default_group_id`) shows an empty choice first,
    selected, instead of silently showing the first group offered - Basis, which everyone sees."""
    if form.offers_group and form.group_id.data is None:
        form.group_id.choices = [(None, "—"), *form.group_id.choices]


def proposed_group_id(rtype: RecordType, form, parent) -> int | None:
    """The group the new-record form proposes: the type's default group, else the group of the
    record it is created from or of the company picked on it (if the user is a member there),
    else the user's default group (:func:`~crm.records.services.default_group_id`)."""
    return default_group_id(current_viewer(), current_user, parent or picked_company(form), rtype.key)


def detail_context(rtype: RecordType, obj) -> dict:
    from ..auth.services import user_names
    from ..notes.queries import PAGE, notes_for
    from ..tasks.queries import tasks_for_record

    viewer = current_viewer()
    related = queries.related([TYPES[key] for key in rtype.related], f"{rtype.key}_id", obj.id, viewer)
    wanted: dict[str, list] = {}
    for fk_, key in rtype.references:
        wanted.setdefault(key, []).append(getattr(obj, fk_))
    by_type = references_by_type(wanted, viewer)
    refs = {fk_: by_type.get(key, {}).get(getattr(obj, fk_)) for fk_, key in rtype.references}
    notes = notes_for(rtype.key, obj.id)
    names = user_names([obj.responsible_id, obj.created_by_id, obj.updated_by_id])
    return {
        "rtype": rtype,
        "record": obj,
        "refs": refs,
        "custom": queries.custom_values(rtype, obj.id),
        "related": related,
        "notes": notes[:PAGE],
        "more": len(notes) > PAGE,
        "offset": 0,
        "tasks": tasks_for_record(rtype.key, obj.id),
        "users": active_users(),
        "user_names": names,
    }


def record_handovers(obj) -> list[tuple]:
    """The hand-over targets of a fully visible record's group for the current user (issue 18):
    ``(group, label)``. Loaded by the detail page on demand, like the "who can see this" panel."""
    viewer = current_viewer()
    if not viewer.groups_enabled:
        return []
    return [(target, label) for target, source, label in handover_targets(viewer) if source == obj.group_id]


def filter_key(flt: queries.ListFilter) -> str:
    """What defines the set of matching records (not its order): a new key clears the selection."""
    return urlencode(sorted((k, v) for k, v in flt.pairs() if k not in ("sort", "dir", "count", "col")))


def has_restricted(rtype: RecordType, viewer: Viewer) -> bool:
    """Can the viewer's lists of this type hold restricted rows (which cannot be selected)?"""
    return viewer.groups_enabled and viewer.sees_restricted(rtype.key)


def list_extras(flt: queries.ListFilter, selectable: tuple[int, bool]) -> dict:
    """For ``_list.html``: how many matching records can be selected (fully visible ones only:
    ``(count, capped)``, as :func:`queries.count_capped` counts them)."""
    return {"selectable": selectable[0], "selectable_capped": selectable[1], "filter_key": filter_key(flt)}


# --------------------------------------------------------------------------------------------
# An edit conflict: the other user's version next to yours, field by field
# --------------------------------------------------------------------------------------------

#: the name of the checkboxes of the conflict table: "take the current value of this field"
TAKE = "take"
#: how often a save is merged and tried again while others keep saving the record (then the
#: conflict table shows what is left)
MERGE_ATTEMPTS = 3


def conflict_fields(rtype: RecordType, form) -> list[str]:
    """The fields of the record form in the order the form shows them."""
    names = [*FIELD_ORDER[rtype.key], *form.custom_field_names, "tags", "responsible_id"]
    if form.offers_group:
        names.append("group_id")
    return [n for n in names if n in form]


def current_form(rtype: RecordType, obj):
    """The record form filled with the record as it is now (the other user's version)."""
    theirs = record_form(rtype, obj=obj, formdata=None)
    fill_form(theirs, rtype, obj)
    return theirs


def _shown(f, ref=None) -> str:
    """What a form field holds, as the user reads it (the label of a choice, a link's name)."""
    from flask_babel import format_date, format_decimal
    from flask_babel import gettext as _

    data = f.data
    if f.type == "RecordIdField":
        if ref is None:
            return "—"
        if ref.hidden:
            return str(TYPES[ref.key].hidden_label)
        return ref.name or "—"
    choices = getattr(f, "choices", None)
    if choices:
        labels = {str(c[0]): str(c[1]) for c in f.iter_choices()}
        if isinstance(data, (list, tuple)):
            return ", ".join(labels.get(str(v), str(v)) for v in data) or "—"
        return labels.get(str(data), "—" if data in (None, "") else str(data))
    if isinstance(data, (list, tuple)):
        return ", ".join(str(v) for v in data if v not in (None, "")) or "—"
    if isinstance(data, bool):
        return _("yes") if data else _("no")
    if isinstance(data, date):
        return format_date(data)
    if isinstance(data, Decimal):
        return format_decimal(data)
    if data in (None, ""):
        return "—"
    return str(data)


def conflict_rows(rtype: RecordType, mine, theirs, mine_refs: dict, their_refs: dict) -> list[dict]:
    """One row per field: its label, your value, the current one and whether they differ. Only
    what the user sees of the (fully visible) record: a link to a record they do not fully see
    reads as the detail page shows it."""
    rows = []
    for name in conflict_fields(rtype, mine):
        yours = _shown(mine[name], mine_refs.get(name))
        current = _shown(theirs[name], their_refs.get(name))
        rows.append({"name": name, "label": mine[name].label.text, "mine": yours, "theirs": current,
                     "differs": yours != current})
    return rows


# A three-way merge after a conflict. The edit form carries what it started from ("base"): per
# field a keyed digest of the value it showed, so the page holds nothing the form does not show
# already. A field only the other user changed (yours is still the base) takes their value; one
# only you changed keeps yours; one both changed differently is a conflict the user decides.

def _canon(data) -> str:
    """A field's value as the merge compares it (a value typed back as it was shown is the same)."""
    if data is UNCHANGED:
        return "\x00unchanged"  # a link to a record the user does not fully see, kept as it is
    if data is None or data == "":
        return ""
    if isinstance(data, (list, tuple)):
        return "\x1f".join(_canon(v) for v in data)
    if isinstance(data, bool):
        return "1" if data else "0"
    if isinstance(data, Decimal):
        return format(data.normalize(), "f")
    if isinstance(data, date):
        return data.isoformat()
    return str(data).replace("\r\n", "\n").strip()


def field_digests(rtype: RecordType, form) -> dict[str, str]:
    """Field -> a digest of its value, keyed by the app's secret (the record's fields only)."""
    key = hashlib.sha256(str(current_app.secret_key).encode()).digest()
    return {name: hashlib.blake2b(f"{rtype.key}\x00{name}\x00{_canon(form[name].data)}".encode(),
                                  key=key, digest_size=8).hexdigest()
            for name in conflict_fields(rtype, form)}


def base_token(rtype: RecordType, form) -> str:
    """The hidden ``base`` field of an edit form showing ``form``'s values (after :func:`picked`)."""
    return " ".join(f"{name}:{digest}" for name, digest in field_digests(rtype, form).items())


def read_base(raw) -> dict[str, str]:
    """The digests of a posted ``base`` field; empty (every differing field a conflict, as without
    a base) if it is missing or malformed."""
    pairs = (item.partition(":") for item in str(raw or "").split())
    return {name: digest for name, sep, digest in pairs if sep and name and digest}


def merge_plan(base: dict[str, str], mine: dict[str, str], theirs: dict[str, str]) -> tuple[list[str], list[str]]:
    """``(take, conflicts)``: the fields only the other user changed (take their value) and the
    ones both changed differently. A field missing from one side, or without a base, is a conflict
    when the values differ."""
    take, conflicts = [], []
    for name, current in theirs.items():
        yours = mine.get(name)
        if yours == current:
            continue
        started = base.get(name)
        if started is not None and yours == started:
            take.append(name)
        elif started is None or current != started:
            conflicts.append(name)
    return take, conflicts


def take_current(rtype: RecordType, form, obj, names, theirs=None) -> None:
    """Put the record's current value into each field of ``names`` (the fields the user took over
    from the other version in the conflict table, or the merge took); the rest keeps what the user
    typed. ``theirs``: the current version's form after :func:`picked`, if already made."""
    wanted = [n for n in dict.fromkeys(names) if n in conflict_fields(rtype, form)]
    if not wanted:
        return
    if theirs is None:
        theirs = current_form(rtype, obj)
        picked(rtype, theirs, obj)
    for name in wanted:
        form[name].data = theirs[name].data
        form[name].raw_data = None  # the field shows (and validates) its data, not what was typed
