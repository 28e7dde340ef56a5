"""How views answer htmx: a fragment when the request targets it, else the whole page.

The decision looks at ``HX-Target`` (the id of the element being swapped), not at the bare
``HX-Request`` header: a boosted link or a history restore also carries ``HX-Request`` and
wants the full page. Every response says ``Vary: HX-Request, HX-Target`` (crm/web.py) so caches
keep both.
"""
from __future__ import annotations

from flask import Response, make_response, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def targets(*element_ids: str) -> bool:
    """True when this is an htmx request swapping one of the given element ids."""
    return is_htmx() and request.headers.get("HX-Target") in element_ids


def redirect_htmx(url: str) -> Response:
    """Redirect that works for plain and htmx requests alike."""
    if is_htmx():
        resp = make_response("", 204)
        resp.headers["HX-Redirect"] = url
        return resp
    from flask import redirect

    return redirect(url)
