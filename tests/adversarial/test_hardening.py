"""Hardening: Content-Security-Policy without inline code, security headers, secure cookies behind
HTTPS, login throttling and lockout, hashed tokens and passwords, no debug mode or default secret,
no secret in the repository."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from crm import create_app
from crm.auth import throttle
from crm.auth.models import RateCounter, User
from crm.config import build_config
from crm.extensions import db

from . import figures
from .probes import policy_violations
from .world import dump_database

ROOT = Path(__file__).resolve().parents[2]


# -- Content-Security-Policy ------------------------------------------------------------------

def test_templates_have_no_inline_code_or_styles():
    """Static scan of every template (the leak test scans every rendered page as well)."""
    bad = re.compile(
        r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\son[a-z]+\s*=|\sstyle\s*=|\s(?:data-)?hx-on|javascript:",
        re.IGNORECASE,
    )
    problems = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if bad.search(line):
                problems.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:100]}")
    assert not problems, "\n".join(problems)


def test_static_script_does_not_evaluate_strings():
    js = (ROOT / "static" / "app.js").read_text()
    assert not re.search(r"\beval\s*\(|new Function\s*\(|\.innerHTML\s*=\s*[^\"';]*\+", js)


def test_every_kind_of_answer_carries_the_policy_and_headers(app, client, make):
    make.company("Acme")
    answers = [client.get("/login"), client.get("/nowhere"), client.get("/companies")]
    make.login(client, make.user("admin"))
    answers += [client.get("/"), client.get("/companies"), client.get("/companies/999999"),
                client.get("/companies/export.csv"), client.get("/settings/users"),
                client.get("/companies", headers={"HX-Request": "true", "HX-Target": "record-list"})]
    for resp in answers:
        assert policy_violations(resp) == [], (resp.request.path, policy_violations(resp))
        assert "Vary" in resp.headers and "HX-Target" in resp.headers["Vary"]
    csp = answers[0].headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp


# -- HTTPS: secure cookies, HSTS, the proxy ---------------------------------------------------

@pytest.fixture
def https_app(database_url, monkeypatch):
    from tests.conftest import TEST_CONFIG, FreshContextClient

    monkeypatch.setenv("KONTOR_HTTPS", "1")
    monkeypatch.setenv("KONTOR_PROXY_FIX", "1")
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url})
    app.test_client_class = FreshContextClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_behind_https_cookies_are_secure_and_hsts_is_sent(https_app, make):
    user = make.user("normal")
    client = https_app.test_client()
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "crm.example"}
    wrong = client.post("/login", data={"email": user.email, "password": "wrong"},
                        headers={**proxy, "Referer": "https://crm.example/login"})
    assert wrong.status_code == 401
    # ProxyFix: the client address is the forwarded one (what the login throttle counts)
    assert db.session.scalar(select(RateCounter).where(RateCounter.key.contains("203.0.113.9"))) is not None
    resp = client.post("/login", data={"email": user.email, "password": make.PASSWORD},
                       headers={**proxy, "Referer": "https://crm.example/login"})
    assert resp.status_code == 302
    cookies = [v for k, v in resp.headers.items() if k.lower() == "set-cookie"]
    session = next(c for c in cookies if c.startswith("kontor_session="))
    assert "Secure" in session and "HttpOnly" in session and "SameSite=Lax" in session
    page = client.get("/", headers=proxy)
    assert page.status_code == 200
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    # a form posted from another site is refused (strict referrer check over HTTPS)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)
    https_app.config["WTF_CSRF_ENABLED"] = True
    evil = client.post("/profile", data={"profile-name": "x", "csrf_token": token},
                       headers={**proxy, "Referer": "https://evil.example/"})
    assert evil.status_code == 400


def test_without_https_setting_cookies_still_httponly(app, client, make):
    user = make.user("normal")
    resp = client.post("/login", data={"email": user.email, "password": make.PASSWORD})
    session = next(v for k, v in resp.headers.items() if k.lower() == "set-cookie" and "kontor_session" in v)
    assert "HttpOnly" in session and "SameSite=Lax" in session


# -- login throttling and lockout -------------------------------------------------------------

def test_login_is_throttled_and_locked_out_then_unlocks(app, client, make, monkeypatch):
    user = make.user("normal")
    now = [1_900_000_000]
    monkeypatch.setattr(throttle, "_now", lambda: now[0])
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        resp = client.post("/login", data={"email": user.email, "password": "wrong"})
        figures.add("inputs_fuzzed")
        assert resp.status_code in (401, 429)
    # locked: even the right password is refused, with a message saying for how long
    resp = client.post("/login", data={"email": user.email, "password": make.PASSWORD})
    assert resp.status_code == 429
    assert re.search(r"\d+", resp.get_data(as_text=True))
    # another address is not locked out
    other = app.test_client()
    assert other.post("/login", data={"email": user.email, "password": make.PASSWORD},
                      environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 302
    # the counters live in the database (shared by every app server)
    assert db.session.scalar(select(RateCounter).where(RateCounter.locked_until > 0)) is not None
    # after the window the lockout ends
    now[0] += app.config["LOGIN_WINDOW_SECONDS"] + 1
    assert client.post("/login", data={"email": user.email, "password": make.PASSWORD}).status_code == 302


def test_one_address_trying_many_accounts_is_locked_out(app, make, monkeypatch):
    monkeypatch.setattr(throttle, "_now", lambda: 1_900_000_000)
    user = make.user("normal")
    client = app.test_client()
    env = {"REMOTE_ADDR": "192.0.2.44"}
    for i in range(app.config["LOGIN_MAX_FAILURES"] * 10):
        client.post("/login", data={"email": f"guess{i}@example.com", "password": "x"}, environ_base=env)
    resp = client.post("/login", data={"email": user.email, "password": make.PASSWORD}, environ_base=env)
    assert resp.status_code == 429


def test_unknown_email_and_wrong_password_answer_alike(app, client, make):
    user = make.user("normal")
    a = client.post("/login", data={"email": user.email, "password": "wrong"})
    b = client.post("/login", data={"email": "nobody@example.com", "password": "wrong"})
    assert a.status_code == b.status_code == 401
    strip = re.compile(r'(csrf[-_]token"[^>]*?(?:content|value)=")[^"]*"|value="[^"]*@[^"]*"')
    assert strip.sub("", a.get_data(as_text=True)) == strip.sub("", b.get_data(as_text=True))


# -- secrets at rest --------------------------------------------------------------------------

def test_passwords_and_api_tokens_are_stored_hashed(app, client, make):
    user = make.user("normal")
    make.login(client, user)
    page = client.post("/profile/token", follow_redirects=True).get_data(as_text=True)  # shown after the redirect
    token = re.search(r"ktr_[A-Za-z0-9_\-]{20,}", page).group(0)
    everything = repr(dump_database(exclude=()))
    assert token not in everything
    assert make.PASSWORD not in everything
    stored = db.session.get(User, user.id)
    assert stored.password_hash.startswith(("scrypt:", "pbkdf2:"))
    # the token works as a bearer token (and only as one)
    from crm.auth.services import user_for_token

    assert user_for_token(token).id == user.id
    assert user_for_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None


def test_production_config_hashes_with_scrypt_and_is_not_in_debug_mode(tmp_path, monkeypatch):
    for name in ("SECRET_KEY", "KONTOR_PASSWORD_HASH", "FLASK_DEBUG", "KONTOR_HTTPS"):
        monkeypatch.delenv(name, raising=False)
    config = build_config(tmp_path / "instance", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert config["PASSWORD_HASH_METHOD"] == "scrypt"
    assert not config.get("DEBUG") and not config.get("TESTING")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": config["SECRET_KEY"]})
    assert app.debug is False and app.testing is False
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_secret_key_comes_from_env_or_is_generated_once_per_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = build_config(tmp_path / "a", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})["SECRET_KEY"]
    again = build_config(tmp_path / "a", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})["SECRET_KEY"]
    other = build_config(tmp_path / "b", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})["SECRET_KEY"]
    assert first == again != other
    assert len(first) >= 40
    assert (tmp_path / "a" / "secret_key").stat().st_mode & 0o077 == 0  # readable by the owner only
    monkeypatch.setenv("SECRET_KEY", "from-the-environment-" + "x" * 30)
    assert build_config(tmp_path / "a", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})["SECRET_KEY"].startswith(
        "from-the-environment-")


def test_no_debug_switch_in_code_or_commands():
    hits = []
    for path in [*(ROOT / "crm").rglob("*.py"), ROOT / "Makefile", ROOT / "app.py"]:
        text = path.read_text()
        if re.search(r"debug\s*=\s*True|DEBUG\s*[\"']?\s*[:=]\s*True|--debug\b|use_debugger", text):
            hits.append(str(path.relative_to(ROOT)))
    assert not hits


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=False, capture_output=True, text=True)


def test_no_secret_in_the_repository_and_instance_is_ignored():
    if _git("rev-parse", "--is-inside-work-tree").returncode != 0:
        pytest.skip("not a git checkout")
    tracked = _git("ls-files").stdout.splitlines()
    secret = [f for f in tracked if Path(f).name in ("secret_key", ".env") or f.endswith((".sqlite3", ".pem", ".key"))]
    assert not secret
    assert [f for f in tracked if f.startswith("instance/")] in ([], ["instance/.gitkeep"])
    for path in ("instance/secret_key", "instance/kontor.sqlite3", "instance/anything"):
        assert _git("check-ignore", "-q", path).returncode == 0, f"{path} is not ignored by .gitignore"
