"""Concurrency: two real processes (each its own app, its own connections) edit the same records
through the edit form and assign their companies (with people, deals and projects) to groups,
at the same time, on the same SQLite file or PostgreSQL database.

No 500, no "database is locked", no lost update: every change of a record is based on a
different version of it (an edit on the version it read, an assignment on the version it moved),
the final version counts every change, the final text is the last successful edit's, and a
conflicting edit answers 409 with the user's input kept and a message.
"""
from __future__ import annotations

import multiprocessing as mp
import re
import traceback

from sqlalchemy import func, select

from crm.audit.models import AssignmentChange
from crm.extensions import db
from crm.models import Company, Deal, Person

from . import figures
from .world import BASIS, PASSWORD, RecordSpec, UserSpec, WorldSpec, build

ROUNDS = 12
WORKERS = ("p1", "p2")
TARGETS = (  # (type, plural, name field, text field) edited by both workers
    ("company", "companies", "name", "background"),
    ("person", "people", "last_name", "background"),
    ("deal", "deals", "name", "description"),
)


def _spec() -> WorldSpec:
    users = (UserSpec("p1", "admin", frozenset({"G1", "G2"})), UserSpec("p2", "admin", frozenset({"G1", "G2"})))
    records = []
    for i in range(2):
        records += [
            RecordSpec(f"c{i}", "company", "G1", notes=0, task=False),
            RecordSpec(f"p{i}", "person", "G1", company=f"c{i}", notes=0, task=False),
            RecordSpec(f"d{i}", "deal", "G1", company=f"c{i}", person=f"p{i}", notes=0, task=False),
            RecordSpec(f"pr{i}", "project", BASIS, company=f"c{i}", notes=0, task=False),
        ]
    return WorldSpec(True, ("G1", "G2"), users, (), tuple(records))


def _field(body: str, name: str) -> str:
    m = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', body) or re.search(
        rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', body)
    return m.group(1) if m else ""


def _selected(body: str, name: str) -> str:
    m = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', body, re.DOTALL)
    if not m:
        return ""
    sel = re.search(r'<option[^>]*selected[^>]*value="([^"]*)"|<option[^>]*value="([^"]*)"[^>]*selected', m.group(1))
    return (sel.group(1) or sel.group(2)) if sel else ""


def worker(url: str, me: str, email: str, records: list, groups: dict, start, out) -> None:
    """One process: log in, then ROUNDS times edit every target record and assign the companies."""
    results: list = []
    try:
        from flask import g

        from crm import create_app
        from crm.auth.models import User
        from crm.records.assign import assign_group
        from crm.records.types import TYPES
        from crm.visibility import viewer_for
        from tests.conftest import TEST_CONFIG, FreshContextClient

        app = create_app({**TEST_CONFIG, "TESTING": False, "SQLALCHEMY_DATABASE_URI": url})
        app.test_client_class = FreshContextClient
        client = app.test_client()
        assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
        companies = [rid for (key, rid, *_rest) in records if key == "company"]
        start.wait()
        for i in range(ROUNDS):
            for key, rid, plural, name_field, name, text_field in records:
                page = client.get(f"/{plural}/{rid}/edit")
                body = page.get_data(as_text=True)
                if page.status_code != 200:
                    results.append(("error", f"GET {plural}/{rid}/edit: {page.status_code}"))
                    continue
                version = _field(body, "version")
                marker = f"{me}-{i}-{key}"
                data = {name_field: name, text_field: marker, "version": version,
                        "group_id": _selected(body, "group_id"), "responsible_id": ""}
                if key == "deal":
                    data.update(currency="EUR", stage="open")
                resp = client.post(f"/{plural}/{rid}/edit", data=data)
                text = resp.get_data(as_text=True)
                told = resp.status_code != 409 or ("form-errors" in text and marker in text)
                results.append(("edit", key, rid, int(version), marker, resp.status_code, told))
            # assign every company with what hangs on it, p1 to G1 and p2 to G2: they fight
            with app.test_request_context("/companies", method="POST"):
                g.viewer = viewer = viewer_for(db.session.scalar(select(User).where(User.email == email)))
                try:
                    res = assign_group(TYPES["company"], companies, groups[me], viewer,
                                       cascade=["people", "deals", "projects"])
                    db.session.commit()
                    results.append(("assign", res["updated"]))
                except Exception as err:
                    db.session.rollback()
                    results.append(("error", f"assign: {err!r}"))
                finally:
                    db.session.remove()
    except Exception:
        results.append(("error", traceback.format_exc()))
    out.put((me, results))


def test_two_processes_edit_and_assign_the_same_records(app):
    world = build(_spec(), issue_api_tokens=False)
    url = db.engine.url.render_as_string(hide_password=False)
    records = []
    for key, plural, name_field, text_field in TARGETS:
        for r in world.records_of(key):
            name = next(t.text for t in world.name_tokens(r.key) if t.owner[2] == name_field)
            records.append((key, world.record_ids[r.key], plural, name_field, name, text_field))
    groups = {"p1": world.group_ids["G1"], "p2": world.group_ids["G2"]}
    db.session.remove()
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(len(WORKERS))
    out = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(url, me, world.user_emails[me], records, groups, start, out))
             for me in WORKERS]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=600) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    everything = [r for rs in results.values() for r in rs]
    errors = [r[1] for r in everything if r[0] == "error"]
    edits = [r for r in everything if r[0] == "edit"]
    assigns = [r for r in everything if r[0] == "assign"]
    figures.add("concurrent_ops", len(edits) + len(assigns))
    figures.add("conflicts_detected", sum(1 for e in edits if e[5] == 409))
    server_errors = [e for e in edits if e[5] >= 500]
    figures.add("server_errors", len(server_errors) + len(errors))
    assert not errors, errors[:3]
    assert not server_errors, server_errors[:3]
    assert all(e[5] in (302, 409) for e in edits), sorted({e[5] for e in edits})
    assert all(e[6] for e in edits), "a 409 did not tell the user or lost their input"
    # no lost update: every change of a record is based on a version nobody else changed from
    models = {"company": Company, "person": Person, "deal": Deal}
    lost = []
    for key, rid, _plural, _nf, _name, text_field in records:
        ok = sorted((e[3], e[4]) for e in edits if e[1] == key and e[2] == rid and e[5] == 302)
        moved = [v - 1 for v in db.session.scalars(select(AssignmentChange.new_version).where(
            AssignmentChange.record_type == key, AssignmentChange.record_id == rid))]
        based_on = [v for v, _m in ok] + moved
        obj = db.session.get(models[key], rid)
        if len(based_on) != len(set(based_on)):
            lost.append(f"{key} {rid}: two changes from the same version {sorted(based_on)}")
        if obj.version != 1 + len(based_on):
            lost.append(f"{key} {rid}: version {obj.version}, but {len(based_on)} changes")
        if ok and getattr(obj, text_field) != ok[-1][1]:
            lost.append(f"{key} {rid}: ends with {getattr(obj, text_field)!r}, last saved {ok[-1][1]!r}")
    figures.add("lost_updates", len(lost))
    assert not lost, lost
    # the two fought over every company: each assignment moved all or nothing
    total = db.session.scalar(select(func.count()).select_from(AssignmentChange))
    assert total == sum(sum(a[1].values()) for a in assigns)
    assert len(assigns) == ROUNDS * len(WORKERS)
    assert sum(1 for e in edits if e[5] == 302) >= len(records)
