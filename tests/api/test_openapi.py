"""The OpenAPI document stays true: it lists exactly the routes the app has, and (through the
``api`` fixture) every answer of the API tests is validated against it."""
from __future__ import annotations

import re

from crm.auth.services import issue_token
from tests.api.conftest import PREFIX


def _app_operations(app) -> set[tuple[str, str]]:
    out = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)[len(PREFIX):]
        out |= {(method.lower(), path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return out


def test_document_lists_exactly_the_routes_of_the_app(app, spec):
    documented = {(method, path) for path, item in spec.document["paths"].items() for method in item}
    assert documented == _app_operations(app)


def test_every_operation_documents_its_errors(spec):
    for path, item in spec.document["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            assert "429" in codes, (method, path)
            if op.get("security") != []:
                assert "401" in codes, (method, path)
            if "requestBody" in op:
                assert {"400", "413", "415", "422"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)


def test_document_references_resolve(spec):
    text = repr(spec.document)
    for name in set(re.findall(r"#/components/schemas/(\w+)", text)):
        assert name in spec.document["components"]["schemas"], name


def test_the_document_takes_a_website_typed_without_its_scheme(api, make, spec):
    """The API takes "www.firma.de" (stored as https://www.firma.de), so a client that checks its
    body against the document must not be told it is wrong."""
    body = {"name": "Firma", "website": "www.firma.de"}
    schema = spec.document["paths"]["/companies"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert not [e.message for e in spec.validator(schema).iter_errors(body)]
    user = make.user("normal")
    resp = api.post("/companies", token=issue_token(user), json=body)
    assert resp.status_code == 201 and resp.get_json()["website"] == "https://www.firma.de"
