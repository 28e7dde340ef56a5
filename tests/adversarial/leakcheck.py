"""The leak check: every GET rule of the coverage table, as every user of a world, with the ids of
every record, checked against the oracle. Used by the fixed worlds (test_leaks.py) and the
randomized ones (test_random_worlds.py).

For each response: no 500; no forbidden token (body, redirects, file names); the page obeys the
Content-Security-Policy and carries the security headers; what the oracle says is there is there
(names on lists and in search, fields on detail pages, counts, pages); a hidden record answers
exactly like a never-used id.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

from crm.records.queries import JOB_FILTERS
from crm.records.types import TYPES as APP_TYPES

from . import figures
from .coverage import GET, KEY_OF, PLURALS, fill
from .probes import Browser, assert_policy, list_count, normalized
from .world import COMMON_TAG, PLURAL, RecordSpec, Token, World

PAGE_SIZE = 4  # small, so that every world's lists have several pages


@dataclass
class Ctx:
    app: object
    world: World
    world_id: str
    browsers: list[Browser]
    anon: Browser
    thorough: bool = True  # False: fewer filter/search variants (randomized worlds)
    failures: list[str] = field(default_factory=list)

    def fail(self, msg: str) -> None:
        self.failures.append(msg)

    def check(self, b: Browser, resp, context: str, *, status=None, echo: str | None = None) -> str:
        """The checks every response goes through; returns the body."""
        body = resp.get_data(as_text=True)
        if resp.status_code >= 500:
            self.fail(f"HTTP {resp.status_code} as {b.name} on {context}")
            return body
        if status is not None:
            allowed = status if isinstance(status, tuple) else (status,)
            if resp.status_code not in allowed:
                self.fail(f"as {b.name} on {context}: HTTP {resp.status_code}, expected {status}")
        try:
            b.assert_no_leak(resp, context, echo)
        except AssertionError as err:
            self.fail(str(err))
        if resp.status_code != 404 or resp.mimetype == "text/html":
            try:
                assert_policy(resp, f"as {b.name} on {context}",
                              authenticated=b.user is not None and not context.startswith("/static/"))
            except AssertionError as err:
                self.fail(str(err))
        return body

    def expect_present(self, b: Browser, body: str, tokens, context: str) -> None:
        missing = [t for t in tokens if not t.found_in(body)]
        if missing:
            self.fail(f"as {b.name} on {context}: missing {[(t.text, t.owner) for t in missing[:4]]}")


#: the probers split into parts of similar cost, so that xdist can spread a world over workers
PARTS = {
    "records": ("record",),
    "lists": ("list",),
    "search": ("search", "lookup", "new"),
    "rest": ("export", "job_download", "tasks", "home", "login", "health", "page", "static", "admin", "pipeline",
             "imports", "anonymous", "file"),
    "api": ("api_list", "api_record", "api_search", "api_admin", "api_public", "api_file"),
}


def run_all(ctx: Ctx, kinds=None) -> None:
    PROBERS.update(_api_probers())
    for rule, probe in GET.items():
        if kinds is None or probe.kind in kinds:
            PROBERS[probe.kind](ctx, rule, probe.params)
    if kinds is None or "anonymous" in kinds:
        for rule in GET:
            anonymous(ctx, rule)


# ----------------------------------------------------------------------------------------------
# helpers on the world
# ----------------------------------------------------------------------------------------------

def name_token(world: World, r: RecordSpec) -> Token:
    names = world.name_tokens(r.key)
    return next((t for t in names if t.owner[2] == "last_name"), names[0])


def linked(world: World, body: str, records) -> set[str]:
    """Records the response shows as a row, hit or option: a link to the detail page (lists,
    search) or a picker option (lookup). Robust against the query being echoed in the page."""
    out = set()
    for r in records:
        rid = world.record_ids[r.key]
        if re.search(rf'(?:/{PLURAL[r.type]}/{rid}|data-pick-id="{rid}")(?![\d])', body):
            out.add(r.key)
    return out


def query_tokens(ctx: Ctx, b: Browser, records, *, names_only: bool = False) -> list[Token]:
    """Tokens to type into a filter or search box as user ``b``: each record's display name, its
    e-mail (thorough mode) and one more of its fields, a different one per user, so that over the
    users of a world every field of every record is tried."""
    out: list[Token] = []
    shift = ctx.browsers.index(b) if b in ctx.browsers else 0
    for i, r in enumerate(records):
        toks = ctx.world.tokens_of(r.key)
        chosen = [next(t for t in toks if t.is_name)]
        others = [t for t in toks if not t.is_name]
        if not names_only and others:
            chosen.append(others[(i + shift) % len(others)])
            if ctx.thorough:
                chosen += [t for t in others if t.owner[2] == "emails" and t not in chosen]
        out += chosen
    return out


def file_name_tokens(ctx: Ctx, b: Browser, records) -> list[Token]:
    """File names to type into the search as user ``b``: a file's name is content of its record
    (found only by those who fully see it). Thorough mode: every file; else one record in three,
    a different third per user."""
    shift = ctx.browsers.index(b) if b in ctx.browsers else 0
    out: list[Token] = []
    for i, r in enumerate(records):
        if ctx.thorough or (i + shift) % 3 == 0:
            out += attached_tokens(ctx.world, r, ("file",))
    return out


def attached_tokens(world: World, r: RecordSpec, kinds=("note", "task")) -> list[Token]:
    return [t for t in world.tokens if t.owner[0] in kinds and t.owner[1] == r.key]


def q_expectation(ctx: Ctx, b: Browser, t: Token, found: set[str], context: str, *,
                  full_only: bool = False) -> None:
    """A text query for token ``t`` of record ``r``: an allowed name or file name finds ``r``; a
    forbidden token finds nothing (a hidden e-mail or file name must not make a restricted row
    match); any other token finds at most ``r``."""
    r = ctx.world.spec.record(t.owner[1])
    lvl = ctx.world.level(b.user, r)
    allowed = ctx.world.allowed(b.user, t) and not (full_only and lvl != "full")
    if allowed and (t.is_name or t.owner[0] == "file") and r.key not in found:
        ctx.fail(f"as {b.name} on {context}: {r.key} ({lvl}) not found by its {'name' if t.is_name else 'file'}")
    if not allowed and found:
        ctx.fail(f"as {b.name} on {context}: a query for a token the user may not see matched {sorted(found)}")
    if found - {r.key}:
        ctx.fail(f"as {b.name} on {context}: unrelated matches {sorted(found - {r.key})}")


# ----------------------------------------------------------------------------------------------
# probers, one per kind of the coverage table
# ----------------------------------------------------------------------------------------------

RECORD_STATUS = {
    # view -> level -> status (delete depends on the role, see below)
    "detail": {"full": 200, "restricted": 200, "hidden": 404, "missing": 404},
    "edit": {"full": 200, "restricted": 403, "hidden": 404, "missing": 404},
    "delete": {"full": 200, "restricted": 403, "hidden": 404, "missing": 404},
    "notes": {"full": 200, "restricted": 403, "hidden": 404, "missing": 404},
    "history": {"full": 200, "restricted": 403, "hidden": 404, "missing": 404},
    "files": {"full": 200, "restricted": 403, "hidden": 404, "missing": 404},
    # "who can see this?": only with the group system on (else 404 for everyone)
    # (a restricted record's: the viewer's own line, their level and its reason - product.md §8)
    "access": {"full": 200, "restricted": 200, "hidden": 404, "missing": 404},
    # the hand-over buttons of a detail page (issue 18)
    "handovers": {"full": 200, "restricted": 403, "hidden": 404, "missing": 404},
    # the merge page of people and companies (issue 15; like delete, by role)
    "merge": {"full": 200, "restricted": 403, "hidden": 404, "missing": 404},
}


def probe_record(ctx: Ctx, rule: str, params: dict) -> None:
    view = params["view"]
    plurals = [params["plural"]] if "plural" in params else list(params.get("plurals", PLURALS))
    world = ctx.world
    ids = world.all_record_ids()
    for plural in plurals:
        rtype = KEY_OF[plural]
        for b in ctx.browsers:
            unknown_url = fill(rule, plural=plural, record_id=world.unused_id())
            unknown = b.get(unknown_url, rule=rule)
            ctx.check(b, unknown, unknown_url, status=404)
            base404 = normalized(unknown)
            for rid in ids:
                rec = world.record_by_id(rtype, rid)
                lvl = world.level(b.user, rec) if rec else "missing"
                url = fill(rule, plural=plural, record_id=rid)
                resp = b.get(url, rule=rule)
                status = RECORD_STATUS[view][lvl]
                if view in ("delete", "merge") and lvl == "full" and b.user.role == "normal":
                    status = 403
                if view == "access" and lvl in ("full", "restricted") and not world.spec.enabled:
                    status = 404
                body = ctx.check(b, resp, f"{url} ({lvl})", status=status)
                if lvl in ("hidden", "missing") and normalized(resp) != base404:
                    ctx.fail(f"as {b.name}: {url} ({lvl}) answers differently from a never-used id")
                if rec is None or resp.status_code != 200:
                    if params.get("targets") and status != 200 and rid % 2:
                        hx = b.get(url, target=params["targets"][0], rule=rule)
                        ctx.check(b, hx, f"{url} [{params['targets'][0]}]", status=status)
                    continue
                if view == "detail" and lvl == "full":
                    # (its files load after the page: the "files" view checks them)
                    ctx.expect_present(b, body, world.tokens_of(rec.key)
                                       + attached_tokens(world, rec, ("note", "task")), url)
                elif view == "detail":
                    ctx.expect_present(b, body, [t for t in world.tokens_of(rec.key) if world.allowed(b.user, t)], url)
                elif view == "edit":
                    ctx.expect_present(b, body, world.name_tokens(rec.key), url)
                elif view == "notes":
                    ctx.expect_present(b, body, attached_tokens(world, rec, ("note",)), url)
                elif view == "history":
                    ctx.expect_present(b, body, attached_tokens(world, rec, ("history",)), url)
                elif view == "files":
                    ctx.expect_present(b, body, attached_tokens(world, rec, ("file",)), url)
                elif view == "access":
                    # the full panel for admins on what they fully see; anyone else, and everyone
                    # on a restricted record, sees their own line only (product.md §8)
                    if b.user.role == "admin" and lvl == "full":
                        absent = [u.key for u in world.spec.users if f"User {u.key}" not in body]
                        if absent:
                            ctx.fail(f"as {b.name} on {url}: who-can-see misses users {absent}")
                    else:
                        others = [u.key for u in world.spec.users if u.key != b.user.key and f"User {u.key}" in body]
                        if f"User {b.user.key}" not in body or others:
                            ctx.fail(f"as {b.name} on {url}: who-can-see shows {others}, not just the user")
                for target in params.get("targets", ()):
                    offset = ("0", "20", "x")[rid % 3]
                    hx = b.get(f"{url}?offset={offset}", target=target, rule=rule)
                    ctx.check(b, hx, f"{url}?offset={offset} [{target}]", status=status)
            if ctx.thorough:
                for target in params.get("targets", ()):
                    hx = b.get(unknown_url, target=target, rule=rule)
                    ctx.check(b, hx, f"{unknown_url} [{target}]", status=404)


def probe_list(ctx: Ctx, rule: str, params: dict) -> None:
    rtype = params["rtype"]
    world = ctx.world
    url = fill(rule)
    sorts = list(APP_TYPES[rtype].sorts)
    for b in ctx.browsers:
        visible = world.visible(b.user, rtype)
        full = [r for r in visible if world.level(b.user, r) == "full"]
        want = {r.key for r in visible}
        # every page, as a page and as the htmx partial
        pages = max(1, math.ceil(len(visible) / PAGE_SIZE))
        for target in (None, "record-list"):
            seen: dict[str, int] = {}
            for page in range(1, pages + 2):
                resp = b.get(f"{url}?page={page}", target=target, rule=rule)
                body = ctx.check(b, resp, f"{url}?page={page} [{target}]", status=200)
                on_page = linked(world, body, visible)
                for k in on_page:
                    seen[k] = seen.get(k, 0) + 1
                if list_count(resp) != len(visible):
                    ctx.fail(f"as {b.name} on {url}: count {list_count(resp)}, expected {len(visible)}")
                if len(on_page) > PAGE_SIZE:
                    ctx.fail(f"as {b.name} on {url}?page={page}: {len(on_page)} rows on a page of {PAGE_SIZE}")
                if page == pages + 1 and on_page:
                    ctx.fail(f"as {b.name} on {url}?page={page}: rows past the last page")
            if set(seen) != want or any(n != 1 for n in seen.values()):
                ctx.fail(f"as {b.name} on {url} [{target}]: pages show {sorted(seen)}, expected {sorted(want)}")
        # sorting: every key, both directions
        for i, sort in enumerate(sorts):
            for direction in ("", "desc") if ctx.thorough else (("", "desc")[i % 2],):
                q = f"{url}?sort={sort}&dir={direction}"
                resp = b.get(q, rule=rule)
                ctx.check(b, resp, q, status=200)
                if list_count(resp) != len(visible):
                    ctx.fail(f"as {b.name} on {q}: count {list_count(resp)}, expected {len(visible)}")
        # group filter: every group and an unknown one
        for gname, gid in [*world.group_ids.items(), ("unknown", world.unused_id())]:
            q = f"{url}?group_id={gid}"
            resp = b.get(q, rule=rule)
            body = ctx.check(b, resp, q, status=200)
            expected = {r.key for r in visible if r.group == gname or not world.spec.enabled}
            found = linked(world, body, visible)
            if len(expected) <= PAGE_SIZE and found != expected:
                ctx.fail(f"as {b.name} on {q}: shows {sorted(found)}, expected {sorted(expected)}")
            if list_count(resp) != len(expected):
                ctx.fail(f"as {b.name} on {q}: count {list_count(resp)}, expected {len(expected)}")
        # "Show them" after a job (the records an import made, an assignment moved): a job this
        # world has none of lists nothing, for every user
        for name in JOB_FILTERS:
            q = f"{url}?{name}={world.unused_id()}"
            resp = b.get(q, rule=rule)
            body = ctx.check(b, resp, q, status=200)
            if list_count(resp) != 0 or linked(world, body, visible):
                ctx.fail(f"as {b.name} on {q}: count {list_count(resp)}, rows {sorted(linked(world, body, visible))}")
        # tag filter: the common tag (only fully visible rows may match: tags are hidden on
        # restricted ones) and each record's own tag
        q = f"{url}?tag={COMMON_TAG}"
        resp = b.get(q, rule=rule)
        body = ctx.check(b, resp, q, status=200)
        expected = {r.key for r in full if r.common_tag}
        if list_count(resp) != len(expected):
            ctx.fail(f"as {b.name} on {q}: count {list_count(resp)}, expected {len(expected)}")
        if len(expected) <= PAGE_SIZE and linked(world, body, visible) != expected:
            ctx.fail(f"as {b.name} on {q}: shows {sorted(linked(world, body, visible))}, expected {sorted(expected)}")
        # text filter: every token of every record of the type
        for t in query_tokens(ctx, b, world.records_of(rtype)):
            field_name = t.owner[2]
            if field_name == "tags":
                q = f"{url}?tag={t.text}"
            else:
                q = f"{url}?q={t.text}"
            resp = b.get(q, target="record-list" if ctx.thorough and len(t.text) % 2 else None, rule=rule)
            body = ctx.check(b, resp, q, status=200, echo=t.text)
            found = linked(world, body, visible)
            if field_name == "tags":
                r = world.spec.record(t.owner[1])
                exp = {r.key} if world.level(b.user, r) == "full" else set()
                if found != exp:
                    ctx.fail(f"as {b.name} on {q}: shows {sorted(found)}, expected {sorted(exp)}")
            else:
                q_expectation(ctx, b, t, found, q)
            if list_count(resp) != len(found):
                ctx.fail(f"as {b.name} on {q}: count {list_count(resp)} but {len(found)} rows")


def probe_export(ctx: Ctx, rule: str, params: dict) -> None:
    rtype = params["rtype"]
    world = ctx.world
    url = fill(rule)
    for b in ctx.browsers:
        may = b.user.role in ("admin", "extended")
        visible = world.visible(b.user, rtype)
        gids = list(world.group_ids.values())
        variants = ["", f"?tag={COMMON_TAG}", f"?group_id={gids[ctx.browsers.index(b) % len(gids)]}"]
        if not may:
            variants = [""]
        elif ctx.thorough:
            variants += [f"?q={t.text}" for t in query_tokens(ctx, b, world.records_of(rtype))
                         if not t.is_name][:3]
        for v in variants:
            resp = b.get(url + v, rule=rule)
            echo = v.split("=", 1)[1] if v.startswith("?q=") else None
            body = ctx.check(b, resp, url + v, status=200 if may else 403, echo=echo)
            if not may or v:
                continue
            if resp.mimetype != "text/csv":
                ctx.fail(f"as {b.name} on {url}: {resp.mimetype}")
            for r in visible:
                want = [t for t in world.tokens_of(r.key) if world.allowed(b.user, t)]
                ctx.expect_present(b, body, want, f"{url} ({r.key})")


def probe_lookup(ctx: Ctx, rule: str, params: dict) -> None:
    rtype = params["rtype"]
    world = ctx.world
    url = fill(rule)
    for b in ctx.browsers:
        resp = b.get(url, rule=rule)
        ctx.check(b, resp, url, status=200)
        for t in query_tokens(ctx, b, world.records_of(rtype), names_only=not ctx.thorough):
            q = f"{url}?q={t.text}&field={rtype}_id"
            resp = b.get(q, target=f"{rtype}_id-options", rule=rule)
            body = ctx.check(b, resp, q, status=200, echo=t.text)
            found = linked(world, body, world.visible(b.user, rtype))
            q_expectation(ctx, b, t, found, q, full_only=True)


def probe_search(ctx: Ctx, rule: str, params: dict) -> None:
    world = ctx.world
    url = fill(rule)
    for b in ctx.browsers:
        everything = [r for r in world.spec.records if world.level(b.user, r) != "hidden"]
        for q in ("", "kx", "%", "_"):
            resp = b.get(f"{url}?q={q}", rule=rule)
            ctx.check(b, resp, f"{url}?q={q}", status=200)
        for t in query_tokens(ctx, b, world.spec.records) + file_name_tokens(ctx, b, world.spec.records):
            for target in ((None, "search-live") if t.is_name and ctx.thorough else (None,)):
                q = f"{url}?q={t.text}"
                resp = b.get(q, target=target, rule=rule)
                body = ctx.check(b, resp, f"{q} [{target}]", status=200, echo=t.text)
                found = linked(world, body, everything)
                q_expectation(ctx, b, t, found, f"{q} [{target}]")


def probe_new(ctx: Ctx, rule: str, params: dict) -> None:
    world = ctx.world
    url = fill(rule)
    for b in ctx.browsers:
        resp = b.get(url, rule=rule)
        ctx.check(b, resp, url, status=200)
        refs = dict(APP_TYPES[params["rtype"]].references)
        keys = [k for k in ("company", "person", "deal", "project") if f"{k}_id" in refs]
        others = [k for k in ("company", "person", "deal", "project") if k not in keys]
        keys.append(others[ctx.browsers.index(b) % len(others)])
        for key in keys:
            ids = [*world.all_record_ids(), world.unused_id()]
            if f"{key}_id" not in refs:
                ids = ids[ctx.browsers.index(b) % len(ids)::3]
            for rid in ids:
                q = f"{url}?{key}_id={rid}"
                resp = b.get(q, rule=rule)
                body = ctx.check(b, resp, q, status=200)
                parent = world.record_by_id(key, rid)
                if parent and world.level(b.user, parent) == "full" and refs.get(f"{key}_id") == key:
                    ctx.expect_present(b, body, [name_token(world, parent)], q)
        if "company_id" in refs:
            # the group field a picked company swaps in (htmx 'group-field'): it proposes the
            # company's group only for a company the user fully sees; any other id answers like one
            # never used
            unknown_q = f"{url}?company_id={world.unused_id()}"
            unknown = b.get(unknown_q, target="group-field", rule=rule)
            ctx.check(b, unknown, f"{unknown_q} [group-field]", status=200)
            for rid in world.all_record_ids():
                q = f"{url}?company_id={rid}"
                resp = b.get(q, target="group-field", rule=rule)
                ctx.check(b, resp, f"{q} [group-field]", status=200)
                company = world.record_by_id("company", rid)
                unseen = company is None or world.level(b.user, company) != "full"
                if unseen and normalized(resp) != normalized(unknown):
                    ctx.fail(f"as {b.name}: {q} [group-field] answers differently from a never-used id")


def probe_tasks(ctx: Ctx, rule: str, params: dict) -> None:
    world = ctx.world
    url = fill(rule)
    for b in ctx.browsers:
        for scope in ("mine", "created", "all", "bogus"):
            for status in ("open", "done"):
                q = f"{url}?scope={scope}&status={status}"
                resp = b.get(q, rule=rule)
                body = ctx.check(b, resp, q, status=200)
                if scope == "all":
                    expect = [t for t in world.tokens if t.owner[0] in ("task", "private")
                              and world.allowed(b.user, t) and _task_done(world, t) == (status == "done")]
                    ctx.expect_present(b, body, expect, q)
        resp = b.get(f"{url}?scope=all&page=2", rule=rule)
        ctx.check(b, resp, f"{url}?page=2", status=200)


def _task_done(world: World, t: Token) -> bool:
    if t.owner[0] == "private":
        return False
    i = [r.key for r in world.spec.records].index(t.owner[1])
    return i % 3 == 2  # as world.build sets it


def probe_home(ctx: Ctx, rule: str, params: dict) -> None:
    world = ctx.world
    url = fill(rule)
    for b in ctx.browsers:
        resp = b.get(url, rule=rule)
        body = ctx.check(b, resp, url, status=200)
        mine = [t for t in world.tokens if t.owner[0] == "task" and world.allowed(b.user, t)
                and not _task_done(world, t) and _assignee(world, t) == b.user.key]
        mine += [t for t in world.tokens if t.owner[0] == "private" and t.owner[2] == b.user.key]
        ctx.expect_present(b, body, mine, url + " (own open tasks)")
        for before in ("2100-01-01T00:00:00", "2030-01-01T18:00:00", "garbage"):
            resp = b.get(f"{url}?before={before}", target="activity-more", rule=rule)
            ctx.check(b, resp, f"{url}?before={before} [activity-more]", status=200)


def _assignee(world: World, t: Token) -> str:
    keys = [r.key for r in world.spec.records]
    users = [u.key for u in world.spec.users]
    return users[(keys.index(t.owner[1]) + 1) % len(users)]


def _attached_ids(world: World, kind: str) -> list[tuple[int, str | None]]:
    """(id, record key or None) of every note or task of the world, private tasks included."""
    if kind == "note":
        return [(nid, key) for key, ids in world.note_ids.items() for nid in ids]
    return [*((tid, key) for key, tid in world.task_ids.items()), *((tid, None) for tid in world.private_task_ids)]


def probe_attached(ctx: Ctx, rule: str, params: dict) -> None:
    """A note or task by its own id (``/notes/<id>``, ``/notes/<id>/edit``, ``/tasks/<id>/edit``):
    it follows its record. A note or task of a record the user does not fully see (restricted
    included), or someone else's private task, answers exactly like a never-used id; one the user
    sees shows its text. A note's edit form is its author's and the admins' (403 for others)."""
    from crm.extensions import db
    from crm.models import Note, Task

    world, kind = ctx.world, params["kind"]
    name = "note_id" if kind == "note" else "task_id"
    for b in ctx.browsers:
        unknown_url = fill(rule, **{name: world.unused_id()})
        unknown = b.get(unknown_url, rule=rule)
        ctx.check(b, unknown, unknown_url, status=404)
        base404 = normalized(unknown)
        me = world.user_ids[b.user.key]
        for oid, key in _attached_ids(world, kind):
            url = fill(rule, **{name: oid})
            row = db.session.get(Note if kind == "note" else Task, oid)
            db.session.rollback()
            if key is None:
                seen = me in (row.created_by_id, row.assignee_id)
            else:
                seen = world.level(b.user, world.spec.record(key)) == "full"
            status = 200 if seen else 404
            if seen and params.get("view") == "show":
                status = 302  # without htmx: to the record's page
            if seen and params.get("view") == "edit" and kind == "note" and not (
                    b.user.role == "admin" or row.author_id == me):
                status = 403
            resp = b.get(url, rule=rule)
            body = ctx.check(b, resp, url, status=status)
            if not seen and normalized(resp) != base404:
                ctx.fail(f"as {b.name}: {url} (not visible) answers differently from a never-used id")
            if status == 200:
                text = row.body if kind == "note" else row.title
                if text.split()[-1].lower() not in body.lower():
                    ctx.fail(f"as {b.name} on {url}: the {kind}'s text is missing")
            if seen and params.get("target"):
                hx = b.get(url, target=params["target"].replace("*", str(oid)), rule=rule)
                ctx.check(b, hx, f"{url} [htmx]", status=200 if status == 302 else status)


def probe_file(ctx: Ctx, rule: str, params: dict) -> None:
    """A file by its own id (``/files/<id>``, ``/api/v1/files/<id>``), as a download and as an inline
    preview: it follows its record. A file of a record the user does not fully see (restricted
    included) answers exactly like a never-used id; one the user sees is its bytes, as a download
    (``Content-Disposition: attachment``; these are text files, never inline) with ``nosniff``."""
    world, api = ctx.world, params.get("api", False)
    for b in ctx.browsers:
        unknown_url = fill(rule, file_id=world.unused_id())
        unknown = b.get(unknown_url, api=api, rule=rule)
        ctx.check(b, unknown, unknown_url, status=404)
        base404 = normalized(unknown)
        for key, ids in world.file_ids.items():
            seen = world.level(b.user, world.spec.record(key)) == "full"
            for fid in ids:
                for args in ("", "?inline=1"):
                    url = fill(rule, file_id=fid) + args
                    resp = b.get(url, api=api, rule=rule)
                    body = ctx.check(b, resp, url, status=200 if seen else 404)
                    if not seen and normalized(resp) != base404:
                        ctx.fail(f"as {b.name}: {url} (not visible) answers differently from a never-used id")
                    if resp.status_code != 200:
                        continue
                    ctx.expect_present(b, body, attached_tokens(world, world.spec.record(key), ("file_bytes",)), url)
                    ctx.expect_present(b, resp.headers.get("Content-Disposition", ""),
                                       attached_tokens(world, world.spec.record(key), ("file",)), f"{url} (name)")
                    if not resp.headers.get("Content-Disposition", "").startswith("attachment"):
                        ctx.fail(f"as {b.name} on {url}: a text file is not a download")


def probe_login(ctx: Ctx, rule: str, params: dict) -> None:
    url = fill(rule)
    resp = ctx.anon.get(url, rule=rule)
    ctx.check(ctx.anon, resp, url, status=200)
    for b in ctx.browsers:
        resp = b.get(url, rule=rule)
        ctx.check(b, resp, url, status=302)


def probe_health(ctx: Ctx, rule: str, params: dict) -> None:
    """The health check answers everyone alike, without a login, and says nothing of records."""
    url = fill(rule)
    bodies = set()
    for b in [ctx.anon, *ctx.browsers]:
        resp = b.get(url, rule=rule)
        ctx.check(b, resp, url, status=200)
        bodies.add(resp.get_data(as_text=True))
    if len(bodies) != 1 or set(json.loads(bodies.pop())) != {"status", "database", "migrations", "queue"}:
        ctx.fail(f"{url}: answers differ between users, or carry more than the health parts")


def probe_page(ctx: Ctx, rule: str, params: dict) -> None:
    url = fill(rule)
    for b in ctx.browsers:
        resp = b.get(url, rule=rule)
        ctx.check(b, resp, url, status=200)


def probe_pipeline(ctx: Ctx, rule: str, params: dict) -> None:
    """The deals board and chart: every fully visible deal is on the board, nothing else leaks."""
    world = ctx.world
    url = fill(rule)
    for b in ctx.browsers:
        for args in ("?currency=CHF&from=2000-01", "?currency=bogus&from=garbage", ""):
            resp = b.get(url + args, rule=rule)
            body = ctx.check(b, resp, url + args, status=200)
        full = [r for r in world.records_of("deal") if world.level(b.user, r) == "full"]
        ctx.expect_present(b, body, [name_token(world, r) for r in full], url)


def import_job(ctx: Ctx, text: str = "Nachname;Firma\nEins;Irgendwer GmbH\n") -> tuple[int, str] | None:
    """A CSV import of people waiting for its columns, of an extended user (else an admin), made
    through the page: (job id, owner's key); None in a world without either."""
    import io

    owners = sorted((b for b in ctx.browsers if b.user.role in ("extended", "admin")),
                    key=lambda b: b.user.role != "extended")
    if not owners:
        return None
    resp = owners[0].send("POST", "/import",
                          data={"record_type": "person", "file": (io.BytesIO(text.encode()), "x.csv")})
    assert resp.status_code == 302, resp.status_code
    return int(resp.headers["Location"].rstrip("/").split("/")[-2]), owners[0].user.key


def probe_imports(ctx: Ctx, rule: str, params: dict) -> None:
    """Import pages: extended users and admins only; a job is its owner's (admins may look at and
    undo anyone's, not map it); someone else's job answers like an unknown one."""
    world = ctx.world
    job, owner = (import_job(ctx) or (None, None)) if params.get("job") else (None, None)
    if params.get("job") and job is None:
        return
    for b in ctx.browsers:
        may = b.user.role in ("admin", "extended")
        for jid in ([job, world.unused_id()] if job else [None]):
            url = fill(rule, job_id=jid)
            if not may:
                status = 403
            elif jid is None or (jid == job and (b.user.key == owner or (
                    b.user.role == "admin" and not params.get("own")))):
                status = 200
            else:
                status = 404
            ctx.check(b, b.get(url, rule=rule), url, status=status)
            if params.get("job") and not params.get("own"):
                ctx.check(b, b.get(url, target="import-status", rule=rule), f"{url} [import-status]", status=status)


def job_of(ctx: Ctx) -> tuple[int, str] | None:
    """A finished group assignment job (crm/jobs) of one user - a non-admin if there is one - as the
    worker leaves it: (job id, owner's key); None in a world without users."""
    from crm.common import utcnow
    from crm.extensions import db
    from crm.jobs.models import Job

    users = sorted(ctx.browsers, key=lambda b: b.user.role == "admin")
    if not users:
        return None
    owner = users[0].user.key
    job = Job(kind="assign", user_id=ctx.world.user_ids[owner], status="done", total=3, progress=3,
              params={"type": "company", "group_id": 1, "cascade": [], "source": "list", "ids": [1, 2, 3]},
              result={"updated": {"companies": 3}}, message="3", finished_at=utcnow())
    db.session.add(job)
    db.session.commit()
    return job.id, owner


def probe_jobs(ctx: Ctx, rule: str, params: dict) -> None:
    """A job is its owner's and the admins': for everyone else it answers like an unknown id."""
    made = job_of(ctx)
    if made is None:
        return
    job, owner = made
    unknown = fill(rule, job_id=ctx.world.unused_id())
    url = fill(rule, job_id=job)
    for b in ctx.browsers:
        status = 200 if b.user.key == owner or b.user.role == "admin" else 404
        for target in (None, "job-status"):
            mine = b.get(url, target=target, rule=rule)
            ctx.check(b, mine, url, status=status)
            other = b.get(unknown, target=target, rule=rule)
            ctx.check(b, other, unknown, status=404)
            if status == 404 and normalized(mine) != normalized(other):
                ctx.fail(f"as {b.name} on {url}: someone else's job answers unlike an unknown id")


def probe_job_download(ctx: Ctx, rule: str, params: dict) -> None:
    """An export's CSV (a job's file) is its owner's only: every other user, admins included,
    gets what an unknown id gets; the owner's holds nothing they may not see."""
    owner = next((b for b in ctx.browsers if b.user.role != "normal"), None)
    if owner is None:
        return
    threshold = ctx.app.config["EXPORT_JOB_ROWS"]
    ctx.app.config["EXPORT_JOB_ROWS"] = 0  # every export with a row runs as a job
    try:
        started = owner.send("POST", "/companies/export", data={})
    finally:
        ctx.app.config["EXPORT_JOB_ROWS"] = threshold
    if started.status_code != 302:  # no company at all: the CSV came at once
        ctx.check(owner, started, "POST /companies/export", status=200)
        return
    url = started.headers["Location"].replace("http://localhost", "") + "/download"
    unknown = fill(rule, job_id=ctx.world.unused_id())
    for b in ctx.browsers:
        status = 200 if b is owner else 404
        mine = b.get(url, rule=rule)
        ctx.check(b, mine, url, status=status)
        other = b.get(unknown, rule=rule)
        ctx.check(b, other, unknown, status=404)
        if status == 404 and normalized(mine) != normalized(other):
            ctx.fail(f"as {b.name} on {url}: someone else's export answers unlike an unknown id")


def probe_static(ctx: Ctx, rule: str, params: dict) -> None:
    for name, status in (("app.js", 200), ("app.css", 200), ("nothing-here.js", 404)):
        url = fill(rule, filename=name)
        for b in [ctx.anon, *ctx.browsers[:1]]:
            resp = b.get(url, rule=rule)
            ctx.check(b, resp, url, status=status)
            resp.close()


def probe_admin(ctx: Ctx, rule: str, params: dict) -> None:
    from crm.audit.services import ACTIONS

    world = ctx.world
    ids_kind = params.get("ids")
    if ids_kind == "field":
        ids = list(world.field_ids.values())
    elif ids_kind == "group":
        ids = list(world.group_ids.values())
    elif ids_kind == "user":
        ids = list(world.user_ids.values())
    elif ids_kind == "stage":
        ids = [1, 2, 3]  # the migration's stages
    elif ids_kind == "rule":
        ids = []  # the worlds have no assignment rules: an id answers admins 404, like an unknown one
    else:
        ids = [None]
    extra = [""]
    if params.get("audit"):
        extra += [f"?action={a}" for a in ACTIONS] + ["?page=2", "?action=bogus"]
    if params.get("entity_args"):
        extra += [f"?entity={k}" for k in ("company", "person", "deal", "project", "bogus")]
    for b in ctx.browsers:
        admin = b.user.role == "admin"
        for rid in ids + ([world.unused_id()] if ids_kind else []):
            url = fill(rule, field_id=rid, group_id=rid, user_id=rid, stage_id=rid, rule_id=rid)
            for e in extra:
                resp = b.get(url + e, rule=rule)
                if not admin:
                    status = 403
                elif rid is not None and rid not in ids:
                    status = 404
                elif rule == "/settings":
                    status = 302
                elif params.get("basis") and rid == 1:
                    status = params["basis"]
                else:
                    status = 200
                ctx.check(b, resp, url + e, status=status)


def anonymous(ctx: Ctx, rule: str) -> None:
    """Every GET rule without logging in: the login page (or 401 for the API), never data."""
    world = ctx.world
    rid = world.all_record_ids()[0] if world.record_ids else 1
    url = fill(rule, plural="companies", record_id=rid, field_id=1, group_id=1, user_id=1,
               filename="app.js", note_id=1, task_id=1, job_id=1, file_id=1)
    resp = ctx.anon.get(url, rule=rule)
    if rule in ("/login", "/static/<path:filename>", "/api/v1/openapi.json", "/healthz"):
        expected = (200,)
    elif rule.startswith("/api/"):
        expected = (401,)
    else:
        expected = (302,)
    body = ctx.check(ctx.anon, resp, f"{url} (anonymous)", status=expected)
    resp.close()
    if resp.status_code == 302 and "/login" not in resp.headers.get("Location", ""):
        ctx.fail(f"anonymous {url}: redirect to {resp.headers.get('Location')}")
    del body


def probe_trash(ctx: Ctx, rule: str, params: dict) -> None:
    """Settings -> recycle bin: for users who may delete (others 403); in these worlds it is empty."""
    url = fill(rule)
    for b in ctx.browsers:
        for args in ("", "?page=2", "?page=bogus"):
            resp = b.get(url + args, rule=rule)
            ctx.check(b, resp, url + args, status=200 if b.user.role in ("admin", "extended") else 403)


PROBERS = {
    "trash": probe_trash,
    "record": probe_record,
    "list": probe_list,
    "export": probe_export,
    "lookup": probe_lookup,
    "search": probe_search,
    "new": probe_new,
    "tasks": probe_tasks,
    "attached": probe_attached,
    "file": probe_file,
    "home": probe_home,
    "login": probe_login,
    "health": probe_health,
    "page": probe_page,
    "static": probe_static,
    "admin": probe_admin,
    "pipeline": probe_pipeline,
    "imports": probe_imports,
    "jobs": probe_jobs,
    "job_download": probe_job_download,
}


def _api_probers() -> dict:
    from .api_probes import API_PROBERS

    return API_PROBERS


def make_ctx(app, world: World, world_id: str, *, thorough: bool = True) -> Ctx:
    app.config["PAGE_SIZE"] = PAGE_SIZE
    app.config["API_RATE_LIMIT"] = 10**9  # thousands of requests a minute from one address
    browsers = [Browser(app, world, u, world_id) for u in world.spec.users]
    anon = Browser(app, world, None, world_id)
    figures.add("worlds")
    return Ctx(app, world, world_id, browsers, anon, thorough)


def assert_clean(ctx: Ctx) -> None:
    if ctx.failures:
        # one line per kind of problem and route, so a systematic leak does not hide the others
        distinct: dict[str, str] = {}
        for msg in ctx.failures:
            distinct.setdefault(re.sub(r"\?\S*|kx\d+\w+|\d+", "#", msg)[:160], msg)
        head = "\n".join(list(distinct.values())[:60])
        raise AssertionError(f"{len(ctx.failures)} problems in world {ctx.world_id}:\n{head}")


__all__ = ["PLURAL", "PROBERS", "Ctx", "assert_clean", "make_ctx", "run_all"]
