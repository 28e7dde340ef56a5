"""Fixtures of the API tests: a client that checks every answer against the OpenAPI document, and
a world with the group system on, field sharing, and full, restricted and hidden records."""
from __future__ import annotations

import re
from dataclasses import dataclass
from types import SimpleNamespace

import jsonschema_rs
import pytest

from crm.auth.services import issue_token

PREFIX = "/api/v1"
_MISSING = object()


class SpecCheck:
    """Validates real answers against the document the API serves."""

    def __init__(self, document: dict):
        self.document = document
        self.routes = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", r"[^/]+", path) + "$"), path)
            for path in document["paths"]
        ]
        self._validators: dict[str, jsonschema_rs.Validator] = {}

    def operation(self, method: str, path: str) -> tuple[str, dict | None]:
        local = path[len(PREFIX):]
        for pattern, template in self.routes:
            if pattern.match(local):
                return template, self.document["paths"][template].get(method.lower())
        return "", None

    def validator(self, schema: dict) -> jsonschema_rs.Validator:
        key = repr(schema)
        if key not in self._validators:
            root = {**schema, "components": self.document["components"]}
            self._validators[key] = jsonschema_rs.Draft202012Validator(root, validate_formats=True)
        return self._validators[key]

    def check(self, method: str, path: str, resp) -> None:
        template, op = self.operation(method, path)
        status = str(resp.status_code)
        if op is None:
            assert resp.status_code in (404, 405), f"{method} {path}: {status} for an undocumented call"
            schema = {"$ref": "#/components/schemas/Error"}
        else:
            assert status in op["responses"], f"{method} {template}: status {status} is not documented"
            content = op["responses"][status].get("content")
            if content is None:
                assert resp.data == b"", f"{method} {template}: {status} should have no body"
                return
            if "application/json" not in content:  # a file's bytes
                assert resp.mimetype != "application/json", f"{method} {template}: JSON instead of the bytes"
                return
            schema = content["application/json"]["schema"]
        assert resp.mimetype == "application/json", f"{method} {path}: {resp.mimetype}"
        errors = [e.message for e in self.validator(schema).iter_errors(resp.get_json())]
        assert not errors, f"{method} {template or path} {status}: {errors[:3]}\n{resp.get_json()}"


_DOCUMENT: dict = {}


@pytest.fixture
def spec(app) -> SpecCheck:
    if not _DOCUMENT:
        resp = app.test_client().get(f"{PREFIX}/openapi.json")
        assert resp.status_code == 200
        _DOCUMENT.update(resp.get_json())
    return SpecCheck(_DOCUMENT)


@dataclass
class Api:
    """``api.get("/companies", token=...)``: calls under /api/v1 and checks each answer."""

    client: object
    spec: SpecCheck
    token: str | None = None

    def call(self, method: str, path: str, *, token=_MISSING, json=_MISSING, headers=None, **kwargs):
        url = path if path.startswith(PREFIX) else PREFIX + path
        headers = dict(headers or {})
        token = self.token if token is _MISSING else token
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {token}")
        if json is not _MISSING:
            kwargs["json"] = json
        resp = self.client.open(url, method=method, headers=headers, **kwargs)
        self.spec.check(method, url.split("?")[0], resp)
        return resp

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, **kw):
        return self.call("POST", path, **kw)

    def patch(self, path, **kw):
        return self.call("PATCH", path, **kw)

    def put(self, path, **kw):
        return self.call("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def as_(self, token: str) -> Api:
        return Api(self.client, self.spec, token)


@pytest.fixture
def api(client, spec) -> Api:
    return Api(client, spec)


def build_world(make) -> SimpleNamespace:
    """Groups on. Nord members: admin, normal, extended. Süd: sued_user. The company field
    "Kundenstatus" is shared with Nord, so Süd's companies are *restricted* for Nord; no person,
    deal or project field is shared, so Süd's people, deals and projects are *hidden* for Nord."""
    make.enable_groups()
    admin = make.user("admin", name="Ada Admin")
    normal = make.user("normal", name="Nora Normal")
    extended = make.user("extended", name="Erik Extended")
    sued_user = make.user("normal", name="Sven Süd")
    nord = make.group("Nord", [admin, normal, extended])
    sued = make.group("Süd", [sued_user])
    status = make.field("company", "Kundenstatus", shared_with=[nord])
    secret = make.field("company", "Umsatzklasse")  # not shared: never shown restricted
    c_nord = make.company("Nordlicht GmbH", group=nord, emails=["info@nordlicht.de"], tags=["Messe"])
    c_basis = make.company("Basis AG", emails=["hallo@basis.de"])
    c_sued = make.company("Südwind KG", group=sued, emails=["geheim@suedwind.de"], tags=["Geheim"],
                          website="https://suedwind.example")
    make.value(status, c_sued, "Top-Kunde")
    make.value(secret, c_sued, "A")
    p_nord = make.person("Kurz", "Anna", group=nord, company=c_nord, emails=["anna@nordlicht.de"])
    p_sued = make.person("Geheim", "Gustav", group=sued, company=c_sued)
    p_link = make.person("Link", "Lena", group=nord, company=c_sued)  # works at a restricted company
    d_nord = make.deal("Nord-Deal", group=nord, company=c_nord, person=p_nord, value=1000)
    d_sued = make.deal("Süd-Deal", group=sued, company=c_sued, person=p_sued)
    d_link = make.deal("Link-Deal", group=nord, person=p_sued)  # points at a hidden person
    pr_nord = make.project("Nord-Projekt", group=nord, company=c_nord)
    pr_sued = make.project("Süd-Projekt", group=sued, company=c_sued)
    tokens = SimpleNamespace(**{
        name: issue_token(u)
        for name, u in (("admin", admin), ("normal", normal), ("extended", extended), ("sued", sued_user))
    })
    return SimpleNamespace(**locals())


@pytest.fixture
def world(make) -> SimpleNamespace:
    return build_world(make)
