"""The API blueprint and what its modules share (the id converter, the acting user), apart from the
views, so the API's modules import no view module (:mod:`.views` registers the routes)."""
from __future__ import annotations

from flask import Blueprint, g

from .. import common

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class IdConverter(common.IdConverter):
    """A record, group or field id in a URL: as everywhere (1 to ``MAX_ID``), and written without
    sign or leading zero (anything else is simply not found)."""

    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, *args, **kwargs)
        self.regex = common.ID_PATTERN


bp.record_once(lambda state: state.app.url_map.converters.setdefault("api_id", IdConverter))

#: the URL converter of ids
ID = "api_id"


def api_user():
    """The user of the request's bearer token."""
    return g.api_user
