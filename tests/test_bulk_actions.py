"""Bulk actions on the list pages: selection, the assign dialog with its cascade, tags, delete,
export, undo - through the web endpoints, as the pages use them."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from crm.audit.models import AuditEntry
from crm.extensions import db
from crm.models import Company
from crm.records.models import MODELS, TAG_TABLES

HX = {"HX-Request": "true", "HX-Target": "dialog"}
PLURAL = {"company": "companies", "person": "people", "deal": "deals", "project": "projects"}


@pytest.fixture
def world(make):
    """Groups on. Nord members see Süd companies restricted (a company field is shared with Nord)
    and Süd people, deals and projects not at all."""
    make.enable_groups()
    admin = make.user("admin")
    normal = make.user("normal")
    extended = make.user("extended")
    nord = make.group("Nord", [admin, normal, extended])
    sued = make.group("Süd")
    make.field("company", "Kundenstatus", shared_with=[nord])
    alpha = make.company("Alpha Nord-Firma", tags=["Messe"])
    beta = make.company("Beta Nord-Firma")
    gamma = make.company("Gamma")
    secret = make.company("Geheim Süd-Firma", group=sued, tags=["Messe"])  # restricted for Nord members
    p1 = make.person("Eins", company=alpha)
    p2 = make.person("Zwei", company=alpha, group=nord)  # already in Nord
    p_hidden = make.person("Verborgen", company=alpha, group=sued)  # hidden for everyone here
    d1 = make.deal("D1", company=alpha)
    d_hidden = make.deal("D-Süd", company=beta, group=sued)
    pr1 = make.project("P1", company=beta)
    pr_secret = make.project("P-Süd", company=secret, group=sued)
    return locals()


def snapshot() -> dict:
    """(group, version) of every record not in the recycle bin, read fresh from the database."""
    db.session.expire_all()
    return {
        (key, rid): (gid, version)
        for key, model in MODELS.items()
        for rid, gid, version in db.session.execute(
            select(model.id, model.group_id, model.version).where(model.deleted_at.is_(None)))
    }


def post(client, url, **data):
    return client.post(url, data=data, headers=HX)


def shown_counts(html: str) -> dict[str, int]:
    return {k: int(re.sub(r"\D", "", v)) for k, v in re.findall(r'data-count="(\w+)">\s*([\d.,]+)', html)}


def assign(client, ids, target, cascade=(), step="run", plural="companies", **extra):
    return post(client, f"/{plural}/bulk/assign", scope="ids", ids=[str(i) for i in ids], target_id=str(target),
                cascade=list(cascade), step=step, **extra)


# -- the assign dialog -------------------------------------------------------------------------

def test_cascade_counts_shown_equal_counts_changed(client, make, world):
    w = world
    make.login(client, w["admin"])
    ids = [w["alpha"].id, w["beta"].id]
    dialog = post(client, "/companies/bulk/assign", scope="ids", ids=[str(i) for i in ids])
    assert dialog.status_code == 200
    # before a group is chosen: every fully visible related record (hidden ones not counted)
    assert shown_counts(dialog.text) == {"people": 2, "deals": 1, "projects": 1}
    preview = client.post("/companies/bulk/assign?step=preview", data={
        "scope": "ids", "ids": ids, "target_id": w["nord"].id}, headers={**HX, "HX-Target": "assign-preview"})
    # p2 is in Nord already: it would not move
    assert shown_counts(preview.text) == {"companies": 2, "people": 1, "deals": 1, "projects": 1}
    confirm = assign(client, ids, w["nord"].id, ["people", "deals"], step="confirm")
    assert confirm.status_code == 200
    shown = shown_counts(confirm.text)
    assert shown == {"companies": 2, "people": 1, "deals": 1}
    before = snapshot()
    done = assign(client, ids, w["nord"].id, ["people", "deals"])
    assert done.status_code == 200
    after = snapshot()
    changed: dict[str, int] = {}
    for (key, rid), (gid, _v) in after.items():
        if before[(key, rid)][0] != gid:
            changed[PLURAL[key]] = changed.get(PLURAL[key], 0) + 1
    assert changed == shown
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "group_assigned"))
    assert entry.details["counts"] == shown
    assert entry.actor_id == w["admin"].id and entry.details["group"] == "Nord"
    # the answer closes the dialog and refreshes the list out of band, with Undo in the message
    assert 'id="record-list" hx-swap-oob="true"' in done.text
    assert f"/companies/bulk/undo/{entry.id}" in done.text


def test_cascade_never_touches_what_the_actor_does_not_fully_see(client, make, world):
    w = world
    make.login(client, w["normal"])
    before = snapshot()
    resp = assign(client, [w["alpha"].id, w["beta"].id, w["secret"].id], w["nord"].id,
                  ["people", "deals", "projects"])
    assert resp.status_code == 200
    after = snapshot()
    for key, obj in (("person", w["p_hidden"]), ("deal", w["d_hidden"]), ("project", w["pr_secret"]),
                     ("company", w["secret"])):
        assert after[(key, obj.id)] == before[(key, obj.id)], key  # group and version untouched
    assert after[("person", w["p1"].id)][0] == w["nord"].id
    assert after[("project", w["pr1"].id)][0] == w["nord"].id


def test_failure_midway_leaves_every_record_as_it_was(client, make, world, monkeypatch):
    w = world
    from crm.records import assign as service

    real = service.update
    calls = {"n": 0}

    def failing(model):
        calls["n"] += 1
        if calls["n"] == 3:  # people and deals moved, then the companies' UPDATE fails
            raise RuntimeError("injected")
        return real(model)

    make.login(client, w["admin"])
    before = snapshot()
    monkeypatch.setattr(service, "update", failing)
    with pytest.raises(RuntimeError):
        assign(client, [w["alpha"].id, w["beta"].id], w["nord"].id, ["people", "deals"])
    db.session.rollback()  # what the end of the request does
    assert calls["n"] == 3
    assert snapshot() == before
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "group_assigned")) is None


def test_normal_user_offered_only_own_groups_and_forged_target_refused(client, make, world):
    w = world
    make.login(client, w["normal"])
    dialog = post(client, "/companies/bulk/assign", scope="ids", ids=[str(w["alpha"].id)])
    offered = set(re.findall(r'<option value="(\d+)"', dialog.text))
    assert offered == {"1", str(w["nord"].id)}
    before = snapshot()
    for step in ("confirm", "run"):
        forged = assign(client, [w["alpha"].id], w["sued"].id, ["people"], step=step)
        assert forged.status_code == 422
        assert f'value="{w["sued"].id}"' not in forged.text
    assert snapshot() == before
    # an admin is offered every group
    client.post("/logout")
    make.login(client, w["admin"])
    dialog = post(client, "/companies/bulk/assign", scope="ids", ids=[str(w["alpha"].id)])
    assert str(w["sued"].id) in set(re.findall(r'<option value="(\d+)"', dialog.text))


def test_warning_before_records_leave_the_users_groups(client, make, world):
    w = world
    make.login(client, w["admin"])  # admin is in Nord, not in Süd
    preview = client.post("/companies/bulk/assign?step=preview", data={
        "scope": "ids", "ids": [w["gamma"].id], "target_id": w["sued"].id},
        headers={**HX, "HX-Target": "assign-preview"})
    confirm = assign(client, [w["gamma"].id], w["sued"].id, step="confirm")
    for resp in (preview, confirm):
        assert 'class="notice" role="alert"' in resp.text
    staying = assign(client, [w["gamma"].id], w["nord"].id, step="confirm")
    assert 'class="notice"' not in staying.text


def test_people_have_no_cascade(client, make, world):
    w = world
    make.login(client, w["admin"])
    dialog = post(client, "/people/bulk/assign", scope="ids", ids=[str(w["p1"].id)])
    assert 'name="cascade"' not in dialog.text
    resp = assign(client, [w["p1"].id], w["nord"].id, ["deals"], plural="people")  # cascade is ignored
    assert resp.status_code == 200
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "group_assigned"))
    assert entry.details["counts"] == {"people": 1}


def test_dialog_and_actions_refuse_restricted_and_hidden_ids(client, make, world):
    w = world
    make.login(client, w["normal"])
    before = snapshot()
    missing = 999_999
    answers = {}
    for name, ids, plural in (("restricted", [w["secret"].id], "companies"),
                              ("hidden", [w["p_hidden"].id], "people"),
                              ("missing", [missing], "people")):
        for url in (f"/{plural}/bulk/assign", f"/{plural}/bulk/tag", f"/{plural}/bulk/delete"):
            resp = post(client, url, scope="ids", ids=[str(i) for i in ids], target_id=str(w["nord"].id),
                        tag_name="X", step="run")
            assert resp.status_code in (403, 422), (name, url)
            answers[(name, url.rsplit("/", 1)[1])] = (resp.status_code, make.without_csrf(resp.text))
    # a hidden record answers exactly like one that does not exist
    for action in ("assign", "tag", "delete"):
        assert answers[("hidden", action)] == answers[("missing", action)]
    assert snapshot() == before
    # mixed: the visible ones are acted on, the others ignored
    resp = post(client, "/companies/bulk/tag", scope="ids", ids=[str(w["alpha"].id), str(w["secret"].id)],
                tag_name="Neu", step="run", mode="add")
    assert resp.status_code == 200
    assert tags_of("company", w["alpha"].id) == {"Messe", "Neu"}
    assert tags_of("company", w["secret"].id) == {"Messe"}


# -- the selection -------------------------------------------------------------------------------

def test_list_offers_checkboxes_only_on_fully_visible_rows(client, make, world):
    w = world
    make.login(client, w["normal"])
    page = client.get("/companies").text
    boxes = set(re.findall(r'data-select-id value="(\d+)"', page))
    assert boxes == {str(w[k].id) for k in ("alpha", "beta", "gamma")}
    assert f'id="row-{w["secret"].id}"' in page  # listed (restricted) but not selectable
    state = re.search(r'data-list-state data-filter-key="([^"]*)"\s+data-selectable="(\d+)"', page)
    assert state.group(2) == "3"


def test_select_all_matching_never_includes_hidden_or_restricted(client, make, world):
    w = world
    make.login(client, w["normal"])
    page = client.get("/companies?q=nord").text
    assert re.search(r'data-selectable="(\d+)"', page).group(1) == "2"
    page = client.get("/companies?q=firma").text  # word "Firma": matches the restricted Süd-Firma by name too
    assert re.search(r'data-selectable="(\d+)"', page).group(1) == "2"
    before = snapshot()
    resp = post(client, "/companies/bulk/tag", scope="all", q="firma", tag_name="Alle", mode="add", step="run")
    assert resp.status_code == 200
    tagged = {rid for rid, in db.session.execute(select(TAG_TABLES["company"].c.company_id).where(
        TAG_TABLES["company"].c.tag_id.in_(select_tag_id("Alle"))))}
    assert tagged == {w["alpha"].id, w["beta"].id}
    # a tag filter plus "all": the restricted company tagged Messe stays out
    resp = post(client, "/companies/bulk/assign", scope="all", tag="Messe", target_id=str(w["nord"].id),
                cascade=["people", "deals", "projects"], step="run")
    assert resp.status_code == 200
    after = snapshot()
    assert after[("company", w["alpha"].id)][0] == w["nord"].id
    assert after[("company", w["secret"].id)] == before[("company", w["secret"].id)]
    assert after[("person", w["p_hidden"].id)] == before[("person", w["p_hidden"].id)]
    assert after[("company", w["beta"].id)][0] == 1  # not tagged Messe: not matching
    # on people: the hidden one is never part of "all"
    make.person("Frei")
    resp = post(client, "/people/bulk/assign", scope="all", target_id=str(w["nord"].id), step="confirm")
    assert shown_counts(resp.text) == {"people": 1}  # Frei; p1 moved along with Alpha, p2 is in Nord


def test_all_matching_runs_on_the_filter_not_on_ids(client, make, world):
    """The page sends the filter; ids sent along with scope=all do not widen it."""
    w = world
    make.login(client, w["admin"])
    resp = post(client, "/companies/bulk/tag", scope="all", q="gamma", ids=[str(w["alpha"].id)],
                tag_name="G", mode="add", step="run")
    assert resp.status_code == 200
    assert tags_of("company", w["gamma"].id) == {"G"}
    assert "G" not in tags_of("company", w["alpha"].id)


# -- tags, delete, export ------------------------------------------------------------------------

def tags_of(key: str, rid: int) -> set[str]:
    from crm.records.models import Tag

    table = TAG_TABLES[key]
    return set(db.session.scalars(select(Tag.name).join(table, table.c.tag_id == Tag.id)
                                  .where(table.c[f"{key}_id"] == rid)))


def select_tag_id(name: str):
    from crm.records.models import Tag

    return select(Tag.id).where(Tag.name == name)


def test_add_and_remove_tag(client, make, world):
    w = world
    make.login(client, w["normal"])
    ids = [str(w["alpha"].id), str(w["beta"].id), str(w["secret"].id)]
    dialog = post(client, "/companies/bulk/tag", scope="ids", ids=ids, mode="remove")
    assert re.findall(r'<option value="([^"]+)"', dialog.text) == ["Messe"]  # only from visible records
    before = snapshot()
    resp = post(client, "/companies/bulk/tag", scope="ids", ids=ids, tag_name="  Top  Kunde ", mode="add", step="run")
    assert resp.status_code == 200
    assert tags_of("company", w["alpha"].id) == {"Messe", "Top Kunde"}
    assert tags_of("company", w["beta"].id) == {"Top Kunde"}
    assert tags_of("company", w["secret"].id) == {"Messe"}
    after = snapshot()
    assert after[("company", w["alpha"].id)][1] == before[("company", w["alpha"].id)][1] + 1
    assert after[("company", w["secret"].id)] == before[("company", w["secret"].id)]
    # again: nothing changes, no version bump
    post(client, "/companies/bulk/tag", scope="ids", ids=ids, tag_name="top kunde", mode="add", step="run")
    assert snapshot() == after
    resp = post(client, "/companies/bulk/tag", scope="ids", ids=ids, tag_name="Messe", mode="remove", step="run")
    assert resp.status_code == 200
    assert tags_of("company", w["alpha"].id) == {"Top Kunde"}
    assert tags_of("company", w["secret"].id) == {"Messe"}
    resp = post(client, "/companies/bulk/tag", scope="ids", ids=ids, tag_name="", mode="add", step="run")
    assert resp.status_code == 422


def test_delete_needs_the_role_and_a_confirmation(client, make, world):
    w = world
    alpha, secret = w["alpha"].id, w["secret"].id
    ids = [str(alpha), str(secret)]
    make.login(client, w["normal"])
    assert post(client, "/companies/bulk/delete", scope="ids", ids=ids).status_code == 403
    assert post(client, "/companies/bulk/delete", scope="ids", ids=ids, step="run").status_code == 403
    assert "bulk/delete" not in client.get("/companies").text
    client.post("/logout")
    make.login(client, w["extended"])
    assert "bulk/delete" in client.get("/companies").text
    confirm = post(client, "/companies/bulk/delete", scope="ids", ids=ids)
    assert confirm.status_code == 200 and 'name="step" value="run"' in confirm.text
    assert snapshot().get(("company", alpha)) is not None  # the first step deletes nothing
    resp = post(client, "/companies/bulk/delete", scope="ids", ids=ids, step="run")
    assert resp.status_code == 200
    remaining = snapshot()
    assert ("company", alpha) not in remaining
    assert ("company", secret) in remaining  # restricted: untouched


def test_export_selected(client, make, world):
    w = world
    ids = [str(w["alpha"].id), str(w["secret"].id)]
    make.login(client, w["normal"])
    assert client.post("/companies/bulk/export.csv", data={"scope": "ids", "ids": ids}).status_code == 403
    client.post("/logout")
    make.login(client, w["extended"])
    resp = client.post("/companies/bulk/export.csv", data={"scope": "ids", "ids": ids})
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    body = resp.get_data(as_text=True)
    assert "Alpha Nord-Firma" in body and "Süd-Firma" not in body and "Gamma" not in body
    resp = client.post("/companies/bulk/export.csv", data={"scope": "all", "q": "firma"})
    body = resp.get_data(as_text=True)
    assert "Alpha Nord-Firma" in body and "Beta Nord-Firma" in body and "Süd-Firma" not in body


# -- undo ----------------------------------------------------------------------------------------

def _entry() -> AuditEntry:
    db.session.expire_all()
    return db.session.scalar(select(AuditEntry).where(AuditEntry.action == "group_assigned")
                             .order_by(AuditEntry.id.desc()))


def test_undo_restores_exactly_and_reports_the_skipped(client, make, world):
    w = world
    west = make.group("West", [w["admin"]])  # the undoer sees the records there too
    make.login(client, w["admin"])
    before = snapshot()
    assign(client, [w["alpha"].id, w["beta"].id, w["gamma"].id], west.id, ["people", "deals", "projects"])
    entry = _entry()
    moved = snapshot()
    assert moved[("company", w["alpha"].id)][0] == west.id
    assert moved[("person", w["p2"].id)][0] == west.id  # from Nord
    # someone in West edits Gamma meanwhile: it keeps its new group
    gamma = db.session.get(Company, w["gamma"].id)
    gamma.website = "https://gamma.example"
    db.session.commit()
    resp = client.post(f"/companies/bulk/undo/{entry.id}", data={"scope": "ids", "sort": "name"},
                       headers={"HX-Request": "true", "HX-Target": "bulk-message"})
    assert resp.status_code == 200
    assert 'id="bulk-message" hx-swap-oob="true"' in resp.text and "flash-warning" in resp.text
    after = snapshot()
    for (key, rid), (gid, _v) in before.items():
        if (key, rid) == ("company", w["gamma"].id):
            assert after[(key, rid)][0] == west.id
        else:
            assert after[(key, rid)][0] == gid, (key, rid)
    undone = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "assignment_undone"))
    assert undone.details["skipped"]["companies"] == 1
    assert undone.details["counts"] == {"companies": 2, "people": 2, "deals": 1, "projects": 1}
    # once only
    again = client.post(f"/companies/bulk/undo/{entry.id}", data={},
                        headers={"HX-Request": "true", "HX-Target": "bulk-message"})
    assert "flash-error" in again.text
    assert snapshot() == after


def test_who_may_undo(client, make, world):
    w = world
    other = make.user("normal", groups=[w["nord"]])
    make.login(client, w["normal"])
    assign(client, [w["gamma"].id], w["nord"].id)
    entry = _entry()
    done = assign(client, [w["beta"].id], w["nord"].id)
    assert "/bulk/undo/" in done.text  # the actor is offered Undo
    client.post("/logout")
    make.login(client, other)
    resp = client.post(f"/companies/bulk/undo/{entry.id}", headers=HX)
    # someone else's assignment: the same 404 as a missing one, not a 403 that confirms it (issue 12, finding 8)
    assert resp.status_code == 404
    assert snapshot()[("company", w["gamma"].id)][0] == w["nord"].id
    # undo of another type's entry through the wrong URL: not there
    client.post("/logout")
    make.login(client, w["admin"])
    assert client.post(f"/people/bulk/undo/{entry.id}").status_code == 404
    # an admin undoes from the audit log (a plain form there)
    log = client.get("/settings/audit").text
    assert f'action="/companies/bulk/undo/{entry.id}"' in log
    resp = client.post(f"/companies/bulk/undo/{entry.id}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/settings/audit")
    assert snapshot()[("company", w["gamma"].id)][0] == 1
    assert f'action="/companies/bulk/undo/{entry.id}"' not in client.get("/settings/audit").text


def test_undo_leaves_records_that_vanished_for_the_actor(client, make, world):
    """Moved out of one's own groups, the records are gone for the actor, and an undo does not
    touch them: it would change records its actor cannot see (product.md §8). The confirm does not
    promise an undo; an undo that puts nothing back is refused and leaves the entry as it was,
    open for someone who may undo it (a new-user trial: it was marked undone with 0 counts)."""
    w = world
    make.login(client, w["admin"])
    confirm = assign(client, [w["alpha"].id], w["sued"].id, ["people"], step="confirm")
    assert "danach rückgängig machen" not in confirm.text
    assert "nicht selbst rückgängig machen" in confirm.text
    mine = assign(client, [w["beta"].id], w["nord"].id, step="confirm")  # a group the admin sees
    assert "danach rückgängig machen" in mine.text
    done = assign(client, [w["alpha"].id], w["sued"].id, ["people"])
    assert "/bulk/undo/" not in done.text  # no Undo offered that could move nothing
    assert f'data-select-id value="{w["alpha"].id}"' not in client.get("/companies").text
    before = snapshot()
    entry = _entry()
    counts = dict(entry.details["counts"])
    resp = client.post(f"/companies/bulk/undo/{entry.id}", headers={"HX-Request": "true", "HX-Target": "bulk-message"})
    assert "Nichts konnte zurückverschoben werden" in resp.text and "flash-error" in resp.text
    after = snapshot()
    assert after == before
    assert after[("company", w["alpha"].id)][0] == w["sued"].id
    db.session.expire_all()
    entry = db.session.get(AuditEntry, entry.id)
    assert entry.undone_at is None and entry.details["counts"] == counts  # still open, its counts kept
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "assignment_undone")) is None
    # a plain form (the audit log's): the same refusal, flashed; the log offers no Undo to this
    # admin, but to an admin of Süd (and Basis), who can still undo it
    resp = client.post(f"/companies/bulk/undo/{entry.id}", follow_redirects=True)
    assert "Nichts konnte zurückverschoben werden" in resp.text
    assert f'action="/companies/bulk/undo/{entry.id}"' not in resp.text
    client.post("/logout")
    make.login(client, make.user("admin", groups=[w["sued"]]))
    assert f'action="/companies/bulk/undo/{entry.id}"' in client.get("/settings/audit").text
    client.post(f"/companies/bulk/undo/{entry.id}")
    assert snapshot()[("company", w["alpha"].id)][0] != w["sued"].id


# -- CSRF ----------------------------------------------------------------------------------------

def test_bulk_posts_need_the_csrf_token(app, client, make, world):
    w = world
    make.login(client, w["extended"])
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        page = client.get("/companies").text
        token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
        data = {"scope": "ids", "ids": [str(w["alpha"].id)], "tag_name": "T", "mode": "add", "step": "run",
                "target_id": str(w["nord"].id)}
        before = snapshot()
        for url in ("/companies/bulk/assign", "/companies/bulk/tag", "/companies/bulk/delete",
                    "/companies/bulk/export.csv", "/companies/bulk/undo/1"):
            assert client.post(url, data=data, headers=HX).status_code == 400, url
        assert snapshot() == before
        ok = client.post("/companies/bulk/tag", data=data, headers={**HX, "X-CSRFToken": token})
        assert ok.status_code == 200
        assert tags_of("company", w["alpha"].id) == {"Messe", "T"}
    finally:
        app.config["WTF_CSRF_ENABLED"] = False



def test_undo_puts_back_only_where_the_undoer_may_assign(client, make, world):
    """A normal user who has left the previous group can no longer move records back there."""
    w = world
    from crm.groups.models import group_members

    both = make.user("normal", groups=[w["nord"], w["sued"]])
    make.login(client, both)
    assign(client, [w["secret"].id, w["gamma"].id], w["nord"].id, ["projects"])  # from Süd and Basis
    entry = _entry()
    assert entry.details["counts"] == {"companies": 2, "projects": 1}
    db.session.execute(group_members.delete().where(group_members.c.user_id == both.id,
                                                    group_members.c.group_id == w["sued"].id))
    db.session.commit()
    client.post(f"/companies/bulk/undo/{entry.id}", headers={"HX-Request": "true", "HX-Target": "bulk-message"})
    after = snapshot()
    assert after[("company", w["gamma"].id)][0] == 1  # back in Basis
    assert after[("company", w["secret"].id)][0] == w["nord"].id  # stays: not allowed into Süd any more
    assert after[("project", w["pr_secret"].id)][0] == w["nord"].id
    undone = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "assignment_undone"))
    assert undone.details["skipped"] == {"companies": 1, "projects": 1}


def test_nothing_to_move_offers_no_undo(client, make, world):
    w = world
    make.login(client, w["admin"])
    resp = assign(client, [w["gamma"].id], 1)  # Gamma is in Basis already
    assert resp.status_code == 200 and "/bulk/undo/" not in resp.text
    entry = _entry()
    assert entry.details["counts"] == {"companies": 0} and not entry.details["undoable"]
    assert "/bulk/undo/" not in client.get("/settings/audit").text


def test_without_the_group_system_there_is_no_assign_action(client, make, world):
    w = world
    make.enable_groups(False)
    make.login(client, w["normal"])
    page = client.get("/companies").text
    assert "bulk/assign" not in page and "bulk/tag" in page
    assert "bulk/export.csv" not in page  # normal users do not export
    # a crafted request is refused with the one message of the record service, and moves nothing
    resp = assign(client, [w["alpha"].id], w["nord"].id)
    assert resp.status_code == 422 and "nicht in eine andere Gruppe verschoben" in resp.text
    assert db.session.get(Company, w["alpha"].id).group_id == w["alpha"].group_id
    # with the extension off everyone sees everything: all four companies are selectable
    assert len(re.findall(r"data-select-id", page)) == 4


def test_a_long_list_of_ids_moves_exactly_the_fully_visible_ones(client, make):
    """More ids than fit a plain IN list (they go as one parameter): the same rule - ids of
    hidden, restricted or missing records are left alone, the count says only what moved."""
    from crm.auth.services import issue_token

    make.enable_groups()
    boss = make.user("extended", name="Boss")
    nord, sued = make.group("Nord", [boss]), make.group("Süd", [boss])
    geheim = make.group("Geheim")
    mine = [make.company(f"Nord {i}", group=nord).id for i in range(40)]
    hidden = make.company("Verborgen", group=geheim).id
    resp = client.post("/api/v1/companies/assign-group", headers={"Authorization": f"Bearer {issue_token(boss)}"},
                       json={"ids": [*mine, hidden, 999999], "group_id": sued.id})
    assert resp.status_code == 200 and resp.get_json()["updated"]["companies"] == 40
    db.session.expire_all()
    assert {db.session.get(Company, i).group_id for i in mine} == {sued.id}
    assert db.session.get(Company, hidden).group_id == geheim.id


def test_a_selection_of_nothing_changeable_names_the_lock_as_the_lists_draw_it(client, make, world):
    """The dialog explains that restricted records (the lock) are never selected: the lock is the
    lists' own drawing, not an emoji that some browsers show as an empty box (new-user trial)."""
    make.login(client, world["normal"])
    resp = assign(client, [world["secret"].id], world["nord"].id, step="choose")
    assert resp.status_code == 422
    assert "Eingeschränkte Datensätze (<span class=\"lock\"" in resp.text and "🔒" not in resp.text
