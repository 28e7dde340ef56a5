"""Every state-changing route, as a user who must not do it (the target hidden, restricted, in a
group not one's own, a role too low): refused with 403/404, and not a single row of any table
changed (all tables dumped before and after). A hidden target answers exactly like an unknown id.
"""
from __future__ import annotations

import pytest

from . import figures
from .coverage import KEY_OF, PLURALS, WRITE, fill
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

    def send(self, b: Browser, method: str, url: str, rule: str, expected, *, data=None, target=None,
             same_as: str | None = None) -> None:
        resp = b.send(method, url, rule=rule, data=data or {}, target=target)
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
            other = b.send(method, same_as, data=data or {}, target=target)
            if normalized(other) != normalized(resp) or other.status_code != resp.status_code:
                import difflib

                diff = [ln for ln in difflib.unified_diff(normalized(other).splitlines(),
                                                          normalized(resp).splitlines(), lineterm="", n=0)
                        if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
                self.ctx.fail(f"{context}: answers differently from the unknown {same_as}: {diff[:4]}")
        after = dump_database()
        if after != self.baseline:
            figures.add("unauthorized_writes")
            self.ctx.fail(f"{context} CHANGED THE DATABASE: {diff_dumps(self.baseline, after)}")
            self.baseline = after


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
                {"body": "Übernahme", "kind": "note"} if view == "notes" else {})
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
    ctx, world = a.ctx, a.ctx.world
    for b in ctx.browsers:
        unknown = fill(rule, note_id=world.unused_id())
        for r in world.spec.records:
            lvl = world.level(b.user, r)
            for nid in world.note_ids[r.key]:
                url = fill(rule, note_id=nid)
                if lvl != "full":
                    a.send(b, method, url, rule, 404, same_as=unknown)
                    a.send(b, method, url, rule, 404, target="notes")
        # another author's note on a fully visible record, as a normal user
        if b.user.role == "normal":
            author_id = world.user_ids[b.user.key]
            for r in world.spec.records:
                if world.level(b.user, r) == "full" and _responsible(world, r) != author_id:
                    a.send(b, method, fill(rule, note_id=world.note_ids[r.key][0]), rule, 403)
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
    ctx, world = a.ctx, a.ctx.world
    for b in ctx.browsers:
        unknown = fill(rule, task_id=world.unused_id())
        for r in world.spec.records:
            if r.key in world.task_ids and world.level(b.user, r) != "full":
                tid = world.task_ids[r.key]
                a.send(b, method, fill(rule, task_id=tid), rule, 404, same_as=unknown)
                a.send(b, method, fill(rule, task_id=tid), rule, 404, target=f"task-{tid}")
        for spec_task, tid in zip(world.spec.private_tasks, world.private_task_ids, strict=True):
            if b.user.key not in (spec_task.creator, spec_task.assignee):
                a.send(b, method, fill(rule, task_id=tid), rule, 404, same_as=unknown)
        if params.get("delete") and b.user.role == "normal":
            me = world.user_ids[b.user.key]
            for r in world.spec.records:
                if r.key in world.task_ids and world.level(b.user, r) == "full" and _responsible(world, r) != me:
                    a.send(b, method, fill(rule, task_id=world.task_ids[r.key]), rule, 403)
                    break
        a.send(b, method, unknown, rule, 404)


def attack_admin_only(a: Attack, method: str, rule: str, params: dict) -> None:
    ctx, world = a.ctx, a.ctx.world
    ids = {"field": world.field_ids, "group": world.group_ids, "user": world.user_ids}.get(params.get("ids"), {})
    targets = list(ids.values()) or [None]
    for b in ctx.browsers:
        if b.user.role == "admin":
            continue
        for tid in targets:
            url = fill(rule, field_id=tid, group_id=tid, user_id=tid)
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
        resp = b.send(method, fill(rule), rule=rule, data=data)
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


ATTACKERS = {
    "record": attack_record,
    "record_new": attack_record_new,
    "note_delete": attack_note_delete,
    "task_create": attack_task_create,
    "task": attack_task,
    "admin_only": attack_admin_only,
    "self": attack_self,
    "public": attack_public,
}


@pytest.mark.parametrize("enabled", [True, False], ids=["groups-on", "groups-off"])
def test_every_write_is_refused_and_changes_nothing(app, enabled):
    world = build(fixed_spec(enabled))
    ctx = make_ctx(app, world, f"writes-{'on' if enabled else 'off'}")
    attack = Attack(ctx)
    for (method, rule), write in WRITE.items():
        ATTACKERS[write.kind](attack, method, rule, write.params)
    if ctx.failures:
        raise AssertionError(f"{len(ctx.failures)} problems:\n" + "\n".join(ctx.failures[:50]))
