"""OpenAPI links of the API document: what a client may do next with the id a create answers.

Each create (a ``POST`` to a collection ``/x`` answering 201) links its answer's ``id`` to every
operation of that one thing: ``/x/{id}`` (get, patch, delete) and the paths below it
(``/x/{id}/notes``, ``/x/{id}/restore``). Records, groups, users and custom fields alike: the
links follow from the paths the document has, so an operation that is not there is not linked,
and one that is added later is. Clients and schemathesis' stateful tests follow them (create a
deal, then read, change, annotate, delete and restore that very deal).

Links name their target by ``operationId``; :func:`add_links` gives every operation that has none
one made of its method and path (``get_companies_record_id``), so the links always point at
operations that exist.
"""
from __future__ import annotations

import re

METHODS = ("get", "put", "post", "patch", "delete")
_PARAMETER = re.compile(r"^\{([^}]+)\}$")


def operation_id(method: str, path: str) -> str:
    """``get /companies/{record_id}/notes`` -> ``get_companies_record_id_notes``."""
    words = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_")
    return f"{method}_{words}" if words else method


def _operations(document: dict):
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _item_parameter(collection: str, path: str) -> str | None:
    """The name of the id in ``path`` if it is ``collection/{id}`` or lies below it."""
    rest = path[len(collection):].split("/") if path.startswith(collection + "/") else []
    match = _PARAMETER.match(rest[1]) if len(rest) > 1 else None
    return match.group(1) if match else None


def add_links(document: dict) -> dict:
    """Give each operation an ``operationId`` and each create's 201 answer its links (in place;
    returns ``document``)."""
    for path, method, operation in _operations(document):
        operation.setdefault("operationId", operation_id(method, path))
    operations = list(_operations(document))
    for collection, method, create in operations:
        created = create.get("responses", {}).get("201") if method == "post" else None
        if created is None or "{" in collection:
            continue
        links = {}
        for path, target_method, target in operations:
            name = _item_parameter(collection, path)
            if name is None:
                continue
            target_id = target["operationId"]
            links[target_id] = {
                "operationId": target_id,
                "parameters": {f"path.{name}": "$response.body#/id"},
                "description": f"{target_method.upper()} {path} of what was created",
            }
        if links:
            created["links"] = links
    return document
