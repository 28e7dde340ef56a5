"""The pieces the OpenAPI document is built of (schemas of models, operations, parameters), shared
by :mod:`.openapi` and :mod:`.openapi_admin`."""
from __future__ import annotations

from .inputs import MAX_ID

REF = "#/components/schemas/"
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


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ref("Error")}}}


ERRORS = {
    "400": _error("The request cannot be read: a body that is not valid JSON, or a NUL character in "
                  "the body or a query parameter (no text can store one)"),
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
    if any(param.get("in") == "query" for param in params):
        codes |= {"400", "422"}
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
