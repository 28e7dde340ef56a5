"""Records in the API: list, get, create, update, delete, notes, assign group - for companies, people,
deals and projects alike.

Each single-record call goes through :func:`load_record` (hidden or missing -> 404, restricted ->
reduced shape, 403 on writes); each list through :mod:`crm.records.queries`. Writes are checked
by the record forms of the pages (filled from the JSON) and done by the record services.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from flask import abort, current_app, g, jsonify, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from ..customfields.services import fields_for
from ..decimals import DecimalError, from_json
from ..extensions import db
from ..notes.forms import NoteForm
from ..notes.queries import notes_for
from ..notes.services import add_note
from ..records import queries
from ..records.assign import CASCADE, assign_group
from ..records.forms import FIELD_ORDER, form_to_data
from ..records.loaders import load_record
from ..records.services import (
    ServiceError,
    create_record,
    default_group_id,
    delete_records,
    update_record,
)
from ..records.types import DEAL_VALUE, TYPES, RecordType
from ..records.views import _form_for
from .errors import ApiError
from .inputs import (
    BLOCKS,
    CUSTOM_VALUES,
    DATE,
    EMAILS,
    ID,
    IDS,
    LINE,
    LINE_LIST,
    LINES,
    NUMBER,
    REQUIRED_ID,
    TAGS,
    TEXT,
    Kind,
    check_types,
    form_errors,
    formdata,
    int_arg,
    invalid,
    json_body,
    str_arg,
)
from .serialize import note_json, record_json, records_json
from .views import ID as ID_RULE
from .views import api_user, bp

MAX_PER_PAGE = 200
MAX_PAGE = 100_000

#: JSON kind of each record field, by the name the forms, services and API share
FIELD_KINDS: dict[str, Kind] = {
    "name": LINE, "website": LINE, "background": TEXT, "emails": EMAILS, "phones": LINES,
    "addresses": BLOCKS, "salutation": LINE, "title": LINE, "first_name": LINE, "last_name": LINE,
    "position": LINE, "company_id": ID, "person_id": ID, "value": replace(NUMBER, extra={
        **DEAL_VALUE.json_schema(),
        "description": f"A decimal, {DEAL_VALUE.describe()}: a JSON number or a string such as \"1234.5\" "
                       "(read without locale: \"1.234\" is one point two three four); more decimals "
                       "are refused (422), never rounded"}),
    "currency": LINE,
    "stage": LINE, "status": LINE, "start_date": DATE, "target_date": DATE, "description": TEXT,
}
VERSION = replace(REQUIRED_ID, to_form=None)
#: keys a record's JSON shows that a write ignores
READ_ONLY = ("id", "type", "access", "group", "created_at", "updated_at")


def write_spec(rtype: RecordType, *, patch: bool = False) -> dict[str, Kind]:
    spec = {name: FIELD_KINDS[name] for name in FIELD_ORDER[rtype.key]}
    spec.update(tags=TAGS, group_id=REQUIRED_ID, responsible_id=ID, custom_fields=CUSTOM_VALUES)
    if patch:
        spec["version"] = VERSION
    return spec


def _custom_input(values: dict, fields) -> tuple[list[tuple[str, str]], dict[int, object], dict[str, str], dict]:
    """Custom fields by name -> form items ``cf_<id>``, and the values of number fields, which
    skip the form (Decimal, or None to clear: the service checks their scale and range); unknown
    names and numbers that are none are errors."""
    by_name = {f.name: f for f in fields}
    items, numbers, errors = [], {}, {}
    for name, value in values.items():
        field = by_name.get(name)
        if field is None:
            errors[f"custom_fields.{name}"] = _l("There is no such field.")
        elif field.kind == "number":
            try:
                numbers[field.id] = None if value is None else from_json(value)
            except DecimalError as err:
                errors[f"custom_fields.{name}"] = str(err)
        else:
            text = format(value, "f") if isinstance(value, Decimal) else str(value)
            items.append((f"cf_{field.id}", "" if value is None else text))
    names = {f"cf_{f.id}": f"custom_fields.{f.name}" for f in fields}
    return items, numbers, errors, names


def _validated(rtype: RecordType, data: dict, spec: dict, obj=None) -> dict:
    """Fill the record form of the pages from ``data``, validate it, and return the service data
    for the keys sent. On a PATCH (``obj`` given) only the fields sent are checked and changed.
    Numbers skip the form (see :mod:`.inputs`): they go to the service as the Decimals sent."""
    fields = fields_for(rtype.key)
    items, numbers, errors, names = _custom_input(data.get("custom_fields") or {}, fields)
    if errors:
        raise invalid(errors)
    posted = formdata({k: v for k, v in data.items() if k != "custom_fields"}, spec)
    posted = MultiDict(list(posted.items(multi=True)) + items)
    form = _form_for(rtype, obj=obj, formdata=posted, meta={"csrf": False})
    sent = set(posted.keys())
    if not form.validate():
        errors = form_errors(form, names, only=sent if obj is not None else None)
        if errors:
            raise invalid(errors)
    service_data = form_to_data(rtype, form)
    sent_fields = {int(name[3:]) for name, _v in items}
    custom = {fid: v for fid, v in service_data.pop("custom_fields").items() if fid in sent_fields}
    if obj is not None:
        service_data = {k: v for k, v in service_data.items() if k in data}
    service_data.update({k: v for k, v in data.items() if spec[k].parse is not None})
    service_data["custom_fields"] = {**custom, **numbers}
    return service_data


def _service_errors(rtype: RecordType, err: ServiceError) -> ApiError:
    names = {f"cf_{f.id}": f"custom_fields.{f.name}" for f in fields_for(rtype.key)}
    db.session.rollback()
    if err.status == 403:
        return ApiError(403, "forbidden", next(iter(err.errors.values()), ""))
    if err.status == 409:  # e.g. a change of group while the group system is off (code "groups_off")
        return ApiError(409, getattr(err, "code", "conflict"), next(iter(err.errors.values()), ""),
                        {names.get(k, k): v for k, v in err.errors.items()})
    return invalid({names.get(k, k): v for k, v in err.errors.items()})


def _required(data: dict, *keys: str) -> None:
    missing = {k: _l("This field is required.") for k in keys if k not in data}
    if missing:
        raise invalid(missing)


def _parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 time as naive UTC (a time without offset is taken as UTC)."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise invalid({"occurred_at": _l("Not a date and time (ISO 8601).")}) from None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def register(rtype: RecordType) -> None:
    plural = rtype.plural

    def index():
        viewer = g.viewer
        page = int_arg("page", 1, maximum=MAX_PAGE)
        per_page = min(int_arg("per_page", current_app.config["PAGE_SIZE"]), MAX_PER_PAGE)
        sort = str_arg("sort", 20) or "name"
        direction = str_arg("dir", 4) or "asc"
        if sort not in rtype.sorts:
            raise invalid({"sort": _l("One of: %(names)s.", names=", ".join(rtype.sorts))})
        if direction not in ("asc", "desc"):
            raise invalid({"dir": _l("One of: asc, desc.")})
        flt = queries.ListFilter(q=str_arg("q", 200), tag=str_arg("tag", 60), group_id=int_arg("group_id", None),
                                 sort=sort, desc=direction == "desc")
        stmt = queries.list_page(rtype, viewer, flt, per_page + 1, (page - 1) * per_page)
        found = db.session.execute(stmt).all()
        rows = [(row.id, bool(row.full)) for row in found]
        # restricted rows: the list query read (under the visibility predicates) all they show
        known = {row.id: (row.id, row.group_id, row.group_name, *(getattr(row, f) for f in rtype.name_fields))
                 for row in found if not row.full}
        items = records_json(rtype, rows[:per_page], viewer, known=known)
        return jsonify(items=items, page=page, per_page=per_page, has_more=len(rows) > per_page)

    def create():
        viewer, user = g.viewer, api_user()
        spec = write_spec(rtype)
        data = check_types(json_body(), spec, read_only=(*READ_ONLY, "version"))
        if viewer.groups_enabled and "group_id" not in data:
            data["group_id"] = default_group_id(viewer, user)
        data.setdefault("responsible_id", user.id)  # the form's default: the one who creates it
        service_data = _validated(rtype, data, spec)
        service_data.setdefault("group_id", default_group_id(viewer, user))
        try:
            obj = create_record(rtype, service_data, viewer, user)
        except ServiceError as err:
            raise _service_errors(rtype, err) from None
        db.session.commit()
        body = record_json(rtype, load_record(rtype, obj.id), viewer)
        return jsonify(body), 201, {"Location": url_for(f"api.{plural}_get", record_id=obj.id)}

    def get(record_id: int):
        return jsonify(record_json(rtype, load_record(rtype, record_id), g.viewer))

    def patch(record_id: int):
        viewer = g.viewer
        obj = load_record(rtype, record_id, write=True)
        spec = write_spec(rtype, patch=True)
        data = check_types(json_body(), spec, read_only=READ_ONLY)
        service_data = _validated(rtype, data, spec, obj=obj)
        try:
            update_record(rtype, obj, service_data, viewer, expected_version=data.get("version"))
        except ServiceError as err:
            raise _service_errors(rtype, err) from None
        db.session.commit()
        return jsonify(record_json(rtype, load_record(rtype, record_id), viewer))

    def delete(record_id: int):
        obj = load_record(rtype, record_id, write=True)
        try:
            delete_records(rtype, [obj.id], g.viewer)
        except ServiceError as err:
            raise _service_errors(rtype, err) from None
        db.session.commit()
        return "", 204

    def restore(record_id: int):
        """Back from the recycle bin: the deleter or an admin, within the retention time, fully
        seeing the record's group; anything else is 404 like a missing id (so no answer tells
        what lies in the bin)."""
        from ..records.trash import NotInTrash, restore_record

        try:
            restore_record(rtype, record_id, g.viewer)
        except NotInTrash:
            abort(404)
        db.session.commit()
        return jsonify(record_json(rtype, load_record(rtype, record_id), g.viewer))

    def notes(record_id: int):
        record = load_record(rtype, record_id, write=True)  # notes exist only for fully visible records
        page = int_arg("page", 1, maximum=MAX_PAGE)
        per_page = min(int_arg("per_page", current_app.config["PAGE_SIZE"]), MAX_PER_PAGE)
        found = notes_for(rtype.key, record.id, offset=(page - 1) * per_page, limit=per_page)
        return jsonify(items=[note_json(n) for n in found[:per_page]], page=page, per_page=per_page,
                       has_more=len(found) > per_page)

    def add(record_id: int):
        record = load_record(rtype, record_id, write=True)
        data = check_types(json_body(), NOTE_INPUT, read_only=("id", "author", "created_at"))
        _required(data, "body")
        form = NoteForm(formdata=formdata(data, NOTE_INPUT), meta={"csrf": False})
        if not form.validate():
            raise invalid(form_errors(form))
        note = add_note(rtype.key, record.id, form.body.data, form.kind.data, api_user().id,
                        _parse_time(data.get("occurred_at")))
        db.session.commit()
        return jsonify(note_json(note)), 201

    def assign():
        viewer = g.viewer
        spec = ASSIGN_INPUT if rtype.key == "company" else {k: v for k, v in ASSIGN_INPUT.items() if k != "cascade"}
        data = check_types(json_body(), spec)
        _required(data, "ids", "group_id")
        if not data["ids"]:
            raise invalid({"ids": _l("Choose at least one record.")})
        cascade = tuple(dict.fromkeys(data.get("cascade") or ()))
        try:
            result = assign_group(rtype, sorted(set(data["ids"])), data["group_id"], viewer, cascade, source="api")
        except ServiceError as err:
            raise _service_errors(rtype, err) from None
        db.session.commit()
        updated = result["updated"]
        if rtype.key == "company":
            updated = {plural: updated[plural], **{name: updated.get(name, 0) for name in CASCADE}}
        return jsonify(updated=updated)

    rule = f"/{plural}"
    one = f"{rule}/<{ID_RULE}:record_id>"
    bp.add_url_rule(rule, f"{plural}_list", index, methods=["GET"])
    bp.add_url_rule(rule, f"{plural}_create", create, methods=["POST"])
    bp.add_url_rule(one, f"{plural}_get", get, methods=["GET"])
    bp.add_url_rule(one, f"{plural}_update", patch, methods=["PATCH"])
    bp.add_url_rule(one, f"{plural}_delete", delete, methods=["DELETE"])
    bp.add_url_rule(f"{one}/restore", f"{plural}_restore", restore, methods=["POST"])
    bp.add_url_rule(f"{one}/notes", f"{plural}_notes", notes, methods=["GET"])
    bp.add_url_rule(f"{one}/notes", f"{plural}_add_note", add, methods=["POST"])
    bp.add_url_rule(f"{rule}/assign-group", f"{plural}_assign_group", assign, methods=["POST"])


DATETIME = replace(LINE, schema={"type": "string", "format": "date-time"}, to_form=None)
NOTE_INPUT: dict[str, Kind] = {"body": TEXT, "kind": LINE, "occurred_at": DATETIME}
ASSIGN_INPUT: dict[str, Kind] = {"ids": replace(IDS, extra={"minItems": 1}), "group_id": REQUIRED_ID,
                                 "cascade": LINE_LIST}

for _rtype in TYPES.values():
    register(_rtype)
