"""Impact preview and access review (issue 18): the counts a preview promises are the counts each
user has once the change is made, over random worlds (the adversarial suite's generator), and the
access review's counts are what each user's lists hold."""
from __future__ import annotations

import csv
import io
import os
import re
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from crm.audit.models import AuditEntry
from crm.customfields.models import CustomField
from crm.customfields.schemas import FieldUpdate
from crm.customfields.services import update_field
from crm.errors import Refused
from crm.extensions import db
from crm.groups import services
from crm.groups.models import Group
from crm.groups.queries import Levels
from crm.groups.schemas import GroupDelete
from crm.models import Account, User
from crm.records.models import MODELS
from crm.visibility import fully_visible_to, restricted_to, unscoped, viewer_for
from tests.adversarial.test_random_worlds import worlds
from tests.adversarial.world import BASIS, build, reset_database

EXAMPLES = {"ci": 12, "thorough": 80}[os.environ.get("KONTOR_ADV_PROFILE", "ci")]


def actual_counts() -> dict[int, dict[str, Levels]]:
    """Every active user's counts, straight from the record tables with the real viewer and the
    record predicates (not the per-group arithmetic of the preview)."""
    out = {}
    for user in db.session.scalars(select(User).where(User.active.is_(True))):
        viewer = viewer_for(user)
        out[user.id] = {}
        for key, model in MODELS.items():
            def count(where, model=model):
                return db.session.scalar(unscoped(select(func.count()).select_from(model).where(where)))
            full = count(fully_visible_to(model, viewer))
            restricted = count(restricted_to(model, viewer))
            out[user.id][key] = Levels(full, restricted, count(model.deleted_at.is_(None)) - full - restricted)
    return out


@st.composite
def changes(draw, spec):
    """One change an admin can preview, on the groups and fields of ``spec``."""
    kinds = ["switch"]
    if spec.groups:
        kinds += ["members", "delete"]
    if spec.fields:
        kinds.append("sharing")
    kind = draw(st.sampled_from(kinds))
    if kind == "switch":
        return ("switch",)
    if kind == "members":
        return ("members", draw(st.sampled_from(spec.groups)),
                draw(st.sets(st.sampled_from([u.key for u in spec.users]))))
    if kind == "delete":
        group = draw(st.sampled_from(spec.groups))
        return ("delete", group, draw(st.sampled_from([BASIS, *[g for g in spec.groups if g != group]])))
    return ("sharing", draw(st.sampled_from([f.key for f in spec.fields])),
            draw(st.sets(st.sampled_from([BASIS, *spec.groups]), max_size=3)))


def preview_and_apply(world, admin, change):
    """The preview's answer for ``change``, then the change made through the same services."""
    gid = world.group_ids.get
    if change[0] == "switch":
        enabled = not world.spec.enabled
        preview = services.preview_switch(admin, enabled)
        services.set_groups_enabled(admin, enabled)
    elif change[0] == "members":
        group = db.session.get(Group, gid(change[1]))
        ids = [world.user_ids[k] for k in sorted(change[2])]
        preview = services.preview_members(admin, group, ids)
        services.set_members(admin, group, ids)
    elif change[0] == "delete":
        group = db.session.get(Group, gid(change[1]))
        data = GroupDelete(move_to=gid(change[2]))
        preview = services.preview_delete(admin, group, data)
        services.delete_group(admin, group, data)
    else:
        field = db.session.get(CustomField, world.field_ids[change[1]])
        ids = sorted(gid(g) for g in change[2])
        preview = services.preview_sharing(admin, field.id, ids)
        update_field(admin, field, FieldUpdate(shared_with=ids))
    db.session.commit()
    return preview


@settings(max_examples=EXAMPLES, deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data(), spec=worlds())
def test_preview_counts_are_the_counts_after_the_change(app, data, spec):
    reset_database()
    world = build(spec, issue_api_tokens=False)
    # some records in the recycle bin: counted nowhere, before or after
    for key in data.draw(st.sets(st.sampled_from([r.key for r in spec.records])), label="trashed"):
        model = MODELS[spec.record(key).type]
        db.session.execute(update(model).where(model.id == world.record_ids[key])
                           .values(deleted_at=datetime(2030, 1, 1)))
    admin = User(email="preview-admin@example.com", name="Preview admin", role="admin", password_hash="x")
    db.session.add(admin)
    db.session.commit()
    admin = viewer_for(admin)  # as a request's services get it
    change = data.draw(changes(spec), label="change")

    before = actual_counts()
    assert services.access_review(admin)[1] == before
    try:
        preview = preview_and_apply(world, admin, change)
    except Refused:
        db.session.rollback()
        assert change[0] == "delete" and not spec.enabled  # a group with records while the system is off
        with pytest.raises(Refused):
            services.preview_delete(admin, db.session.get(Group, world.group_ids[change[1]]),
                                    GroupDelete(move_to=world.group_ids[change[2]]))
        return
    after = actual_counts()
    changed = {uid for uid in before if before[uid] != after[uid]}
    assert {line.person.id for line in preview} == changed
    for line in preview:
        assert dict(line.before) == before[line.person.id]
        assert dict(line.after) == after[line.person.id]


def test_preview_is_for_admins_only_and_writes_nothing(app, make):
    make.enable_groups()
    nord = make.group("Nord")
    lars = make.user(name="Lars")
    boss = make.user(role="admin")
    for i in range(3):
        make.company(f"Firma {i}", group=nord)
    db.session.commit()
    with pytest.raises(Refused) as refused:
        services.preview_members(lars, nord, [lars.id])
    assert refused.value.status == 403
    [line] = services.preview_members(boss, nord, [lars.id])
    assert line.person.id == lars.id
    assert line.before["company"] == Levels(0, 0, 3)
    assert line.after["company"] == Levels(3, 0, 0)
    assert db.session.get(Group, nord.id).members == []  # a preview, not a change


def test_preview_of_a_deletion_counts_the_records_where_they_move(app, make):
    make.enable_groups()
    nord, sued = make.group("Nord"), make.group("Süd")
    lars = make.user(name="Lars", groups=[sued])
    boss = make.user(role="admin")
    for i in range(2):
        make.company(f"Firma {i}", group=nord)
    db.session.commit()
    [line] = services.preview_delete(boss, nord, GroupDelete(move_to=sued.id))
    assert line.person.id == lars.id
    assert (line.before["company"], line.after["company"]) == (Levels(0, 0, 2), Levels(2, 0, 0))
    with pytest.raises(Refused) as refused:  # records and no target: the delete's own refusal
        services.preview_delete(boss, nord, GroupDelete())
    assert refused.value.status == 409


# -- the pages: a "Show impact" button next to Save on every change that moves visibility ---------

def _impact_rows(body: str) -> list[str]:
    section = re.search(r'<section id="impact".*?</section>', body, re.S).group(0)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in re.findall(r"<tr>(.*?)</tr>", section, re.S)]


def test_group_page_shows_the_impact_of_new_members_and_saves_nothing(client, make):
    make.enable_groups()
    nord = make.group("Nord")
    lars = make.user(name="Lars")
    boss = make.user(role="admin", name="Chefin")
    for i in range(3):
        make.company(f"Firma {i}", group=nord)
    make.deal("Auftrag", group=nord)
    db.session.commit()
    make.login(client, boss)
    resp = client.post(f"/settings/groups/{nord.id}", data={"name": "Nord", "members": [str(lars.id)],
                                                            "preview": "1"})
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert _impact_rows(body)[1:] == ["Lars Firmen 0 → 3 (+3) 0 3 → 0 (−3)",
                                      "Angebote 0 → 1 (+1) 0 1 → 0 (−1)"]
    assert "Firma 0" not in body and "Auftrag" not in body  # counts, never records
    db.session.expire_all()
    assert db.session.get(Group, nord.id).members == []
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_other_previews_on_their_pages(client, make):
    make.enable_groups()
    nord = make.group("Nord")
    make.user(name="Lars")
    boss = make.user(role="admin", name="Chefin", groups=[nord])
    make.company("Firma", group=nord)
    status = make.field("company", "Kundenstatus")
    db.session.commit()
    make.login(client, boss)
    body = client.post(f"/settings/groups/{nord.id}/delete", data={"move_to": "1", "preview": "1"}).get_data(
        as_text=True)
    assert _impact_rows(body)[1:] == ["Lars Firmen 0 → 1 (+1) 0 1 → 0 (−1)"]
    body = client.post(f"/settings/fields/{status.id}", data={"name": "Kundenstatus", "shared_with": ["1"],
                                                               "preview": "1"}).get_data(as_text=True)
    assert _impact_rows(body)[1:] == ["Lars Firmen 0 0 → 1 (+1) 1 → 0 (−1)"]
    body = client.post("/settings/extensions", data={"preview": "1"}).get_data(as_text=True)
    assert _impact_rows(body)[1:] == ["Lars Firmen 0 → 1 (+1) 0 1 → 0 (−1)"]
    db.session.expire_all()
    assert db.session.get(Group, nord.id) is not None
    assert db.session.get(CustomField, status.id).shared_with == []
    assert db.session.get(Account, 1).groups_enabled


# -- the access review ---------------------------------------------------------------------------

def test_access_review_page_and_csv_count_what_each_user_lists(client, make):
    make.enable_groups()
    nord = make.group("Nord")
    lars = make.user(name="Lars")
    boss = make.user(role="admin", name="Chefin", groups=[nord])
    make.company("Firma Nord", group=nord)
    make.company("Firma Basis")
    make.field("company", "Kundenstatus", shared_with=[make.basis()])
    db.session.commit()
    make.login(client, lars)
    assert client.get("/settings/access-review").status_code == 403
    assert client.get("/settings/access-review.csv").status_code == 403
    listed = client.get("/companies").get_data(as_text=True)
    assert "Firma Nord" in listed and "Firma Basis" in listed  # one in full, one restricted
    client.post("/logout")
    make.login(client, boss)
    page = client.get("/settings/access-review")
    assert page.status_code == 200
    assert "Firma" not in page.get_data(as_text=True)  # numbers, never records
    resp = client.get("/settings/access-review.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:5] == ["Name", "E-Mail", "Rolle", "Basis", "Nord"]
    assert rows[0][5:8] == ["Firmen: voll", "Firmen: eingeschränkt", "Firmen: verborgen"]
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["Chefin"][3:8] == ["x", "x", "2", "0", "0"]
    assert by_name["Lars"][3:8] == ["x", "", "1", "1", "0"]


# -- the API ---------------------------------------------------------------------------------------

def test_api_impact_preview_and_access_review(client, make):
    from crm.auth.services import issue_token

    make.enable_groups()
    nord = make.group("Nord")
    lars = make.user(name="Lars")
    boss = make.user(role="admin", name="Chefin")
    make.company("Firma", group=nord)
    db.session.commit()
    admin = {"Authorization": f"Bearer {issue_token(boss)}"}
    normal = {"Authorization": f"Bearer {issue_token(lars)}"}
    body = {"change": "members", "group_id": nord.id, "member_ids": [lars.id]}
    assert client.post("/api/v1/impact", json=body, headers=normal).status_code == 403
    resp = client.post("/api/v1/impact", json=body, headers=admin)
    assert resp.status_code == 200
    assert resp.json == {"users": [{"user_id": lars.id, "name": "Lars", "changes": {"company": {
        "before": {"full": 0, "restricted": 0, "hidden": 1}, "after": {"full": 1, "restricted": 0, "hidden": 0}}}}]}
    db.session.expire_all()
    assert db.session.get(Group, nord.id).members == []
    resp = client.post("/api/v1/impact", json={"change": "members", "group_id": nord.id}, headers=admin)
    assert resp.status_code == 422 and "member_ids" in resp.json["error"]["fields"]
    resp = client.post("/api/v1/impact", json={"change": "delete_group", "group_id": 999}, headers=admin)
    assert resp.status_code == 422 and "group_id" in resp.json["error"]["fields"]
    resp = client.post("/api/v1/impact", json={"change": "groups_enabled", "groups_enabled": False},
                       headers=admin)
    assert sorted(u["user_id"] for u in resp.json["users"]) == sorted([lars.id, boss.id])  # nobody is in Nord

    assert client.get("/api/v1/access-review", headers=normal).status_code == 403
    review = client.get("/api/v1/access-review", headers=admin).json
    assert review["groups"] == [{"id": 1, "name": "Basis"}, {"id": nord.id, "name": "Nord"}]
    by_id = {u["id"]: u for u in review["users"]}
    assert by_id[lars.id]["group_ids"] == [1]
    assert by_id[lars.id]["counts"]["company"] == {"full": 0, "restricted": 0, "hidden": 1}


# -- membership editing that scales ----------------------------------------------------------------

def test_members_are_found_by_search_and_added_and_removed_many_at_once(client, make):
    make.enable_groups()
    nord = make.group("Nord")
    boss = make.user(role="admin", name="Chefin")
    staff = [make.user(name=f"Vertrieb {i:02d}", email=f"v{i}@firma.example") for i in range(30)]
    make.user(name="Vertrieb Ehemalig", email="alt@firma.example").active = False
    db.session.commit()
    make.login(client, boss)
    body = client.get(f"/settings/groups/{nord.id}?q=VERTRIEB 1").get_data(as_text=True)
    found = re.findall(r'name="user_ids" value="(\d+)"', body)
    assert found == [str(u.id) for u in staff[10:20]]  # by name, case-insensitive; not inactive ones
    body = client.get(f"/settings/groups/{nord.id}?q=%25").get_data(as_text=True)
    assert "Kein Benutzer gefunden" in body  # a LIKE wildcard is plain text
    resp = client.post(f"/settings/groups/{nord.id}/members/add", data={"user_ids": found, "preview": "1"})
    assert resp.status_code == 200 and 'id="impact"' in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Group, nord.id).members == []  # a preview
    resp = client.post(f"/settings/groups/{nord.id}/members/add", data={"user_ids": found})
    assert resp.status_code == 302
    db.session.expire_all()
    assert sorted(u.id for u in db.session.get(Group, nord.id).members) == [u.id for u in staff[10:20]]
    body = client.get(f"/settings/groups/{nord.id}?q=VERTRIEB 1").get_data(as_text=True)
    assert "Kein Benutzer gefunden" in body  # members are no longer offered
    resp = client.post(f"/settings/groups/{nord.id}/members/remove",
                       data={"user_ids": [str(u.id) for u in staff[10:15]]})
    assert resp.status_code == 302
    db.session.expire_all()
    assert sorted(u.id for u in db.session.get(Group, nord.id).members) == [u.id for u in staff[15:20]]
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    # joining their only group made it each one's default; leaving it took the default away again
    assert actions == ["member_added", "default_group_set"] * 10 + ["member_removed", "default_group_set"] * 5
    assert [u.default_group_id for u in staff[10:20]] == [None] * 5 + [nord.id] * 5
    # nothing ticked, or an unknown user: refused, nothing changes
    assert client.post(f"/settings/groups/{nord.id}/members/add", data={}).status_code == 302
    assert client.post(f"/settings/groups/{nord.id}/members/add", data={"user_ids": ["999999"]}).status_code == 302
    db.session.expire_all()
    assert len(db.session.get(Group, nord.id).members) == 5
