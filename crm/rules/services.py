"""Assignment rules (admins only): add, change, reorder and delete the ordered rules of a record
type, each change audited. The create path applies them (:func:`crm.records.services.rule_group`),
the import too (it creates through the same path); :func:`preview` and :func:`apply` put existing
records where the rules say."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..audit.services import audit
from ..auth.services import require_admin
from ..customfields.models import CustomField, CustomFieldValue
from ..errors import Invalid, NotFound
from ..extensions import db
from ..groups.models import BASIS_ID, Group, group_members
from ..groups.queries import current_state, losing_full
from ..imports.models import ImportItem, ImportJob
from ..records.assign import CASCADE, assign_group, preview_sources
from ..records.assign import preview as assign_preview
from ..records.models import TAG_LINKS, Company, ContactDetail, Tag
from ..records.services import assignment_rules, require_groups_on
from ..records.types import BY_PLURAL, TYPES
from ..visibility import Viewer, fully_visible_to, unscoped
from .matching import Facts, Matcher, parse_address, valid_postcode_spec
from .models import MAX_RULES, AssignmentRule
from .schemas import Condition, RuleChange, RuleInput

#: the rules of one type, in their order (the create path's query: crm/records/services.py)
rules_of = assignment_rules


def all_rules() -> list[AssignmentRule]:
    return list(db.session.scalars(
        select(AssignmentRule).order_by(AssignmentRule.record_type, AssignmentRule.position, AssignmentRule.id)))


def get_rule(actor, rule_id: int) -> AssignmentRule:
    require_admin(actor)
    rule = db.session.get(AssignmentRule, rule_id)
    if rule is None:
        raise NotFound()
    return rule


def _check_conditions(record_type: str, conditions: list[Condition]) -> list[dict]:
    """The conditions as stored; each refers to what exists (a group, a text or select field of the
    type) and says something (a value; a valid postcode list)."""
    out: list[dict] = []
    for i, cond in enumerate(conditions):
        field = f"conditions.{i}"
        item: dict = {"kind": cond.kind, "value": cond.value}
        if cond.kind == "postcode" and not valid_postcode_spec(cond.value):
            raise Invalid(fields={field: str(_l('Postcode prefixes or ranges, e.g. "1,2,3" or "20000-29999".'))})
        if cond.kind in ("country", "city", "tag", "field") and not cond.value:
            raise Invalid(fields={field: str(_l("This field is required."))})
        if cond.kind == "field":
            known = db.session.scalar(select(CustomField.id).where(
                CustomField.id == cond.field_id, CustomField.entity == record_type,
                CustomField.kind.in_(("text", "select"))))
            if known is None:
                raise Invalid(fields={field: str(_l("There is no such text or select field."))})
            item["field_id"] = cond.field_id
        if cond.kind == "creator_group":
            if cond.group_id is None or db.session.get(Group, cond.group_id) is None:
                raise Invalid(fields={field: str(_l("There is no such group."))})
            item = {"kind": cond.kind, "value": "", "group_id": cond.group_id}
        out.append(item)
    return out


def _check_target(group_id: int) -> Group:
    group = db.session.get(Group, group_id)
    if group is None:
        raise Invalid(fields={"group_id": str(_l("There is no such group."))})
    return group


def _details(rule: AssignmentRule) -> dict:
    return {"rule_id": rule.id, "record_type": rule.record_type, "name": rule.name, "position": rule.position,
            "conditions": list(rule.conditions), "group": rule.group.name if rule.group else None,
            "group_id": rule.group_id, "follow": rule.follow}


def create_rule(actor, data: RuleInput) -> AssignmentRule:
    """A new rule, last in the order of its type. Audited."""
    require_admin(actor)
    conditions = _check_conditions(data.record_type, data.conditions)
    group = _check_target(data.group_id)
    count, last = db.session.execute(
        select(func.count(AssignmentRule.id), func.max(AssignmentRule.position))
        .where(AssignmentRule.record_type == data.record_type)).one()
    if count >= MAX_RULES:
        raise Invalid(fields={"record_type": str(_l("At most %(n)d rules per record type.", n=MAX_RULES))})
    rule = AssignmentRule(record_type=data.record_type, position=(last or 0) + 1, name=data.name,
                          conditions=conditions, group_id=group.id, group=group,
                          follow=data.follow and data.record_type == "company")
    db.session.add(rule)
    db.session.flush()
    audit(actor, "rule_created", **_details(rule))
    return rule


def _move(rule: AssignmentRule, direction: str) -> bool:
    """Swap the rule with its neighbour in the order of its type."""
    rules = rules_of(rule.record_type)
    i = rules.index(rule)
    j = i - 1 if direction == "up" else i + 1
    if not 0 <= j < len(rules):
        return False
    other = rules[j]
    rule.position, other.position = other.position, rule.position
    if rule.position == other.position:  # (never equal when made here; renumber to be safe)
        rules[i], rules[j] = rules[j], rules[i]
        for pos, r in enumerate(rules, 1):
            r.position = pos
    return True


def update_rule(actor, rule: AssignmentRule, data: RuleChange) -> bool:
    """Change what is sent; audited when something changed. False if nothing did."""
    require_admin(actor)
    before = _details(rule)
    if data.name is not None:
        rule.name = data.name
    if data.conditions is not None:
        rule.conditions = _check_conditions(rule.record_type, data.conditions)
    if data.group_id is not None:
        rule.group = _check_target(data.group_id)
        rule.group_id = rule.group.id
    if data.follow is not None:
        rule.follow = data.follow and rule.record_type == "company"
    if data.move is not None:
        _move(rule, data.move)
    db.session.flush()
    after = _details(rule)
    if after == before:
        return False
    audit(actor, "rule_changed", **after, previous={k: v for k, v in before.items() if after[k] != v})
    return True


def delete_rule(actor, rule: AssignmentRule) -> None:
    """Delete a rule (the ones after it keep their order). Audited."""
    require_admin(actor)
    audit(actor, "rule_deleted", **_details(rule))
    db.session.delete(rule)
    db.session.flush()


# --------------------------------------------------------------------------------------------
# Apply to existing records: the plan, its preview, the assignments
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Move:
    """One bulk assignment of the plan: the records that go to ``group_id`` (and, for companies
    whose rule says so, their people, deals and projects: ``follow``)."""

    group_id: int
    group: str
    follow: bool
    ids: tuple[int, ...]
    #: what it would move, per type (crm.records.assign.preview: fully visible, not yet there)
    counts: dict
    #: the same by the group the records are in now: type -> source group id -> count
    sources: dict = dataclass_field(default_factory=dict)


def _first_addresses(fk, ids_select) -> dict[int, str]:
    out: dict[int, str] = {}
    rows = db.session.execute(
        select(fk, ContactDetail.value).where(fk.in_(ids_select), ContactDetail.kind == "address")
        .order_by(fk, ContactDetail.position, ContactDetail.id))
    for record_id, value in rows:
        out.setdefault(record_id, value)
    return out


def _facts(record_type: str, viewer: Viewer, rules: list[AssignmentRule]):
    """(id, group id, :class:`Facts`) of every record of the type the viewer fully sees, reading only
    what the rules ask about, a few set-based selects for all of them."""
    rtype = TYPES[record_type]
    model = rtype.model
    visible = select(model.id).where(fully_visible_to(model, viewer))
    kinds = {c.get("kind") for r in rules for c in r.conditions}
    cols = [model.id, model.group_id, model.created_by_id]
    has_company = record_type != "company"
    if has_company:
        cols.append(model.company_id)
    rows = db.session.execute(select(*cols).where(fully_visible_to(model, viewer)).order_by(model.id)).all()
    addresses: dict[int, str] = {}
    company_addresses: dict[int, str] = {}
    if kinds & {"postcode", "city", "country"}:
        if rtype.has_contact_details:
            addresses = _first_addresses(getattr(ContactDetail, f"{record_type}_id"), visible)
        if has_company:
            company_addresses = _first_addresses(
                ContactDetail.company_id, select(Company.id).where(fully_visible_to(Company, viewer)))
    tags: dict[int, set[str]] = defaultdict(set)
    if "tag" in kinds:
        link = TAG_LINKS[record_type]
        fk = getattr(link, f"{record_type}_id")
        for record_id, name in db.session.execute(
                select(fk, Tag.name).join(Tag, Tag.id == link.tag_id).where(fk.in_(visible))):
            tags[record_id].add(name)
    values: dict[int, dict[int, str]] = defaultdict(dict)
    field_ids = {c.get("field_id") for r in rules for c in r.conditions if c.get("kind") == "field"}
    if field_ids:
        fk = getattr(CustomFieldValue, f"{record_type}_id")
        for record_id, field_id, value in db.session.execute(
                select(fk, CustomFieldValue.field_id, CustomFieldValue.value)
                .where(fk.in_(visible), CustomFieldValue.field_id.in_(field_ids))):
            values[record_id][field_id] = value
    groups: dict[int, set[int]] = defaultdict(lambda: {BASIS_ID})
    if "creator_group" in kinds:
        for group_id, user_id in db.session.execute(
                unscoped(select(group_members.c.group_id, group_members.c.user_id))):  # (no record data)
            groups[user_id].add(group_id)
    imported: dict[int, str] = {}
    if "import" in kinds:
        # (unscoped: which import made a record the admin fully sees, whoever ran it; only the
        # file name is read)
        imported = dict(db.session.execute(unscoped(
            select(ImportItem.record_id, ImportJob.filename).join(ImportJob, ImportJob.id == ImportItem.job_id)
            .where(ImportItem.record_type == record_type, ImportItem.record_id.in_(visible)))).all())
    for row in rows:
        record_id, group_id, creator = row[0], row[1], row[2]
        address = addresses.get(record_id)
        if address is None and has_company and row[3] is not None:
            address = company_addresses.get(row[3])
        yield record_id, group_id, Facts(
            address=parse_address(address), tags=frozenset(tags.get(record_id, ())),
            fields=values.get(record_id, {}), creator_groups=frozenset(groups[creator]) if creator else frozenset(),
            import_name=imported.get(record_id))


#: record ids per assignment (and per count of the preview): each id is a bound parameter of the
#: statement, and SQLite takes 32,766 of them, PostgreSQL 65,535
IDS_PER_STATEMENT = 10_000
#: records of the type per bulk assignment of an apply: on the job queue each is a write
#: transaction of its own (bench/rules.py: 2.5 s for the longest at about 1,000 companies with
#: their people, deals and projects on the loaded 2-core machine)
STEP_SIZE = 1_000
#: records of the plan between two calls of its ``beat``
BEAT_EVERY = 5_000


def _chunks(ids: list[int] | tuple[int, ...], size: int | None = None) -> list[list[int]]:
    size = size or IDS_PER_STATEMENT
    return [list(ids[i:i + size]) for i in range(0, len(ids), size)]


def plan(viewer: Viewer, record_type: str, beat=None, *, counted: bool = True) -> list[Move]:
    """What applying the rules of a type to its existing records would do: per target group (and
    whether the company's people, deals and projects follow), the records the admin fully sees
    whose first matching rule names a group they are not in yet, and how many records of each type
    that assignment would move (``counted=False``: not counted, every such target group is in the
    plan, its counts empty). Nothing is written. ``beat``: called once the records are read and then
    every ``BEAT_EVERY`` records (a job's heartbeat: at 100k companies the plan takes a minute)."""
    require_admin(viewer)
    rules = rules_of(record_type)
    if not rules:
        return []
    chosen: dict[tuple[int, bool], list[int]] = defaultdict(list)
    matcher = Matcher(rules)
    for n, (record_id, group_id, facts) in enumerate(_facts(record_type, viewer, rules), 1):
        if beat is not None and (n == 1 or n % BEAT_EVERY == 0):
            beat()
        rule = matcher.first(facts)
        if rule is not None and (rule.group_id != group_id or rule.follow):
            chosen[(rule.group_id, rule.follow)].append(record_id)
    names = dict(db.session.execute(select(Group.id, Group.name)).all())
    rtype = TYPES[record_type]
    out = []
    for (group_id, follow), ids in sorted(chosen.items(), key=lambda item: (names[item[0][0]], item[0][1])):
        if not counted:
            out.append(Move(group_id, names[group_id], follow, tuple(ids), {}))
            continue
        cascade = tuple(CASCADE) if follow else ()
        counts: dict[str, int] = {}
        sources: dict[str, dict[int, int]] = {}
        for chunk in _chunks(ids):
            for plural, by_group in preview_sources(rtype, chunk, viewer, group_id, cascade).items():
                counts[plural] = counts.get(plural, 0) + sum(by_group.values())
                into = sources.setdefault(plural, {})
                for source, n in by_group.items():
                    into[source] = into.get(source, 0) + n
        if sum(counts.values()):
            out.append(Move(group_id, names[group_id], follow, tuple(ids), counts, sources))
    return out


def work_bound(viewer: Viewer, record_type: str) -> int:
    """At most how many records applying the rules of a type could move, from counts alone (no
    rule evaluated; one count per type, 0.9 s at 500k records on a loaded machine against 79 s for
    the plan, ``bench/rules.py``): the records of the type the admin fully sees,
    and, when a rule takes a company's people, deals and projects along, those the admin fully sees
    too. It decides whether the preview and the apply run in the request or on the job queue
    before anything is computed. 0 without rules."""
    require_admin(viewer)
    rules = rules_of(record_type)
    if not rules:
        return 0
    models = [TYPES[record_type].model] + (list(CASCADE.values()) if any(r.follow for r in rules) else [])
    return sum(db.session.scalar(select(func.count()).select_from(model).where(fully_visible_to(model, viewer)))
               for model in models)


def moves_out(moves: list[Move]) -> list[dict]:
    """The plan as plain values (a preview job's result): per target group its name, whether the
    company's records follow, the counts, and per type the groups the records come from with their
    counts (``sources``: ``[{"group", "count"}]`` by group name) - not the record ids."""
    names = dict(db.session.execute(select(Group.id, Group.name)).all())
    return [{"group_id": m.group_id, "group": m.group, "follow": m.follow, "counts": m.counts,
             "sources": {plural: [{"group": names.get(gid, "?"), "count": n}
                                  for gid, n in sorted(by_group.items(), key=lambda item: names.get(item[0], ""))]
                         for plural, by_group in m.sources.items() if by_group}}
            for m in moves]


def losses(viewer: Viewer, moves: list[Move]) -> list[dict]:
    """Who would lose full access if the plan were applied: per active user (by name) the number of
    its records, per type plural, they see in full now and not in their target group
    (:func:`crm.groups.queries.losing_full`, the impact preview's state; counts only, admins only).
    Only the records the plan counted (those the admin fully sees) are counted."""
    require_admin(viewer)
    flows: dict[str, dict[tuple[int, int], int]] = {}
    for move in moves:
        for plural, by_group in move.sources.items():
            into = flows.setdefault(BY_PLURAL[plural].key, {})
            for source, n in by_group.items():
                into[source, move.group_id] = into.get((source, move.group_id), 0) + n
    if not any(flows.values()):
        return []
    return [{"user": person.name, "counts": {TYPES[key].plural: n for key, n in counts.items()}}
            for person, counts in losing_full(current_state(), flows)]


def preview(viewer: Viewer, record_type: str) -> list[Move]:
    """The plan, for the page and the API: counts per target group."""
    return plan(viewer, record_type)


def steps(viewer: Viewer, record_type: str, beat=None) -> list[tuple[Move, list[int]]]:
    """The plan as the bulk assignments that could carry it out: per target group, its records in
    pieces of at most ``STEP_SIZE`` (one assignment, one audit entry, one undo each). Not counted:
    :func:`apply_step` counts each piece when it comes to it."""
    require_admin(viewer)
    require_groups_on(viewer, None)
    return [(move, chunk) for move in plan(viewer, record_type, beat, counted=False)
            for chunk in _chunks(move.ids, STEP_SIZE)]


def apply_step(viewer: Viewer, record_type: str, move: Move, ids: list[int]) -> dict | None:
    """One step of :func:`steps`: the audited, undoable bulk assignment of ``ids`` to the move's
    group (:func:`crm.records.assign.assign_group`, which moves only what the admin fully sees
    *now*, and only what is not there yet), in the caller's transaction. Returns its result with
    the group; ``None``, and nothing written, if nothing of it is to move (say, a company whose
    rule takes its records along, and they are all there already)."""
    require_admin(viewer)
    require_groups_on(viewer, None)
    rtype, cascade = TYPES[record_type], list(CASCADE) if move.follow else []
    if not sum(assign_preview(rtype, ids, viewer, move.group_id, tuple(cascade)).values()):
        return None
    result = assign_group(rtype, ids, move.group_id, viewer, cascade=cascade, source="rules")
    return {"group_id": move.group_id, "group": move.group, **result}


def record_applied(viewer: Viewer, record_type: str, results: list[dict]) -> None:
    """The one ``rules_applied`` entry naming the assignments of an apply."""
    audit(viewer, "rules_applied", record_type=record_type,
          assignments=[{"audit_id": r["audit_id"], "group": r["group"], "counts": r["updated"]} for r in results])


def apply(viewer: Viewer, record_type: str) -> list[dict]:
    """Apply the rules of a type to its existing records, in the caller's transaction (the request,
    for a small apply): every step of :func:`steps`, then :func:`record_applied`. Only records the
    admin fully sees move (the assignment service selects them so again). Returns the
    assignments' results. (A large apply runs on the job queue, one transaction per step:
    ``crm.jobs.services``.)"""
    results = [r for move, ids in steps(viewer, record_type) if (r := apply_step(viewer, record_type, move, ids))]
    record_applied(viewer, record_type, results)
    return results


def plan_size(moves: list[Move]) -> int:
    return sum(sum(m.counts.values()) for m in moves)
