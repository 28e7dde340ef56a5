"""Writes to records: create, update, delete. Every write checks that the acting user fully sees
the record (and everything it is linked to), in one transaction with its audit entry."""
from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from ..audit.services import audit
from ..auth.models import User
from ..common import is_web_address
from ..customfields.models import CustomField
from ..customfields.services import FieldValueError, clean_value, set_values
from ..decimals import DecimalError
from ..extensions import db
from ..groups.models import BASIS_ID, Group
from ..settings.models import ACCOUNT_ID, Account
from ..visibility import Viewer, fully_visible_to, tag_visible_to, unscoped, visible_to
from .locking import lock_group
from .models import DEAL_STAGES, PROJECT_STATUSES, ContactDetail, Tag, tag_key
from .types import CURRENCIES, DEAL_VALUE, TYPES, RecordType


class ServiceError(Exception):
    """Input the service refuses; ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, str], status: int = 422):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.status = status


class GroupsOff(ServiceError):
    """A change of a record's group while the group system is switched off (product.md §8: "While
    the extension is off, no path changes any record's group"). One message for every path: the
    record forms, bulk assignment, undo, import, group deletion; pages and the API render it."""

    code = "groups_off"

    def __init__(self, field: str = "group_id"):
        super().__init__({field: groups_off_message()}, status=409)


def groups_off_message() -> str:
    return _("The group system is off: records cannot be moved to another group.")


def groups_on(viewer: Viewer) -> bool:
    """The group system is on - as the request found it and still now: read again in the
    writing transaction (PostgreSQL: ``FOR SHARE``, so switching it off waits until this
    transaction ends; SQLite serializes writers anyway)."""
    if not viewer.groups_enabled:
        return False
    return bool(db.session.scalar(
        select(Account.groups_enabled).where(Account.id == ACCOUNT_ID).with_for_update(read=True)))


def require_groups_on(viewer: Viewer, field: str = "group_id") -> None:
    """The one rule for every change of a record's group: refused while the group system is off."""
    if not groups_on(viewer):
        raise GroupsOff(field)


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


def group_for_new(viewer: Viewer, user: User | None, group_id, parent=None) -> int:
    """The group of a new record: ``group_id`` if given, else the default (:func:`default_group_id`).
    While the group system is off, a new record goes to the default group (the parent's group,
    else the creator's default group, else Basis - ready for when it is switched on again);
    naming that group is fine, naming another is refused (:class:`GroupsOff`)."""
    default = default_group_id(viewer, user, parent)
    if group_id is None or group_id == default:
        return default
    require_groups_on(viewer)
    return _check_group(viewer, group_id)


def _check_group(viewer: Viewer, group_id) -> int:
    if not isinstance(group_id, int) or isinstance(group_id, bool):
        raise ServiceError({"group_id": _("Choose a group.")})
    # (locked against a concurrent deletion of the group: crm/records/locking.py)
    ok = (viewer.is_admin or viewer.is_member(group_id)) and lock_group(group_id) is not None
    if not ok:
        raise ServiceError({"group_id": _("You cannot put records in this group.")})
    return group_id


class _Unchanged:
    """The type of :data:`UNCHANGED`."""

    def __repr__(self) -> str:
        return "UNCHANGED"


#: A link field's value meaning "keep the link as it is". The forms send it for a link whose target
#: the user does not fully see: such a target's id is never sent to the user (product.md §8), so
#: the form cannot send it back, and saving the form must not drop the link.
UNCHANGED = _Unchanged()


def _check_reference(viewer: Viewer, key: str, field: str, value, current) -> int | None:
    """The new value of a link to another record. :data:`UNCHANGED` keeps the current link (whether
    or not the user sees its target); ``None`` removes it; an id must name a record the user fully
    sees, or be the current target if the user sees it at all (a restricted target's id is shown
    with its name). Any other id - a hidden record's, the hidden current target's too - is refused
    exactly like an id that does not exist, so no answer tells hidden from missing."""
    if value is UNCHANGED:
        return current
    if value is None:
        return None
    model = TYPES[key].model
    if isinstance(value, int) and not isinstance(value, bool):
        allowed = visible_to(model, viewer) if value == current else fully_visible_to(model, viewer)
        if db.session.scalar(select(model.id).where(model.id == value, allowed)) is not None:
            return value
    raise ServiceError({field: str(TYPES[key].not_found)})


def inherited_links(rtype: RecordType, parent, viewer: Viewer) -> dict[str, int]:
    """The links a record created from ``parent`` (a fully visible record) starts with: the parent
    itself, and the parent's own links of the same kinds that point at records the user fully
    sees (a deal created from a person takes the person's company, unless the user does not
    fully see that company: a link the user could not choose is not made for them)."""
    out: dict[str, int] = {}
    for fk, key in rtype.references:
        if parent.KEY == key:
            out[fk] = parent.id
            continue
        target = getattr(parent, fk, None)
        if target is None:
            continue
        model = TYPES[key].model
        if db.session.scalar(select(model.id).where(model.id == target, fully_visible_to(model, viewer))):
            out[fk] = target
    return out


def _check_user(field: str, user_id) -> int | None:
    if user_id is None:
        return None
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        if db.session.scalar(select(User.id).where(User.id == user_id, User.active.is_(True))):
            return user_id
    raise ServiceError({field: _("There is no such user.")})


def clean_tag_name(name) -> str:
    """A tag as stored: NFC (one spelling per look: "Ä" is never two code points), single spaces,
    at most 60 characters."""
    return " ".join(unicodedata.normalize("NFC", str(name)).split())[:60]


def visible_tags_named(name: str, viewer: Viewer) -> list[Tag]:
    """The tags of this (cleaned) name, compared case-insensitively (by :func:`tag_key`), that the
    viewer sees (on a record they fully see): the exact spelling first, then the oldest."""
    return list(db.session.scalars(
        select(Tag).where(Tag.key == tag_key(name), tag_visible_to(viewer))
        .order_by(Tag.name != name, Tag.id)
    ))


def tag_named(name: str, viewer: Viewer, create: bool = True) -> Tag | None:
    """The tag ``viewer`` means by the (cleaned) ``name``. No answer may depend on tags the viewer
    cannot see (product.md §8: not even a tag's spelling), so:

    1. a tag the viewer sees whose name matches case-insensitively - its spelling is one they
       know (the same tag for everyone who sees each other's records);
    2. else (``create``) the tag spelled exactly so, seen or not: the unique name needs it, and
       it tells nothing, since the spelling is the viewer's own;
    3. else (``create``) a new tag of this spelling. So "messe" typed by someone who sees no
       tagged record stays "messe" for them, even if records they cannot see carry "Messe".

    Without ``create``: only 1., else None - a name the viewer sees nowhere is no tag at all.
    """
    seen = visible_tags_named(name, viewer)
    if seen:
        return seen[0]
    if not create:
        return None
    # (unscoped: a hidden row of exactly this spelling is reused, never shown: see 2.)
    tag = db.session.scalar(unscoped(select(Tag).where(Tag.name == name)))
    if tag is None:
        tag = Tag(name=name)
        db.session.add(tag)
    return tag


def _set_tags(rtype: RecordType, obj, names: list[str], viewer: Viewer) -> None:
    clean: list[str] = []
    for name in names:
        name = clean_tag_name(name)
        if name and tag_key(name) not in {tag_key(c) for c in clean}:
            clean.append(name)
    obj.tags = [tag_named(name, viewer) for name in clean]


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
    if data.get("website") and not is_web_address(data["website"]):
        errors["website"] = _("Not a web address (http:// or https://).")
    if rtype.key == "deal":
        if "value" in data:
            try:  # checked here too, whatever edge it came from: a value is refused, never rounded
                obj.value = None if data["value"] is None else DEAL_VALUE.check(data["value"])
            except DecimalError as err:
                errors["value"] = str(err)
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
        _set_tags(rtype, obj, data["tags"], viewer)
    if rtype.has_contact_details:
        _set_contact_details(rtype, obj, data)
    return custom


def create_record(rtype: RecordType, data: dict, viewer: Viewer, user: User | None = None, parent=None):
    """Create a record from cleaned ``data``; its group as :func:`group_for_new` says (``parent``:
    the record it is created from, if any)."""
    obj = rtype.model()
    if rtype.key == "deal":
        obj.stage, obj.currency = "open", "EUR"
    if rtype.key == "project":
        obj.status = "planned"
    for name in REQUIRED[rtype.key]:
        data.setdefault(name, "")
    obj.group_id = group_for_new(viewer, user, data.get("group_id"), parent)
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
        require_groups_on(viewer)  # (the record's current group, sent back unchanged, is fine)
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
    """Delete the records selected by ``ids_stmt`` (ids, or a select of ids) that the viewer fully
    sees: they move to the recycle bin (:mod:`.trash`), nothing else changes. Only extended users
    and admins may delete. Returns how many moved."""
    from .trash import trash_records

    if viewer.role not in ("admin", "extended"):
        raise ServiceError({"_": _("You may not delete records.")}, status=403)
    return trash_records(rtype, ids_stmt, viewer)


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
