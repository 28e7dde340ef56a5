"""User administration through the API does what the settings pages do, through the same services:
PATCH /api/v1/users/<id> changes role, password, memberships and the active flag with the same
audit entries as the user page; deleting a user audits the memberships it drops; and the page and
the API refuse the same input with the same message for every admin rule."""
from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from crm.audit.models import AuditEntry
from crm.auth.models import User
from crm.extensions import db
from crm.groups.models import group_members


def _audit_since(since: int) -> list[tuple[str, dict]]:
    return [(e.action, e.details) for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.id > since).order_by(AuditEntry.id))]


def _last_id() -> int:
    return db.session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc())) or 0


def _anonymous(entries):
    """Audit entries without the user they are about (two users get the same change)."""
    return [(a, {k: v for k, v in d.items() if k not in ("user", "user_id")}) for a, d in entries]


def _groups_of(user_id: int) -> list[int]:
    return sorted(db.session.scalars(select(group_members.c.group_id).where(group_members.c.user_id == user_id)))


@pytest.fixture
def page(app, make, world):
    client = app.test_client()
    make.login(client, world.admin)
    return client


def _page_form(user, **changes) -> dict:
    """The user page's form as it is shown for ``user``, with ``changes``."""
    data = {"name": user.name, "email": user.email, "role": user.role, "locale": user.locale or "",
            "default_group_id": str(user.default_group_id or ""), "groups": [str(g) for g in _groups_of(user.id)],
            "password": "", "active": "y" if user.active else ""}
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def test_patch_user_does_what_the_page_does_with_the_same_audit_entries(api, page, make, world):
    on_page, via_api = make.user("normal", groups=[world.nord]), make.user("normal", groups=[world.nord])
    page_id, api_id = on_page.id, via_api.id
    since = _last_id()
    resp = page.post(f"/settings/users/{page_id}", data=_page_form(
        on_page, role="extended", password="ganz-neues-passwort", groups=[str(world.sued.id)]))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    by_page = _audit_since(since)
    since = _last_id()
    resp = api.patch(f"/users/{api_id}", token=world.tokens.admin, json={
        "role": "extended", "password": "ganz-neues-passwort", "group_ids": [world.sued.id]})
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["role"], resp.get_json()["group_ids"]) == ("extended", [world.sued.id])
    by_api = _audit_since(since)
    # without a default group, the one group joined becomes it (on both paths)
    assert [a for a, _ in by_api] == ["user_changed", "member_removed", "member_added", "default_group_set"]
    assert by_api[0][1]["changes"] == {"role": "extended", "password": "changed"}
    assert _anonymous(by_page) == _anonymous(by_api)
    db.session.expire_all()
    for uid in (page_id, api_id):
        user = db.session.get(User, uid)
        assert (user.role, _groups_of(uid)) == ("extended", [world.sued.id])
        login = api.post("/tokens", token=None, json={"email": user.email, "password": "ganz-neues-passwort"})
        assert login.status_code == 201

    # deactivating: the same entry, and the API token of the user stops working on both paths
    tokens = {uid: api.post("/tokens", token=None, json={
        "email": db.session.get(User, uid).email, "password": "ganz-neues-passwort"}).get_json()["token"]
        for uid in (page_id, api_id)}
    since = _last_id()
    page.post(f"/settings/users/{page_id}", data=_page_form(db.session.get(User, page_id), active=""))
    by_page = _audit_since(since)
    since = _last_id()
    assert api.patch(f"/users/{api_id}", token=world.tokens.admin, json={"active": False}).get_json()["active"] is False
    by_api = _audit_since(since)
    assert _anonymous(by_page) == _anonymous(by_api) == [("user_changed", {"changes": {"active": False}})]
    for uid in (page_id, api_id):
        assert api.get("/people", token=tokens[uid]).status_code == 401


def test_patch_user_sends_only_what_changes(api, world):
    before = _last_id()
    resp = api.patch(f"/users/{world.normal.id}", token=world.tokens.admin, json={})
    assert resp.status_code == 200 and _last_id() == before
    assert resp.get_json()["group_ids"] == [world.nord.id]
    resp = api.patch(f"/users/{world.normal.id}", token=world.tokens.admin, json={"locale": "en", "name": "Nora N."})
    assert (resp.get_json()["locale"], resp.get_json()["name"]) == ("en", "Nora N.")
    assert api.get(f"/users/{world.normal.id}", token=world.tokens.admin).get_json()["name"] == "Nora N."
    assert api.get("/users/999", token=world.tokens.admin).status_code == 404
    assert api.patch("/users/999", token=world.tokens.admin, json={"name": "X"}).status_code == 404
    for body in ({"name": None}, {"active": "no"}, {"role": "owner"}, {"password": "kurz"}, {"is_admin": True},
                 {"group_ids": [999]}, {"email": world.extended.email}):
        resp = api.patch(f"/users/{world.normal.id}", token=world.tokens.admin, json=body)
        assert resp.status_code in (409, 422) and set(resp.get_json()["error"]["fields"]) == set(body), body
    assert api.patch(f"/users/{world.normal.id}", token=world.tokens.normal, json={"role": "admin"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(User, world.normal.id).role == "normal"


@pytest.mark.parametrize("path", ["page", "api"])
def test_deleting_a_user_audits_the_memberships_it_drops(api, page, make, world, path):
    user = make.user("normal", groups=[world.nord, world.sued])
    uid, email = user.id, user.email
    since = _last_id()
    if path == "page":
        assert page.post(f"/settings/users/{uid}/delete").status_code == 302
    else:
        assert api.delete(f"/users/{uid}", token=world.tokens.admin).status_code == 204
    db.session.expire_all()
    assert db.session.get(User, uid) is None and _groups_of(uid) == []
    entries = _audit_since(since)
    assert sorted((a, d["group"]) for a, d in entries if a == "member_removed") == [
        ("member_removed", "Nord"), ("member_removed", "Süd")]
    assert entries[-1] == ("user_deleted", {"user": email, "user_id": uid})


def test_deleting_a_user_who_wrote_something_deactivates_them(api, make, world):
    author = make.user("normal", groups=[world.nord])
    make.note(world.c_nord, "von author", author=author)
    resp = api.delete(f"/users/{author.id}", token=world.tokens.admin)
    assert resp.status_code == 200 and resp.get_json()["active"] is False
    db.session.expire_all()
    assert db.session.get(User, author.id) is not None and _groups_of(author.id) == [world.nord.id]
    resp = api.delete(f"/users/{world.admin.id}", token=world.tokens.admin)  # oneself (and the last admin)
    assert resp.status_code == 409
    assert api.delete(f"/users/{world.normal.id}", token=world.tokens.extended).status_code == 403


# -- the same rule, the same message on the page and in the API ----------------------------------

def _rules(world):
    """rule -> (page method+path+form, API method+path+body, the field the message is about)."""
    new_user = {"name": "X", "email": "x@example.com", "role": "normal", "password": "lang-genug", "active": "y"}
    api_user = {"name": "X", "email": "x@example.com", "password": "lang-genug"}
    admin = world.admin
    return {
        "duplicate email": (("POST", "/settings/users/new", {**new_user, "email": world.normal.email.upper()}),
                            ("POST", "/users", {**api_user, "email": world.normal.email.upper()}), "email"),
        "short password": (("POST", "/settings/users/new", {**new_user, "password": "kurz"}),
                           ("POST", "/users", {**api_user, "password": "kurz"}), "password"),
        "last admin": (("POST", f"/settings/users/{admin.id}", {"name": admin.name, "email": admin.email,
                                                                 "role": "normal", "active": "y"}),
                       ("PATCH", f"/users/{admin.id}", {"role": "normal"}), "role"),
        "duplicate group name": (("POST", "/settings/groups", {"name": "nord"}),
                                 ("POST", "/groups", {"name": "nord"}), "name"),
        "Basis cannot be deleted": (("POST", "/settings/groups/1/delete", {"move_to": str(world.nord.id)}),
                                    ("DELETE", f"/groups/1?move_to={world.nord.id}", None), None),
        "field name taken": (("POST", "/settings/fields/new", {"entity": "company", "name": "kundenstatus",
                                                              "kind": "text"}),
                             ("POST", "/custom-fields", {"entity": "company", "name": "kundenstatus",
                                                         "kind": "text"}), "name"),
        "select without options": (("POST", "/settings/fields/new", {"entity": "deal", "name": "Ampel",
                                                                    "kind": "select", "options": ""}),
                                   ("POST", "/custom-fields", {"entity": "deal", "name": "Ampel",
                                                               "kind": "select"}), "options"),
        "unknown group id": (("POST", "/settings/users/new", {**new_user, "default_group_id": "999"}),
                             ("POST", "/users", {**api_user, "default_group_id": 999}), "default_group_id"),
    }


RULES = ["duplicate email", "short password", "last admin", "duplicate group name", "Basis cannot be deleted",
         "field name taken", "select without options", "unknown group id"]


@pytest.mark.parametrize("rule", RULES)
def test_page_and_api_refuse_the_same_input_with_the_same_message(api, page, world, rule):
    (page_method, page_path, form), (api_method, api_path, body), field = _rules(world)[rule]
    before = _last_id()
    resp = api.call(api_method, api_path, token=world.tokens.admin, **({"json": body} if body is not None else {}))
    assert resp.status_code in (409, 422), resp.get_json()
    error = resp.get_json()["error"]
    message = error["fields"][field] if field else error["message"]
    shown = page.open(page_path, method=page_method, data=form)
    assert shown.status_code in (400, 403)
    assert html.escape(message, quote=False) in shown.get_data(as_text=True), (rule, message)
    assert _last_id() == before  # refused: nothing written, nothing audited
