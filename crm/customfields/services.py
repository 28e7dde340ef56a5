"""Custom field definitions and the writing of values (the values' rules by field kind are the
record input models', :func:`crm.records.schemas.custom_values`)."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.orm import lazyload

from ..audit.services import audit
from ..extensions import db
from ..groups.models import Group
from .models import FIELD_KINDS, CustomField, CustomFieldValue


class FieldValueError(ValueError):
    pass


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


def parse_options(text: str) -> list[str]:
    seen: list[str] = []
    for line in (text or "").splitlines():
        line = line.strip()
        if line and line not in seen:
            seen.append(line[:100])
    return seen


class DefinitionError(FieldValueError):
    """A field definition the account cannot take; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def name_taken(entity: str, name: str, exclude: int | None = None) -> bool:
    stmt = select(CustomField.id).where(CustomField.entity == entity, func.lower(CustomField.name) == name.lower())
    if exclude:
        stmt = stmt.where(CustomField.id != exclude)
    return db.session.scalar(stmt) is not None


def check_definition(entity: str, name: str, kind: str, options: list[str], exclude: int | None = None) -> None:
    """The rules of a definition beyond its form: unique name per record type, options for selections."""
    if name_taken(entity, name, exclude):
        raise DefinitionError("name", _("This record type has a field of this name already."))
    if kind == "select" and not options:
        raise DefinitionError("options", _("A selection needs at least one option."))


def create_field(actor, entity: str, name: str, kind: str, options: list[str], shared_with: list[int]) -> CustomField:
    if kind not in FIELD_KINDS:
        raise FieldValueError(_("Unknown field kind."))
    position = (db.session.scalar(
        select(func.max(CustomField.position)).where(CustomField.entity == entity)
    ) or 0) + 1
    field = CustomField(entity=entity, name=name, kind=kind, options=options if kind == "select" else [],
                        position=position)
    field.shared_with = _groups(shared_with)
    db.session.add(field)
    db.session.flush()
    audit(actor, "field_created", field=field.name, entity=entity, kind=kind)
    if shared_with:
        audit(actor, "field_shared", field=field.name, entity=entity,
              groups=[g.name for g in field.shared_with], before=[])
    return field


def update_field(actor, field: CustomField, *, name: str | None = None, options: list[str] | None = None,
                 shared_with: list[int] | None = None) -> None:
    if name is not None and name != field.name:
        audit(actor, "field_renamed", entity=field.entity, before=field.name, field=name)
        field.name = name
    if options is not None and field.kind == "select":
        field.options = options
    if shared_with is not None:
        before = sorted(g.name for g in field.shared_with)
        field.shared_with = _groups(shared_with)
        after = sorted(g.name for g in field.shared_with)
        if before != after:
            audit(actor, "field_shared", field=field.name, entity=field.entity, groups=after, before=before)


def delete_field(actor, field: CustomField) -> None:
    audit(actor, "field_deleted", field=field.name, entity=field.entity)
    db.session.execute(delete(CustomFieldValue).where(CustomFieldValue.field_id == field.id))
    db.session.delete(field)


def move_field(field: CustomField, direction: int) -> None:
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
