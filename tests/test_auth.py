"""Login, logout, throttling, CSRF, profile, language."""
import re

import pytest

from crm.extensions import db
from crm.models import User


def test_wrong_password_then_lockout(client, make, app):
    u = make.user()
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        assert client.post("/login", data={"email": u.email, "password": "falsch"}).status_code == 401
    locked = client.post("/login", data={"email": u.email, "password": "falsch"})
    assert locked.status_code == 429
    # even the right password is refused while locked out
    assert client.post("/login", data={"email": u.email, "password": make.PASSWORD}).status_code == 429
    # another account from the same address is not locked
    other = make.user()
    assert client.post("/login", data={"email": other.email, "password": make.PASSWORD}).status_code == 302


def test_unknown_email_same_message(client, make):
    u = make.user()
    a = client.post("/login", data={"email": "nobody@example.com", "password": "x"}).get_data(as_text=True)
    b = client.post("/login", data={"email": u.email, "password": "x"}).get_data(as_text=True)
    strip = lambda s: re.sub(r'value="[^"]*"', "", make.without_csrf(s))
    assert strip(a) == strip(b)


def test_logout_only_by_post(client, make):
    make.login(client, make.user())
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_next_must_be_local(client, make):
    u = make.user()
    resp = client.post("/login?next=https://evil.example/", data={"email": u.email, "password": make.PASSWORD})
    assert resp.headers["Location"] == "/"
    client.post("/logout")
    resp = client.post("/login?next=/companies", data={"email": u.email, "password": make.PASSWORD})
    assert resp.headers["Location"] == "/companies"


def test_csrf_required_on_login_and_htmx(app, make):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    u = make.user()
    assert client.post("/login", data={"email": u.email, "password": make.PASSWORD}).status_code == 400
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    form = {"email": u.email, "password": make.PASSWORD, "csrf_token": token}
    assert client.post("/login", data=form).status_code == 302
    c = make.company("Token AG")
    no_token = client.post(f"/companies/{c.id}/notes", data={"body": "x", "kind": "note"},
                           headers={"HX-Request": "true", "HX-Target": "notes"})
    assert no_token.status_code == 400
    home = client.get("/").get_data(as_text=True)
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)"', home).group(1)
    ok = client.post(f"/companies/{c.id}/notes", data={"body": "x", "kind": "note"},
                     headers={"HX-Request": "true", "HX-Target": "notes", "X-CSRFToken": meta})
    assert ok.status_code == 200


def test_session_cookie_flags(client, make):
    resp = make.login(client, make.user())
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_password_is_hashed_and_can_be_changed(client, make):
    u = make.user()
    assert make.PASSWORD not in u.password_hash
    make.login(client, u)
    bad = client.post("/profile/password", data={"pw-current": "falsch", "pw-new": "neues-passwort",
                                                 "pw-repeat": "neues-passwort"})
    assert bad.status_code == 400
    ok = client.post("/profile/password", data={"pw-current": make.PASSWORD, "pw-new": "neues-passwort",
                                                "pw-repeat": "neues-passwort"})
    assert ok.status_code == 302
    client.post("/logout")
    assert client.post("/login", data={"email": u.email, "password": "neues-passwort"}).status_code == 302


def test_api_token_shown_once_and_stored_hashed(client, make):
    u = make.user()
    make.login(client, u)
    page = client.post("/profile/token", follow_redirects=True).get_data(as_text=True)
    token = re.search(r'<code id="new-token">([^<]+)</code>', page).group(1)
    db.session.expire_all()
    stored = db.session.get(User, u.id).api_token_hash
    assert stored and token not in stored
    assert token not in client.get("/profile").get_data(as_text=True)


def test_api_token_page_follows_post_redirect_get(client, make):
    """Reloading the page that shows a new token neither issues another token nor shows it again."""
    u = make.user()
    make.login(client, u)
    posted = client.post("/profile/token")
    assert posted.status_code == 303 and posted.headers["Location"].startswith("/profile")
    shown = client.get("/profile")
    assert shown.headers["Cache-Control"] == "no-store"
    token = re.search(r'<code id="new-token">([^<]+)</code>', shown.get_data(as_text=True)).group(1)
    db.session.expire_all()
    stored = db.session.get(User, u.id).api_token_hash
    reloaded = client.get("/profile").get_data(as_text=True)
    assert 'id="new-token"' not in reloaded and token not in reloaded
    db.session.expire_all()
    assert db.session.get(User, u.id).api_token_hash == stored  # the copied token still works


@pytest.mark.parametrize("header,locale_word", [("de-DE,de;q=0.9", "Firmen"), ("en-US,en;q=0.9", "Companies"),
                                                 ("fr-FR", "Firmen")])
def test_language_from_browser(client, make, header, locale_word):
    make.login(client, make.user())
    assert locale_word in client.get("/", headers={"Accept-Language": header}).get_data(as_text=True)


def test_language_setting_wins(client, make):
    u = make.user()
    make.login(client, u)
    client.post("/profile", data={"profile-name": u.name, "profile-locale": "en"})
    assert "Companies" in client.get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    client.post("/profile", data={"profile-name": u.name, "profile-locale": "de"})
    assert "Firmen" in client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_security_headers(client, make):
    make.login(client, make.user())
    resp = client.get("/")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
