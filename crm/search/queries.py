"""Search across companies, people, deals and projects. Restricted hits carry name, group and
lock only; hidden records are never returned."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from ..groups.models import Group
from ..records.queries import ListFilter, display_name_column, filtered
from ..records.types import TYPES, RecordType
from ..visibility import Viewer, is_full_column


@dataclass(frozen=True)
class Hit:
    rtype: RecordType
    id: int
    name: str
    group: str
    full: bool


def search(viewer: Viewer, q: str, limit: int = 50) -> list[Hit]:
    hits: list[Hit] = []
    flt = ListFilter(q=q)
    for rtype in TYPES.values():
        model = rtype.model
        stmt = (
            select(model.id, display_name_column(rtype), Group.name, is_full_column(model, viewer))
            .join(Group, Group.id == model.group_id)
            .where(filtered(rtype, viewer, flt))
            .order_by(model.sort_key, model.id)
            .limit(limit)
        )
        hits += [Hit(rtype, *row) for row in db.session.execute(stmt)]
    return hits
