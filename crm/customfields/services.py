"""Custom field definitions (admins only: create, update, move, delete, each audited but the
move) and the writing of values (the values' rules by field kind are the record input
models', :func:`crm.records.schemas.custom_values`)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.orm import lazyload

from ..audit.services import audit
from ..auth.services import require_admin
from ..common import name_among
from ..errors import Conflict, Invalid
from ..extensions import db
from ..groups.models import Group
from .models import CustomField, CustomFieldValue
from .schemas import FieldCreate, FieldUpdate


class FieldValueError(Invalid, ValueError):
    """A value a custom field cannot take (its message says why)."""


def fields_for(entity: str, *, shares: bool = False) -> list[CustomField]:
    """The custom fields of a record type in their order; with the groups they are shared with
    only if asked (``shares``: one more statement that record pages and the API do not need)."""
    stmt = select(CustomField).where(CustomField.entity == entity).order_by(CustomField.position, CustomField.id)
    if not shares:
        stmt = stmt.options(lazyload(CustomField.shared_with))
    return list(db.session.scalars(stmt))


def set_values(entity: str, record_id: int, values: dict[int, str | None]) -> None:
    """Write cleaned values (field id -> canonical text or None) of one record."""
    fk = f"{entity}_id"
    col = getattr(CustomFieldValue, fk)
    existing = {v.field_id: v for v in db.session.scalars(
        select(CustomFieldValue).where(col == record_id)
    )}
    for field_id, value in values.items():
        current = existing.get(field_id)
        if value is None:
            if current is not None:
                db.session.delete(current)
        elif current is None:
            item = CustomFieldValue(field_id=field_id, value=value)
            item.attach_to(entity, record_id)
            db.session.add(item)
        else:
            current.value = value


def _name_taken(entity: str, name: str, exclude: int | None = None) -> bool:
    """A field of ``entity`` has this name (:func:`crm.common.name_among`; a type has a few dozen)."""
    stmt = select(CustomField.name).where(CustomField.entity == entity)
    if exclude:
        stmt = stmt.where(CustomField.id != exclude)
    return name_among(name, db.session.scalars(stmt))


def _check(entity: str, name: str, kind: str, options: list[str], shared_with: list[int] | None,
           exclude: int | None = None) -> None:
    """The rules of a definition: a unique name per record type, options for a selection, and
    groups that exist to share with."""
    if _name_taken(entity, name, exclude):
        message = _l("This record type has a field of this name already.")
        raise Conflict(message, {"name": message})
    if kind == "select" and not options:
        raise Invalid(fields={"options": _l("A selection needs at least one option.")})
    if shared_with and len(_groups(shared_with)) != len(set(shared_with)):
        raise Invalid(fields={"shared_with": _l("There is no such group.")})


def create_field(actor, data: FieldCreate) -> CustomField:
    require_admin(actor)
    _check(data.entity, data.name, data.kind, data.options, data.shared_with)
    position = (db.session.scalar(
        select(func.max(CustomField.position)).where(CustomField.entity == data.entity)
    ) or 0) + 1
    field = CustomField(entity=data.entity, name=data.name, kind=data.kind,
                        options=data.options if data.kind == "select" else [], position=position)
    field.shared_with = _groups(data.shared_with)
    db.session.add(field)
    db.session.flush()
    audit(actor, "field_created", field=field.name, entity=field.entity, kind=field.kind)
    if data.shared_with:
        audit(actor, "field_shared", field=field.name, entity=field.entity,
              groups=[g.name for g in field.shared_with], before=[])
    return field


def update_field(actor, field: CustomField, data: FieldUpdate) -> None:
    """Rename, change a selection's options or the groups it is shared with (what ``data`` sets);
    the record type and the kind stay what they are."""
    require_admin(actor)
    fixed = {k: _l("Cannot be changed.") for k in ("entity", "kind")
             if getattr(data, k) is not None and getattr(data, k) != getattr(field, k)}
    if fixed:
        raise Invalid(fields=fixed)
    name = data.name if data.name is not None else field.name
    options = data.options if data.options is not None else list(field.options or [])
    _check(field.entity, name, field.kind, options, data.shared_with, exclude=field.id)
    if name != field.name:
        audit(actor, "field_renamed", entity=field.entity, before=field.name, field=name)
        field.name = name
    if data.options is not None and field.kind == "select":
        field.options = data.options
    if data.shared_with is not None:
        before = sorted(g.name for g in field.shared_with)
        field.shared_with = _groups(data.shared_with)
        after = sorted(g.name for g in field.shared_with)
        if before != after:
            audit(actor, "field_shared", field=field.name, entity=field.entity, groups=after, before=before)


def delete_field(actor, field: CustomField) -> None:
    """Delete a field and every value of it."""
    require_admin(actor)
    audit(actor, "field_deleted", field=field.name, entity=field.entity)
    db.session.execute(delete(CustomFieldValue).where(CustomFieldValue.field_id == field.id))
    db.session.delete(field)


def move_field(actor, field: CustomField, direction: int) -> None:
    """Move a field one place up (-1) or down (+1) among its record type's fields (not audited)."""
    require_admin(actor)
    fields = fields_for(field.entity)
    idx = next(i for i, f in enumerate(fields) if f.id == field.id)
    other = idx + direction
    if 0 <= other < len(fields):
        fields[idx], fields[other] = fields[other], fields[idx]
    for pos, f in enumerate(fields, start=1):
        f.position = pos


def _groups(ids: list[int]) -> list[Group]:
    if not ids:
        return []
    return list(db.session.scalars(select(Group).where(Group.id.in_(ids)).order_by(Group.name)))
