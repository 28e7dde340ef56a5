"""The OpenAPI 3.1 description of the API, served at ``/api/v1/openapi.json``.

Built from the same definitions the API runs on, so it cannot drift quietly: the record types
(:mod:`crm.records.types`), the JSON kinds of the input (:mod:`.inputs`), and the length limits,
required fields and choices of the WTForms forms that check the input. The tests validate every
response of the test suite and of a schemathesis run against it.
"""
from __future__ import annotations

from wtforms.validators import DataRequired, Length

from ..notes.forms import NoteForm
from ..records.assign import CASCADE
from ..records.forms import FORMS
from ..records.trash import RETENTION_DAYS
from ..records.types import TYPES, RecordType
from . import records
from .inputs import MAX_ID, Kind
from .links import add_links
from .views import TOKEN_INPUT

REF = "#/components/schemas/"
NAMES = {"company": "Company", "person": "Person", "deal": "Deal", "project": "Project"}
NULL_STRING = {"type": ["string", "null"]}
TIME = {"type": "string", "format": "date-time"}
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def ref(name: str) -> dict:
    return {"$ref": REF + name}


def obj(properties: dict, required=None, *, closed: bool = True) -> dict:
    schema = {"type": "object", "properties": properties,
              "required": list(properties) if required is None else list(required)}
    if closed:
        schema["additionalProperties"] = False
    return schema


# --------------------------------------------------------------------------------------------
# Input schemas, from the JSON kinds plus what the form says about each field
# --------------------------------------------------------------------------------------------

def _form_limits(form_class, name: str | None) -> tuple[dict, bool]:
    """maxLength/minLength and enum a form field declares, and whether it is required."""
    unbound = getattr(form_class, name, None) if name else None
    if unbound is None or not hasattr(unbound, "kwargs"):
        return {}, False
    more: dict = {}
    required = False
    for validator in unbound.kwargs.get("validators") or []:
        if isinstance(validator, Length):
            if validator.max is not None and validator.max >= 0:
                more["maxLength"] = validator.max
            if validator.min is not None and validator.min > 0:
                more["minLength"] = validator.min
        if isinstance(validator, DataRequired):
            required = True
    choices = unbound.kwargs.get("choices")
    if isinstance(choices, list) and choices and all(isinstance(c, tuple) for c in choices):
        values = [c[0] for c in choices]
        if all(isinstance(v, str) for v in values):
            more["enum"] = values
    return more, required


def input_schema(spec: dict[str, Kind], form_class=None, *, names: dict | None = None,
                 required=(), ignored=(), required_as_form: bool = False) -> dict:
    """The JSON Schema of a request body: the JSON kind of each key, with the length limits and
    choices its form field declares (``names`` maps API keys to form field names). ``required``
    lists required keys; ``required_as_form`` adds those the form requires. ``ignored`` keys are
    accepted and ignored (what answers show but writes cannot change)."""
    names = names or {}
    props, must = {}, list(required)
    for key, kind in spec.items():
        more, needed = _form_limits(form_class, names.get(key, key)) if form_class else ({}, False)
        schema = kind.json_schema()
        if "enum" in more and kind.nullable:
            more["enum"] = [*more["enum"], None]
        if schema.get("type") in ("array", ["array", "null"]):
            more.pop("maxLength", None)
            more.pop("minLength", None)
        props[key] = {**schema, **more}
        if needed and required_as_form and key not in must:
            must.append(key)
    for key in ignored:
        props[key] = {"description": "Shown in answers; ignored when sent."}
    return {"type": "object", "properties": props, "required": must, "additionalProperties": False}


# --------------------------------------------------------------------------------------------
# Record schemas
# --------------------------------------------------------------------------------------------

_FIELD_SCHEMAS = {
    "name": {"type": "string"}, "website": {"type": "string"}, "background": {"type": "string"},
    "emails": {"type": "array", "items": {"type": "string"}},
    "phones": {"type": "array", "items": {"type": "string"}},
    "addresses": {"type": "array", "items": {"type": "string"}},
    "tags": {"type": "array", "items": {"type": "string"}},
    "salutation": {"type": "string"}, "title": {"type": "string"}, "first_name": {"type": "string"},
    "last_name": {"type": "string"}, "position": {"type": "string"},
    "company_id": {"type": ["integer", "null"], "description": "null also when the company is hidden from you"},
    "person_id": {"type": ["integer", "null"], "description": "null also when the person is hidden from you"},
    "value": {"type": ["number", "null"], "description": "Exact to the cent: read it as a decimal"},
    "currency": {"type": "string"},
    "stage": {"type": "string", "enum": ["open", "won", "lost"]},
    "status": {"type": "string"}, "start_date": {"type": ["string", "null"], "format": "date"},
    "target_date": {"type": ["string", "null"], "format": "date"}, "description": {"type": "string"},
}
CUSTOM_OUT = {"type": "object", "additionalProperties": {"type": ["string", "number", "null"]},
              "description": "Custom field values by field name"}
GROUP_REF = obj({"id": {"type": "integer"}, "name": {"type": "string"}})


def record_schemas(rtype: RecordType) -> dict:
    name = NAMES[rtype.key]
    full = {
        "id": {"type": "integer"},
        "type": {"const": rtype.key},
        "access": {"const": "full"},
        "group": ref("GroupRef"),
        **{f: _FIELD_SCHEMAS[f] for f in rtype.fields},
        "responsible_id": {"type": ["integer", "null"]},
        "custom_fields": CUSTOM_OUT,
        "created_at": TIME,
        "updated_at": TIME,
        "version": {"type": "integer", "description": "Send it back with a PATCH to detect concurrent changes"},
    }
    restricted = {
        "id": {"type": "integer"},
        "type": {"const": rtype.key},
        "access": {"const": "restricted"},
        "group": ref("GroupRef"),
        **{f: {"type": "string"} for f in rtype.name_fields},
        "custom_fields": {**CUSTOM_OUT, "description": "Only the fields shared with one of your groups"},
    }
    form = FORMS[rtype.key]
    create = records.write_spec(rtype)
    patch = records.write_spec(rtype, patch=True)
    return {
        f"{name}Full": obj(full),
        f"{name}Restricted": obj(restricted),
        name: {"oneOf": [ref(f"{name}Full"), ref(f"{name}Restricted")]},
        f"{name}List": obj({"items": {"type": "array", "items": ref(name)}, "page": {"type": "integer"},
                            "per_page": {"type": "integer"}, "has_more": {"type": "boolean"}}),
        f"{name}Create": input_schema(create, form, required_as_form=True,
                                      ignored=(*records.READ_ONLY, "version")),
        f"{name}Update": input_schema(patch, form, ignored=records.READ_ONLY),
    }


# --------------------------------------------------------------------------------------------
# Operations
# --------------------------------------------------------------------------------------------

def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ref("Error")}}}


ERRORS = {
    "400": _error("The body is not valid JSON"),
    "401": _error("No valid bearer token"),
    "403": _error("Not allowed: a restricted record, or a role that may not do this"),
    "404": _error("No such record, or one you cannot see (the same answer)"),
    "409": _error("Conflict with the current state: the record changed since (`conflict`), or a change of "
                  "group while the group system is off (`groups_off`)"),
    "413": _error("The body is too large"),
    "415": _error("The body is not JSON"),
    "422": _error("Invalid input; `fields` says which and why"),
    "429": _error("Too many requests; see Retry-After"),
}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def op(summary: str, ok: dict, *errors: str, body: dict | None = None, params=(), tag: str = "",
       public: bool = False, ok_status: str = "200") -> dict:
    codes = set(errors) | ({"429"} if public else {"401", "429"})
    if body is not None:
        codes |= {"400", "413", "415", "422"}
    out = {"summary": summary, "tags": [tag] if tag else [],
           "responses": {ok_status: ok, **{c: ERRORS[c] for c in sorted(codes)}}}
    if params:
        out["parameters"] = list(params)
    if body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if public:
        out["security"] = []
    return out


def query(name: str, schema: dict, description: str = "") -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def path_id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": ID_SCHEMA}


NO_CONTENT = {"description": "Done (no content)"}
PAGE = query("page", {"type": "integer", "minimum": 1, "maximum": records.MAX_PAGE})
PER_PAGE = query("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                 f"Default 50; more than {records.MAX_PER_PAGE} are capped to {records.MAX_PER_PAGE}")


def record_paths(rtype: RecordType) -> dict:
    name, base, tag = NAMES[rtype.key], f"/{rtype.plural}", rtype.plural
    rid = path_id("record_id")
    list_params = [
        query("q", {"type": "string", "maxLength": 200}, "Text filter (name; emails and phones of full records)"),
        query("group_id", ID_SCHEMA),
        query("tag", {"type": "string", "maxLength": 60}),
        PAGE, PER_PAGE,
        query("sort", {"type": "string", "enum": list(rtype.sorts)}),
        query("dir", {"type": "string", "enum": ["asc", "desc"]}),
    ]
    assign = ref("AssignCompanies") if rtype.key == "company" else ref("AssignRecords")
    updated = ref("AssignedCompanies") if rtype.key == "company" else obj(
        {"updated": obj({rtype.plural: {"type": "integer"}})})
    return {
        base: {
            "get": op(f"List {rtype.plural}", _json(ref(f"{name}List")), "422", params=list_params, tag=tag),
            "post": op(f"Create a {rtype.key}", _json(ref(f"{name}Full"), "Created"), "409",
                       body=ref(f"{name}Create"), tag=tag, ok_status="201"),
        },
        f"{base}/{{record_id}}": {
            "get": op(f"One {rtype.key}", _json(ref(name)), "404", params=[rid], tag=tag),
            "patch": op(f"Change a {rtype.key}", _json(ref(f"{name}Full")), "403", "404", "409",
                        body=ref(f"{name}Update"), params=[rid], tag=tag),
            "delete": op(f"Move a {rtype.key} to the recycle bin (extended users and admins)", NO_CONTENT,
                         "403", "404", params=[rid], tag=tag, ok_status="204"),
        },
        f"{base}/{{record_id}}/restore": {
            "post": op(f"Restore a {rtype.key} from the recycle bin (the deleter or an admin, within "
                       f"{RETENTION_DAYS} days, seeing its group; else 404 like a missing id)",
                       _json(ref(f"{name}Full")), "404", params=[rid], tag=tag),
        },
        f"{base}/{{record_id}}/notes": {
            "get": op("Notes of a fully visible record", _json(ref("NoteList")), "403", "404", "422",
                      params=[rid, PAGE, PER_PAGE], tag=tag),
            "post": op("Add a note", _json(ref("Note"), "Created"), "403", "404", body=ref("NoteCreate"),
                       params=[rid], tag=tag, ok_status="201"),
        },
        f"{base}/assign-group": {
            "post": op(f"Put {rtype.plural} into a group", _json(updated), "409", body=assign, tag=tag),
        },
    }


def document() -> dict:
    schemas: dict = {
        "Error": obj({"error": obj({
            "code": {"type": "string"}, "message": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"}},
        })}),
        "GroupRef": GROUP_REF,
        "TokenRequest": input_schema(TOKEN_INPUT, required=("email", "password")),
        "Token": obj({"token": {"type": "string"}}),
        "Note": obj({
            "id": {"type": "integer"}, "body": {"type": "string"},
            "kind": {"type": "string", "enum": ["note", "call", "email", "meeting"]},
            "author": {"oneOf": [obj({"id": {"type": "integer"}, "name": {"type": "string"}}), {"type": "null"}]},
            "occurred_at": TIME, "created_at": TIME,
        }),
        "NoteList": obj({"items": {"type": "array", "items": ref("Note")}, "page": {"type": "integer"},
                         "per_page": {"type": "integer"}, "has_more": {"type": "boolean"}}),
        "NoteCreate": input_schema(records.NOTE_INPUT, NoteForm, required=("body",),
                                   ignored=("id", "author", "created_at")),
        "AssignRecords": input_schema({k: v for k, v in records.ASSIGN_INPUT.items() if k != "cascade"},
                                      required=("ids", "group_id")),
        "AssignCompanies": _assign_companies(),
        "AssignedCompanies": obj({"updated": obj({p: {"type": "integer"}
                                                  for p in ("companies", "people", "deals", "projects")})}),
        "SearchResult": obj({"items": {"type": "array", "items": {"anyOf": [ref(n) for n in NAMES.values()]}}}),
    }
    paths: dict = {
        "/tokens": {"post": op("Get a token for email and password", _json(ref("Token"), "Created"), "401",
                               body=ref("TokenRequest"), tag="auth", public=True, ok_status="201")},
        "/search": {"get": op("Search the four record types", _json(ref("SearchResult")), "422", tag="search", params=[
            query("q", {"type": "string", "maxLength": 200}),
            query("limit", {"type": "integer", "minimum": 1, "maximum": 100}, "Most hits per record type"),
        ])},
        "/openapi.json": {"get": op("This document", _json({"type": "object"}), tag="meta", public=True)},
    }
    for rtype in TYPES.values():
        schemas.update(record_schemas(rtype))
        paths.update(record_paths(rtype))
    from .openapi_admin import admin_paths, admin_schemas  # (it builds on the helpers above)

    schemas.update(admin_schemas())
    paths.update(admin_paths())
    return add_links({
        "openapi": "3.1.0",
        "info": {
            "title": "Kontor API",
            "version": "1",
            "description": "Records, notes, groups and custom fields of a Kontor CRM, under the same "
                           "visibility as the pages: hidden records answer 404, restricted ones show "
                           "only name, group and shared custom fields. See docs/API.md.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    })


def _assign_companies() -> dict:
    schema = input_schema(records.ASSIGN_INPUT, required=("ids", "group_id"))
    schema["properties"]["cascade"] = {"type": "array", "items": {"type": "string", "enum": list(CASCADE)},
                                       "description": "Take the companies' people, deals and projects along"}
    return schema
