"""Bad input: Hypothesis-generated posts to every form of the app (fields found by reading the
rendered pages, so a new form is fuzzed without being listed) and bad query strings on every
page that reads one. Huge strings, control characters, NUL bytes, wrong types, negative and huge
numbers, unknown ids, bad dates, duplicated and unknown fields, bad CSRF tokens.

Never a 500; a refusal (4xx) shows a message and leaves every table as it was.
"""
from __future__ import annotations

import os
import re
from html.parser import HTMLParser

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import figures
from .coverage import GET, WRITE
from .leakcheck import make_ctx
from .probes import Browser
from .world import build, diff_dumps, dump_database, fixed_spec

PROFILE = os.environ.get("KONTOR_ADV_PROFILE", "ci")
EXAMPLES = {"ci": 150, "thorough": 2000}[PROFILE]
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

_SAMPLES = st.sampled_from([
        "", " ", "\x00", "a\x00b", "\x7f", "\u202e", "\ufeff", "²", "٣", "-1", "0", "-0", "1.5", "1e309", "NaN",
        "Infinity", "-99999999999999999999", "9" * 20, "9" * 5000, "0x1F", "2024-02-30", "0000-00-00",
        "9999-12-31", "31.12.2024", "2024-13-01T25:61", "null", "None", "true", "[]", "{}", "<script>x</script>",
        "' OR '1'='1", "%00", "%s%n", "../../etc/passwd", "http://", "javascript:alert(1)", "x" * 100_000,
        "a@b", "@", "äöü@ß.de", "1,2,3", "1.234,56", "-1.234,56", "999999999999999", "1e15",
        "2147483647", "2147483648", "4294967296",
])
#: the hand-picked values come up half of the time, random text and numbers the other half
NASTY = st.one_of(
    _SAMPLES, _SAMPLES, _SAMPLES,
    st.text(max_size=40),
    st.text(st.characters(max_codepoint=0x1F), max_size=10),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)

_state: dict = {}


class _Forms(HTMLParser):
    """The POST forms of a page: action -> {field name: [option values]}."""

    def __init__(self, page: str):
        super().__init__()
        self.page = page
        self.forms: dict[str, dict[str, list[str]]] = {}
        self._action: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self._action = a.get("action") or a.get("hx-post") or self.page
            self.forms.setdefault(self._action, {})
        elif tag == "form":
            self._action = None
        elif self._action is not None and tag in ("input", "select", "textarea") and a.get("name"):
            if a["name"] == "csrf_token":
                return
            values = self.forms[self._action].setdefault(a["name"], [])
            if tag == "select":
                self._select = a["name"]
            elif a.get("value"):
                values.append(a["value"])
        elif tag == "option" and self._select and self._action is not None:
            self.forms[self._action][self._select].append(a.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._action = None
        if tag == "select":
            self._select = None


def _rule_regex(rule: str) -> re.Pattern:
    parts = []
    for piece in re.split(r"(<[^>]+>)", rule):
        if piece.startswith("<int:"):
            parts.append(r"\d+")
        elif piece.startswith("<any("):
            parts.append("(?:" + "|".join(p.strip() for p in piece[5:piece.index(")")].split(",")) + ")")
        else:
            parts.append(re.escape(piece))
    return re.compile("".join(parts) + r"(?:\?.*)?$")


def _setup(app) -> dict:
    """One world per test run, and every form found on the pages a user reaches."""
    if _state.get("app") is app:
        return _state
    world = build(fixed_spec(True))
    ctx = make_ctx(app, world, "fuzz")
    admin = next(b for b in ctx.browsers if b.user.role == "admin")
    first = {t: next(r for r in world.records_of(t) if r.group in admin.user.all_groups)
             for t in ("company", "person", "deal", "project")}
    ids = {t: world.record_ids[r.key] for t, r in first.items()}
    gid = world.group_ids["Agenten"]
    pages = [
        "/companies", "/people", "/deals", "/projects",
        "/companies/new", "/people/new", "/deals/new", "/projects/new", "/tasks", "/profile",
        f"/companies/{ids['company']}", f"/people/{ids['person']}", f"/deals/{ids['deal']}",
        f"/projects/{ids['project']}", f"/companies/{ids['company']}/edit", f"/people/{ids['person']}/edit",
        f"/deals/{ids['deal']}/edit", f"/projects/{ids['project']}/edit", f"/deals/{ids['deal']}/delete",
        "/settings/account", "/settings/extensions", "/settings/users/new",
        f"/settings/users/{world.user_ids['norm_b']}", "/settings/groups", f"/settings/groups/{gid}",
        f"/settings/groups/{gid}/delete", "/settings/fields/new", "/settings/fields",
        f"/settings/fields/{next(iter(world.field_ids.values()))}",
    ]
    forms: dict[str, dict[str, list[str]]] = {}
    for page in pages:
        parser = _Forms(page)
        parser.feed(admin.get(page).get_data(as_text=True))
        for action, fields in parser.forms.items():
            forms.setdefault(action, {}).update(fields)
    login = _Forms("/login")
    login.feed(ctx.anon.get("/login").get_data(as_text=True))
    forms.update(login.forms)
    targets = []  # (method, rule, url, fields)
    for method, rule in WRITE:
        if rule in ("/logout",) or rule.startswith("/api/"):
            continue
        regex = _rule_regex(rule)
        found = [(url, f) for url, f in forms.items() if regex.match(url)]
        if not found:  # a route no page offers a form for: fuzz it with made-up fields
            from .coverage import fill

            c0 = first["company"].key
            found = [(fill(rule, plural="companies", record_id=ids["company"], note_id=world.note_ids[c0][0],
                           file_id=world.file_ids[c0][0], task_id=world.task_ids.get(c0, 1), field_id=1,
                           group_id=gid, entry_id=1, job_id=1,
                           view_id=1, user_id=world.user_ids["norm_b"]), {"name": [], "value": []})]
        for url, fields in found[:2]:
            targets.append((method, rule, url, fields))
    _state.clear()
    _state.update(app=app, world=world, ctx=ctx, admin=admin, targets=targets, ids=ids,
                  baseline=dump_database())
    return _state


def _has_message(body: str) -> bool:
    return any(m in body for m in ('class="error"', "form-errors", "error-page", 'aria-invalid="true"',
                                   "flash-error", '"error"', 'class="bulk-dialog"'))


def test_fuzzer_reaches_every_form_route(app):
    state = _setup(app)
    fuzzed = {(m, r) for m, r, _u, _f in state["targets"]}
    wanted = {(m, r) for (m, r) in WRITE if r != "/logout" and not r.startswith("/api/")}
    assert fuzzed == wanted, sorted(wanted - fuzzed)
    with_fields = [(r, sorted(f)) for _m, r, _u, f in state["targets"] if "name" not in f or len(f) > 2]
    assert len(with_fields) > 20, "the pages' forms were not found"


@FUZZ_SETTINGS
@given(data=st.data())
def test_form_posts_never_fail(app, data):
    state = _setup(app)
    method, rule, url, fields = data.draw(st.sampled_from(state["targets"]), label="target")
    form: dict[str, list[str]] = {}
    for name, options in fields.items():
        choice = data.draw(st.sampled_from(("omit", "nasty", "valid", "nasty", "two")), label=name)
        if choice == "omit":
            continue
        if choice == "valid" and options:
            form[name] = [data.draw(st.sampled_from(options))]
        elif choice == "two":
            form[name] = [data.draw(NASTY), data.draw(NASTY)]
        else:
            form[name] = [data.draw(NASTY, label=name)]
    if data.draw(st.booleans(), label="unknown field"):
        form[data.draw(st.sampled_from(["x", "id", "group_id", "version", "custom_fields", "cf_999999"]))] = [
            data.draw(NASTY)]
    target = data.draw(st.sampled_from([None, "notes", "tasks", "record-list"]), label="HX-Target")
    csrf = data.draw(st.sampled_from([None, None, None, "forged"]), label="csrf")
    b: Browser = state["ctx"].anon if rule == "/login" else state["admin"]
    if csrf:
        app.config["WTF_CSRF_ENABLED"] = True
    try:
        resp = b.send(method, url, data=form, target=target)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    figures.add("inputs_fuzzed")
    assert resp.status_code < 500, f"{method} {url} {form!r:.300}"
    body = resp.get_data(as_text=True)
    after = dump_database()
    if resp.status_code >= 400:
        assert _has_message(body) or resp.status_code in (404, 405), f"no message: {method} {url} {resp.status_code}"
        assert after == state["baseline"], f"refused {method} {url} but wrote: {diff_dumps(state['baseline'], after)}"
    if csrf:
        assert resp.status_code == 400 and after == state["baseline"]
    state["baseline"] = after
    if b is state["admin"] and resp.status_code in (302, 200) and b.get("/profile").status_code != 200:
        state["admin"] = Browser(app, state["world"], b.user, "fuzz")  # logged out (password changed): again


QUERY_PARAMS = ("q", "tag", "group_id", "sort", "dir", "page", "offset", "before", "scope", "status",
                "action", "field", "entity", "company_id", "person_id", "deal_id", "project_id")
#: what each page reads (the rest of QUERY_PARAMS is sent too, less often)
READS = {"list": ("q", "tag", "group_id", "sort", "dir", "page"), "export": ("q", "tag", "group_id", "sort", "dir"),
         "search": ("q",), "lookup": ("q", "field"), "tasks": ("scope", "status", "page"), "home": ("before", "after"),
         "record": ("offset",), "new": ("company_id", "person_id", "deal_id", "project_id"),
         "admin": ("action", "page", "entity"), "pipeline": ("currency", "from")}


@FUZZ_SETTINGS
@given(data=st.data())
def test_query_strings_never_fail(app, data):
    state = _setup(app)
    ids = state["ids"]
    rules = sorted(r for r in GET if "<path:" not in r)
    rule = data.draw(st.sampled_from(rules), label="rule")
    from .coverage import fill

    url = fill(rule, plural="companies", record_id=ids["company"], field_id=1, group_id=1, user_id=1, job_id=1,
               view_id=1, note_id=1, task_id=1, file_id=1)
    reads = READS.get(GET[rule].kind, ())
    names = data.draw(st.sets(st.sampled_from(reads or QUERY_PARAMS), min_size=1, max_size=3)) if reads else set()
    names |= data.draw(st.sets(st.sampled_from(QUERY_PARAMS), max_size=1))
    params = {k: data.draw(NASTY, label=k) for k in sorted(names)}
    target = data.draw(st.sampled_from([None, "record-list", "search-live", "notes-more", "activity-more"]))
    b = state["admin"]
    headers = {"HX-Request": "true", "HX-Target": target} if target else {}
    if url.startswith("/api/"):
        headers["Authorization"] = f"Bearer {b.api_token}"
    resp = b.client.get(url, query_string=params, headers=headers)
    figures.add("requests")
    figures.add("inputs_fuzzed")
    assert resp.status_code < 500, f"GET {url} {params!r:.300}"
    assert resp.status_code in (200, 302, 400, 403, 404, 422), (url, params, resp.status_code)
    if url.startswith("/api/") and resp.status_code >= 400:
        assert (resp.get_json(silent=True) or {}).get("error", {}).get("message"), (url, params)


BEYOND_32_BITS = ("2147483648", "4294967296", "9999999999")


def test_ids_beyond_32_bits_are_simply_not_found(app):
    """PostgreSQL's ``INTEGER`` ends at 2**31 - 1: a larger id in a URL or a query string is no
    record (404 or ignored), never a database error. Every page, every id-reading parameter."""
    state = _setup(app)
    ids = state["ids"]
    from .coverage import fill

    b = state["admin"]
    for rule in sorted(r for r in GET if "<path:" not in r):
        names = re.findall(r"<(?:[^>:]+:)?([^>]+)>", rule)
        values = {n: 1 for n in names} | {"plural": "companies", "record_id": ids["company"]}
        url = fill(rule, **values)
        headers = {"Authorization": f"Bearer {b.api_token}"} if url.startswith("/api/") else {}
        for big in BEYOND_32_BITS:
            params = {k: big for k in ("group_id", "company_id", "person_id", "deal_id", "project_id", "page")}
            resp = b.client.get(url, query_string=params, headers=headers)
            resp.get_data()  # a streamed CSV runs to its end (and closes its request context)
            assert resp.status_code < 500, (url, big)
            figures.add("requests")
            for name in re.findall(r"<(?:int|api_id):([^>]+)>", rule):
                huge = fill(rule, **(values | {name: big}))
                assert b.client.get(huge, headers=headers).status_code == 404, huge
                figures.add("requests")
    for key in ("company", "person", "deal", "project"):
        resp = b.client.get(f"/companies/new?{key}_id=2147483648")
        assert resp.status_code == 200


# -- the JSON API ---------------------------------------------------------------------------------

API_KEYS = ("name", "first_name", "last_name", "website", "background", "emails", "phones", "addresses", "tags",
            "group_id", "responsible_id", "custom_fields", "company_id", "person_id", "value", "currency", "stage",
            "target_date", "start_date", "status", "description", "position", "title", "salutation", "version",
            "stage_id", "reason_id", "reason_note",
            "ids", "cascade", "body", "kind", "occurred_at", "member_ids", "shared_with", "entity", "options",
            "groups_enabled", "email", "password", "role", "default_group_id", "id", "type", "access",
            "locale", "active", "group_ids")
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | NASTY,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(API_KEYS) | st.text(max_size=6),
                                                                 inner, max_size=3),
    max_leaves=6,
)
API_BODIES = st.one_of(
    st.dictionaries(st.sampled_from(API_KEYS), JSON_VALUES, max_size=6),
    st.dictionaries(st.sampled_from(API_KEYS), JSON_VALUES, max_size=6),
    JSON_VALUES,
)
RAW_BODIES = st.sampled_from([b"", b"{", b"nul", b"[1,", b'{"name": "\\ud800"}', b"\x00", b"\xff\xfe",
                              b'{"name": "x", "name": "y"}', b"1e999999", b'"' + b"x" * 100_000 + b'"'])


@FUZZ_SETTINGS
@given(data=st.data())
def test_api_bodies_never_fail(app, data):
    from .coverage import fill

    state = _setup(app)
    world = state["world"]
    targets = sorted((m, r) for (m, r) in WRITE if r.startswith("/api/") and m != "GET")
    method, rule = data.draw(st.sampled_from(targets), label="route")
    b: Browser = state["admin"]
    url = fill(rule, plural="companies", record_id=state["ids"]["company"], field_id=1, job_id=1, view_id=1,
               note_id=world.note_ids[next(iter(world.note_ids))][0], task_id=next(iter(world.task_ids.values())),
               file_id=world.file_ids[next(iter(world.file_ids))][0],
               group_id=world.group_ids["Agenten"],
               user_id=min(uid for key, uid in world.user_ids.items() if key != b.user.key))
    url = url.replace("/api/v1/companies/", "/api/v1/companies/").replace("<api_id:record_id>", "1")
    headers = {"Authorization": f"Bearer {b.api_token}"}
    if data.draw(st.integers(0, 4), label="raw?") == 0:
        body = data.draw(RAW_BODIES, label="raw body")
        resp = b.client.open(url, method=method, data=body, headers=headers,
                             content_type=data.draw(st.sampled_from(["application/json", "text/plain", None])))
    else:
        body = data.draw(API_BODIES, label="json body")
        resp = b.client.open(url, method=method, json=body, headers=headers)
    figures.add("requests")
    figures.add("inputs_fuzzed")
    assert resp.status_code < 500, f"{method} {url} {body!r:.300}"
    after = dump_database()
    if resp.status_code >= 400:
        payload = resp.get_json(silent=True)
        assert isinstance(payload, dict) and payload.get("error", {}).get("message"), (
            f"{method} {url}: {resp.status_code} without a JSON error message")
        assert after == state["baseline"], f"refused {method} {url} but wrote: {diff_dumps(state['baseline'], after)}"
    state["baseline"] = after
