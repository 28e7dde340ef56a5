"""Every state-changing route, as a user who must not do it (the target hidden, restricted, in a
group not one's own, a role too low): refused with 403/404, and not a single row of any table
changed (all tables dumped before and after). A hidden target answers exactly like an unknown id.
"""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.files.models import Attachment

from . import figures
from .coverage import ANY_RECORD, KEY_OF, PLURALS, WRITE, fill
from .leakcheck import Ctx, make_ctx
from .probes import Browser, normalized
from .world import BASIS, build, diff_dumps, dump_database, fixed_spec

VALID = {
    "company": {"name": "Übernommen"},
    "person": {"last_name": "Übernommen"},
    "deal": {"name": "Übernommen", "currency": "EUR", "stage": "open"},
    "project": {"name": "Übernommen", "status": "planned"},
}


class Attack:
    """Sends refused writes and checks that nothing changed."""

    def __init__(self, ctx: Ctx):
        self.ctx = ctx
        self.baseline = dump_database()

    def restart(self) -> None:
        """After a write that was meant to succeed: the same world again, from scratch."""
        from .world import reset_database

        failures = self.ctx.failures
        reset_database()
        world = build(self.ctx.world.spec)
        self.ctx = make_ctx(self.ctx.app, world, self.ctx.world_id)
        self.ctx.failures = failures
        self.baseline = dump_database()

    def send(self, b: Browser, method: str, url: str, rule: str, expected, *, data=None, target=None,
             same_as: str | None = None, json=None, exclude: tuple = ("rate_counters",)) -> None:
        api = url.startswith("/api/")
        body = {"json": json if json is not None else {}} if api else {"data": _uploads(data or {})}
        resp = b.send(method, url, rule=rule, target=target, api=api, **body)
        figures.add("unauthorized_attempts")
        allowed = expected if isinstance(expected, tuple) else (expected,)
        context = f"{method} {url} as {b.name}"
        if resp.status_code not in allowed:
            self.ctx.fail(f"{context}: HTTP {resp.status_code}, expected {expected}")
        try:
            b.assert_no_leak(resp, context)
        except AssertionError as err:
            self.ctx.fail(str(err))
        if same_as is not None:
            if not api:
                body = {"data": _uploads(data or {})}  # a file read by the first request is closed
            other = b.send(method, same_as, target=target, api=api, **body)
            if normalized(other) != normalized(resp) or other.status_code != resp.status_code:
                import difflib

                diff = [ln for ln in difflib.unified_diff(normalized(other).splitlines(),
                                                          normalized(resp).splitlines(), lineterm="", n=0)
                        if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
                self.ctx.fail(f"{context}: answers differently from the unknown {same_as}: {diff[:4]}")
        after = dump_database()
        changed = [t for t in after if after[t] != self.baseline[t] and t not in exclude]
        if changed:
            figures.add("unauthorized_writes")
            self.ctx.fail(f"{context} CHANGED THE DATABASE: {diff_dumps(self.baseline, after)}")
        self.baseline = after


def _uploads(data: dict) -> dict:
    """Form data with each ``(bytes, name)`` as a fresh file to upload (one per request)."""
    return {k: (io.BytesIO(v[0]), v[1]) if isinstance(v, tuple) and isinstance(v[0], bytes) else v
            for k, v in data.items()}


def edit_data(ctx: Ctx, b: Browser, rtype: str) -> dict:
    data = dict(VALID[rtype], version="1", responsible_id="")
    if ctx.world.spec.enabled:
        data["group_id"] = str(ctx.world.group_ids[BASIS])
    return data


def attack_record(a: Attack, method: str, rule: str, params: dict) -> None:
    ctx, world = a.ctx, a.ctx.world
    view = params["view"]
    for plural in [params["plural"]] if "plural" in params else list(PLURALS):
        rtype = KEY_OF[plural]
        for b in ctx.browsers:
            unknown = fill(rule, plural=plural, record_id=world.unused_id())
            data = edit_data(ctx, b, rtype) if view == "edit" else (
                {"body": "Übernahme", "kind": "note"} if view == "notes" else
                {"files": (b"Uebernahme", "\u00dcbernahme.txt")} if view == "files" else
                {"stage_id": "2"} if view == "stage" else {})
            for r in world.records_of(rtype):
                lvl = world.level(b.user, r)
                url = fill(rule, plural=plural, record_id=world.record_ids[r.key])
                if lvl == "hidden":
                    a.send(b, method, url, rule, 404, data=data, same_as=unknown)
                elif lvl == "restricted" or (view == "delete" and b.user.role == "normal"):
                    a.send(b, method, url, rule, 403, data=data)
                elif view == "edit" and world.spec.enabled:
                    own = {**data, "group_id": str(world.group_ids[r.group]), "version": "1"}
                    # full, but into a group the user is not a member of
                    for g, gid in world.group_ids.items():
                        if g not in b.user.all_groups:
                            a.send(b, method, url, rule, 400, data={**own, "group_id": str(gid)})
                            break
                    # full, but linking to a record the user cannot fully see (not the one it
                    # links to already: keeping an existing link is allowed)
                    for fk, ref_type in (("company_id", "company"), ("person_id", "person")):
                        if rtype == "company" or (rtype == "person" and fk == "person_id"):
                            continue
                        current = getattr(r, ref_type)
                        for other in world.records_of(ref_type):
                            if world.level(b.user, other) != "full" and other.key != current:
                                a.send(b, method, url, rule, 400,
                                       data={**own, fk: str(world.record_ids[other.key])})
                                break
            a.send(b, method, unknown, rule, 404, data=data)


def attack_record_new(a: Attack, method: str, rule: str, params: dict) -> None:
    ctx, world = a.ctx, a.ctx.world
    rtype = params["rtype"]
    url = fill(rule)
    for b in ctx.browsers:
        base = edit_data(ctx, b, rtype)
        if world.spec.enabled:
            for g, gid in world.group_ids.items():
                if g not in b.user.all_groups:
                    a.send(b, method, url, rule, 400, data={**base, "group_id": str(gid)})
        for fk, ref_type in (("company_id", "company"), ("person_id", "person")):
            if rtype == "company" or (rtype == "person" and fk == "person_id"):
                continue
            for other in world.records_of(ref_type):
                if world.level(b.user, other) != "full":
                    a.send(b, method, url, rule, 400, data={**base, fk: str(world.record_ids[other.key])})
            a.send(b, method, url, rule, 400, data={**base, fk: str(world.unused_id())})


def attack_note_delete(a: Attack, method: str, rule: str, params: dict) -> None:
    """Deleting or changing a note (pages and API): a note of a record the user does not fully see
    is 404 like an unknown one; another author's note is 403 for everyone but admins."""
    ctx, world = a.ctx, a.ctx.world
    api = rule.startswith("/api/")
    data = {"note{id}-body": "Übernahme", "note{id}-kind": "note"} if rule.endswith("/edit") else {}
    body = {"body": "Übernahme"} if api else None

    def fields(nid):
        return {k.replace("{id}", str(nid)): v for k, v in data.items()}

    for b in ctx.browsers:
        unknown = fill(rule, note_id=world.unused_id())
        for r in world.spec.records:
            lvl = world.level(b.user, r)
            for nid in world.note_ids[r.key]:
                url = fill(rule, note_id=nid)
                if lvl != "full":
                    a.send(b, method, url, rule, 404, same_as=unknown, data=fields(nid), json=body)
                    if not api:
                        a.send(b, method, url, rule, 404, target=f"note-{nid}" if data else "notes", data=fields(nid))
        # another author's note on a fully visible record, as anyone but an admin
        if b.user.role != "admin":
            from crm.models import Note

            me = world.user_ids[b.user.key]
            authors = dict(db.session.execute(db.select(Note.id, Note.author_id)).all())
            db.session.rollback()
            for r in world.spec.records:
                others = [n for n in world.note_ids[r.key] if authors.get(n) != me]
                if world.level(b.user, r) == "full" and others:
                    a.send(b, method, fill(rule, note_id=others[0]), rule, 403, data=fields(others[0]), json=body)
                    break
        a.send(b, method, unknown, rule, 404, json=body)


def attack_file_delete(a: Attack, method: str, rule: str, params: dict) -> None:
    """Deleting a file (page and API): a file of a record the user does not fully see is 404 like
    an unknown one; another uploader's file is 403 for normal users (extended users and admins may
    delete any file of a record they fully see)."""
    ctx, world = a.ctx, a.ctx.world
    api = rule.startswith("/api/")
    for b in ctx.browsers:
        unknown = fill(rule, file_id=world.unused_id())
        for r in world.spec.records:
            if world.level(b.user, r) == "full":
                continue
            for fid in world.file_ids[r.key]:
                url = fill(rule, file_id=fid)
                a.send(b, method, url, rule, 404, same_as=unknown)
                if not api:
                    a.send(b, method, url, rule, 404, target="files")
        if b.user.role == "normal":
            me = world.user_ids[b.user.key]
            uploaders = dict(db.session.execute(db.select(Attachment.id, Attachment.uploaded_by_id)).all())
            db.session.rollback()
            for r in world.spec.records:
                others = [f for f in world.file_ids[r.key] if uploaders.get(f) != me]
                if world.level(b.user, r) == "full" and others:
                    a.send(b, method, fill(rule, file_id=others[0]), rule, 403)
                    break
        a.send(b, method, unknown, rule, 404)


def _responsible(world, r) -> int:
    keys = [u.key for u in world.spec.users]
    i = [x.key for x in world.spec.records].index(r.key)
    return world.user_ids[keys[i % len(keys)]]  # as world.build sets it (the notes' author too)


def attack_task_create(a: Attack, method: str, rule: str, params: dict) -> None:
    ctx, world = a.ctx, a.ctx.world
    for b in ctx.browsers:
        me = str(world.user_ids[b.user.key])
        for r in world.spec.records:
            lvl = world.level(b.user, r)
            data = {"title": "Übernahme", "assignee_id": me, "record_type": r.type,
                    "record_id": str(world.record_ids[r.key])}
            if lvl != "full":
                a.send(b, method, fill(rule), rule, 404 if lvl == "hidden" else 403, data=data)
                a.send(b, method, fill(rule), rule, 404 if lvl == "hidden" else 403, data=data, target="tasks")
        for bad in (str(world.unused_id()), "abc", ""):
            a.send(b, method, fill(rule), rule, 404,
                   data={"title": "x", "assignee_id": me, "record_type": "company", "record_id": bad})


def attack_task(a: Attack, method: str, rule: str, params: dict) -> None:
    """Tasks by id (pages and API: toggle, edit, reschedule, delete): a task of a record the user
    does not fully see, or someone else's private task, is 404 like an unknown one."""
    ctx, world = a.ctx, a.ctx.world
    api = rule.startswith("/api/")
    data = params.get("data") or ({"title": "Übernahme"} if params.get("edit") else None)
    body = {"title": "Übernahme", "due_date": "2040-01-01"} if api else None
    for b in ctx.browsers:
        unknown = fill(rule, task_id=world.unused_id())
        for r in world.spec.records:
            if r.key in world.task_ids and world.level(b.user, r) != "full":
                tid = world.task_ids[r.key]
                a.send(b, method, fill(rule, task_id=tid), rule, 404, same_as=unknown, data=data, json=body)
                if not api:
                    a.send(b, method, fill(rule, task_id=tid), rule, 404, target=f"task-{tid}", data=data)
        for spec_task, tid in zip(world.spec.private_tasks, world.private_task_ids, strict=True):
            if b.user.key not in (spec_task.creator, spec_task.assignee):
                a.send(b, method, fill(rule, task_id=tid), rule, 404, same_as=unknown, data=data, json=body)
        if params.get("delete") and b.user.role == "normal":
            me = world.user_ids[b.user.key]
            for r in world.spec.records:
                if r.key in world.task_ids and world.level(b.user, r) == "full" and _responsible(world, r) != me:
                    a.send(b, method, fill(rule, task_id=world.task_ids[r.key]), rule, 403)
                    break
        a.send(b, method, unknown, rule, 404, data=data, json=body)


def attack_admin_only(a: Attack, method: str, rule: str, params: dict) -> None:
    ctx, world = a.ctx, a.ctx.world
    ids = {"field": world.field_ids, "group": world.group_ids, "user": world.user_ids,
           "stage": {"open": 1, "won": 2, "lost": 3}}.get(params.get("ids"), {})
    targets = list(ids.values()) or [None]
    for b in ctx.browsers:
        if b.user.role == "admin":
            continue
        for tid in targets:
            url = fill(rule, field_id=tid, group_id=tid, user_id=tid, stage_id=tid or 1, rule_id=tid or 1)
            a.send(b, method, url, rule, 403, data=params.get("data", {"name": "Übernahme"}))


def attack_self(a: Attack, method: str, rule: str, params: dict) -> None:
    """Routes that act on the caller alone: as every user, nothing of anyone else changes."""
    ctx, world = a.ctx, a.ctx.world
    data = {
        "/profile": {"profile-name": "Neuer Name", "profile-locale": ""},
        "/profile/password": {"pw-current": "wrong", "pw-new": "x" * 12, "pw-repeat": "x" * 12},
    }.get(rule, {})
    for b in ctx.browsers:
        if rule == "/logout":
            continue  # tried last, below
        before = dump_database()
        resp = b.send(method, fill(rule, view_id=1), rule=rule, data=data)
        figures.add("unauthorized_attempts")
        if resp.status_code >= 500:
            ctx.fail(f"{method} {rule} as {b.name}: HTTP {resp.status_code}")
        b.get("/profile")  # shows (and so drains) the flash message the route left
        after = dump_database()
        changed = {t for t in before if before[t] != after[t]}
        me = str(world.user_ids[b.user.key])
        others_changed = [row for row in set(after.get("users", [])) ^ set(before.get("users", []))
                          if row[0] != me]
        if changed - {"users"} or others_changed:
            figures.add("unauthorized_writes")
            ctx.fail(f"{method} {rule} as {b.name} changed more than the user's own row: {sorted(changed)}")
        a.baseline = after
    if rule.startswith("/profile/token"):  # the users' API tokens changed: give them new ones
        from crm.auth.models import User
        from crm.auth.services import issue_token

        for b in ctx.browsers:
            world.api_tokens[b.user.key] = b.api_token = issue_token(db.session.get(User, world.user_ids[b.user.key]))
        a.baseline = dump_database()
    if rule == "/logout":
        b = Browser(ctx.app, world, ctx.browsers[-1].user, ctx.world_id)
        resp = b.send(method, "/logout", rule=rule)
        assert resp.status_code == 302
        assert b.get("/companies").status_code == 302  # logged out: back to the login page
        a.baseline = dump_database()


def attack_public(a: Attack, method: str, rule: str, params: dict) -> None:
    ctx, world = a.ctx, a.ctx.world
    for u in world.spec.users[:2]:
        a.send(ctx.anon, method, fill(rule), rule, 401,
               data={"email": world.user_emails[u.key], "password": "wrong-password"})


def _rows_of(keys, world) -> dict:
    """The database rows of some records (and what hangs on them), to compare before and after."""
    dump = dump_database()
    out = {}
    for key in keys:
        r = world.spec.record(key)
        rid = str(world.record_ids[key])
        table = {"company": "companies", "person": "people", "deal": "deals", "project": "projects"}[r.type]
        out[key] = [row for row in dump[table] if row[0] == rid] + [
            row for t in ("company_tags", "person_tags", "deal_tags", "project_tags") if t.startswith(r.type)
            for row in dump[t] if row[0] == rid]
    return out


def attack_bulk(a: Attack, method: str, rule: str, params: dict) -> None:
    ctx, world = a.ctx, a.ctx.world
    rtype, action = params["rtype"], params["action"]
    url = fill(rule)
    steps = {"assign": ("choose", "preview", "confirm", "run"), "tag": ("choose", "run"),
             "delete": ("confirm", "run"), "export": (None,)}[action]
    for key in [x.user.key for x in ctx.browsers]:
        # (a restart below logs in new browsers: the old ones' sessions ended with their world)
        ctx, world = a.ctx, a.ctx.world
        b = next(x for x in ctx.browsers if x.user.key == key)
        not_full = [r for r in world.records_of(rtype) if world.level(b.user, r) != "full"]
        full = [r for r in world.records_of(rtype) if world.level(b.user, r) == "full"]
        forbidden = [t for t in world.forbidden(b.user) if t.owner[0] in ("field", "custom")
                     and world.spec.record(t.owner[1]).type == rtype]
        foreign = [gid for g, gid in world.group_ids.items() if g not in b.user.all_groups]
        own = world.group_ids[next(iter(sorted(b.user.groups)), BASIS)]
        may = not (action == "delete" and b.user.role == "normal") and not (
            action == "export" and b.user.role == "normal")
        extra = {"assign": {"target_id": str(own), "cascade": ["people", "deals", "projects"]},
                 "tag": {"tag_name": "Übernahme", "mode": "add"}}.get(action, {})
        selections = []
        if not_full:
            selections.append({"scope": "ids", "ids": [str(world.record_ids[r.key]) for r in not_full]})
        for t in forbidden[:2]:
            field = "tag" if t.owner[2] == "tags" else "q"
            selections.append({"scope": "all", field: t.text})
        selections.append({"scope": "ids", "ids": [str(world.unused_id()), "²", "-1"]})
        if action == "assign" and not world.spec.enabled:
            # refused with the one message of the service, whatever is selected (issue 12, finding 1)
            mine = {"scope": "ids", "ids": [str(world.record_ids[r.key]) for r in full]}
            for sel in (mine, *selections[:1]):
                for step in steps:
                    a.send(b, method, url, rule, 422, data={**sel, **extra, "step": step}, target="dialog")
            continue
        for i, sel in enumerate(selections):
            for step in steps if i == 0 else steps[-1:]:  # every step once, then the decisive one
                data = {**sel, **extra, **({"step": step} if step else {})}
                if not may:
                    expected = 403
                elif action == "export":
                    expected = 200
                else:
                    expected = 422
                a.send(b, method, url, rule, expected, data=data, target="dialog" if step else None)
        # a group that is not one's own (admins may pick any group)
        if action == "assign" and full and foreign and b.user.role != "admin" and world.spec.enabled:
            sel = {"scope": "ids", "ids": [str(world.record_ids[r.key]) for r in full]}
            for step in ("confirm", "run"):
                a.send(b, method, url, rule, 422, data={**sel, "target_id": str(foreign[0]), "step": step},
                       target="dialog")
        # mixed: the fully visible ones change, nothing else does
        if may and full and not_full and action in ("assign", "tag", "delete"):
            ids = [str(world.record_ids[r.key]) for r in full + not_full]
            keep = [r.key for r in not_full]
            if rtype == "company" and action == "assign":
                keep += [r.key for r in world.spec.records if r.company in {f.key for f in full}
                         and world.level(b.user, r) != "full"]
            before = _rows_of(keep, world)
            target_gid = foreign[0] if (foreign and b.user.role == "admin") else own
            data = {"scope": "ids", "ids": ids, **extra, "step": "run"}
            if action == "assign":
                data["target_id"] = str(target_gid)
            resp = b.send(method, url, rule=rule, data=data, target="dialog")
            figures.add("unauthorized_attempts")
            if resp.status_code >= 500:
                ctx.fail(f"{method} {url} mixed selection as {b.name}: HTTP {resp.status_code}")
            after = _rows_of(keep, world)
            if after != before:
                figures.add("unauthorized_writes")
                ctx.fail(f"{method} {url} as {b.name} changed records it may not fully see: "
                         f"{[k for k in keep if before[k] != after[k]]}")
            try:
                b.assert_no_leak(resp, f"{method} {url} mixed")
            except AssertionError as err:
                ctx.fail(str(err))
            # the world changed on purpose: build the oracle's view again from a fresh world
            a.restart()


def attack_bulk_undo(a: Attack, method: str, rule: str, params: dict) -> None:
    """Undo of an assignment: someone else's (non-admins), of another type or unknown: all 404."""
    ctx, world = a.ctx, a.ctx.world
    rtype = params["rtype"]
    if not world.spec.enabled:
        return
    from crm.audit.models import AuditEntry
    from crm.auth.models import User
    from crm.records.assign import assign_group
    from crm.records.types import TYPES
    from crm.visibility import viewer_for

    admin_key = next(u.key for u in world.spec.users if u.role == "admin")
    with ctx.app.test_request_context("/", method="POST"):
        from flask import g

        g.viewer = viewer = viewer_for(db.session.get(User, world.user_ids[admin_key]))
        admin = world.spec.user(admin_key)
        mine = [world.record_ids[r.key] for r in world.records_of(rtype) if world.level(admin, r) == "full"]
        entry = assign_group(TYPES[rtype], mine, world.group_ids[BASIS], viewer)["audit_id"]
        other_type = next(t for t in TYPES if t != rtype)
        entry_other = assign_group(TYPES[other_type], [], world.group_ids[BASIS], viewer)["audit_id"]
        db.session.commit()
        db.session.remove()
    a.baseline = dump_database()
    del AuditEntry
    for b in ctx.browsers:
        if b.user.key != admin_key and b.user.role != "admin":
            # someone else's assignment: the 404 of an unknown id (issue 12, finding 8)
            a.send(b, method, fill(rule, entry_id=entry), rule, 404, data={"scope": "ids"})
        a.send(b, method, fill(rule, entry_id=entry_other), rule, 404, data={"scope": "ids"})
        a.send(b, method, fill(rule, entry_id=world.unused_id()), rule, 404, data={"scope": "ids"})
    a.restart()  # the setup moved records: the oracle's world again


def attack_merge(a: Attack, method: str, rule: str, params: dict) -> None:
    """Merging two people or companies (page and API): the survivor hidden answers like an unknown
    id, restricted 403; a full survivor with another record the user does not fully see (or an
    unknown one) is refused - the page with its message (400), the API 404/403; normal users 403.
    Nothing changes in any case."""
    ctx, world = a.ctx, a.ctx.world
    api = params.get("api", False)
    for plural in params["plurals"]:
        rtype = KEY_OF[plural]
        records = world.records_of(rtype)
        for b in ctx.browsers:
            levels = {r.key: world.level(b.user, r) for r in records}
            full = [r for r in records if levels[r.key] == "full"]

            def body(other_id: int) -> dict:
                return {"json": {"other_id": other_id}} if api else {"data": {"other_id": str(other_id)}}

            unknown = fill(rule, plural=plural, record_id=world.unused_id())
            for r in records:
                url = fill(rule, plural=plural, record_id=world.record_ids[r.key])
                partner = next((o for o in full if o.key != r.key), None)
                some = body(world.record_ids[partner.key] if partner else world.unused_id())
                if levels[r.key] == "hidden":
                    a.send(b, method, url, rule, 404, same_as=unknown, **some)
                elif levels[r.key] == "restricted":
                    a.send(b, method, url, rule, 403, **some)
                elif b.user.role == "normal":
                    a.send(b, method, url, rule, 403, **some)
                else:
                    for o in records:
                        if levels[o.key] == "full":
                            continue
                        expected = 400 if not api else (404 if levels[o.key] == "hidden" else 403)
                        a.send(b, method, url, rule, expected, **body(world.record_ids[o.key]))
                    a.send(b, method, url, rule, 400 if not api else 404, **body(world.unused_id()))
            a.send(b, method, unknown, rule, 404, **body(world.unused_id()))


def attack_merge_undo(a: Attack, method: str, rule: str, params: dict) -> None:
    """The undo of a merge: an unknown entry (and a merge that is not one's own, answered alike) 404."""
    for b in a.ctx.browsers:
        a.send(b, method, fill(rule, entry_id=a.ctx.world.unused_id()), rule, 404)


# -- the JSON API ---------------------------------------------------------------------------------

API_VALID = {"company": {"name": "Übernommen"}, "person": {"last_name": "Übernommen"},
             "deal": {"name": "Übernommen"}, "project": {"name": "Übernommen"}}


def attack_api_record(a: Attack, method: str, rule: str, params: dict) -> None:
    ctx, world = a.ctx, a.ctx.world
    plural, view = params["plural"], params["view"]
    rtype = KEY_OF[plural]
    body = {"body": "Übernahme"} if view == "notes" else dict(API_VALID[rtype])
    for b in ctx.browsers:
        unknown = fill(rule, record_id=world.unused_id())
        for r in world.records_of(rtype):
            lvl = world.level(b.user, r)
            url = fill(rule, record_id=world.record_ids[r.key])
            if lvl == "hidden":
                a.send(b, method, url, rule, 404, json=body, same_as=unknown)
            elif lvl == "restricted" or (view == "delete" and b.user.role == "normal"):
                a.send(b, method, url, rule, 403, json=body)
            elif view == "patch" and world.spec.enabled:
                for g, gid in world.group_ids.items():
                    if g not in b.user.all_groups and b.user.role != "admin":
                        a.send(b, method, url, rule, (403, 422), json={**body, "group_id": gid})
                        break
                for fk, ref in (("company_id", "company"), ("person_id", "person")):
                    if rtype == "company" or (rtype == "person" and fk == "person_id"):
                        continue
                    current = getattr(r, ref)
                    other = next((o for o in world.records_of(ref)
                                  if world.level(b.user, o) != "full" and o.key != current), None)
                    if other:
                        a.send(b, method, url, rule, 422, json={**body, fk: world.record_ids[other.key]})
        a.send(b, method, unknown, rule, 404, json=body)


def attack_api_create(a: Attack, method: str, rule: str, params: dict) -> None:
    ctx, world = a.ctx, a.ctx.world
    rtype = params["rtype"]
    url = fill(rule)
    for b in ctx.browsers:
        body = dict(API_VALID[rtype])
        if world.spec.enabled and b.user.role != "admin":
            for g, gid in world.group_ids.items():
                if g not in b.user.all_groups:
                    a.send(b, method, url, rule, (403, 422), json={**body, "group_id": gid})
        for fk, ref in (("company_id", "company"), ("person_id", "person")):
            if rtype == "company" or (rtype == "person" and fk == "person_id"):
                continue
            for other in world.records_of(ref):
                if world.level(b.user, other) != "full":
                    a.send(b, method, url, rule, 422, json={**body, fk: world.record_ids[other.key]})
            a.send(b, method, url, rule, 422, json={**body, fk: world.unused_id()})


def attack_api_assign(a: Attack, method: str, rule: str, params: dict) -> None:
    """Ids the user does not fully see are not moved (the call may log a no-op assignment)."""
    ctx, world = a.ctx, a.ctx.world
    rtype = params["rtype"]
    url = fill(rule)
    for b in ctx.browsers:
        not_full = [world.record_ids[r.key] for r in world.records_of(rtype) if world.level(b.user, r) != "full"]
        own = world.group_ids[next(iter(sorted(b.user.groups)), BASIS)]
        if not_full:
            body = {"ids": not_full, "group_id": own}
            if rtype == "company":
                body["cascade"] = ["people", "deals", "projects"]
            a.send(b, method, url, rule, (200, 404, 422), json=body, exclude=("rate_counters", "audit_log"))
        if not world.spec.enabled:
            # every record is fully visible, and still none changes its group (issue 12, finding 1)
            body = {"ids": [world.record_ids[r.key] for r in world.records_of(rtype)] or [1], "group_id": own}
            if rtype == "company":
                body["cascade"] = ["people", "deals", "projects"]
            a.send(b, method, url, rule, 409, json=body)
        if world.spec.enabled and b.user.role != "admin":
            for g, gid in world.group_ids.items():
                if g not in b.user.all_groups:
                    full = [world.record_ids[r.key] for r in world.records_of(rtype)
                            if world.level(b.user, r) == "full"]
                    a.send(b, method, url, rule, (403, 422), json={"ids": full or [1], "group_id": gid})
                    break


def attack_api_admin_only(a: Attack, method: str, rule: str, params: dict) -> None:
    ctx, world = a.ctx, a.ctx.world
    ids = {"field": world.field_ids, "group": world.group_ids, "user": world.user_ids}.get(params.get("ids"), {})
    for b in ctx.browsers:
        if b.user.role == "admin":
            continue
        for tid in list(ids.values())[:3] or [None]:
            a.send(b, method, fill(rule, field_id=tid, group_id=tid, user_id=tid), rule, 403,
                   json=params.get("json", {"name": "Übernahme"}))


def attack_api_public(a: Attack, method: str, rule: str, params: dict) -> None:
    ctx, world = a.ctx, a.ctx.world
    for u in world.spec.users[:2]:
        a.send(ctx.anon, method, fill(rule), rule, 401,
               json={"email": world.user_emails[u.key], "password": "wrong-password"})


def _csv(text: str) -> tuple:
    import io

    return (io.BytesIO(text.encode()), "liste.csv")


def attack_import_upload(a: Attack, method: str, rule: str, params: dict) -> None:
    """Normal users may not import (403); a record type that cannot be imported is refused."""
    for b in a.ctx.browsers:
        if b.user.role == "normal":
            a.send(b, method, rule, rule, 403, data={"record_type": "company", "file": _csv("Name\nX\n")})
        else:
            a.send(b, method, rule, rule, 400, data={"record_type": "deal", "file": _csv("Name\nX\n")})


def attack_import_job(a: Attack, method: str, rule: str, params: dict) -> None:
    """A job is its owner's: others get 404 like an unknown job (normal users 403). As the owner:
    a group not one's own is refused; a person linked to a company the owner does not fully see
    fails the whole file (nothing imported); an import not done cannot be undone."""
    from crm.imports.models import ImportJob

    from .leakcheck import import_job, name_token

    ctx, world = a.ctx, a.ctx.world
    made = import_job(ctx)
    if made is None:
        return
    job, owner = made
    a.baseline = dump_database()
    unknown = fill(rule, job_id=world.unused_id())
    url = fill(rule, job_id=job)
    step = params["step"]
    data = {"col-0": "last_name", "col-1": "company"}
    for b in ctx.browsers:
        if b.user.role == "normal":
            a.send(b, method, url, rule, 403, data=data)
        elif b.user.key != owner and not (b.user.role == "admin" and step == "undo"):
            a.send(b, method, url, rule, 404, data=data, same_as=unknown)
    b = next(b for b in ctx.browsers if b.user.key == owner)
    me = b.user
    if step == "undo":
        a.send(b, method, url, rule, 302)  # not done: refused with a message, nothing changed
        b.get(fill("/import/<int:job_id>", job_id=job))  # (drains the flash message)
        return
    if step == "preview":
        a.send(b, method, url, rule, 200, data=data, target="import-preview")
        return
    if step == "cancel":
        a.send(b, method, url, rule, 302)  # waiting for its columns, not running: nothing to cancel
        return
    if not world.spec.enabled:
        return  # without the group system the owner fully sees every company: nothing to refuse
    foreign = [g for g, gid in world.group_ids.items() if g not in me.all_groups]
    if foreign:
        a.send(b, method, url, rule, 422, data={**data, "group_id": world.group_ids[foreign[0]]})
    unseen = [r for r in world.records_of("company") if world.level(me, r) != "full"]
    own_group = sorted(me.all_groups)[0]
    for r in unseen[:2]:
        job2, _owner = import_job(ctx, f"Nachname;Firma\nEins;{name_token(world, r).text}\n")
        a.baseline = dump_database()
        resp = b.send(method, fill(rule, job_id=job2), rule=rule,
                      data={**data, "group_id": world.group_ids[own_group]})
        figures.add("unauthorized_attempts")
        after = dump_database()
        changed = [t for t in after if after[t] != a.baseline[t] and t not in ("rate_counters", "import_jobs")]
        if resp.status_code != 302 or changed:
            figures.add("unauthorized_writes")
            ctx.fail(f"import linking a person to {r.key} ({world.level(me, r)}) as {me.key}: "
                     f"HTTP {resp.status_code}, changed {changed}")
        status = db.session.get(ImportJob, job2).status
        if status != "failed":
            ctx.fail(f"import linking a person to {r.key} ({world.level(me, r)}) as {me.key}: {status}")
        a.baseline = after


def attack_job_cancel(a: Attack, method: str, rule: str, params: dict) -> None:
    """Someone else's job answers like an unknown id (admins may look at it, and cancel it while it
    waits); a finished job is not cancelled: nothing changes."""
    from .leakcheck import job_of

    made = job_of(a.ctx)
    if made is None:
        return
    job, owner = made
    a.baseline = dump_database()
    unknown = fill(rule, job_id=a.ctx.world.unused_id())
    url = fill(rule, job_id=job)
    for b in a.ctx.browsers:
        if b.user.key == owner or b.user.role == "admin":
            a.send(b, method, url, rule, 302)  # done already: refused with a message
            b.get(fill("/jobs/<int:job_id>", job_id=job))  # (drains the flash message)
        else:
            a.send(b, method, url, rule, 404, same_as=unknown)


def attack_trash(a: Attack, method: str, rule: str, params: dict) -> None:
    """The recycle bin's actions in a world whose bin is empty: restoring or purging any record
    (full, restricted, hidden) answers exactly like an unknown id - 404 - and changes nothing;
    the page's actions are for users who may delete (others 403); "delete expired now" is for
    admins and, with nothing expired, changes nothing. (What restore and purge do to records in
    the bin: tests/test_trash.py.)"""
    ctx, world = a.ctx, a.ctx.world
    api = rule.startswith("/api/")
    if "record_id" not in rule:
        for b in ctx.browsers:
            a.send(b, method, fill(rule), rule, 302 if b.user.role == "admin" else 403)
        return
    plurals = PLURALS if ANY_RECORD in rule else [p for p in PLURALS if f"/{p}/" in rule]
    for plural in plurals:
        ids = [world.record_ids[r.key] for r in world.records_of(KEY_OF[plural])]
        unknown = fill(rule, plural=plural, record_id=world.unused_id())
        for b in ctx.browsers:
            may = api or b.user.role in ("admin", "extended")
            if "purge" in rule:
                may = b.user.role == "admin"
            for rid in ids[:4]:
                a.send(b, method, fill(rule, plural=plural, record_id=rid), rule, 404 if may else 403,
                       same_as=unknown if may else None)


def attack_export_job(a: Attack, method: str, rule: str, params: dict) -> None:
    """A large export started as a job (every export is large here): normal users 403 and nothing
    written; for the others its row is the only change, and its CSV - also for a filter on a token
    they may not see - holds nothing they may not see."""
    from crm.jobs.models import Job

    ctx, world = a.ctx, a.ctx.world
    url = fill(rule)
    threshold = ctx.app.config["EXPORT_JOB_ROWS"]
    ctx.app.config["EXPORT_JOB_ROWS"] = 0
    try:
        for b in ctx.browsers:
            hidden = [t for t in world.forbidden(b.user) if t.owner[0] in ("field", "custom")][:1]
            for data in ({}, *({"q": t.text} for t in hidden), {"ids": "²"}):
                if b.user.role == "normal":
                    a.send(b, method, url, rule, 403, data=data)
                    continue
                last = db.session.scalar(select(func.max(Job.id))) or 0
                a.send(b, method, url, rule, (302, 200, 400), data=data, exclude=("rate_counters", "jobs"))
                job = db.session.scalar(select(func.max(Job.id)))
                if job and job > last:
                    try:
                        b.assert_no_leak(b.get(f"/jobs/{job}/download"), f"the CSV of {method} {url} {data}")
                    except AssertionError as err:
                        ctx.fail(str(err))
    finally:
        ctx.app.config["EXPORT_JOB_ROWS"] = threshold


ATTACKERS = {
    "merge": attack_merge,
    "merge_undo": attack_merge_undo,
    "export_job": attack_export_job,
    "trash": attack_trash,
    "import_upload": attack_import_upload,
    "import_job": attack_import_job,
    "job_cancel": attack_job_cancel,
    "api_record": attack_api_record,
    "api_create": attack_api_create,
    "api_assign": attack_api_assign,
    "api_admin_only": attack_api_admin_only,
    "api_public": attack_api_public,
    "bulk": attack_bulk,
    "bulk_undo": attack_bulk_undo,
    "record": attack_record,
    "record_new": attack_record_new,
    "note_delete": attack_note_delete,
    "file_delete": attack_file_delete,
    "note_edit": attack_note_delete,
    "api_note": attack_note_delete,
    "api_task": attack_task,
    "task_create": attack_task_create,
    "task": attack_task,
    "admin_only": attack_admin_only,
    "self": attack_self,
    "public": attack_public,
}


@pytest.mark.timeout(1800)  # (every write route by every attacker: 14 minutes on a loaded 2-core machine)
@pytest.mark.parametrize("enabled", [True, False], ids=["groups-on", "groups-off"])
def test_every_write_is_refused_and_changes_nothing(app, enabled):
    world = build(fixed_spec(enabled))
    ctx = make_ctx(app, world, f"writes-{'on' if enabled else 'off'}")
    attack = Attack(ctx)
    for (method, rule), write in WRITE.items():
        ATTACKERS[write.kind](attack, method, rule, write.params)
    ctx = attack.ctx
    if ctx.failures:
        raise AssertionError(f"{len(ctx.failures)} problems:\n" + "\n".join(ctx.failures[:50]))
