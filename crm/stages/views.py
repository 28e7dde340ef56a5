"""Settings -> Deal stages (admins only): the pipeline's stages in their order; define, rename,
set the probability, move, delete (into another stage of the same kind); and below them the
won/lost reasons per outcome: add, rename, move, delete (retire). The forms parse;
:mod:`crm.stages.services` decides, audits and refuses."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..adminpages import admin_blueprint
from ..common import to_id
from ..errors import Refused, apply_to_form, flash_refusal
from ..extensions import db
from ..visibility import current_viewer
from . import services
from .forms import StageForm
from .models import REASON_OUTCOMES, DealReason, DealStage
from .queries import all_stages, reasons
from .schemas import ReasonCreate, ReasonUpdate, StageCreate, StageUpdate

bp = admin_blueprint("stages", __name__)


def _stage(stage_id: int) -> DealStage:
    return db.session.get(DealStage, stage_id) or abort(404)


@bp.get("/stages")
def index():
    stages = all_stages()
    return render_template("settings/stages.html", stages=stages,
                           targets={s.id: services.move_targets(s) for s in stages},
                           reasons={o: reasons(o) for o in REASON_OUTCOMES})


@bp.route("/stages/new", methods=["GET", "POST"])
def new():
    form = StageForm()
    if form.validate_on_submit():
        try:
            services.create_stage(current_viewer(), StageCreate.parse({
                "name": form.name.data, "probability": form.probability.data, "kind": form.kind.data}))
        except Refused as refused:
            db.session.rollback()
            apply_to_form(form, refused)
        else:
            db.session.commit()
            flash(_("Stage %(name)s was created.", name=form.name.data), "success")
            return redirect(url_for("stages.index"))
    return render_template("settings/stage_form.html", form=form, stage=None), (
        400 if request.method == "POST" else 200)


@bp.route("/stages/<int:stage_id>", methods=["GET", "POST"])
def edit(stage_id: int):
    stage = _stage(stage_id)
    form = StageForm(obj=stage)
    form.kind.data = stage.kind  # fixed once created: shown, not posted
    if form.validate_on_submit():
        try:
            services.update_stage(current_viewer(), stage, StageUpdate.parse(
                {"name": form.name.data, "probability": form.probability.data}))
        except Refused as refused:
            db.session.rollback()
            stage = _stage(stage_id)
            apply_to_form(form, refused)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("stages.index"))
    return render_template("settings/stage_form.html", form=form, stage=stage), (
        400 if request.method == "POST" else 200)


@bp.post("/stages/<int:stage_id>/move")
def move(stage_id: int):
    services.move_stage(current_viewer(), _stage(stage_id), -1 if request.form.get("direction") == "up" else 1)
    db.session.commit()
    return redirect(url_for("stages.index"))


@bp.post("/stages/<int:stage_id>/delete")
def delete(stage_id: int):
    stage = _stage(stage_id)
    name = stage.name
    try:
        services.delete_stage(current_viewer(), stage, to_id(request.form.get("move_to")))
    except Refused as refused:
        db.session.rollback()
        flash_refusal(refused)
    else:
        db.session.commit()
        flash(_("Stage %(name)s was deleted; its deals are now in %(target)s.", name=name,
                target=db.session.get(DealStage, to_id(request.form.get("move_to"))).name), "success")
    return redirect(url_for("stages.index"))


# -- won/lost reasons ----------------------------------------------------------------------------

def _reason(reason_id: int) -> DealReason:
    """A reason not deleted (a deleted one answers 404, like an unknown id)."""
    try:
        return services.live_reason(reason_id)
    except Refused:
        abort(404)


def _reasons_page():
    return redirect(url_for("stages.index") + "#reasons")


@bp.post("/stages/reasons/new")
def new_reason():
    try:
        reason = services.create_reason(current_viewer(), ReasonCreate.parse(
            {"name": request.form.get("name"), "outcome": request.form.get("outcome")}))
    except Refused as refused:
        db.session.rollback()
        flash_refusal(refused)
    else:
        db.session.commit()
        flash(_("Reason %(name)s was added.", name=reason.name), "success")
    return _reasons_page()


@bp.post("/stages/reasons/<int:reason_id>")
def rename_reason(reason_id: int):
    try:
        services.rename_reason(current_viewer(), _reason(reason_id),
                               ReasonUpdate.parse({"name": request.form.get("name")}))
    except Refused as refused:
        db.session.rollback()
        flash_refusal(refused)
    else:
        db.session.commit()
        flash(_("Saved."), "success")
    return _reasons_page()


@bp.post("/stages/reasons/<int:reason_id>/move")
def move_reason(reason_id: int):
    services.move_reason(current_viewer(), _reason(reason_id), -1 if request.form.get("direction") == "up" else 1)
    db.session.commit()
    return _reasons_page()


@bp.post("/stages/reasons/<int:reason_id>/delete")
def delete_reason(reason_id: int):
    reason = _reason(reason_id)
    services.delete_reason(current_viewer(), reason)
    db.session.commit()
    flash(_("Reason %(name)s was deleted; deals that have it keep it.", name=reason.name), "success")
    return _reasons_page()
