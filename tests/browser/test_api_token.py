"""The API token from the profile page, used from the browser: it sees what its user sees, and
the API never accepts the session cookie instead of it."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import login
from .test_example_users import expected_parts

pytestmark = pytest.mark.browser

NORD = "lars.petersen@schmidt.example"

FETCH = """async ([path, token]) => {
    const headers = token ? {Authorization: 'Bearer ' + token} : {};
    const r = await fetch(path, {headers, credentials: 'same-origin'});
    return [r.status, await r.json()];
}"""


def api(page, path: str, token: str | None):
    return page.evaluate(FETCH, [path, token])


def test_token_from_the_profile_sees_what_its_user_sees(kontor, new_page):
    server = kontor("schmidt")
    parts = server.run(expected_parts, NORD)
    page = new_page(locale="en-GB")
    login(page, server, NORD)
    page.locator("header.topbar").get_by_role("link", name="Lars Petersen").click()
    expect(page.locator("#api-token")).to_contain_text("You have no token yet.")
    page.locator("#api-token").get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text().strip()
    assert len(token) >= 32

    # shown once: after a reload it is gone from the page
    page.goto(server.url("/profile"))
    expect(page.locator("#new-token")).to_have_count(0)
    assert token not in page.content()

    # the session cookie alone does not open the API
    page.watch.allow(401, r"^/api/v1/")
    status, body = api(page, "/api/v1/companies", None)
    assert status == 401 and body["error"]["code"] == "unauthorized"

    # with the token: the companies Lars sees, restricted ones as restricted
    items, n = [], 1
    while True:
        status, body = api(page, f"/api/v1/companies?per_page=50&page={n}", token)
        assert status == 200
        items += body["items"]
        if not body["has_more"]:
            break
        n += 1
    company = parts["company"]
    assert {i["id"] for i in items} == company.full.keys() | company.restricted.keys()
    restricted = [i for i in items if i["access"] == "restricted"]
    assert {i["id"] for i in restricted} == company.restricted.keys()
    assert all(set(i) <= {"id", "type", "access", "group", "name", "custom_fields"} for i in restricted)

    # a hidden deal is 404, as an id that never existed
    hidden_deal = min(parts["deal"].hidden)
    page.watch.allow(404, r"^/api/v1/deals/")
    assert api(page, f"/api/v1/deals/{hidden_deal}", token) == api(page, "/api/v1/deals/987654", token)

    # revoked in the profile: the token no longer works
    page.locator("#api-token").get_by_role("button", name="Revoke token").click()
    expect(page.locator("#api-token")).to_contain_text("You have no token yet.")
    assert api(page, "/api/v1/companies", token)[0] == 401
