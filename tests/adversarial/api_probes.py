"""Probers for the JSON API (/api/v1), with each user's bearer token: the same oracle and leak
assertions as the pages, on JSON."""
from __future__ import annotations

import math

from .coverage import KEY_OF, fill
from .leakcheck import PAGE_SIZE, Ctx, file_name_tokens, q_expectation, query_tokens
from .world import COMMON_TAG, NAME_FIELDS, PLURAL, World

#: what a restricted record's JSON may carry (interfaces.md, "A restricted record carries only …")
RESTRICTED_KEYS = {"id", "type", "access", "group", "custom_fields", "first_name", "last_name", "name"}


def _json(ctx: Ctx, b, resp, context: str, status) -> dict | list | None:
    ctx.check(b, resp, context, status=status)
    if resp.mimetype != "application/json":
        ctx.fail(f"as {b.name} on {context}: answered {resp.mimetype}, not JSON")
        return None
    return resp.get_json(silent=True)


def found_items(world: World, items, records) -> set[str]:
    have = {(i.get("type"), i.get("id")) for i in items or [] if isinstance(i, dict)}
    return {r.key for r in records if (r.type, world.record_ids[r.key]) in have}


def _check_items(ctx: Ctx, b, items, context: str) -> None:
    for item in items or []:
        rec = ctx.world.record_by_id(item.get("type"), item.get("id"))
        if rec is None:
            continue
        lvl = ctx.world.level(b.user, rec)
        if item.get("access") != lvl:
            ctx.fail(f"as {b.name} on {context}: {rec.key} has access {item.get('access')!r}, expected {lvl}")
        if lvl == "restricted" and set(item) - RESTRICTED_KEYS:
            ctx.fail(f"as {b.name} on {context}: restricted {rec.key} carries {sorted(set(item) - RESTRICTED_KEYS)}")


def probe_api_list(ctx: Ctx, rule: str, params: dict) -> None:
    rtype = params["rtype"]
    world = ctx.world
    url = fill(rule)
    for b in ctx.browsers:
        visible = world.visible(b.user, rtype)
        want = {r.key for r in visible}
        pages = max(1, math.ceil(len(visible) / PAGE_SIZE))
        seen: list[str] = []
        for page in range(1, pages + 2):
            q = f"{url}?page={page}&per_page={PAGE_SIZE}"
            body = _json(ctx, b, b.get(q, api=True, rule=rule), q, 200) or {}
            items = body.get("items", [])
            _check_items(ctx, b, items, q)
            seen += sorted(found_items(world, items, visible))
            if body.get("has_more") != (page < pages):
                ctx.fail(f"as {b.name} on {q}: has_more {body.get('has_more')} on page {page} of {pages}")
        if sorted(seen) != sorted(want):
            ctx.fail(f"as {b.name} on {url}: pages list {sorted(seen)}, expected {sorted(want)}")
        for gname, gid in world.group_ids.items():
            q = f"{url}?group_id={gid}&per_page=100"
            body = _json(ctx, b, b.get(q, api=True, rule=rule), q, 200) or {}
            expected = {r.key for r in visible if r.group == gname or not world.spec.enabled}
            if found_items(world, body.get("items"), visible) != expected:
                ctx.fail(f"as {b.name} on {q}: {sorted(found_items(world, body.get('items'), visible))}, "
                         f"expected {sorted(expected)}")
        q = f"{url}?tag={COMMON_TAG}&per_page=100"
        body = _json(ctx, b, b.get(q, api=True, rule=rule), q, 200) or {}
        expected = {r.key for r in visible if r.common_tag and world.level(b.user, r) == "full"}
        if found_items(world, body.get("items"), visible) != expected:
            ctx.fail(f"as {b.name} on {q}: tag filter shows {sorted(found_items(world, body.get('items'), visible))}")
        for t in query_tokens(ctx, b, world.records_of(rtype)):
            field = "tag" if t.owner[2] == "tags" else "q"
            q = f"{url}?{field}={t.text}&per_page=100"
            body = _json(ctx, b, b.get(q, api=True, rule=rule), q, 200) or {}
            found = found_items(world, body.get("items"), visible)
            if field == "tag":
                r = world.spec.record(t.owner[1])
                if found != ({r.key} if world.level(b.user, r) == "full" else set()):
                    ctx.fail(f"as {b.name} on {q}: shows {sorted(found)}")
            else:
                q_expectation(ctx, b, t, found, q)


API_STATUS = {
    "get": {"full": 200, "restricted": 200, "hidden": 404, "missing": 404},
    "notes": {"full": 200, "restricted": 403, "hidden": 404, "missing": 404},
    "history": {"full": 200, "restricted": 403, "hidden": 404, "missing": 404},
    "files": {"full": 200, "restricted": 403, "hidden": 404, "missing": 404},
}


def probe_api_record(ctx: Ctx, rule: str, params: dict) -> None:
    view = params["view"]
    plural = params["plural"]
    rtype = KEY_OF[plural]
    world = ctx.world
    for b in ctx.browsers:
        unknown_url = fill(rule, record_id=world.unused_id())
        unknown = b.get(unknown_url, api=True, rule=rule)
        _json(ctx, b, unknown, unknown_url, 404)
        for rid in world.all_record_ids():
            rec = world.record_by_id(rtype, rid)
            lvl = world.level(b.user, rec) if rec else "missing"
            url = fill(rule, record_id=rid)
            resp = b.get(url, api=True, rule=rule)
            body = _json(ctx, b, resp, f"{url} ({lvl})", API_STATUS[view][lvl])
            if lvl in ("hidden", "missing") and resp.get_data() != unknown.get_data():
                ctx.fail(f"as {b.name}: {url} ({lvl}) answers differently from a never-used id")
            if rec is None or resp.status_code != 200 or body is None:
                continue
            text = resp.get_data(as_text=True)
            if view == "get":
                _check_items(ctx, b, [body], url)
                names = world.name_tokens(rec.key)
                shared = [t for t in world.tokens_of(rec.key) if t.owner[0] == "custom" and world.allowed(b.user, t)]
                emails = [t for t in world.tokens_of(rec.key) if t.owner[2] == "emails"] if lvl == "full" else []
                ctx.expect_present(b, text, [*names, *shared, *emails], url)
            else:
                kind = {"history": "history", "notes": "note", "files": "file"}[view]
                ctx.expect_present(b, text, [t for t in world.tokens if t.owner == (kind, rec.key)], url)


def probe_api_search(ctx: Ctx, rule: str, params: dict) -> None:
    world = ctx.world
    url = fill(rule)
    for b in ctx.browsers:
        everything = [r for r in world.spec.records if world.level(b.user, r) != "hidden"]
        for t in query_tokens(ctx, b, world.spec.records) + file_name_tokens(ctx, b, world.spec.records):
            q = f"{url}?q={t.text}"
            body = _json(ctx, b, b.get(q, api=True, rule=rule), q, 200) or {}
            _check_items(ctx, b, body.get("items"), q)
            q_expectation(ctx, b, t, found_items(world, body.get("items"), everything), q)


def probe_api_admin(ctx: Ctx, rule: str, params: dict) -> None:
    world = ctx.world
    ids = {"group": list(world.group_ids.values()), "field": list(world.field_ids.values()),
           "user": list(world.user_ids.values())}.get(params.get("ids"), [None])
    for b in ctx.browsers:
        admin = b.user.role == "admin"
        for rid in ids + ([world.unused_id()] if params.get("ids") else []):
            url = fill(rule, group_id=rid, field_id=rid, user_id=rid)
            status = (404 if rid is not None and rid not in ids else 200) if admin else 403
            if params.get("everyone") and not admin:
                status = 200
            _json(ctx, b, b.get(url, api=True, rule=rule), url, status)


def probe_api_public(ctx: Ctx, rule: str, params: dict) -> None:
    url = fill(rule)
    for b in [ctx.anon, *ctx.browsers]:
        _json(ctx, b, b.get(url, api=True, rule=rule), url, 200)


def probe_api_job(ctx: Ctx, rule: str, params: dict) -> None:
    """A job is its owner's and the admins': for everyone else 404, the body of an unknown id."""
    from .leakcheck import job_of

    made = job_of(ctx)
    if made is None:
        return
    job, owner = made
    unknown = fill(rule, job_id=ctx.world.unused_id())
    url = fill(rule, job_id=job)
    for b in ctx.browsers:
        status = 200 if b.user.key == owner or b.user.role == "admin" else 404
        got = _json(ctx, b, b.get(url, api=True, rule=rule), url, status)
        other = _json(ctx, b, b.get(unknown, api=True, rule=rule), unknown, 404)
        if status == 404 and got != other:
            ctx.fail(f"as {b.name} on {url}: someone else's job answers unlike an unknown id")


def probe_api_file(ctx: Ctx, rule: str, params: dict) -> None:
    """A file's bytes by its id: the page prober's checks, with the bearer token."""
    from .leakcheck import probe_file

    probe_file(ctx, rule, {**params, "api": True})


API_PROBERS = {
    "api_file": probe_api_file,
    "api_job": probe_api_job,
    "api_list": probe_api_list,
    "api_record": probe_api_record,
    "api_search": probe_api_search,
    "api_admin": probe_api_admin,
    "api_public": probe_api_public,
}

__all__ = ["API_PROBERS", "NAME_FIELDS", "PLURAL"]
