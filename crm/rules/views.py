"""Settings -> Gruppen -> Zuweisungsregeln (admins only): the rules of each record type in their
order; add, change, move up and down, delete; and "apply to existing records" with its preview.
The forms parse; :mod:`crm.rules.services` decides, audits and refuses."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from ..adminpages import admin_blueprint
from ..customfields.models import CustomField
from ..errors import Refused, apply_to_form, flash_refusal
from ..extensions import db
from ..groups.models import BASIS_ID, Group
from ..jobs import services as jobs
from ..records.types import TYPES
from ..visibility import current_viewer
from . import services
from .forms import CONDITION_LABELS, RuleForm
from .models import RULE_TYPES, AssignmentRule
from .schemas import RuleChange, RuleInput

bp = admin_blueprint("rules", __name__)


def _rule(rule_id: int) -> AssignmentRule:
    return db.session.get(AssignmentRule, rule_id) or abort(404)


def _form(**kw) -> RuleForm:
    form = RuleForm(**kw)
    groups = list(db.session.scalars(select(Group).order_by(Group.id != BASIS_ID, Group.name)))
    fields = list(db.session.scalars(select(CustomField).where(CustomField.kind.in_(("text", "select")))
                                     .order_by(CustomField.entity, CustomField.position, CustomField.name)))
    form.set_choices(groups, fields)
    return form


def _refused(form: RuleForm, refused: Refused) -> None:
    """Put a refusal on the form: a condition's message on its row (``conditions.<n>``: the n-th
    row that names a kind), the rest as :func:`crm.errors.apply_to_form` does."""
    rows = [row for row in form.conditions if row.kind.data]
    rest = {}
    for name, message in refused.fields.items():
        parts = name.split(".")
        if parts[0] == "conditions" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(rows):
            rows[int(parts[1])].value.errors = [*rows[int(parts[1])].value.errors, message]
        elif parts[0] == "conditions":
            form.conditions.errors = [message]
        else:
            rest[name] = message
    if rest or not refused.fields:
        apply_to_form(form, type(refused)(refused.message, rest or None))


@bp.get("/rules")
def index():
    rules = services.all_rules()
    by_type = {key: [r for r in rules if r.record_type == key] for key in RULE_TYPES}
    fields = dict(db.session.execute(select(CustomField.id, CustomField.name)).all())
    groups = dict(db.session.execute(select(Group.id, Group.name)).all())
    return render_template("settings/rules.html", by_type=by_type, labels=CONDITION_LABELS, fields=fields,
                           group_names=groups)


@bp.route("/rules/new", methods=["GET", "POST"])
def new():
    form = _form()
    if request.method == "GET" and request.args.get("record_type") in RULE_TYPES:
        form.record_type.data = request.args["record_type"]
    if form.validate_on_submit():
        try:
            rule = services.create_rule(current_viewer(), RuleInput.parse({
                "record_type": form.record_type.data, "name": form.name.data or "",
                "conditions": form.condition_data(), "group_id": form.group_id.data,
                "follow": bool(form.follow.data)}))
        except Refused as refused:
            db.session.rollback()
            _refused(form, refused)
        else:
            db.session.commit()
            flash(_("Assignment rule %(name)s was created.", name=rule.name), "success")
            return redirect(url_for("rules.index", _anchor=f"rules-{rule.record_type}"))
    return render_template("settings/rule_form.html", form=form, rule=None), (
        400 if request.method == "POST" else 200)


@bp.route("/rules/<int:rule_id>", methods=["GET", "POST"])
def edit(rule_id: int):
    rule = _rule(rule_id)
    form = _form(obj=rule)
    form.record_type.data = rule.record_type  # fixed once created: shown, not posted
    if request.method == "GET":
        form.fill(rule)
    if form.validate_on_submit():
        try:
            services.update_rule(current_viewer(), rule, RuleChange.parse({
                "name": form.name.data or "", "conditions": form.condition_data(),
                "group_id": form.group_id.data, "follow": bool(form.follow.data)}))
        except Refused as refused:
            db.session.rollback()
            rule = _rule(rule_id)
            _refused(form, refused)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("rules.index", _anchor=f"rules-{rule.record_type}"))
    return render_template("settings/rule_form.html", form=form, rule=rule, rtype=TYPES[rule.record_type]), (
        400 if request.method == "POST" else 200)


@bp.post("/rules/<int:rule_id>/move")
def move(rule_id: int):
    rule = _rule(rule_id)
    services.update_rule(current_viewer(), rule, RuleChange.parse(
        {"move": "up" if request.form.get("direction") == "up" else "down"}))
    db.session.commit()
    return redirect(url_for("rules.index", _anchor=f"rules-{rule.record_type}"))


@bp.post("/rules/<int:rule_id>/delete")
def delete(rule_id: int):
    rule = _rule(rule_id)
    name, key = rule.name, rule.record_type
    services.delete_rule(current_viewer(), rule)
    db.session.commit()
    flash(_("Assignment rule %(name)s was deleted.", name=name), "success")
    return redirect(url_for("rules.index", _anchor=f"rules-{key}"))


@bp.route("/rules/apply", methods=["GET", "POST"])
def apply():
    """Apply the rules of a type to existing records: GET shows the preview (counts per target group,
    only records the admin fully sees, none already in its target group), POST applies them as one
    bulk assignment per target group - on the job queue when large."""
    key = request.values.get("record_type", "company")
    key = key if key in RULE_TYPES else "company"
    viewer = current_viewer()
    if request.method == "POST":
        try:
            job = jobs.start_rules_apply(viewer, key)
            if job is not None:
                return redirect(url_for("jobs.job", job_id=job.id))
            results = services.apply(viewer, key)
        except Refused as refused:
            db.session.rollback()
            flash_refusal(refused)
            return redirect(url_for("rules.apply", record_type=key))
        db.session.commit()
        moved = sum(sum(r["updated"].values()) for r in results)
        flash(ngettext("Done: %(num)s record moved.", "Done: %(num)s records moved.", moved), "success")
        return redirect(url_for("rules.apply", record_type=key))
    large = viewer.groups_enabled and services.work_bound(viewer, key) > jobs.threshold()
    plan = services.preview(viewer, key) if viewer.groups_enabled and not large else []
    return render_template("settings/rules_apply.html", key=key, moves=services.moves_out(plan),
                           losses=services.losses(viewer, plan), rule_types=RULE_TYPES,
                           has_rules=bool(services.rules_of(key)), large=large)


@bp.post("/rules/preview")
def preview_job():
    """The preview as a job, for types with more records than a request should evaluate: its page
    shows the counts when done, with the button that applies the rules."""
    key = request.form.get("record_type", "company")
    key = key if key in RULE_TYPES else "company"
    try:
        job = jobs.start_rules_preview(current_viewer(), key)
    except Refused as refused:
        db.session.rollback()
        flash_refusal(refused)
        return redirect(url_for("rules.apply", record_type=key))
    return redirect(url_for("jobs.job", job_id=job.id))
