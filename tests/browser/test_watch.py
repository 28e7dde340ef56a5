"""The page watch of conftest.py sees what it must fail a test for."""
from __future__ import annotations

import pytest

from .conftest import login

pytestmark = pytest.mark.browser


def test_the_watch_sees_console_errors_page_errors_and_unexpected_answers(kontor, page):
    server = kontor("fresh")
    login(page, server, "chefin@firma.example")
    page.evaluate("console.error('something broke')")
    page.evaluate("setTimeout(() => { throw new Error('uncaught'); }, 0)")
    page.evaluate("fetch('/companies/987654')")
    page.wait_for_timeout(300)
    # an inline style breaks the Content-Security-Policy: the browser reports it on the console
    page.evaluate("""() => { const s = document.createElement('style');
        s.textContent = 'body {}'; document.head.appendChild(s); }""")
    page.wait_for_timeout(300)
    seen = "\n".join(page.watch.all_problems())
    assert "something broke" in seen
    assert "uncaught" in seen
    assert "unexpected 404 for GET" in seen
    assert "Content Security Policy" in seen
    page.watch.problems.clear()  # seen, and meant: this test must not fail for them
    page.watch.allow(404, r"^/companies/987654$")
    page.evaluate("fetch('/companies/987654')")
    page.wait_for_timeout(300)
    assert page.watch.all_problems() == []
