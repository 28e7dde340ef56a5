"""Sessions end on the server (issue 12, finding 9): a copy of the session cookie is logged out by
logout; a password change, deactivation, deletion or an admin's "Sitzungen beenden" logs the user
out in every browser and revokes the API token; the state is in the database, so a second app
server sees it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from crm import create_app
from crm.audit.models import AuditEntry
from crm.auth.models import UserSession
from crm.auth.services import issue_token
from crm.common import utcnow
from crm.extensions import db
from crm.models import User
from tests.conftest import ON_PG, TEST_CONFIG, FreshContextClient

COOKIE = "kontor_session"


def copy_of(client, app):
    """Another browser holding a copy of ``client``'s session cookie (as a thief would)."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return thief


def logged_in(client) -> bool:
    resp = client.get("/companies")
    assert resp.status_code in (200, 302)
    return resp.status_code == 200


def api_status(client, token) -> int:
    return client.get("/api/v1/companies", headers={"Authorization": f"Bearer {token}"}).status_code


def user_form(u: User, **changes) -> dict:
    data = {"name": u.name, "email": u.email, "role": u.role, "active": "y"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def admin(make, client):
    a = make.user("admin", name="Admin")
    make.login(client, a)
    return a


def test_copied_cookie_is_dead_after_logout(app, client, make):
    u = make.user()
    make.login(client, u)
    thief = copy_of(client, app)
    assert logged_in(thief)
    assert client.post("/logout").status_code == 302
    assert not logged_in(client)
    assert not logged_in(thief)
    # another browser of the same user is not touched by this logout
    other = app.test_client()
    make.login(other, u)
    make.login(client, u)
    client.post("/logout")
    assert logged_in(other)


def test_own_password_change_ends_every_other_session(app, client, make):
    u = make.user()
    other = app.test_client()
    make.login(other, u)
    make.login(client, u)
    before = copy_of(client, app)  # the cookie as it was before the change
    token = issue_token(u)
    assert api_status(other, token) == 200
    resp = client.post("/profile/password", data={"pw-current": make.PASSWORD, "pw-new": "ganz-neues-passwort",
                                                  "pw-repeat": "ganz-neues-passwort"},
                       headers={"Accept-Language": "en"}, follow_redirects=True)
    assert resp.request.path == "/profile"
    page = resp.get_data(as_text=True)
    assert "You were logged out everywhere else." in page and "Your API token was revoked" in page
    # the browser that changed it goes on, with a new session; every other one is logged out
    assert logged_in(client)
    assert not logged_in(other)
    assert not logged_in(before)
    assert api_status(client, token) == 401  # the API token is revoked too
    assert client.post("/logout").status_code == 302
    assert other.post("/login", data={"email": u.email, "password": "ganz-neues-passwort"}).status_code == 302


def test_admin_password_change_ends_the_users_sessions(app, client, make, admin):
    u = make.user()
    browser = app.test_client()
    make.login(browser, u)
    token = issue_token(u)
    assert client.post(f"/settings/users/{u.id}", data=user_form(u, password="vom-admin-gesetzt")).status_code == 302
    assert not logged_in(browser)
    assert api_status(browser, token) == 401
    # the admin was not logged out by changing someone else's password
    assert logged_in(client)


def test_admin_changing_own_password_stays_logged_in_elsewhere_not(app, client, make, admin):
    other = app.test_client()
    make.login(other, admin)
    before = copy_of(client, app)
    assert client.post(f"/settings/users/{admin.id}", data=user_form(admin, password="neu-und-lang")).status_code == 302
    assert logged_in(client)
    assert not logged_in(other)
    assert not logged_in(before)


def test_deactivation_ends_sessions_for_good(app, client, make, admin):
    u = make.user()
    browser = app.test_client()
    make.login(browser, u)
    token = issue_token(u)
    assert client.post(f"/settings/users/{u.id}", data=user_form(u, active=None)).status_code == 302
    assert not logged_in(browser)
    assert api_status(browser, token) == 401
    # reactivated: the old cookie and the old token stay dead; logging in again works
    db.session.expire_all()
    assert client.post(f"/settings/users/{u.id}", data=user_form(db.session.get(User, u.id))).status_code == 302
    assert not logged_in(browser)
    assert api_status(browser, token) == 401
    make.login(browser, u)
    assert logged_in(browser)


def test_admin_ends_sessions(app, client, make, admin):
    u = make.user(name="Udo")
    first, second = app.test_client(), app.test_client()
    make.login(first, u)
    make.login(second, u)
    token = issue_token(u)
    page = client.get(f"/settings/users/{u.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "2 active logins." in page
    resp = client.post(f"/settings/users/{u.id}/sessions/end", headers={"Accept-Language": "en"})
    assert resp.status_code == 302
    assert not logged_in(first)
    assert not logged_in(second)
    assert api_status(first, token) == 401
    page = client.get(f"/settings/users/{u.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Udo was logged out everywhere" in page
    assert "0 active logins." in page
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "sessions_ended")).one()
    assert entry.actor_id == admin.id and entry.details["user_id"] == u.id
    assert "logged" in client.get("/settings/audit?action=sessions_ended",
                                  headers={"Accept-Language": "en"}).get_data(as_text=True)
    # the user logs in again as usual
    make.login(first, u)
    assert logged_in(first)


def test_admin_ending_own_sessions_keeps_this_browser(app, client, make, admin):
    other = app.test_client()
    make.login(other, admin)
    before = copy_of(client, app)
    assert client.post(f"/settings/users/{admin.id}/sessions/end").status_code == 302
    assert logged_in(client)
    assert not logged_in(other)
    assert not logged_in(before)


def test_only_admins_end_sessions(app, client, make):
    victim, attacker = make.user(), make.user("extended")
    browser = app.test_client()
    make.login(browser, victim)
    make.login(client, attacker)
    assert client.post(f"/settings/users/{victim.id}/sessions/end").status_code == 403
    assert logged_in(browser)


def test_deleted_users_cookie_never_logs_in_a_later_user(app, client, make, admin):
    u = make.user("admin", email="weg@example.com")
    browser = app.test_client()
    make.login(browser, u)
    u_id = u.id
    assert client.post(f"/settings/users/{u.id}/delete").status_code == 302
    assert not logged_in(browser)
    assert db.session.scalar(select(UserSession).where(UserSession.user_id == u.id)) is None
    # SQLite may hand the freed id to the next user: the old cookie must not become theirs
    db.session.expunge_all()
    later = make.user("admin", email="neu@example.com")
    assert later.id == u_id or ON_PG
    assert not logged_in(browser)


def test_two_app_servers_share_the_sessions(app, client, make, database_url):
    second_server = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url})
    second_server.test_client_class = FreshContextClient
    u, admin = make.user(), make.user("admin")
    make.login(client, u)
    there = copy_of(client, second_server)  # the load balancer sends the next request elsewhere
    assert logged_in(there)
    client.post("/logout")  # logged out on the first server
    assert not logged_in(there)
    # an admin on the second server ends the sessions; the first server sees it
    make.login(client, u)
    admin_there = second_server.test_client()
    make.login(admin_there, admin)
    assert admin_there.post(f"/settings/users/{u.id}/sessions/end").status_code == 302
    assert not logged_in(client)
    with second_server.app_context():
        db.session.remove()
        db.engine.dispose()


def test_idle_session_ends_and_last_seen_is_written_rarely(app, client, make):
    u = make.user()
    make.login(client, u)

    def last_seen():
        db.session.expire_all()
        return db.session.scalar(select(UserSession.last_seen_at).where(UserSession.user_id == u.id))

    start = last_seen()
    assert logged_in(client)
    assert last_seen() == start  # no write on every request
    db.session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=10)))
    db.session.commit()
    assert logged_in(client)
    assert last_seen() > utcnow() - timedelta(minutes=1)  # seen again: written once
    idle = app.config["SESSION_IDLE_DAYS"]
    db.session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(days=idle, minutes=1)))
    db.session.commit()
    assert not logged_in(client)


def test_only_a_hash_of_the_session_id_is_stored(client, make):
    from flask.sessions import SecureCookieSessionInterface

    make.login(client, make.user())
    app = client.application
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    sid = serializer.loads(client.get_cookie(COOKIE).value)["_kontor_sid"]
    stored = db.session.scalars(select(UserSession.id_hash)).all()
    assert sid not in stored and len(stored) == 1
