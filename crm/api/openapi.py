"""The OpenAPI 3.1 description of the API, served at ``/api/v1/openapi.json``.

Built from the same definitions the API runs on, so it cannot drift quietly. The record, note and
assignment schemas - requests and responses - are generated from the pydantic models the API
validates with and answers through (:mod:`crm.records.schemas`, :mod:`crm.notes.schemas`,
:mod:`.schemas`; enums from the constants the code uses). The admin parts come from the JSON kinds
of the input (:mod:`.inputs`) and the limits of the WTForms forms that check it. The tests validate
every response of the test suite and of a schemathesis run against it.
"""
from __future__ import annotations

from wtforms.validators import DataRequired, Length

from ..customfields.models import FIELD_KINDS
from ..notes.schemas import NoteInput, NoteOut
from ..records.schemas import CREATE, FULL_OUT, PATCH, RESTRICTED_OUT
from ..records.trash import RETENTION_DAYS
from ..records.types import TYPES, RecordType
from ..settings.forms import FieldForm, GroupForm, UserForm
from . import admin
from . import schemas as api_schemas
from .inputs import MAX_ID, TOKEN_INPUT, Kind

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
# Schemas generated from the pydantic models
# --------------------------------------------------------------------------------------------

IGNORED = {"description": "Shown in answers; ignored when sent."}


def model_schema(model, schemas: dict, *, mode: str, ignored=()) -> dict:
    """The JSON Schema of a pydantic model (``mode``: "validation" for a request, "serialization"
    for an answer); the models it refers to go into ``schemas`` (components). ``ignored``: keys
    a request may carry (what answers show) that the API drops before validating."""
    schema = model.model_json_schema(ref_template=REF + "{model}", mode=mode)
    schemas.update(schema.pop("$defs", {}))
    for key in ignored:
        schema["properties"][key] = IGNORED
    return schema


def record_schemas(rtype: RecordType, schemas: dict) -> dict:
    name = NAMES[rtype.key]
    return {
        f"{name}Full": model_schema(FULL_OUT[rtype.key], schemas, mode="serialization"),
        f"{name}Restricted": model_schema(RESTRICTED_OUT[rtype.key], schemas, mode="serialization"),
        name: {"oneOf": [ref(f"{name}Full"), ref(f"{name}Restricted")]},
        f"{name}List": obj({"items": {"type": "array", "items": ref(name)}, "page": {"type": "integer"},
                            "per_page": {"type": "integer"}, "has_more": {"type": "boolean"}}),
        f"{name}Create": model_schema(CREATE[rtype.key], schemas, mode="validation",
                                      ignored=(*api_schemas.READ_ONLY, "version")),
        f"{name}Update": model_schema(PATCH[rtype.key], schemas, mode="validation", ignored=api_schemas.READ_ONLY),
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
PAGE = query("page", {"type": "integer", "minimum": 1, "maximum": api_schemas.MAX_PAGE})
PER_PAGE = query("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                 f"Default 50; more than {api_schemas.MAX_PER_PAGE} are capped to {api_schemas.MAX_PER_PAGE}")


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
        "TokenRequest": input_schema(TOKEN_INPUT, required=("email", "password")),
        "Token": obj({"token": {"type": "string"}}),
        "NoteList": obj({"items": {"type": "array", "items": ref("Note")}, "page": {"type": "integer"},
                         "per_page": {"type": "integer"}, "has_more": {"type": "boolean"}}),
        "AssignedCompanies": obj({"updated": obj({p: {"type": "integer"}
                                                  for p in ("companies", "people", "deals", "projects")})}),
        "SearchResult": obj({"items": {"type": "array", "items": {"anyOf": [ref(n) for n in NAMES.values()]}}}),
        "User": obj({
            "id": {"type": "integer"}, "email": {"type": "string"}, "name": {"type": "string"},
            "role": {"type": "string", "enum": ["admin", "extended", "normal"]}, "active": {"type": "boolean"},
            "locale": NULL_STRING, "default_group_id": {"type": ["integer", "null"]},
            "group_ids": {"type": "array", "items": {"type": "integer"},
                          "description": "Groups besides Basis (everyone is in Basis)"},
            "created_at": TIME,
        }),
        "UserList": obj({"items": {"type": "array", "items": ref("User")}}),
        "UserCreate": input_schema(admin.USER_INPUT, UserForm, names={"group_ids": "groups"},
                                   required=("email", "name", "password"), ignored=("id", "created_at")),
        "Group": obj({"id": {"type": "integer"}, "name": {"type": "string"}, "builtin": {"type": "boolean"},
                      "member_ids": {"type": "array", "items": {"type": "integer"}}}),
        "GroupList": obj({"items": {"type": "array", "items": ref("Group")}}),
        "GroupCreate": input_schema(admin.GROUP_INPUT, GroupForm, names={"member_ids": "members"},
                                    required=("name",), ignored=("id", "builtin")),
        "GroupUpdate": input_schema(admin.GROUP_INPUT, GroupForm, names={"member_ids": "members"},
                                    ignored=("id", "builtin")),
        "CustomField": obj({
            "id": {"type": "integer"}, "entity": {"type": "string", "enum": list(TYPES)},
            "name": {"type": "string"}, "kind": {"type": "string", "enum": list(FIELD_KINDS)},
            "options": {"type": "array", "items": {"type": "string"}},
            "shared_with": {"type": "array", "items": {"type": "integer"}}, "position": {"type": "integer"},
        }),
        "CustomFieldList": obj({"items": {"type": "array", "items": ref("CustomField")}}),
        "CustomFieldCreate": input_schema(admin.FIELD_INPUT, FieldForm, required=("entity", "name", "kind"),
                                          ignored=("id", "position")),
        "CustomFieldUpdate": input_schema(admin.FIELD_INPUT, FieldForm, ignored=("id", "position")),
        "Settings": obj({"groups_enabled": {"type": "boolean"}}),
        "SettingsUpdate": input_schema(admin.SETTINGS_INPUT),
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
    generated: dict = {
        "Note": model_schema(NoteOut, schemas, mode="serialization"),
        "NoteCreate": model_schema(NoteInput, schemas, mode="validation", ignored=api_schemas.NOTE_READ_ONLY),
        "AssignRecords": model_schema(api_schemas.AssignInput, schemas, mode="validation"),
        "AssignCompanies": model_schema(api_schemas.AssignCompaniesInput, schemas, mode="validation"),
    }
    for rtype in TYPES.values():
        generated.update(record_schemas(rtype, schemas))
        paths.update(record_paths(rtype))
    schemas.update(generated)
    gid, fid = path_id("group_id"), path_id("field_id")
    paths.update({
        "/users": {
            "get": op("All users (admins)", _json(ref("UserList")), "403", tag="admin"),
            "post": op("Create a user (admins)", _json(ref("User"), "Created"), "403", "409",
                       body=ref("UserCreate"), tag="admin", ok_status="201"),
        },
        "/groups": {
            "get": op("All groups (admins)", _json(ref("GroupList")), "403", tag="admin"),
            "post": op("Create a group (admins)", _json(ref("Group"), "Created"), "403", "409",
                       body=ref("GroupCreate"), tag="admin", ok_status="201"),
        },
        "/groups/{group_id}": {
            "get": op("One group (admins)", _json(ref("Group")), "403", "404", params=[gid], tag="admin"),
            "patch": op("Rename a group or set its members (admins)", _json(ref("Group")), "403", "404", "409",
                        body=ref("GroupUpdate"), params=[gid], tag="admin"),
            "delete": op("Delete a group; its records move to `move_to` (admins)", NO_CONTENT,
                         "403", "404", "409", "422", tag="admin", ok_status="204",
                         params=[gid, query("move_to", ID_SCHEMA, "Required while the group holds records")]),
        },
        "/custom-fields": {
            "get": op("All custom fields (admins)", _json(ref("CustomFieldList")), "403", tag="admin"),
            "post": op("Define a custom field (admins)", _json(ref("CustomField"), "Created"), "403", "409",
                       body=ref("CustomFieldCreate"), tag="admin", ok_status="201"),
        },
        "/custom-fields/{field_id}": {
            "patch": op("Rename, change options or sharing (admins)", _json(ref("CustomField")), "403", "404",
                        "409", body=ref("CustomFieldUpdate"), params=[fid], tag="admin"),
            "delete": op("Delete a custom field and its values (admins)", NO_CONTENT, "403", "404",
                         params=[fid], tag="admin", ok_status="204"),
        },
        "/settings": {
            "get": op("Account settings (admins)", _json(ref("Settings")), "403", tag="admin"),
            "patch": op("Switch the group system (admins)", _json(ref("Settings")), "403",
                        body=ref("SettingsUpdate"), tag="admin"),
        },
    })
    return {
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
    }
