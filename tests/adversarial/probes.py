"""Requests as a user would send them, and the checks every response goes through.

* :class:`Browser` - one user's (or an anonymous visitor's) test client, logged in through the
  login form, sending htmx headers like the pages do; counts every request for the figures.
* :func:`leaks` - forbidden tokens of the oracle found in a response (body, Location,
  Content-Disposition).
* :func:`policy_violations` - what the Content-Security-Policy forbids in a page (inline scripts,
  ``on*`` handlers, ``style=``, ``hx-on``, ``javascript:`` URLs) and missing security headers.
* :func:`normalized` - a body with the per-request CSRF token blanked out, for "the 404 of a hidden
  record is exactly the 404 of a never-used id".
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

from . import figures
from .world import PASSWORD, PLURAL, Token, UserSpec, World

HTML_TYPES = ("text/html",)


class Browser:
    def __init__(self, app, world: World | None, user: UserSpec | None, world_id: str = "w"):
        self.app = app
        self.world = world
        self.user = user
        self.world_id = world_id
        self.client = app.test_client()
        self.api_token = world.api_tokens.get(user.key) if (world and user) else None
        self._forbidden: list[Token] | None = None
        self._regex: re.Pattern | None = None
        if user is not None:
            resp = self.client.post("/login", data={"email": world.user_emails[user.key], "password": PASSWORD})
            assert resp.status_code == 302, f"login of {user.key} failed: {resp.status_code}"
            figures.add("requests")

    @property
    def name(self) -> str:
        return self.user.key if self.user else "anonymous"

    # -- requests -----------------------------------------------------------------------------
    def get(self, url: str, *, target: str | None = None, api: bool = False, rule: str | None = None,
            headers: dict | None = None):
        hdrs = dict(headers or {})
        if target is not None:
            hdrs.update({"HX-Request": "true", "HX-Target": target, "HX-Current-URL": "http://localhost/"})
        if api and self.api_token:
            hdrs["Authorization"] = f"Bearer {self.api_token}"
        resp = self.client.get(url, headers=hdrs)
        self._count(resp, rule)
        return resp

    def send(self, method: str, url: str, *, rule: str | None = None, target: str | None = None,
             api: bool = False, **kwargs):
        hdrs = dict(kwargs.pop("headers", None) or {})
        if target is not None:
            hdrs.update({"HX-Request": "true", "HX-Target": target})
        if api and self.api_token:
            hdrs["Authorization"] = f"Bearer {self.api_token}"
        resp = self.client.open(url, method=method, headers=hdrs, **kwargs)
        self._count(resp, rule)
        return resp

    def _count(self, resp, rule: str | None) -> None:
        figures.add("requests")
        if resp.status_code >= 500:
            figures.add("server_errors")
        if rule is not None:
            figures.checked(self.world_id, self.name, rule)

    # -- the oracle ---------------------------------------------------------------------------
    def forbidden(self) -> list[Token]:
        if self._forbidden is None:
            if self.world is None:
                self._forbidden = []
            elif self.user is None:
                self._forbidden = list(self.world.tokens)
            else:
                self._forbidden = self.world.forbidden(self.user) + hidden_links(self.world, self.user)
            parts = [t.pattern.pattern if t.pattern else re.escape(t.text) for t in self._forbidden]
            self._regex = re.compile("|".join(parts), re.IGNORECASE) if parts else None
        return self._forbidden

    def leaks(self, resp, echo: str | None = None) -> list[Token]:
        """Forbidden tokens in the response. ``echo``: the query the user typed (pages repeat it)."""
        self.forbidden()
        if self._regex is None:
            return []
        # a CSRF token and an edit form's value digests are random-looking letters and digits: a
        # year token ("2215") can turn up inside one by chance (it did, once in some 30,000 pages)
        body = _OPAQUE.sub(r'\1"', response_text(resp))
        if echo:
            body = re.sub(re.escape(echo), " ", body, flags=re.IGNORECASE)
        if not self._regex.search(body):
            return []
        return [t for t in self._forbidden if t.found_in(body)]

    def assert_no_leak(self, resp, context: str, echo: str | None = None) -> None:
        figures.add("leak_checks")
        found = self.leaks(resp, echo)
        if found:
            figures.add("leaks", len(found))
            owners = ", ".join(f"{t.text} {t.owner}" for t in found[:5])
            raise AssertionError(f"LEAK as {self.name} on {context} (HTTP {resp.status_code}): {owners}")


def hidden_links(world: World, user: UserSpec) -> list[Token]:
    """A link to a hidden record's page gives away that it exists (and its id): forbidden too."""
    out = []
    for r in world.spec.records:
        if world.level(user, r) == "hidden":
            path = f"/{PLURAL[r.type]}/{world.record_ids[r.key]}"
            out.append(Token(path, ("link", r.key), "link", re.compile(re.escape(path) + r"(?![\d])")))
    return out


def response_text(resp) -> str:
    parts = [resp.get_data(as_text=True)]
    for header in ("Location", "Content-Disposition", "HX-Redirect", "HX-Trigger"):
        if resp.headers.get(header):
            parts.append(resp.headers[header])
    return "\n".join(parts)


_CSRF = re.compile(r'(csrf[-_]token"[^>]*?(?:content|value)=")[^"]*"')
_OPAQUE = re.compile(r'((?:csrf[-_]token|name="base)"[^>]*?(?:content|value)=")[^"]*"')


def normalized(resp) -> str:
    return _CSRF.sub(r'\1CSRF"', resp.get_data(as_text=True))


# ----------------------------------------------------------------------------------------------
# Content-Security-Policy and headers
# ----------------------------------------------------------------------------------------------

class _PolicyScan(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = {k.lower(): (v or "") for k, v in attrs}
        if tag == "script":
            if "src" not in names:
                self.problems.append("inline <script>")
            self._in_script = True
        if tag == "style":
            self.problems.append("inline <style>")
        for name, value in names.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> event handler")
            if name == "style":
                self.problems.append(f"<{tag} style=…>")
            if name.startswith(("hx-on", "data-hx-on")):
                self.problems.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action", "formaction") and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:…>")
            if name in ("hx-vals", "hx-vars") and value.strip().lower().startswith("js:"):
                self.problems.append(f"<{tag} {name}=js:…>")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append("script content")


def policy_violations(resp) -> list[str]:
    problems = []
    csp = resp.headers.get("Content-Security-Policy", "")
    if not csp:
        problems.append("no Content-Security-Policy")
    else:
        directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
        script = directives.get("script-src") or directives.get("default-src", "")
        if not script or "'unsafe-inline'" in script or "'unsafe-eval'" in script or "*" in script.split():
            problems.append(f"weak script-src: {script!r}")
        style = directives.get("style-src") or directives.get("default-src", "")
        if "'unsafe-inline'" in style:
            problems.append("style-src allows inline styles")
        if "frame-ancestors" not in directives:
            problems.append("no frame-ancestors")
        if "object-src" not in directives:
            problems.append("no object-src")
    if resp.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if not resp.headers.get("Referrer-Policy"):
        problems.append("no Referrer-Policy")
    if resp.headers.get("X-Frame-Options") not in ("DENY", "SAMEORIGIN"):
        problems.append("no X-Frame-Options")
    if resp.mimetype in HTML_TYPES:
        scan = _PolicyScan()
        scan.feed(resp.get_data(as_text=True))
        problems += scan.problems
    return problems


def assert_policy(resp, context: str, *, authenticated: bool) -> None:
    problems = policy_violations(resp)
    if authenticated and resp.status_code == 200 and "no-store" not in resp.headers.get("Cache-Control", ""):
        problems.append(f"{resp.mimetype} answer to a logged-in user may be cached (no Cache-Control: no-store)")
    assert not problems, f"{context}: {sorted(set(problems))}"


def list_count(resp) -> int:
    """The number in the list's count line (``id="list-count"``)."""
    m = re.search(r'id="list-count"[^>]*>(.*?)</', resp.get_data(as_text=True), re.DOTALL)
    assert m, "no list count on the page"
    digits = re.sub(r"\D", "", m.group(1))
    assert digits, f"no number in the list count: {m.group(1)!r}"
    return int(digits)


def present(tokens, body: str) -> list[Token]:
    return [t for t in tokens if t.found_in(body)]


def order_of(tokens_by_record: dict[str, Token], body: str) -> list[str]:
    """Record keys in the order their tokens first appear in ``body``."""
    pos = {}
    low = body.lower()
    for key, tok in tokens_by_record.items():
        if tok.pattern is not None:
            m = tok.pattern.search(body)
            i = m.start() if m else -1
        else:
            i = low.find(tok.text.lower())
        if i >= 0:
            pos[key] = i
    return sorted(pos, key=pos.get)


# ----------------------------------------------------------------------------------------------
# forms as a browser submits them (the oracles send valid, plausible input)
# ----------------------------------------------------------------------------------------------

class _FormScan(HTMLParser):
    """The forms of a page: action, method and the fields a browser would submit unchanged
    (checked boxes and radios, selected options, text areas, every other input)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: tuple[str, list, bool] | None = None  # name, options, multiple
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k.lower(): (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""), "method": a.get("method", "get").upper(),
                          "fields": [], "id": a.get("id", "")}
            self.forms.append(self._form)
            return
        if self._form is None or "disabled" in a:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form["fields"].append((name, a.get("value", "on")))
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self._form["fields"].append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select = (name, [], "multiple" in a)
        elif tag == "option" and self._select is not None:
            self._select[1].append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None and self._form is not None:
            name, options, multiple = self._select
            chosen = [v for v, sel in options if sel]
            if not chosen and options and not multiple:
                chosen = [options[0][0]]
            self._form["fields"] += [(name, v) for v in chosen]
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form["fields"].append((self._textarea, "".join(self._text).removeprefix("\n")))
            self._textarea = None


def page_forms(resp) -> list[dict]:
    """Every form of an HTML response: ``{"action", "method", "id", "fields": [(name, value)]}``."""
    scan = _FormScan()
    scan.feed(resp.get_data(as_text=True))
    return scan.forms


def form_data(resp, action: str | None = None, method: str = "POST") -> list[tuple[str, str]] | None:
    """The fields of the page's form that posts to ``action`` (``None``: the first POST form with
    an empty or own action), as a browser would submit it unchanged; None if there is none."""
    for f in page_forms(resp):
        if f["method"] != method:
            continue
        if action is None or f["action"] in ("", action) or f["action"].split("?")[0] == action:
            return list(f["fields"])
    return None
