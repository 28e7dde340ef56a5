"""CSRF: every state-changing route of the web pages refuses a request without a valid token
(none, a forged one, one of another session) and changes nothing; the same request with the
token in the X-CSRFToken header (as app.js sends it for htmx) gets past the check."""
from __future__ import annotations

import re

from . import figures
from .coverage import KEY_OF, WRITE, fill
from .leakcheck import make_ctx
from .probes import Browser
from .world import build, diff_dumps, dump_database, fixed_spec


def _csrf_refused(resp) -> bool:
    return resp.status_code == 400 and 'class="error-page"' in resp.get_data(as_text=True)


def _token(b: Browser, url: str = "/profile") -> str:
    body = b.get(url).get_data(as_text=True)
    m = re.search(r'name="csrf-token" content="([^"]+)"', body)
    assert m, "no CSRF token in the page"
    return m.group(1)


def _targets(world, method: str, rule: str) -> str:
    plural = next((p for p in KEY_OF if f"/{p}/" in rule or rule.startswith((f"/{p}", f"/api/v1/{p}"))),
                  "companies")
    rtype = KEY_OF[plural]
    record = world.records_of(rtype)[0]
    task_rule = "task_id>" in rule  # /tasks/<int:task_id>, /api/v1/tasks/<api_id:task_id>
    return fill(
        rule, plural=plural, record_id=world.record_ids[record.key],
        note_id=world.note_ids[record.key][0], file_id=world.file_ids[record.key][0],
        task_id=world.task_ids[record.key] if task_rule else 0,
        field_id=next(iter(world.field_ids.values())),
        group_id=world.group_ids["Agenten"], user_id=world.user_ids["norm_b"], entry_id=1, job_id=1, view_id=1,
    )


def test_every_state_changing_route_needs_a_valid_csrf_token(app):
    world = build(fixed_spec(False))  # the extension off: the admin may do everything
    ctx = make_ctx(app, world, "csrf")
    app.config["WTF_CSRF_ENABLED"] = True
    admin = next(b for b in ctx.browsers if b.user.role == "admin")
    other = next(b for b in ctx.browsers if b.user.role != "admin")
    foreign = _token(other)  # valid, but of another session
    failures = []
    routes = [(m, r) for (m, r) in WRITE if not r.startswith("/api/")]
    baseline = dump_database()
    for method, rule in routes:
        url = _targets(world, method, rule)
        b = ctx.anon if rule == "/login" else admin
        if rule == "/login":
            b.get("/login")  # a session, with its own token
        for label, kwargs in (
            ("no token", {}),
            ("forged form token", {"data": {"csrf_token": "forged"}}),
            ("forged header", {"headers": {"X-CSRFToken": "forged"}}),
            ("another session's token", {"headers": {"X-CSRFToken": foreign}}),
        ):
            data = {"name": "CSRF", "email": "x@y.z", "password": "p", **kwargs.pop("data", {})}
            resp = b.send(method, url, rule=rule, data=data, target="notes", **kwargs)
            figures.add("csrf_attempts")
            if not _csrf_refused(resp):
                failures.append(f"{method} {url} with {label}: HTTP {resp.status_code}, not refused")
        after = dump_database()
        if after != baseline:
            figures.add("unauthorized_writes")
            failures.append(f"{method} {url} without a valid token changed {diff_dumps(baseline, after)}")
            baseline = after
    # the header as app.js sends it passes the check (logout last: it ends the session)
    for method, rule in sorted(routes, key=lambda mr: mr[1] == "/logout"):
        url = _targets(world, method, rule)
        b = ctx.anon if rule == "/login" else admin
        token = _token(b, "/login" if rule == "/login" else "/profile")
        resp = b.send(method, url, data={"name": "CSRF"}, headers={"X-CSRFToken": token}, target="notes")
        if _csrf_refused(resp):
            failures.append(f"{method} {url}: refused although the X-CSRFToken header is valid")
        resp.close()  # a streamed CSV holds its request context until it is closed
    assert not failures, "\n".join(failures)


def test_the_api_takes_no_session_cookie(app):
    """The API is exempt from CSRF because it authenticates by bearer token only: a logged-in
    browser session (what a forged cross-site request would carry) gets 401 on every API write."""
    world = build(fixed_spec(False))
    ctx = make_ctx(app, world, "api-cookie")
    admin = next(b for b in ctx.browsers if b.user.role == "admin")
    baseline = dump_database()
    failures = []
    for method, rule in sorted(WRITE):
        if not rule.startswith("/api/") or rule == "/api/v1/tokens":
            continue
        url = _targets(world, method, rule)
        resp = admin.client.open(url, method=method, json={"name": "CSRF", "ids": [1], "group_id": 1})
        figures.add("csrf_attempts")
        if resp.status_code != 401:
            failures.append(f"{method} {url} with only the session cookie: HTTP {resp.status_code}")
    after = dump_database()
    assert after == baseline, diff_dumps(baseline, after)
    assert not failures, failures
