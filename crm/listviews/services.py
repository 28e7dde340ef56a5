"""Saving, listing and deleting saved list views. A view is its owner's; an admin may share one
with everyone (and delete a shared one). Nothing here reads a record: a view is a query string
that the list page runs as whoever opens it."""
from __future__ import annotations

from urllib.parse import urlencode

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from ..errors import Invalid, NotFound
from ..extensions import db
from ..records.queries import ListFilter
from ..visibility import Viewer
from .models import MAX_PER_LIST, NAME_MAX, QUERY_MAX, SavedView


def views_for(viewer: Viewer, entity: str) -> list[SavedView]:
    """The views a user is offered on a list: their own and the shared ones, by name."""
    return list(db.session.scalars(
        select(SavedView)
        .where(SavedView.entity == entity, or_(SavedView.user_id == viewer.user_id, SavedView.shared.is_(True)))
        .order_by(SavedView.shared.desc(), func.lower(SavedView.name), SavedView.id)
    ))


def save_view(viewer: Viewer, entity: str, name: str, flt: ListFilter, *, shared: bool = False) -> SavedView:
    """Save ``flt`` (what the list shows: filter, columns, order) under ``name``. Only an admin
    shares a view with everyone."""
    name = " ".join((name or "").split())
    if not name:
        raise Invalid(fields={"name": _l("Give the view a name.")})
    if len(name) > NAME_MAX:
        raise Invalid(fields={"name": _l("At most %(n)d characters.", n=NAME_MAX)})
    if shared and not viewer.is_admin:
        raise Invalid(fields={"shared": _l("Only admins share views with everyone.")})
    query = urlencode(flt.pairs(count=""))
    if len(query) > QUERY_MAX:
        raise Invalid(fields={"name": _l("This filter is too long to be saved.")})
    count = db.session.scalar(select(func.count()).select_from(SavedView).where(
        SavedView.user_id == viewer.user_id, SavedView.entity == entity)) or 0
    if count >= MAX_PER_LIST:
        raise Invalid(fields={"name": _l("At most %(n)d views per list.", n=MAX_PER_LIST)})
    view = SavedView(user_id=viewer.user_id, entity=entity, name=name, query=query, shared=shared)
    db.session.add(view)
    db.session.flush()
    return view


def delete_view(viewer: Viewer, view_id: int) -> SavedView:
    """Delete one's own view, or (an admin) a shared one; any other id is a 404 like a missing one."""
    view = db.session.get(SavedView, view_id)
    if view is not None and (view.user_id == viewer.user_id or (view.shared and viewer.is_admin)):
        db.session.delete(view)
        return view
    raise NotFound()
