"""Records in the API: list, get, create, update, delete, notes, assign group - for companies, people,
deals and projects alike.

Each single-record call goes through :func:`load_record` (hidden or missing -> 404, restricted ->
reduced shape, 403 on writes); each list through :mod:`crm.records.queries`. A write validates the
JSON body into the record's input model (:mod:`crm.records.schemas`: the same model the pages
build from their forms) and hands it to the record services; a refusal of either is a
:class:`crm.errors.Refused`, answered once by the blueprint's error handler. No JSON passes through
a form or a locale.
"""
from __future__ import annotations

from flask import abort, current_app, g, jsonify, request, url_for
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..history.queries import history_of
from ..input_types import parse_input
from ..jobs.services import start_assignment
from ..notes.queries import notes_for
from ..notes.schemas import NoteInput
from ..notes.services import add_note
from ..records import queries
from ..records.assign import CASCADE, assign_group
from ..records.loaders import load_record
from ..records.schemas import ELSEWHERE_OUT, dump
from ..records.services import create_record, delete_records, read_record_input, update_record
from ..records.types import TYPES, RecordType
from ..visibility import HIDDEN
from .base import ID as ID_RULE
from .base import api_user, bp
from .bodies import (
    MAX_PAGE,
    MAX_PER_PAGE,
    NOTE_READ_ONLY,
    READ_ONLY,
    AssignCompaniesInput,
    AssignInput,
)
from .inputs import int_arg, invalid, json_body, str_arg
from .jobs import accepted
from .serialize import history_json, note_json, record_json, records_json


def _without(body: dict, keys) -> dict:
    return {k: v for k, v in body.items() if k not in keys}


def _narrowing_args(rtype: RecordType) -> dict:
    """The list filters beyond text, tag and group (:func:`crm.records.queries.narrowing`): the
    responsible user (``me`` or an id), the deal stages or project statuses (repeated: any of
    them), the linked company and person, custom field values (``cf_<id>`` repeated: any of them;
    ``cf_<id>_from`` / ``cf_<id>_to`` for numbers and dates). A value out of range is a 422, as for
    ``sort``."""
    out: dict = {}
    responsible = str_arg("responsible", 12)
    if responsible and responsible != "me":
        out["responsible"] = str(int_arg("responsible", None))
    elif responsible:
        out["responsible"] = "me"
    if rtype.key in queries.STATE_FILTERS:
        name, allowed = queries.STATE_FILTERS[rtype.key]
        wanted = request.args.getlist(name)
        if any(v not in allowed for v in wanted):
            raise invalid({name: _l("One of: %(names)s.", names=", ".join(allowed))})
        out["states"] = tuple(v for v in allowed if v in wanted)
    for fk, _key in rtype.references:
        out[fk] = int_arg(fk, None)
    problems = queries.field_filter_problems(rtype.key, request.args)
    if problems:
        raise invalid(problems)
    out["fields"] = queries.field_filters(rtype.key, request.args)
    return out


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
                                 sort=sort, desc=direction == "desc", **_narrowing_args(rtype))
        stmt = queries.list_page(rtype, viewer, flt, per_page + 1, (page - 1) * per_page)
        found = db.session.execute(stmt).all()
        rows = [(row.id, bool(row.full)) for row in found]
        # restricted rows: the list query read (under the visibility predicates) all they show
        known = {row.id: (row.id, row.group_id, row.group_name, *(getattr(row, f) for f in rtype.name_fields))
                 for row in found if not row.full}
        items = records_json(rtype, rows[:per_page], viewer, known=known)
        return jsonify(items=items, page=page, per_page=per_page, has_more=len(rows) > per_page)

    def create():
        data = read_record_input(rtype.key, _without(json_body(), (*READ_ONLY, "version")))
        obj = create_record(rtype, data, g.viewer, api_user())
        record_id, group_id, group_name = obj.id, obj.group_id, obj.group.name
        db.session.commit()
        if g.viewer.level(rtype.key, group_id) == HIDDEN:
            # the type's default group, which the creator is not in: gone from their view
            body = dump(ELSEWHERE_OUT[rtype.key], {"id": record_id, "type": rtype.key, "access": "hidden",
                                                   "group": {"id": group_id, "name": group_name}})
        else:
            body = record_json(rtype, load_record(rtype, record_id), g.viewer)
        return jsonify(body), 201, {"Location": url_for(f"api.{plural}_get", record_id=record_id)}

    def get(record_id: int):
        return jsonify(record_json(rtype, load_record(rtype, record_id), g.viewer))

    def patch(record_id: int):
        viewer = g.viewer
        obj = load_record(rtype, record_id, write=True)
        data = read_record_input(rtype.key, _without(json_body(), READ_ONLY), patch=True)
        update_record(rtype, obj, data, viewer, expected_version=data.version)
        db.session.commit()
        return jsonify(record_json(rtype, load_record(rtype, record_id), viewer))

    def delete(record_id: int):
        obj = load_record(rtype, record_id, write=True)
        delete_records(rtype, [obj.id], g.viewer)
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

    def history(record_id: int):
        record = load_record(rtype, record_id, write=True)  # like notes: only of fully visible records
        return jsonify(items=[history_json(e) for e in history_of(rtype, record.id, g.viewer)])

    def add(record_id: int):
        record = load_record(rtype, record_id, write=True)
        data = parse_input(NoteInput, _without(json_body(), NOTE_READ_ONLY))
        note = add_note(rtype.key, record.id, data, api_user().id)
        db.session.commit()
        return jsonify(note_json(note)), 201

    def assign():
        model = AssignCompaniesInput if rtype.key == "company" else AssignInput
        data = parse_input(model, json_body())
        cascade = tuple(dict.fromkeys(data.cascade or ())) if rtype.key == "company" else ()
        job = start_assignment(rtype, g.viewer, data.group_id, ids=sorted(set(data.ids)), cascade=cascade,
                               source="api")
        if job is not None:  # a large one: 202 and the job's URL to poll
            return accepted(job)
        result = assign_group(rtype, sorted(set(data.ids)), data.group_id, g.viewer, cascade, source="api")
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
    bp.add_url_rule(f"{one}/history", f"{plural}_history", history, methods=["GET"])
    bp.add_url_rule(f"{rule}/assign-group", f"{plural}_assign_group", assign, methods=["POST"])


for _rtype in TYPES.values():
    register(_rtype)
