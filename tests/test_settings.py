"""Settings (admins): users, groups, custom fields, extensions, account, audit log."""
import pytest
from sqlalchemy import select

from crm.audit.models import AuditEntry
from crm.extensions import db
from crm.models import Account, Company, CustomField, Group, User, group_members


@pytest.fixture
def admin(make, client):
    u = make.user("admin", name="Ada Admin")
    make.login(client, u)
    return u


def actions():
    return [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


@pytest.mark.parametrize("role", ["normal", "extended"])
@pytest.mark.parametrize("path", ["/settings/users", "/settings/groups", "/settings/fields", "/settings/extensions",
                                  "/settings/account", "/settings/audit", "/settings/users/new"])
def test_settings_are_for_admins(client, make, role, path):
    make.login(client, make.user(role))
    assert client.get(path).status_code == 403


def test_extension_switch_is_audited_and_keeps_assignments(client, make, admin):
    other = make.group("Nord")
    c = make.company("Nordfirma", group=other)
    assert client.post("/settings/extensions", data={"groups_enabled": "y"}).status_code == 302
    assert db.session.get(Account, 1).groups_enabled
    assert client.get(f"/companies/{c.id}").status_code == 404  # admin is not in Nord
    client.post("/settings/extensions", data={"save": "1"})  # an unticked box sends nothing
    db.session.expire_all()
    assert not db.session.get(Account, 1).groups_enabled
    assert client.get(f"/companies/{c.id}").status_code == 200
    db.session.expire_all()
    assert db.session.get(Company, c.id).group_id == other.id  # kept
    assert actions() == ["extension_switched", "extension_switched"]


def test_create_user_and_login(client, make, admin):
    make.enable_groups()
    nord = make.group("Nord")
    resp = client.post("/settings/users/new", data={
        "name": "Neu Nutzer", "email": "Neu@Example.com", "role": "extended", "password": "langes-passwort",
        "default_group_id": str(nord.id), "groups": [str(nord.id)], "active": "y"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    user = db.session.scalar(select(User).where(User.email == "neu@example.com"))
    assert user.role == "extended" and user.default_group_id == nord.id
    assert "langes-passwort" not in user.password_hash
    assert set(actions()) >= {"user_created", "member_added", "default_group_set"}
    client.post("/logout")
    assert client.post("/login", data={"email": "neu@example.com", "password": "langes-passwort"}).status_code == 302


def test_duplicate_email_and_missing_password(client, make, admin):
    resp = client.post("/settings/users/new", data={"name": "X", "email": admin.email, "role": "normal",
                                                     "password": "langes-passwort", "active": "y"})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 400 and ("exists already" in text or "existiert" in text)
    resp = client.post("/settings/users/new",
                       data={"name": "X", "email": "x@example.com", "role": "normal", "active": "y"})
    assert resp.status_code == 400
    assert db.session.scalar(select(User).where(User.email == "x@example.com")) is None


def test_deactivated_user_cannot_log_in_and_is_logged_out(client, make, admin, app):
    u = make.user("normal")
    other = app.test_client()
    make.login(other, u)
    resp = client.post(f"/settings/users/{u.id}", data={"name": u.name, "email": u.email, "role": "normal"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, u.id).active
    assert other.get("/").status_code == 302  # the running session ends
    assert other.post("/login", data={"email": u.email, "password": make.PASSWORD}).status_code == 401


def test_last_admin_stays(client, make, admin):
    resp = client.post(f"/settings/users/{admin.id}", data={"name": admin.name, "email": admin.email, "role": "normal",
                                                              "active": "y"})
    assert resp.status_code == 400
    assert db.session.get(User, admin.id).role == "admin"


def test_user_who_authored_is_never_deleted(client, make, admin):
    author = make.user()
    make.note(make.company("X"), "von author", author=author)
    author_id, fresh_id = author.id, make.user().id
    client.post(f"/settings/users/{author_id}/delete")
    client.post(f"/settings/users/{fresh_id}/delete")
    db.session.expire_all()
    assert db.session.get(User, author_id) is not None
    assert db.session.get(User, fresh_id) is None


def test_user_responsible_for_a_record_the_admin_cannot_see_is_not_deleted(client, make, admin):
    """Deleting them would clear the record's responsible user through ON DELETE SET NULL: a change
    to a record the admin cannot see, with no version step and no audit entry."""
    from crm.models import Account, Company

    db.session.get(Account, 1).groups_enabled = True
    sued = make.group("Süd")
    owner = make.user()
    company = make.company("Süd GmbH", group=sued)
    company.responsible_id = owner.id
    db.session.commit()
    company_id, version = company.id, company.version
    client.post(f"/settings/users/{owner.id}/delete")
    db.session.expire_all()
    assert db.session.get(User, owner.id) is not None
    row = db.session.get(Company, company_id)
    assert (row.responsible_id, row.version) == (owner.id, version)


def test_groups_create_rename_members_delete(client, make, admin):
    make.enable_groups()
    member = make.user()
    assert client.post("/settings/groups", data={"name": "Nord", "members": [str(member.id)]}).status_code == 302
    nord = db.session.scalar(select(Group).where(Group.name == "Nord"))
    nord_id = nord.id
    assert client.post("/settings/groups", data={"name": "nord"}).status_code == 400  # names are unique
    assert client.post(f"/settings/groups/{nord.id}", data={"name": "Norden", "members": []}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Group, nord_id).name == "Norden"
    assert db.session.execute(select(group_members)).all() == []
    c = make.company("Im Norden", group=nord)
    page = client.get("/settings/groups").get_data(as_text=True)
    assert "Norden" in page
    cid = c.id
    resp = client.post(f"/settings/groups/{nord_id}/delete", data={"move_to": ""})
    assert resp.status_code == 400 and db.session.get(Group, nord_id) is not None
    resp = client.post(f"/settings/groups/{nord_id}/delete", data={"move_to": "1"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Group, nord_id) is None and db.session.get(Company, cid).group_id == 1
    # the member's only group became their default when they joined and stopped being it when they left
    assert actions() == ["group_created", "member_added", "default_group_set", "group_renamed", "member_removed",
                         "default_group_set", "group_deleted"]
    log = client.get("/settings/audit").get_data(as_text=True)
    assert f"Standardgruppe von {member.email} auf Nord gesetzt" in log
    assert f"Standardgruppe von {member.email} aufgehoben" in log  # not "set to Basis"


def test_deleting_a_group_clears_the_default_group_of_its_members_in_the_audit_log(client, make, admin):
    make.enable_groups()
    member = make.user(name="Lars Petersen")
    assert client.post("/settings/groups", data={"name": "Nord", "members": [str(member.id)]}).status_code == 302
    nord = db.session.scalar(select(Group).where(Group.name == "Nord"))
    db.session.expire_all()
    assert db.session.get(User, member.id).default_group_id == nord.id
    assert client.post(f"/settings/groups/{nord.id}/delete", data={"move_to": ""}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, member.id).default_group_id is None
    # set when they joined, cleared when the group went
    assert actions() == ["group_created", "member_added", "default_group_set", "default_group_set", "group_deleted"]
    log = client.get("/settings/audit").get_data(as_text=True)
    assert f"Standardgruppe von {member.email} aufgehoben" in log


def test_basis_cannot_be_deleted_or_renamed(client, make, admin):
    assert client.post("/settings/groups/1/delete", data={"move_to": ""}).status_code == 403
    client.post("/settings/groups/1", data={"name": "Anders"})
    assert db.session.get(Group, 1).name == "Basis"


def test_custom_fields_define_share_reorder_delete(client, make, admin):
    make.enable_groups()
    nord = make.group("Nord")
    assert client.post("/settings/fields/new", data={"entity": "company", "name": "Kundenstatus", "kind": "select",
                                                     "options": "Top-Kunde\nNeukunde\n\nTop-Kunde",
                                                     "shared_with": [str(nord.id)]}).status_code == 302
    client.post("/settings/fields/new", data={"entity": "company", "name": "Branche", "kind": "text"})
    f1, f2 = db.session.scalars(select(CustomField).order_by(CustomField.position)).all()
    assert f1.options == ["Top-Kunde", "Neukunde"] and [g.name for g in f1.shared_with] == ["Nord"]
    new = "/settings/fields/new"
    assert client.post(new, data={"entity": "company", "name": "kundenstatus", "kind": "text"}).status_code == 400
    assert client.post(new, data={"entity": "company", "name": "Leer", "kind": "select"}).status_code == 400
    client.post(f"/settings/fields/{f2.id}/move", data={"direction": "up"})
    db.session.expire_all()
    fields = db.session.scalars(select(CustomField).order_by(CustomField.position))
    assert [f.name for f in fields] == ["Branche", "Kundenstatus"]
    client.post(f"/settings/fields/{f1.id}", data={"name": "Kundenstatus", "options": "Top-Kunde", "shared_with": []})
    db.session.expire_all()
    assert db.session.get(CustomField, f1.id).shared_with == []
    f1_id = f1.id
    client.post(f"/settings/fields/{f1_id}/delete")
    db.session.expire_all()
    assert db.session.get(CustomField, f1_id) is None
    assert actions() == ["field_created", "field_shared", "field_created", "field_shared", "field_deleted"]
    assert "Kundenstatus" in client.get("/settings/audit").get_data(as_text=True)


def test_account_name(client, make, admin):
    assert client.post("/settings/account", data={"name": "Müller Haustechnik"}).status_code == 302
    assert db.session.get(Account, 1).name == "Müller Haustechnik"
    assert client.post("/settings/account", data={"name": ""}).status_code == 400
