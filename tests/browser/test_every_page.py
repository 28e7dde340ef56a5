"""Every page a user can reach by links opens cleanly in the browser: no server error, no console
error (a Content-Security-Policy violation shows up there), no failed request."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from .conftest import login

pytestmark = pytest.mark.browser

#: Not pages: downloads, and links that would end the session.
SKIP = re.compile(r"(\.csv$|^/logout|^/static/)")


def crawl(page, server, limit: int) -> list[str]:
    """Open the pages linked from the start page, breadth first, one example per URL pattern."""
    seen_patterns: set[str] = set()
    queue = ["/"]
    visited = []
    while queue and len(visited) < limit:
        path = queue.pop(0)
        pattern = re.sub(r"\d+", "N", path)
        if pattern in seen_patterns:
            continue
        seen_patterns.add(pattern)
        resp = page.goto(server.url(path))
        assert resp is not None and resp.status == 200, f"{path}: {resp and resp.status}"
        visited.append(path)
        for href in page.locator("a[href]").evaluate_all("as => as.map(a => a.getAttribute('href'))"):
            parts = urlsplit(href)
            if parts.netloc or not parts.path.startswith("/") or SKIP.search(parts.path):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if re.sub(r"\d+", "N", target) not in seen_patterns:
                queue.append(target)
    return visited


@pytest.mark.parametrize("email", ["claudia.schmidt@schmidt.example", "lars.petersen@schmidt.example"],
                         ids=["admin", "normal"])
def test_every_linked_page_opens_cleanly(kontor, page, email):
    server = kontor("schmidt")
    login(page, server, email)
    visited = crawl(page, server, limit=120)
    assert len(visited) > 20, visited
    expected = {"/companies", "/people", "/deals", "/projects", "/tasks", "/profile"}
    if email.startswith("claudia"):
        expected |= {"/settings/users", "/settings/groups", "/settings/fields", "/settings/audit"}
    assert expected <= set(visited)
