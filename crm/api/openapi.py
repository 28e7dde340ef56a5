"""The OpenAPI 3.1 description of the API, served at ``/api/v1/openapi.json``.

Built from the same definitions the API runs on, so it cannot drift quietly. The record, note and
assignment schemas - requests and responses - are generated from the pydantic models the API
validates with and answers through (:mod:`crm.records.schemas`, :mod:`crm.notes.schemas`,
:mod:`crm.auth.schemas`, :mod:`.bodies`; enums from the constants the code uses); the admin part
likewise (:mod:`.openapi_admin`). Links between the operations (:mod:`.links`) let schemathesis
chain them. The tests validate every response of the test suite and of a schemathesis run
against it.
"""
from __future__ import annotations

from ..auth.schemas import TokenRequest
from ..notes.schemas import NoteInput, NoteOut
from ..records.schemas import CREATE, FULL_OUT, PATCH, RESTRICTED_OUT
from ..records.trash import RETENTION_DAYS
from ..records.types import TYPES, RecordType
from . import bodies as api_schemas
from .inputs import MAX_ID
from .links import add_links

REF = "#/components/schemas/"
NAMES = {"company": "Company", "person": "Person", "deal": "Deal", "project": "Project"}
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
        "Token": obj({"token": {"type": "string"}}),
        "NoteList": obj({"items": {"type": "array", "items": ref("Note")}, "page": {"type": "integer"},
                         "per_page": {"type": "integer"}, "has_more": {"type": "boolean"}}),
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
    generated: dict = {
        "TokenRequest": model_schema(TokenRequest, schemas, mode="validation"),
        "Note": model_schema(NoteOut, schemas, mode="serialization"),
        "NoteCreate": model_schema(NoteInput, schemas, mode="validation", ignored=api_schemas.NOTE_READ_ONLY),
        "AssignRecords": model_schema(api_schemas.AssignInput, schemas, mode="validation"),
        "AssignCompanies": model_schema(api_schemas.AssignCompaniesInput, schemas, mode="validation"),
    }
    for rtype in TYPES.values():
        generated.update(record_schemas(rtype, schemas))
        paths.update(record_paths(rtype))
    schemas.update(generated)
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
