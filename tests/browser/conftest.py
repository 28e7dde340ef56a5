"""Fixtures of the browser tests: a real Kontor per test and Chromium pages that watch for trouble.

* ``kontor(state)`` starts a server on a free port with its own fresh database holding ``state``
  ("fresh": migrated, one admin; or a demo example "schmidt", "meier", "mueller").
* ``new_page(locale=…)`` opens a page in a new browser context (own cookies). Every page is watched:
  console errors, uncaught page errors, failed requests and answers >= 400 that the test did not
  announce with ``page.watch.allow(status, path)`` fail the test, and so does an exception in the
  server.
* Without /usr/bin/chromium the tests are skipped, unless ``KONTOR_REQUIRE_BROWSER=1`` (as
  ``.ci/run`` sets), then they fail.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import pytest

from .live import CHROMIUM, DEMO_PASSWORD, ROOT, Databases, LiveServer, launch_chromium

REQUIRE = os.environ.get("KONTOR_REQUIRE_BROWSER") == "1"
#: what an ``expect`` and an action (a click, a fill) wait for, and a page load: once a request
#: took 15.4 s on PostgreSQL with two suites on the 2-core machine, and later two took 17 and 20 s
#: (a list's filter, a click on a record) with a third run beside them - the tests judge what
#: happens, not how fast
TIMEOUT_MS = 30_000
NAVIGATION_TIMEOUT_MS = 30_000

WATCH_KEY = pytest.StashKey["list"]()


def _unavailable(reason: str):
    if REQUIRE:
        pytest.fail(f"{reason} - KONTOR_REQUIRE_BROWSER=1 says the browser tests must run", pytrace=False)
    pytest.skip(f"{reason}: browser tests skipped (install Debian's chromium to run them)")


@pytest.fixture(scope="session")
def playwright_instance():
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:  # pragma: no cover - playwright is in requirements-dev.txt
        _unavailable("Playwright for Python is not installed")
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance):
    browser = launch_chromium(playwright_instance)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def databases(tmp_path_factory, worker_id):
    dbs = Databases(tmp_path_factory.mktemp("kontor-browser"), tag=f"br_{worker_id}")
    yield dbs
    dbs.close()


@pytest.fixture
def kontor(databases, request):
    """Start a Kontor: ``server = kontor("schmidt")``. Stopped (and its database dropped) after the test."""
    started: list[LiveServer] = []

    def start(state: str = "schmidt", config: dict | None = None) -> LiveServer:
        server = LiveServer(databases.copy(state), config).start()
        started.append(server)
        request.node.stash.setdefault(WATCH_KEY, []).append(server)
        return server

    yield start
    for server in started:
        server.stop()
        databases.drop(server.database_url)


# -- watching pages ------------------------------------------------------------------------------

#: Chromium logs every answer >= 400 as a console error too; the response watch judges those.
_RESOURCE_ERROR = re.compile(r"^Failed to load resource: the server responded with a status of \d+")
#: htmx logs a request it cut off (a newer one replaced it, or the test went on to another page:
#: intended, as the ERR_ABORTED xhr in Watch._failed) as ``htmx:sendAbort``, and every request that
#: did not succeed once more as ``htmx:afterRequest``. A real failure logs its own event besides
#: (``htmx:responseError``, ``htmx:sendError``), which is judged, as is its answer.
_HTMX_ABORT = re.compile(r"^htmx:(sendAbort|afterRequest)\b")


@dataclass
class Watch:
    """Everything that went wrong on the pages of one test."""

    problems: list[str] = field(default_factory=list)
    allowed: list[tuple[int, re.Pattern]] = field(default_factory=list)
    #: static files whose loading was cut off: url -> (problem, the page, its url then)
    cut_off: dict[str, tuple[str, object, str]] = field(default_factory=dict)

    def allow(self, status: int, path: str) -> None:
        """Announce an answer with this status for URLs whose path matches the regex ``path``."""
        self.allowed.append((status, re.compile(path)))

    def attach(self, page) -> None:
        page.watch = self
        page.on("console", self._console)
        page.on("pageerror", lambda err: self.problems.append(f"page error on {page.url}: {err}"))
        page.on("requestfailed", lambda req: self._failed(req, page))
        page.on("requestfinished", lambda req: self.cut_off.pop(req.url, None))
        page.on("response", self._response)

    def all_problems(self) -> list[str]:
        # A file cut off because the test went on to another page broke nothing anyone saw; one
        # cut off on the page the test ended on did (unless it loaded after all: requestfinished).
        stuck = [problem for problem, page, where in self.cut_off.values() if page.url == where]
        return self.problems + stuck

    def _console(self, msg) -> None:
        if msg.type == "error" and not _RESOURCE_ERROR.match(msg.text) and not _HTMX_ABORT.match(msg.text):
            self.problems.append(f"console error: {msg.text} ({msg.location.get('url', '')})")

    def _failed(self, req, page) -> None:
        failure = req.failure or ""
        problem = f"request failed: {req.method} {req.url}: {failure} (page at {page.url})"
        if "ERR_ABORTED" in failure:
            # htmx cancels a request superseded by a newer one (hx-sync="this:replace"): intended.
            if req.resource_type in ("xhr", "fetch"):
                return
            # a link whose answer is a file ("attachment"): the browser downloads it and stays
            response = req.response() if req.is_navigation_request() else None
            if response is not None and "attachment" in (response.headers.get("content-disposition") or ""):
                return
            # A navigation may cut off a static file of the page it leaves (a lazily loaded
            # section's script, say): judged at the end, see all_problems.
            if "/static/" in req.url:
                self.cut_off[req.url] = (problem, page, page.url)
                return
        self.problems.append(problem)

    def _response(self, resp) -> None:
        if resp.status < 400:
            return
        from urllib.parse import urlsplit

        path = urlsplit(resp.url).path
        if any(status == resp.status and rx.search(path) for status, rx in self.allowed):
            return
        self.problems.append(f"unexpected {resp.status} for {resp.request.method} {resp.url}")


@pytest.fixture
def new_page(browser, request):
    """Open a page in a new context: ``page = new_page(locale="en-GB")``."""
    watch = Watch()
    request.node.stash.setdefault(WATCH_KEY, []).append(watch)
    contexts = []

    def open_page(locale: str = "de-DE", width: int = 1280, height: int = 860):
        context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        contexts.append(context)
        context.on("page", watch.attach)
        page = context.new_page()
        return page

    yield open_page
    report = getattr(request.node, "kontor_report", None)
    if report is not None and report.failed:
        _keep_evidence(request.node, contexts, report.longreprtext)
    for context in contexts:
        context.close()


def _keep_evidence(node, contexts, failure: str) -> None:
    """A failed test leaves its failure, a screenshot and the HTML of each of its pages under
    test-results/ (kept out of git)."""
    out = ROOT / "test-results"
    out.mkdir(exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", node.nodeid)
    (out / f"{name}.txt").write_text(failure)
    for i, context in enumerate(contexts):
        for j, pg in enumerate(context.pages):
            try:
                pg.screenshot(path=str(out / f"{name}-{i}{j}.png"), full_page=True)
                (out / f"{name}-{i}{j}.html").write_text(pg.content())
            except Exception as err:
                print(f"no evidence from {pg.url}: {err}")


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.kontor_report = report
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After a test body passed: fail it for any trouble its pages or servers saw."""
    result = yield
    problems = []
    for watched in item.stash.get(WATCH_KEY, []):
        if isinstance(watched, Watch):
            problems += watched.all_problems()
        else:
            problems += [f"server error: {type(e).__name__}: {e}" for e in watched.errors]
    if problems:
        pytest.fail("The browser saw trouble:\n  " + "\n  ".join(problems), pytrace=False)
    return result


# -- helpers for the tests -------------------------------------------------------------------------

def settled(page) -> None:
    """Wait until the page's scripts have run and htmx is done: no request out, nothing being
    swapped or settled.

    htmx and app.js are deferred: a page can show its buttons before they are wired (once, on a
    loaded CI machine, an undo was clicked 0.2 s after its page arrived and went out twice).
    htmx wires up new content only when it settles (20 ms after the swap); a script that acts at
    once after a boosted page arrived - faster than any person - would find its controls dead."""
    page.wait_for_function("() => document.readyState === 'complete'"
                           " && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


def login(page, server: LiveServer, email: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the form, as a user would."""
    from playwright.sync_api import expect

    page.goto(server.url("/login"))
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    # (the click waits for the navigation it starts: a page load's time, not an action's - two
    # suites side by side once made a login take more than 15 s)
    page.locator("form button[type=submit]").click(timeout=NAVIGATION_TIMEOUT_MS)
    expect(page.locator("header.topbar")).to_be_visible()
    settled(page)


@pytest.fixture
def log_in():
    return login
