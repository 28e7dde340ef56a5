"""Settings -> Deal stages (admins only): the pipeline's stages in their order; define, rename,
set the probability, move, delete (into another stage of the same kind). The forms parse;
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
from .models import DealStage
from .queries import all_stages
from .schemas import StageCreate, StageUpdate

bp = admin_blueprint("stages", __name__)


def _stage(stage_id: int) -> DealStage:
    return db.session.get(DealStage, stage_id) or abort(404)


@bp.get("/stages")
def index():
    stages = all_stages()
    return render_template("settings/stages.html", stages=stages,
                           targets={s.id: services.move_targets(s) for s in stages})


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
