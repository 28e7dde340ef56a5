"""Adding and removing a tag on many records at once (the list pages' Actions menu).

Set-based like the group assignment: one ``UPDATE`` marks the records that change (new version,
last change, by whom - so an editor with an open form gets a conflict instead of silently
dropping the tag) and one ``INSERT … SELECT`` / ``DELETE`` changes the tag links. Only records
the acting user fully sees; every role may tag what it may edit. The caller commits.

A tag name means what it means to the acting user (:func:`~.services.tag_named`): tags only on
records they cannot fully see do not exist for them - "remove tag" answers for such a name exactly
as for a name that exists nowhere, and "add tag" never takes over a hidden tag's spelling.
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import and_, delete, exists, func, insert, literal, select, update

from ..common import utcnow
from ..errors import Invalid
from ..extensions import db
from ..visibility import Viewer, fully_visible_to
from .assign import ids_clause
from .models import TAG_LINKS, TAG_TABLES, Tag
from .services import clean_tag_name, tag_named, visible_tags_named
from .types import RecordType


def _has_tag(rtype: RecordType, tag_id: int):
    table = TAG_TABLES[rtype.key]
    return exists().where(table.c[f"{rtype.key}_id"] == rtype.model.id, table.c.tag_id == tag_id)


def _touch(rtype: RecordType, where, viewer: Viewer) -> int:
    model = rtype.model
    return db.session.execute(
        update(model).where(where)
        .values(version=model.version + 1, updated_at=utcnow(), updated_by_id=viewer.user_id)
        .execution_options(synchronize_session=False)
    ).rowcount


def add_tag(rtype: RecordType, ids, name: str, viewer: Viewer) -> int:
    """Tag the selected fully visible records with ``name`` (created if new). Returns how many
    records got the tag (those that had it already are not counted)."""
    name = clean_tag_name(name or "")
    if not name:
        raise Invalid(fields={"tag": _("Enter a tag.")})
    tag = tag_named(name, viewer)
    db.session.flush()
    model = rtype.model
    where = and_(ids_clause(model, ids), fully_visible_to(model, viewer), ~_has_tag(rtype, tag.id))
    count = _touch(rtype, where, viewer)
    table = TAG_TABLES[rtype.key]
    db.session.execute(insert(table).from_select(
        [f"{rtype.key}_id", "tag_id"], select(model.id, literal(tag.id)).where(where)))
    return count


def remove_tag(rtype: RecordType, ids, name: str, viewer: Viewer) -> int:
    """Take the tag ``name`` (every tag of that name, compared case-insensitively, that the viewer
    sees) off the selected fully visible records. Returns how many lost it."""
    tag_ids = [t.id for t in visible_tags_named(clean_tag_name(name or ""), viewer)]
    if not tag_ids:
        raise Invalid(fields={"tag": _("There is no such tag.")})
    model = rtype.model
    table = TAG_TABLES[rtype.key]
    has = exists().where(table.c[f"{rtype.key}_id"] == model.id, table.c.tag_id.in_(tag_ids))
    where = and_(ids_clause(model, ids), fully_visible_to(model, viewer), has)
    count = _touch(rtype, where, viewer)
    # (the selection may be "tagged X": a DELETE reads its WHERE before it removes anything)
    db.session.execute(delete(table).where(table.c.tag_id.in_(tag_ids),
                                           table.c[f"{rtype.key}_id"].in_(select(model.id).where(where))))
    return count


def tags_in(rtype: RecordType, ids, viewer: Viewer) -> list[tuple[str, int]]:
    """The tags on the selected fully visible records, with how many of them carry each."""
    model = rtype.model
    link = TAG_LINKS[rtype.key]
    fk = getattr(link, f"{rtype.key}_id")
    chosen = select(model.id).where(ids_clause(model, ids), fully_visible_to(model, viewer))
    rows = db.session.execute(
        select(Tag.name, func.count())
        .select_from(link).join(Tag, Tag.id == link.tag_id)
        .where(fk.in_(chosen))
        .group_by(Tag.name).order_by(Tag.name)
    )
    return [(n, c) for n, c in rows]
