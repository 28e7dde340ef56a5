"""Tokens, authentication, throttling and the error answers every call shares."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.auth.models import User
from crm.auth.services import issue_token
from crm.extensions import db
from tests.factories import PASSWORD


@pytest.fixture
def one_window(monkeypatch):
    """Throttle counts in one fixed window, so a test cannot straddle two minutes."""
    from crm.auth import throttle

    monkeypatch.setattr(throttle, "_now", lambda: 1_800_000_000)


def test_token_for_email_and_password(api, make):
    user = make.user(email="Anna@Example.com")
    resp = api.post("/tokens", json={"email": "anna@example.com", "password": PASSWORD})
    assert resp.status_code == 201
    token = resp.get_json()["token"]
    assert api.get("/companies", token=token).status_code == 200
    stored = db.session.scalar(select(User.api_token_hash).where(User.id == user.id))
    assert stored and token not in stored  # only a hash is kept


def test_wrong_password_and_unknown_email_answer_alike(api, make):
    make.user(email="anna@example.com")
    wrong = api.post("/tokens", json={"email": "anna@example.com", "password": "nope-nope"})
    unknown = api.post("/tokens", json={"email": "nobody@example.com", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["error"]["code"] == "invalid_credentials"


def test_inactive_user_gets_no_token_and_its_token_stops_working(api, make):
    user = make.user(email="old@example.com")
    token = issue_token(user)
    user.active = False
    db.session.commit()
    assert api.post("/tokens", json={"email": "old@example.com", "password": PASSWORD}).status_code == 401
    assert api.get("/companies", token=token).status_code == 401


def test_token_lockout_shares_the_login_forms_counters(app, api, client, make, one_window):
    make.user(email="anna@example.com")
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit - 1):  # failures on the login page ...
        assert client.post("/login", data={"email": "anna@example.com", "password": "x"}).status_code == 401
    # ... and the last one through the API lock both
    resp = api.post("/tokens", json={"email": "anna@example.com", "password": "x"})
    assert resp.status_code == 429
    assert resp.get_json()["error"]["code"] == "locked"
    assert int(resp.headers["Retry-After"]) > 0
    right = api.post("/tokens", json={"email": "anna@example.com", "password": PASSWORD})
    assert right.status_code == 429  # even the right password, while locked
    assert client.post("/login", data={"email": "anna@example.com", "password": PASSWORD}).status_code == 429


def test_token_request_validation(api, make):
    assert api.post("/tokens", json={"email": "a@example.com"}).get_json()["error"]["fields"].keys() == {"password"}
    resp = api.post("/tokens", json={"email": 5, "password": ["x"]})
    assert resp.status_code == 422
    assert set(resp.get_json()["error"]["fields"]) == {"email", "password"}
    assert api.post("/tokens", json={"email": "a@example.com", "password": "x", "otp": 1}).status_code == 422
    assert api.post("/tokens", data="{nope", content_type="application/json").status_code == 400
    assert api.post("/tokens", data="email=a", content_type="application/x-www-form-urlencoded").status_code == 415
    assert api.post("/tokens", json=["a@example.com", "x"]).status_code == 422


def test_renewing_a_token_ends_the_old_one(api, make):
    user = make.user(email="anna@example.com")
    old = issue_token(user)
    new = api.post("/tokens", json={"email": "anna@example.com", "password": PASSWORD}).get_json()["token"]
    assert api.get("/companies", token=old).status_code == 401
    assert api.get("/companies", token=new).status_code == 200


def test_calls_without_a_valid_token_are_refused(api, make):
    make.user()
    for token, headers in ((None, {}), ("ktr_wrong", {}), (None, {"Authorization": "Basic YTpi"}),
                           (None, {"Authorization": "Bearer"}), ("x" * 500, {})):
        resp = api.get("/companies", token=token, headers=headers)
        assert resp.status_code == 401
        assert resp.get_json()["error"]["code"] == "unauthorized"
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_session_cookie_alone_does_not_authenticate(api, client, make):
    """Logged in on the pages, the same browser still cannot use the API without a token (so a
    foreign site cannot make a logged-in browser call it)."""
    user = make.user("admin")
    make.login(client, user)
    assert client.get("/companies").status_code == 200
    assert api.get("/companies", token=None).status_code == 401
    assert api.post("/companies", token=None, json={"name": "X"}).status_code == 401
    assert api.get("/groups", token="ktr_wrong").status_code == 401


def test_api_needs_no_csrf_token(app, api, make):
    app.config["WTF_CSRF_ENABLED"] = True
    user = make.user()
    resp = api.post("/companies", token=issue_token(user), json={"name": "Ohne CSRF"})
    assert resp.status_code == 201


def test_rate_limit_per_token(app, api, make, one_window):
    app.config["API_RATE_LIMIT"] = 3
    token = issue_token(make.user())
    statuses = [api.get("/companies", token=token, environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}).status_code
                for i in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    resp = api.get("/companies", token=token, environ_base={"REMOTE_ADDR": "10.0.1.1"})
    assert resp.status_code == 429
    assert resp.get_json()["error"]["code"] == "too_many_requests"
    assert int(resp.headers["Retry-After"]) > 0


def test_rate_limit_per_address(app, api, make, one_window):
    app.config["API_RATE_LIMIT"] = 3
    tokens = [issue_token(make.user()) for _ in range(5)]
    statuses = [api.get("/companies", token=t).status_code for t in tokens]
    assert statuses == [200, 200, 200, 429, 429]
    # guessing tokens is throttled too
    assert api.get("/companies", token="ktr_guess").status_code == 429


def test_unknown_urls_and_methods_answer_json(api, make):
    token = issue_token(make.user())
    resp = api.get("/nothing-here", token=token)
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
    resp = api.call("PUT", "/companies", token=token, json={})
    assert resp.status_code == 405
    assert "POST" in resp.headers["Allow"]
    assert api.get("/companies/0", token=token).status_code == 404
    assert api.get(f"/companies/{2**31}", token=token).status_code == 404
    c = make.company("Nullen GmbH")
    assert api.get(f"/companies/{c.id}", token=token).status_code == 200
    assert api.get(f"/companies/0{c.id}", token=token).status_code == 404  # no leading zero
    assert api.get("/companies/abc", token=token).status_code == 404


def test_too_large_body_is_refused(api, make):
    token = issue_token(make.user())
    resp = api.post("/companies", token=token, json={"name": "x", "background": "y" * (2 * 1024 * 1024)})
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == "request_entity_too_large"


def test_deeply_nested_or_odd_json_is_a_client_error(api, make):
    token = issue_token(make.user())
    for body in ("[" * 100_000 + "]" * 100_000, '{"name": "\\ud800"}', '{"name": NaN}', "1" * 5000, "null", ""):
        resp = api.post("/companies", token=token, data=body, content_type="application/json")
        assert resp.status_code in (400, 422), (body[:20], resp.status_code)
    resp = api.post("/companies", token=token, data=b'{"name": "\xff"}', content_type="application/json")
    assert resp.status_code == 400


def test_openapi_document_is_public(api):
    resp = api.get("/openapi.json", token=None)
    assert resp.status_code == 200
    doc = resp.get_json()
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_answers_are_not_cached(api, make):
    resp = api.get("/companies", token=issue_token(make.user()))
    assert resp.headers["Cache-Control"] == "no-store"


def test_an_unexpected_error_still_answers_json_and_saves_nothing(app, client, make, monkeypatch):
    from crm.api import records
    from crm.models import Company

    app.config["PROPAGATE_EXCEPTIONS"] = False

    def broken(*args, **kwargs):
        db.session.add(Company(name="Halb"))
        db.session.flush()
        raise RuntimeError("a bug")

    monkeypatch.setattr(records, "create_record", broken)
    token = issue_token(make.user())
    resp = client.post("/api/v1/companies", headers={"Authorization": f"Bearer {token}"}, json={"name": "X"})
    assert resp.status_code == 500  # (not in the OpenAPI document: it must not happen)
    assert resp.get_json()["error"]["code"] == "server_error"
    assert "a bug" not in resp.get_data(as_text=True)
    assert db.session.scalar(select(Company).where(Company.name == "Halb")) is None
