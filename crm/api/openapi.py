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
from ..files.schemas import FileList, FileOut
from ..history.schemas import HistoryEntryOut
from ..jobs.schemas import JobOut
from ..merge.schemas import MERGEABLE, MergeInput
from ..notes.schemas import NoteInput, NoteOut, NotePatch
from ..records.queries import STATE_FILTERS
from ..records.schemas import CREATE, ELSEWHERE_OUT, FULL_OUT, PATCH, RESTRICTED_OUT
from ..records.trash import RETENTION_DAYS
from ..records.types import TYPES, RecordType
from ..tasks.schemas import TaskOut, TaskPatch
from . import bodies as api_schemas
from .inputs import MAX_ID
from .links import add_links
from .oas import ID_SCHEMA, NO_CONTENT, _json, model_schema, obj, op, path_id, query, ref
from .openapi_admin import admin_paths, admin_schemas

NAMES = {"company": "Company", "person": "Person", "deal": "Deal", "project": "Project"}
# --------------------------------------------------------------------------------------------
# Schemas generated from the pydantic models
# --------------------------------------------------------------------------------------------

def record_schemas(rtype: RecordType, schemas: dict) -> dict:
    name = NAMES[rtype.key]
    return {
        f"{name}Full": model_schema(FULL_OUT[rtype.key], schemas, mode="serialization"),
        f"{name}Restricted": model_schema(RESTRICTED_OUT[rtype.key], schemas, mode="serialization"),
        f"{name}Elsewhere": model_schema(ELSEWHERE_OUT[rtype.key], schemas, mode="serialization"),
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

PAGE = query("page", {"type": "integer", "minimum": 1, "maximum": api_schemas.MAX_PAGE})
PER_PAGE = query("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                 f"Default 50; more than {api_schemas.MAX_PER_PAGE} are capped to {api_schemas.MAX_PER_PAGE}")


def _narrowing_params(rtype: RecordType) -> list:
    """The state filter (repeated: any of the values) and the link filters of a record type."""
    out = []
    if rtype.key in STATE_FILTERS:
        name, allowed = STATE_FILTERS[rtype.key]
        out.append({**query(name, {"type": "array", "items": {"type": "string", "enum": list(allowed)}},
                            f"Any of these {name} values (repeat the parameter; full records only)"),
                    "style": "form", "explode": True})
    for fk, key in rtype.references:
        out.append(query(fk, ID_SCHEMA, f"Records linked to this {key} (one the caller fully sees; "
                                        "any other id matches nothing)"))
    return out


def record_paths(rtype: RecordType) -> dict:
    name, base, tag = NAMES[rtype.key], f"/{rtype.plural}", rtype.plural
    rid = path_id("record_id")
    list_params = [
        query("q", {"type": "string", "maxLength": 200}, "Text filter (name; emails and phones of full records)"),
        query("group_id", ID_SCHEMA),
        query("tag", {"type": "string", "maxLength": 60}),
        query("responsible", {"type": "string", "pattern": "^(me|[1-9][0-9]{0,8})$", "maxLength": 9},
              "Records this user is responsible for: `me` or a user's id (full records only)"),
        *_narrowing_params(rtype),
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
            "post": op(f"Create a {rtype.key}: the record as you now see it; in the type's default group "
                       "(Settings -> Gruppen) that you are not a member of, only its id and group",
                       _json({"oneOf": [ref(f"{name}Full"), ref(f"{name}Restricted"), ref(f"{name}Elsewhere")]},
                             "Created"), "409",
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
        f"{base}/{{record_id}}/history": {
            "get": op("Change history of a fully visible record, newest first (at most 100 changes)",
                      _json(ref("HistoryList")), "403", "404", params=[rid], tag=tag),
        },
        f"{base}/{{record_id}}/files": {
            "get": op("Files of a fully visible record, newest first", _json(ref("FileList")), "403", "404",
                      params=[rid], tag=tag),
            "post": _multipart(op("Upload one or more files (all or none; each at most KONTOR_MAX_UPLOAD_MB, "
                                  "its type sniffed from the bytes)", _json(ref("FileList"), "Created"),
                                  "400", "403", "404", "413", "415", "422", params=[rid], tag=tag,
                                  ok_status="201")),
        },
        **({f"{base}/{{record_id}}/merge": {
            "post": op(f"Merge another {rtype.key} into this one (extended users and admins; both fully "
                       "visible): fields chosen per side, contact details and tags united, notes, tasks, "
                       "files and linked records the caller fully sees moved; the other goes to the "
                       "recycle bin. Answers the survivor", _json(ref(f"{name}Full")), "403", "404", "409",
                       "422", body=ref("MergeRequest"), params=[rid], tag=tag),
        }} if rtype.key in MERGEABLE else {}),
        f"{base}/assign-group": {
            "post": _with_accepted(op(f"Put {rtype.plural} into a group", _json(updated), "409", body=assign,
                                      tag=tag)),
        },
    }


def attached_paths() -> dict:
    """Notes and tasks by their own id: they follow their record (a note or task of a record the
    user does not fully see is 404 like an unknown id)."""
    note, task = path_id("note_id"), path_id("task_id")
    return {
        "/notes/{note_id}": {
            "patch": op("Change a note (its author or an admin); it then shows when it was edited",
                        _json(ref("Note")), "403", "404", body=ref("NoteUpdate"), params=[note], tag="notes"),
            "delete": op("Delete a note (its author or an admin)", NO_CONTENT, "403", "404",
                         params=[note], tag="notes", ok_status="204"),
        },
        "/tasks/{task_id}": {
            "patch": op("Change a task: title, due date (reschedule), assignee, done", _json(ref("Task")),
                        "403", "404", body=ref("TaskUpdate"), params=[task], tag="tasks"),
            "delete": op("Delete a task (its creator, extended users and admins)", NO_CONTENT, "403", "404",
                         params=[task], tag="tasks", ok_status="204"),
        },
    }


def _multipart(operation: dict) -> dict:
    """An upload: ``multipart/form-data`` with one or more parts named ``files``."""
    operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "required": ["files"], "properties": {
            "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}},
        "encoding": {"files": {"contentType": "application/octet-stream"}},
    }}}
    return operation


def file_paths() -> dict:
    """A file by its id: it follows its record (a file of a record the caller does not fully see is
    404 like an unknown id)."""
    fid = path_id("file_id")
    binary = {"description": "The bytes, streamed: Content-Disposition attachment (inline only for images "
                             "and PDF with ?inline=1), X-Content-Type-Options nosniff",
              "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
    return {
        "/files/{file_id}": {
            "get": op("Download a file", binary, "404", params=[
                fid, query("inline", {"type": "string", "enum": ["1"]},
                           "1: let a browser show it (images and PDF only; anything else stays a download)")],
                tag="files"),
            "delete": op("Delete a file for good (its uploader, extended users and admins); audited",
                         NO_CONTENT, "403", "404", params=[fid], tag="files", ok_status="204"),
        },
    }


def _with_accepted(operation: dict) -> dict:
    """A large assignment (more than BULK_JOB_THRESHOLD records, cascade included) runs as a job."""
    operation["responses"]["202"] = {
        "description": "Accepted: a large assignment runs as a job; poll the URL in Location",
        "headers": {"Location": {"description": "/api/v1/jobs/{job_id}", "schema": {"type": "string"}}},
        "content": {"application/json": {"schema": obj({"job": ref("Job")})}},
    }
    return operation


def document() -> dict:
    schemas: dict = {
        "Error": obj({"error": obj({
            "code": {"type": "string"}, "message": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"}},
        })}),
        "Token": obj({"token": {"type": "string"}}),
        "NoteList": obj({"items": {"type": "array", "items": ref("Note")}, "page": {"type": "integer"},
                         "per_page": {"type": "integer"}, "has_more": {"type": "boolean"}}),
        "HistoryList": obj({"items": {"type": "array", "items": ref("HistoryEntry")}}),
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
        "/jobs/{job_id}": {"get": op("A job of yours (admins: anyone's); 404 for anyone else, like a made-up id",
                                     _json(ref("Job")), "404", params=[path_id("job_id")], tag="jobs")},
        "/openapi.json": {"get": op("This document", _json({"type": "object"}), tag="meta", public=True)},
    }
    generated: dict = {
        "TokenRequest": model_schema(TokenRequest, schemas, mode="validation"),
        "Note": model_schema(NoteOut, schemas, mode="serialization"),
        "MergeRequest": model_schema(MergeInput, schemas, mode="validation"),
        "NoteCreate": model_schema(NoteInput, schemas, mode="validation", ignored=api_schemas.NOTE_READ_ONLY),
        "NoteUpdate": model_schema(NotePatch, schemas, mode="validation",
                                   ignored=(*api_schemas.NOTE_READ_ONLY, "edited_at")),
        "Task": model_schema(TaskOut, schemas, mode="serialization"),
        "TaskUpdate": model_schema(TaskPatch, schemas, mode="validation", ignored=api_schemas.TASK_READ_ONLY),
        "AssignRecords": model_schema(api_schemas.AssignInput, schemas, mode="validation"),
        "AssignCompanies": model_schema(api_schemas.AssignCompaniesInput, schemas, mode="validation"),
        "Job": model_schema(JobOut, schemas, mode="serialization"),
        "HistoryEntry": model_schema(HistoryEntryOut, schemas, mode="serialization"),
        "File": model_schema(FileOut, schemas, mode="serialization"),
        "FileList": model_schema(FileList, schemas, mode="serialization"),
    }
    for rtype in TYPES.values():
        generated.update(record_schemas(rtype, schemas))
        paths.update(record_paths(rtype))
    paths.update(attached_paths())
    paths.update(file_paths())
    schemas.update(generated)
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
