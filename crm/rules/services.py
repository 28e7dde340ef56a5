"""Assignment rules (admins only): add, change, reorder and delete the ordered rules of a record
type, each change audited. The create path applies them (:func:`crm.records.services.rule_group`),
the import too (it creates through the same path); :func:`preview` and :func:`apply` put existing
records where the rules say."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..audit.services import audit
from ..auth.services import require_admin
from ..customfields.models import CustomField
from ..errors import Invalid, NotFound
from ..extensions import db
from ..groups.models import Group
from .matching import valid_postcode_spec
from .models import MAX_RULES, AssignmentRule
from .schemas import Condition, RuleChange, RuleInput


def rules_of(record_type: str) -> list[AssignmentRule]:
    """The rules of one type, in their order."""
    return list(db.session.scalars(
        select(AssignmentRule).where(AssignmentRule.record_type == record_type)
        .order_by(AssignmentRule.position, AssignmentRule.id)))


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
