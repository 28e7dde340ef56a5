"""Writes to records: create, update, delete. Every write checks that the acting user fully sees
the record (and everything it is linked to), in one transaction with its audit entry."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from ..audit.services import audit
from ..auth.models import User
from ..customfields.models import CustomField
from ..customfields.services import FieldValueError, clean_value, set_values
from ..extensions import db
from ..groups.models import BASIS_ID, Group
from ..visibility import Viewer, fully_visible_to, unscoped
from .models import DEAL_STAGES, PROJECT_STATUSES, ContactDetail, Tag
from .types import CURRENCIES, TYPES, RecordType


class ServiceError(Exception):
    """Input the service refuses; ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, str], status: int = 422):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.status = status


class Conflict(Exception):
    """Someone else changed the record since it was loaded."""


PLAIN_FIELDS = {
    "company": ("name", "website", "background"),
    "person": ("salutation", "title", "first_name", "last_name", "position", "background"),
    "deal": ("name", "currency", "stage", "target_date", "description"),
    "project": ("name", "status", "start_date", "target_date", "description"),
}
REQUIRED = {"company": ("name",), "person": ("last_name",), "deal": ("name",), "project": ("name",)}


def allowed_groups(viewer: Viewer) -> list[Group]:
    """Groups the viewer may put records in: their own groups; admins any group."""
    stmt = select(Group).order_by(Group.id != BASIS_ID, Group.name)
    if not viewer.is_admin:
        stmt = stmt.where(Group.id.in_(viewer.group_ids))
    return list(db.session.scalars(stmt))


def member_groups(viewer: Viewer) -> list[Group]:
    """Groups the viewer is a member of (what the record forms offer)."""
    return list(db.session.scalars(
        select(Group).where(Group.id.in_(viewer.group_ids)).order_by(Group.id != BASIS_ID, Group.name)
    ))


def default_group_id(viewer: Viewer, user: User | None, parent=None) -> int:
    """The parent record's group when created from another record, else the user's default group
    (if still a member), else Basis."""
    if parent is not None and viewer.is_member(parent.group_id):
        return parent.group_id
    if user is not None and user.default_group_id and viewer.is_member(user.default_group_id):
        return user.default_group_id
    return BASIS_ID


def _check_group(viewer: Viewer, group_id) -> int:
    if not isinstance(group_id, int) or isinstance(group_id, bool):
        raise ServiceError({"group_id": _("Choose a group.")})
    if viewer.is_admin:
        ok = db.session.scalar(select(Group.id).where(Group.id == group_id)) is not None
    else:
        ok = viewer.is_member(group_id)
    if not ok:
        raise ServiceError({"group_id": _("You cannot put records in this group.")})
    return group_id


def _check_reference(viewer: Viewer, key: str, field: str, value, current) -> int | None:
    """A link to another record must point at one the user fully sees (or stay as it was)."""
    if value is None or value == current:
        return value
    model = TYPES[key].model
    if isinstance(value, int) and not isinstance(value, bool):
        found = db.session.scalar(select(model.id).where(model.id == value, fully_visible_to(model, viewer)))
        if found is not None:
            return value
    raise ServiceError({field: str(TYPES[key].not_found)})


def _check_user(field: str, user_id) -> int | None:
    if user_id is None:
        return None
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        if db.session.scalar(select(User.id).where(User.id == user_id, User.active.is_(True))):
            return user_id
    raise ServiceError({field: _("There is no such user.")})


def clean_tag_name(name) -> str:
    """A tag as stored: single spaces, at most 60 characters."""
    return " ".join(str(name).split())[:60]


def tag_named(name: str, create: bool = True) -> Tag | None:
    """The tag of this (cleaned) name, compared case-insensitively; created if missing.

    Looking up only (``create=False``), a tag exists for the viewer only on records they fully see
    (the safety net). To create one, the row is looked up across all records: a tag name is unique,
    so a name that sits only on records the viewer cannot see reuses that row."""
    stmt = select(Tag).where(func.lower(Tag.name) == name.casefold())
    tag = db.session.scalar(unscoped(stmt) if create else stmt)
    if tag is None and create:
        tag = Tag(name=name)
        db.session.add(tag)
    return tag


def _set_tags(rtype: RecordType, obj, names: list[str]) -> None:
    clean: list[str] = []
    for name in names:
        name = clean_tag_name(name)
        if name and name.casefold() not in {c.casefold() for c in clean}:
            clean.append(name)
    obj.tags = [tag_named(name) for name in clean]


def _set_contact_details(rtype: RecordType, obj, data: dict) -> None:
    kinds = [k for k in ("emails", "phones", "addresses") if k in data]
    if not kinds:
        return
    kind_of = {"emails": "email", "phones": "phone", "addresses": "address"}
    replaced = {kind_of[k] for k in kinds}
    keep = [d for d in obj.contact_details if d.kind not in replaced]
    new = []
    for k in kinds:
        for pos, value in enumerate(data[k]):
            new.append(ContactDetail(kind=kind_of[k], value=value, position=pos))
    obj.contact_details = keep + new


def _apply(rtype: RecordType, obj, data: dict, viewer: Viewer) -> dict:
    """Set the fields present in ``data`` (already type-checked) on ``obj``. Returns the cleaned
    custom field values to write once the record has an id."""
    errors: dict[str, str] = {}
    for name in PLAIN_FIELDS[rtype.key]:
        if name in data:
            setattr(obj, name, data[name] if data[name] is not None else (
                None if name.endswith("_date") else ""))
    for name in REQUIRED[rtype.key]:
        if name in data and not (data[name] or "").strip():
            errors[name] = _("This field is required.")
    if rtype.key == "deal":
        if "value" in data:
            obj.value = data["value"]
        if obj.stage not in DEAL_STAGES:
            errors["stage"] = _("Not one of the options.")
        if obj.currency not in CURRENCIES:
            errors["currency"] = _("Not one of the options.")
    if rtype.key == "project":
        if obj.status not in PROJECT_STATUSES:
            errors["status"] = _("Not one of the options.")
        if obj.start_date and obj.target_date and obj.target_date < obj.start_date:
            errors["target_date"] = _("The target date lies before the start.")
    for fk, key in rtype.references:
        if fk in data:
            try:
                setattr(obj, fk, _check_reference(viewer, key, fk, data[fk], getattr(obj, fk)))
            except ServiceError as err:
                errors.update(err.errors)
    if "responsible_id" in data:
        try:
            obj.responsible_id = _check_user("responsible_id", data["responsible_id"])
        except ServiceError as err:
            errors.update(err.errors)
    custom: dict[int, str | None] = {}
    if "custom_fields" in data:
        fields = {f.id: f for f in db.session.scalars(
            select(CustomField).where(CustomField.entity == rtype.key))}
        for field_id, raw in data["custom_fields"].items():
            field = fields.get(field_id)
            if field is None:
                errors[f"custom_fields.{field_id}"] = _("There is no such field.")
                continue
            try:
                custom[field_id] = clean_value(field, raw)
            except FieldValueError as err:
                errors[f"cf_{field_id}"] = str(err)
    if errors:
        raise ServiceError(errors)
    if "tags" in data:
        _set_tags(rtype, obj, data["tags"])
    if rtype.has_contact_details:
        _set_contact_details(rtype, obj, data)
    return custom


def create_record(rtype: RecordType, data: dict, viewer: Viewer, user: User | None = None):
    """Create a record from cleaned ``data``; the group defaults as :func:`default_group_id` says."""
    obj = rtype.model()
    if rtype.key == "deal":
        obj.stage, obj.currency = "open", "EUR"
    if rtype.key == "project":
        obj.status = "planned"
    for name in REQUIRED[rtype.key]:
        data.setdefault(name, "")
    group_id = data.get("group_id")
    obj.group_id = _check_group(viewer, group_id) if group_id is not None else default_group_id(viewer, user)
    custom = _apply(rtype, obj, data, viewer)
    obj.created_by_id = obj.updated_by_id = viewer.user_id
    db.session.add(obj)
    db.session.flush()
    if custom:
        set_values(rtype.key, obj.id, custom)
    return obj


def update_record(rtype: RecordType, obj, data: dict, viewer: Viewer, expected_version: int | None = None):
    """Update a fully visible record (the loader made sure). A stale ``expected_version`` raises
    :class:`Conflict`; so does a concurrent change caught by the version column at any flush
    (autoflush included: the queries of validation flush the changes made so far)."""
    if expected_version is not None and expected_version != obj.version:
        raise Conflict()
    try:
        with db.session.no_autoflush:  # one UPDATE, so one version step per edit
            _update(rtype, obj, data, viewer)
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise Conflict() from None
    return obj


def _update(rtype: RecordType, obj, data: dict, viewer: Viewer) -> None:
    old_group = obj.group_id
    if "group_id" in data and data["group_id"] != old_group:
        obj.group_id = _check_group(viewer, data["group_id"])
    custom = _apply(rtype, obj, data, viewer)
    obj.updated_by_id = viewer.user_id
    # Every save is a change of the record - its version moves on - also when only contact
    # details or tags changed (rows of other tables): a concurrent edit and an import's undo see it.
    flag_modified(obj, "updated_by_id")
    if custom:
        set_values(rtype.key, obj.id, custom)
        # a change of custom values alone is still a change of the record
        from ..common import utcnow

        obj.updated_at = utcnow()
    if obj.group_id != old_group:
        both = select(Group.id, Group.name).where(Group.id.in_([old_group, obj.group_id]))
        names = dict(db.session.execute(both).all())
        audit(viewer, "group_assigned", group=names.get(obj.group_id), group_id=obj.group_id,
              counts={rtype.plural: 1}, source="form", previous=names.get(old_group))


def delete_records(rtype: RecordType, ids_stmt, viewer: Viewer) -> int:
    """Delete the records selected by ``ids_stmt`` (a select of ids) that the viewer fully sees.
    Only extended users and admins may delete."""
    if viewer.role not in ("admin", "extended"):
        raise ServiceError({"_": _("You may not delete records.")}, status=403)
    model = rtype.model
    ids = select(model.id).where(model.id.in_(ids_stmt), fully_visible_to(model, viewer))
    count = db.session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    db.session.execute(
        delete(model).where(model.id.in_(ids)).execution_options(synchronize_session=False)
    )
    return count


def coerce_date(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def coerce_decimal(value) -> Decimal | None:
    if value in (None, ""):
        return None
    return Decimal(str(value))
