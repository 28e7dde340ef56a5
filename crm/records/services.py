"""Writes to records: create, update, delete. Each takes the typed input of :mod:`.schemas`
(which owns the rules about the input itself) and checks what needs the database: the group the
user may use, the group system's switch, linked records the user fully sees, an active responsible
user, the custom fields of the type, the record's version. The loader made sure the user fully
sees the record they change (:mod:`.loaders`). A refusal is a :class:`crm.errors.Refused`.

The caller commits. Audited: a change of a record's group (``group_assigned``); creating and
editing a record otherwise is not (the record keeps who created and last changed it).
"""
from __future__ import annotations

import unicodedata
from contextlib import contextmanager
from functools import partial

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from ..audit.services import audit
from ..auth.models import User
from ..common import utcnow
from ..customfields.models import CustomFieldValue
from ..customfields.services import fields_for, set_values
from ..errors import Conflict, Forbidden, Invalid, Refused
from ..extensions import db
from ..groups.models import BASIS_ID, Group, TypeDefault
from ..history import services as history
from ..rules.matching import Facts, first_match, parse_address
from ..rules.models import AssignmentRule
from ..settings.models import ACCOUNT_ID, Account
from ..stages.services import reason_of_input, stage_of_input
from ..visibility import Viewer, fully_visible_to, tag_visible_to, unscoped, visible_to
from .locking import lock_group, lock_groups
from .models import Company, ContactDetail, Tag, tag_key
from .schemas import CHOICE_DEFAULTS, PLAIN_FIELDS, RecordInput, custom_values, record_input
from .types import TYPES, RecordType


class GroupsOff(Conflict):
    """A change of a record's group while the group system is switched off (product.md §8: "While
    the extension is off, no path changes any record's group"). One message for every path: the
    record forms, bulk assignment, undo, import, group deletion; pages and the API render it."""

    code = "groups_off"

    def __init__(self, field: str | None = "group_id"):
        message = groups_off_message()
        super().__init__(message, {field: message} if field else None)


def groups_off_message() -> str:
    return _("The group system is off: records cannot be moved to another group.")


class EditConflict(Conflict):
    """Someone else changed the record since it was loaded (409 ``conflict``)."""

    default_message = _l("Someone else changed this record meanwhile. Load it again.")


def groups_on(viewer: Viewer) -> bool:
    """The group system is on - as the request found it and still now: read again in the
    writing transaction (PostgreSQL: ``FOR SHARE``, so switching it off waits until this
    transaction ends; SQLite serializes writers anyway)."""
    if not viewer.groups_enabled:
        return False
    return bool(db.session.scalar(
        select(Account.groups_enabled).where(Account.id == ACCOUNT_ID).with_for_update(read=True)))


def require_groups_on(viewer: Viewer, field: str | None = "group_id") -> None:
    """The one rule for every change of a record's group: refused while the group system is off."""
    if not groups_on(viewer):
        raise GroupsOff(field)


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


def type_default(key: str | None) -> TypeDefault | None:
    """The group an admin set for every new record of type ``key`` (Settings -> Gruppen), if any."""
    return db.session.get(TypeDefault, key) if key is not None else None


def new_record_groups(viewer: Viewer, key: str) -> list[Group]:
    """The groups a new record of type ``key`` may go to (what the new-record form offers): the
    type's default group, plus the creator's own groups if the admin allows choosing one (or no
    default is set); without a default, the creator's groups."""
    td = type_default(key)
    own = member_groups(viewer)
    if td is None:
        return own
    default = db.session.get(Group, td.group_id)
    return [default] + ([g for g in own if g.id != td.group_id] if td.allow_own else [])


def default_group_id(viewer: Viewer, user: User | None, parent=None, key: str | None = None) -> int | None:
    """The type's default group (``key``: the record type, if it has one set), else the parent
    record's group when created from another record, else the user's default group (if still a
    member), else Basis while the group system is off (as before: nobody is asked) or for a user
    in no other group; else the one group they are a member of, and for a member of several groups
    without a default one None: they must choose - never Basis silently, which everyone sees."""
    if (td := type_default(key)) is not None:
        return td.group_id
    if parent is not None and viewer.is_member(parent.group_id):
        return parent.group_id
    if user is not None and user.default_group_id and viewer.is_member(user.default_group_id):
        return user.default_group_id
    own = sorted(viewer.group_ids - {BASIS_ID})
    if not viewer.groups_enabled or not own:
        return BASIS_ID
    return own[0] if len(own) == 1 else None


def group_for_new(viewer: Viewer, user: User | None, group_id, parent=None, *, lock: bool = True,
                  key: str | None = None) -> int | None:
    """The group of a new record: ``group_id`` if given, else the default (:func:`default_group_id`);
    None if there is none (a member of several groups without a default one): an assignment rule
    may decide it, else the creator must choose (:func:`_group_chosen`).
    While the group system is off, a new record goes to the default group (the parent's group,
    else the creator's default group, else Basis - ready for when it is switched on again);
    naming that group is fine, naming another is refused (:class:`GroupsOff`). (``lock=False``:
    the caller locks the group itself before it writes, :func:`create_records`.)

    ``key``: the record type, whose default group (:func:`type_default`) a new record goes to even
    if the creator is not a member of it; another group only if the admin allows creators to choose
    one of their own (refused otherwise, with the same answer for every group)."""
    td = type_default(key)
    default = default_group_id(viewer, user, parent, key)
    if group_id is None or group_id == default:
        if td is not None and lock and lock_group(default) is None:  # deleted meanwhile
            raise _no_such_group()
        return default
    require_groups_on(viewer)
    if td is not None and not td.allow_own:
        raise _no_such_group()
    return _check_group(viewer, group_id, lock=lock)


def rules_decide(viewer: Viewer, user: User | None, group_id, parent=None, key: str | None = None) -> bool:
    """Whether the assignment rules may decide a new record's group: the group system is on and the
    creator left the group at its default (sent none, or the default the form preselects). A group
    the creator chose instead - one of their own, where the type allows it - beats the rules."""
    return viewer.groups_enabled and (group_id is None or group_id == default_group_id(viewer, user, parent, key))


def _company_address(viewer: Viewer, company_id: int | None, cache: dict | None = None) -> str | None:
    """The first address of a company the viewer fully sees (a person's, deal's or project's
    company, for a record that has no address of its own)."""
    if company_id is None:
        return None
    if cache is not None and company_id in cache:
        return cache[company_id]
    value = db.session.scalar(
        select(ContactDetail.value).join(Company, Company.id == ContactDetail.company_id)
        .where(Company.id == company_id, ContactDetail.kind == "address", fully_visible_to(Company, viewer))
        .order_by(ContactDetail.position, ContactDetail.id).limit(1))
    if cache is not None:
        cache[company_id] = value
    return value


def rule_facts(rtype: RecordType, obj, viewer: Viewer, custom: dict[int, str | None],
               import_name: str | None = None, cache: dict | None = None) -> Facts:
    """What the assignment rules look at for a new record ``obj`` (its fields set by :func:`_apply`):
    its first address, else its company's; its tags; its custom values; the creator's groups;
    the import's file name (``None``: not an import)."""
    address = None
    if rtype.has_contact_details:
        own = sorted((d for d in obj.contact_details if d.kind == "address"), key=lambda d: d.position)
        address = own[0].value if own else None
    if address is None and rtype.key != "company":
        address = _company_address(viewer, getattr(obj, "company_id", None), cache)
    return Facts(address=parse_address(address), tags=frozenset(t.name for t in getattr(obj, "tags", ())),
                 fields={k: v for k, v in custom.items() if v is not None},
                 creator_groups=frozenset(viewer.group_ids), import_name=import_name)


def assignment_rules(key: str) -> list[AssignmentRule]:
    """The assignment rules of a record type, in their order (Settings -> Gruppen)."""
    return list(db.session.scalars(select(AssignmentRule).where(AssignmentRule.record_type == key)
                                   .order_by(AssignmentRule.position, AssignmentRule.id)))


def rule_group(rules: list[AssignmentRule], facts: Facts) -> int | None:
    """The target group of the first rule that matches ``facts``, if any (:mod:`crm.rules.matching`)."""
    rule = first_match(rules, facts)
    return rule.group_id if rule is not None else None


def _group_chosen(obj) -> None:
    """A new record without a group - none given, none to propose, no assignment rule decided -
    is refused: its creator, a member of several groups without a default one, chooses one
    (never Basis silently, which everyone sees)."""
    if obj.group_id is None:
        raise Invalid(fields={"group_id": _("Choose one of your groups.")})


def _no_such_group() -> Invalid:
    return Invalid(fields={"group_id": _("You cannot put records in this group.")})


def _once(checks: dict | None, key: tuple, check):
    """``check()``, the same check at most once per ``checks`` (a batch of :func:`create_records`,
    one transaction: its rows mostly name the same group, company and responsible user): its result,
    or the :class:`Refused` it raised, raised again for each row that asks. ``None``: no memo."""
    if checks is None:
        return check()
    if key not in checks:
        try:
            checks[key] = check()
        except Refused as err:
            checks[key] = err
    found = checks[key]
    if isinstance(found, Refused):
        raise found
    return found


def _check_group(viewer: Viewer, group_id: int, *, lock: bool = True) -> int:
    """A group the record forms and the API may put a record in: one the user is a member of -
    admins too (the forms offer only those; moving records into any group is the bulk
    assignment's, :mod:`.assign`)."""
    # (locked against a concurrent deletion of the group: crm/records/locking.py)
    if not viewer.is_member(group_id) or (lock and lock_group(group_id) is None):
        raise _no_such_group()
    return group_id


def _check_reference(viewer: Viewer, key: str, field: str, value, current) -> int | None:
    """The new value of a link to another record. ``None`` removes it; an id must name a record the
    user fully sees, or be the current target if the user sees it at all (a restricted target's id
    is shown with its name). Any other id - a hidden record's, the hidden current target's too - is
    refused exactly like an id that does not exist, so no answer tells hidden from missing. (A form
    keeps a link whose target the user does not fully see by not sending the field at all.)"""
    if value is None:
        return None
    model = TYPES[key].model
    allowed = visible_to(model, viewer) if value == current else fully_visible_to(model, viewer)
    if db.session.scalar(select(model.id).where(model.id == value, allowed)) is not None:
        return value
    raise Invalid(fields={field: str(TYPES[key].not_found)})


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


def _check_user(field: str, user_id: int | None) -> int | None:
    if user_id is None:
        return None
    if db.session.scalar(select(User.id).where(User.id == user_id, User.active.is_(True))):
        return user_id
    raise Invalid(fields={field: _("There is no such user.")})


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


def _set_tags(obj, names: list[str], viewer: Viewer, known: dict[str, Tag] | None = None) -> None:
    """(``known``: the tags found or made so far by name, for many records at once.)"""
    clean: list[str] = []
    for name in names:
        name = clean_tag_name(name)
        if name and tag_key(name) not in {tag_key(c) for c in clean}:
            clean.append(name)
    if known is None:
        obj.tags = [tag_named(name, viewer) for name in clean]
        return
    for name in clean:
        if name not in known:
            known[name] = tag_named(name, viewer)
    obj.tags = [known[name] for name in clean]


_CONTACT_KINDS = {"emails": "email", "phones": "phone", "addresses": "address"}


def _set_contact_details(obj, data: RecordInput) -> None:
    kinds = [k for k in _CONTACT_KINDS if data.sent(k)]
    if not kinds:
        return
    replaced = {_CONTACT_KINDS[k] for k in kinds}
    keep = [d for d in obj.contact_details if d.kind not in replaced]
    new = []
    for k in kinds:
        for pos, value in enumerate(getattr(data, k) or []):
            new.append(ContactDetail(kind=_CONTACT_KINDS[k], value=value, position=pos))
    obj.contact_details = keep + new


def _apply(rtype: RecordType, obj, data: RecordInput, viewer: Viewer,
           tags: dict[str, Tag] | None = None, checks: dict | None = None) -> dict[int, str | None]:
    """Set the fields sent in ``data`` on ``obj`` (a new record: every field), after the checks
    that need the database. Returns the custom field values (field id -> stored text) to write
    once the record has an id. Every refusal of the input is collected into one :class:`Invalid`.
    (``tags``, ``checks``: what :func:`create_records` found so far in its batch, see :func:`_once`.)"""
    errors: dict[str, str] = {}
    new = obj.id is None
    for name in PLAIN_FIELDS[rtype.key]:
        if name in ("emails", "phones", "addresses", "reason_note") or name.endswith("_id") \
                or not (new or data.sent(name)):
            continue
        value = getattr(data, name)
        if value is None:
            value = CHOICE_DEFAULTS.get(name, None if name.endswith("_date") or name == "value" else "")
        setattr(obj, name, value)
    if rtype.key == "deal":
        previous_kind = None if new else obj.stage
        if new or data.sent("stage_id") or data.sent("stage"):
            try:
                stage = stage_of_input(data.stage_id, data.stage, obj.stage_id)
                obj.stage_id, obj.stage = stage.id, stage.kind
            except Refused as err:
                errors.update(err.fields)
        if "stage_id" not in errors and "stage" not in errors:
            try:
                obj.reason_id, obj.reason_note = reason_of_input(
                    obj.stage, previous_kind, data.sent("reason_id"), data.reason_id, data.sent("reason_note"),
                    data.reason_note, obj.reason_id, obj.reason_note or "")
            except Refused as err:
                errors.update(err.fields)
    if rtype.key == "project" and obj.start_date and obj.target_date and obj.target_date < obj.start_date:
        errors["target_date"] = _("The target date lies before the start.")
    for fk, key in rtype.references:
        if data.sent(fk):
            try:
                value, current = getattr(data, fk), getattr(obj, fk)
                setattr(obj, fk, _once(checks, ("link", fk, value, current),
                                       partial(_check_reference, viewer, key, fk, value, current)))
            except Invalid as err:
                errors.update(err.fields)
    if data.sent("responsible_id"):
        try:
            obj.responsible_id = _once(checks, ("user", data.responsible_id),
                                       partial(_check_user, "responsible_id", data.responsible_id))
        except Invalid as err:
            errors.update(err.fields)
    custom: dict[int, str | None] = {}
    if data.custom_fields:
        try:
            custom = custom_values(_once(checks, ("fields",), partial(fields_for, rtype.key)), data.custom_fields)
        except Invalid as err:
            errors.update(err.fields)
    if errors:
        raise Invalid(fields=errors)
    if data.sent("tags"):
        _set_tags(obj, data.tags or [], viewer, tags)
    if rtype.has_contact_details:
        _set_contact_details(obj, data)
    return custom


def read_record_input(key: str, data: dict, *, patch: bool = False, fields=None) -> RecordInput:
    """``data`` (the JSON body, or what a form or an import row parsed) as the input model of record
    type ``key`` (:func:`.schemas.record_input`), refused with every problem of the input at once:
    when the model refuses some field, the custom field values sent are checked too (``fields``: the
    type's custom fields, read if not given), so a bad value and a bad custom value are named by
    the same answer, not one submit after the other. (When the model takes the input, the custom
    values are checked where they are used, :func:`_apply`, with the checks that need the database.)"""
    try:
        return record_input(key, data, patch=patch)
    except Invalid as err:
        custom = data.get("custom_fields") if isinstance(data, dict) else None
        if custom and isinstance(custom, dict) and "custom_fields" not in err.fields:
            try:
                custom_values(fields_for(key) if fields is None else fields, custom)
            except Invalid as more:
                err.fields = {**err.fields, **more.fields}
        raise


@contextmanager
def _every_problem():
    """Keeps an :class:`Invalid` raised inside (the group a form or the API named) in the list it
    yields, for :func:`_apply_also` to report with the rest of the input's problems."""
    kept: list[Invalid] = []
    try:
        yield kept
    except Invalid as err:
        kept.append(err)


def _apply_also(refused: list[Invalid], rtype: RecordType, obj, data: RecordInput, viewer: Viewer):
    """:func:`_apply`, refused with the problems in ``refused`` too: one answer names them all."""
    try:
        custom = _apply(rtype, obj, data, viewer)
    except Invalid as err:
        for earlier in refused:
            err.fields = {**earlier.fields, **err.fields}
        raise
    if refused:
        raise refused[0]
    return custom


def create_record(rtype: RecordType, data: RecordInput, viewer: Viewer, user: User | None = None, parent=None):
    """Create a record from its input; its group as :func:`group_for_new` says (``parent``: the
    record it is created from, if any); its responsible user, when not sent, the creator."""
    obj = rtype.model()
    with _every_problem() as group_refused:
        obj.group_id = group_for_new(viewer, user, data.group_id, parent, key=rtype.key)
    if not data.sent("responsible_id") and user is not None:
        data = data.model_copy(update={"responsible_id": user.id})
        data.model_fields_set.add("responsible_id")
    custom = _apply_also(group_refused, rtype, obj, data, viewer)
    if rules_decide(viewer, user, data.group_id, parent, rtype.key) and (rules := assignment_rules(rtype.key)):
        # an assignment rule beats the type's default group (the creator is creating the record:
        # it may leave their view, as with a default group they are not a member of)
        ruled = rule_group(rules, rule_facts(rtype, obj, viewer, custom))
        if ruled is not None and ruled != obj.group_id and lock_group(ruled) is not None:
            obj.group_id = ruled
    _group_chosen(obj)
    obj.created_by_id = obj.updated_by_id = viewer.user_id
    db.session.add(obj)
    db.session.flush()
    if custom:
        set_values(rtype.key, obj.id, custom)
    group = db.session.scalar(select(Group.name).where(Group.id == obj.group_id))
    history.record_created(rtype, PLAIN_FIELDS[rtype.key], obj, viewer, group, custom)
    return obj


def create_records(rtype: RecordType, items: list[RecordInput], viewer: Viewer, user: User | None = None, *,
                   pending_import_id: int | None = None, import_name: str | None = None,
                   known_tags: dict[str, tuple[int, str]] | None = None) -> list:
    """Create many records (a batch of an import), each by the rules of :func:`create_record`, but
    every check first and the writes after, in one flush: so the writes - on SQLite, the time the
    write lock is held - take one short stretch instead of spreading over the checks. Returns, per
    item, the new record or the :class:`Invalid` that refused it (a refused item adds nothing).
    ``pending_import_id``: the records are pending rows of that import job (they exist for no
    one until the job's final step, see :mod:`crm.imports.services`). ``import_name``: the
    import's file name; the assignment rules then decide every record's group (the import's
    group is for the rows no rule matches), otherwise as in :func:`create_record`. ``known_tags``: the
    tags earlier batches of the same import gave their records (name as written -> (id, the tag's
    name)), used again for the same name instead of asking :func:`tag_named` once more per batch, so
    that an import's records get one tag per name; filled in with this batch's."""
    out: list = []
    made: list[tuple] = []
    # the batch's tags by name: a new one is made once (nothing is flushed yet)
    tags: dict[str, Tag] = _known_tags(items, known_tags) if known_tags else {}
    checks: dict = {}  # the batch's checks of its group, links, users and custom fields, each made once (_once)
    rules = assignment_rules(rtype.key) if viewer.groups_enabled else []
    addresses: dict[int, str | None] = {}  # the companies' addresses (for people, deals, projects)
    with db.session.no_autoflush:
        for data in items:
            obj = rtype.model()
            try:
                # (locked below)
                obj.group_id = _once(checks, ("group", data.group_id),
                                     partial(group_for_new, viewer, user, data.group_id, lock=False, key=rtype.key))
                if not data.sent("responsible_id") and user is not None:
                    data = data.model_copy(update={"responsible_id": user.id})
                    data.model_fields_set.add("responsible_id")
                custom = _apply(rtype, obj, data, viewer, tags=tags, checks=checks)
                if rules and (import_name is not None or rules_decide(viewer, user, data.group_id, key=rtype.key)):
                    ruled = rule_group(rules, rule_facts(rtype, obj, viewer, custom, import_name, addresses))
                    obj.group_id = ruled if ruled is not None else obj.group_id
                _group_chosen(obj)
            except Refused as err:
                out.append(err)
                continue
            obj.created_by_id = obj.updated_by_id = viewer.user_id
            obj.pending_import_id = pending_import_id
            made.append((obj, custom))
            out.append(obj)
    # the groups, locked against their deletion (crm/records/locking.py) - on SQLite this takes the
    # write lock, so it comes after the checks
    alive = lock_groups({obj.group_id for obj, _custom in made})
    for i, item in enumerate(out):
        if not isinstance(item, Refused) and item.group_id not in alive:
            out[i] = _no_such_group()
            item.tags = []  # (out of the session with it: nothing of a refused record is written)
    made = [(obj, custom) for obj, custom in made if obj.group_id in alive]
    if not made:
        db.session.flush()  # (a new tag the refused rows named, as before)
        return out
    names = dict(db.session.execute(select(Group.id, Group.name).where(Group.id.in_(alive))).all())
    changes = [history.created_changes(rtype, PLAIN_FIELDS[rtype.key], obj, names.get(obj.group_id), custom)
               for obj, custom in made]
    # The records are inserted by the ORM (their ids come back); what hangs on them needs no id of its
    # own, so it goes in one executemany per table instead of one INSERT per row: the contact details
    # (taken off the records for the flush), the custom values and the history.
    details = [list(obj.contact_details) if rtype.has_contact_details else [] for obj, _custom in made]
    for obj, _custom in made:
        if rtype.has_contact_details:
            obj.contact_details = []
    db.session.add_all([obj for obj, _custom in made])
    db.session.flush()
    fk = f"{rtype.key}_id"
    rows = [{"kind": d.kind, "label": d.label or "", "value": d.value, "position": d.position, fk: obj.id}
            for (obj, _custom), ds in zip(made, details, strict=True) for d in ds]
    if rows:
        db.session.execute(insert(ContactDetail), rows)
    if rtype.has_contact_details:
        for obj, _custom in made:
            db.session.expire(obj, ["contact_details"])  # (read again if asked for: they are written now)
    # (what set_values does for a record that has no values yet)
    values = [{"field_id": field_id, "value": value, fk: obj.id}
              for obj, custom in made for field_id, value in custom.items() if value is not None]
    if values:
        db.session.execute(insert(CustomFieldValue), values)
    history.records_created(rtype, [(obj.id, c) for (obj, _custom), c in zip(made, changes, strict=True)], viewer)
    if known_tags is not None:
        known_tags.update({name: (tag.id, tag.name) for name, tag in tags.items() if tag.id is not None})
    return out


def _known_tags(items: list[RecordInput], known: dict[str, tuple[int, str]]) -> dict[str, Tag]:
    """The tags of ``known`` (:func:`create_records`) that the batch's ``items`` name, in one
    statement; one that is gone or renamed since is left out (:func:`tag_named` decides again)."""
    wanted = {clean_tag_name(n) for data in items if data.sent("tags") for n in data.tags or []} & known.keys()
    if not wanted:
        return {}
    found = {t.id: t for t in db.session.scalars(select(Tag).where(Tag.id.in_({known[n][0] for n in wanted})))}
    return {n: found[known[n][0]] for n in wanted
            if known[n][0] in found and found[known[n][0]].name == known[n][1]}


def update_record(rtype: RecordType, obj, data: RecordInput, viewer: Viewer, expected_version: int | None = None):
    """Change the fields sent in ``data`` of a fully visible record (the loader made sure). A stale
    ``expected_version`` raises :class:`EditConflict`; so does a concurrent change caught by the
    version column at any flush (autoflush included: the queries of validation flush the changes
    made so far)."""
    if expected_version is not None and expected_version != obj.version:
        raise EditConflict()
    try:
        with db.session.no_autoflush:  # one UPDATE, so one version step per edit
            _update(rtype, obj, data, viewer)
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise EditConflict() from None
    return obj


def _update(rtype: RecordType, obj, data: RecordInput, viewer: Viewer) -> None:
    old_group = obj.group_id
    before = history.snapshot(rtype, PLAIN_FIELDS[rtype.key], obj)
    if data.group_id is not None and data.group_id != old_group:
        require_groups_on(viewer)  # (the record's current group, sent back unchanged, is fine)
        with _every_problem() as group_refused:
            obj.group_id = _check_group(viewer, data.group_id)
    else:
        group_refused = []
    custom = _apply_also(group_refused, rtype, obj, data, viewer)
    obj.updated_by_id = viewer.user_id
    # Every save is a change of the record - its version moves on - also when only contact
    # details or tags changed (rows of other tables): a concurrent edit and an import's undo see it.
    flag_modified(obj, "updated_by_id")
    if custom:
        set_values(rtype.key, obj.id, custom)
        obj.updated_at = utcnow()  # a change of custom values alone is still a change of the record
    groups = None
    if obj.group_id != old_group:
        both = select(Group.id, Group.name).where(Group.id.in_([old_group, obj.group_id]))
        names = dict(db.session.execute(both).all())
        audit(viewer, "group_assigned", group=names.get(obj.group_id), group_id=obj.group_id,
              counts={rtype.plural: 1}, source="form", previous=names.get(old_group))
        groups = (names.get(old_group), names.get(obj.group_id))
    history.record_changed(rtype, PLAIN_FIELDS[rtype.key], obj, before, viewer, custom, groups)


def delete_records(rtype: RecordType, ids_stmt, viewer: Viewer) -> int:
    """Delete the records selected by ``ids_stmt`` (ids, or a select of ids) that the viewer fully
    sees: they move to the recycle bin (:mod:`.trash`), nothing else changes. Only extended users
    and admins may delete. Returns how many moved."""
    from .trash import trash_records

    if viewer.role not in ("admin", "extended"):
        raise Forbidden(_("You may not delete records."))
    return trash_records(rtype, ids_stmt, viewer)
