"""The rules of the deal stages (admins only): define, rename, set the probability, reorder and
delete a stage; and which stage a deal's input names.

A stage's *kind* (open / won / lost) is fixed once it exists, and a stage is deleted only into
another stage of the same kind: every deal keeps its kind (``deals.stage``), so no sum, filter or
forecast of a deal changes behind the back of those who see it. The target is required whether or
not the stage holds deals, so the answer never depends on deals the admin cannot see (as a group's
deletion, the move takes along every deal of the stage, those in the recycle bin included)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from ..audit.services import audit
from ..auth.services import require_admin
from ..errors import Conflict, Invalid, NotFound
from ..extensions import db
from ..records.models import Deal
from .models import DealStage
from .queries import all_stages, first_of_kind
from .schemas import StageCreate, StageUpdate


def _name_taken(name: str, other_than: int | None = None) -> bool:
    stmt = select(DealStage.id).where(func.lower(DealStage.name) == name.lower())
    if other_than is not None:
        stmt = stmt.where(DealStage.id != other_than)
    return db.session.scalar(stmt.limit(1)) is not None


def _taken() -> Invalid:
    return Invalid(fields={"name": _l("A stage of this name exists already.")})


def create_stage(actor, data: StageCreate) -> DealStage:
    """A new stage, last in the order (audited)."""
    require_admin(actor)
    if _name_taken(data.name):
        raise _taken()
    last = db.session.scalar(select(func.max(DealStage.position))) or 0
    stage = DealStage(name=data.name, probability=data.probability, kind=data.kind, position=last + 1)
    db.session.add(stage)
    db.session.flush()
    audit(actor, "stage_created", stage=stage.name, stage_id=stage.id, kind=stage.kind,
          probability=stage.probability)
    return stage


def update_stage(actor, stage: DealStage, data: StageUpdate) -> DealStage:
    """Rename a stage or set its probability (audited when anything changed)."""
    require_admin(actor)
    changes = {}
    if "name" in data.model_fields_set and data.name != stage.name:
        if _name_taken(data.name, stage.id):
            raise _taken()
        changes["name"] = [stage.name, data.name]
        stage.name = data.name
    if "probability" in data.model_fields_set and data.probability != stage.probability:
        changes["probability"] = [stage.probability, data.probability]
        stage.probability = data.probability
    if changes:
        db.session.flush()
        audit(actor, "stage_changed", stage=stage.name, stage_id=stage.id, changes=changes)
    return stage


def move_stage(actor, stage: DealStage, direction: int) -> None:
    """Move a stage one place left (-1) or right (+1) on the board (not audited)."""
    require_admin(actor)
    stages = all_stages()
    idx = next(i for i, s in enumerate(stages) if s.id == stage.id)
    other = idx + direction
    if 0 <= other < len(stages):
        stages[idx], stages[other] = stages[other], stages[idx]
    for pos, s in enumerate(stages, start=1):
        s.position = pos
    db.session.flush()


def move_targets(stage: DealStage) -> list[DealStage]:
    """The stages a stage's deals may move to when it is deleted: the others of its kind."""
    return [s for s in all_stages() if s.kind == stage.kind and s.id != stage.id]


def delete_stage(actor, stage: DealStage, move_to: int | None) -> int:
    """Delete a stage; its deals move to ``move_to``, another stage of the same kind, which is
    always required. Returns how many deals moved (audited; the count is not shown to the admin,
    who may not see them all)."""
    require_admin(actor)
    targets = {s.id: s for s in move_targets(stage)}
    if not targets:
        raise Conflict(_l("The last stage of its kind cannot be deleted."),
                       {"move_to": _l("The last stage of its kind cannot be deleted.")})
    if move_to is None:
        raise Invalid(fields={"move_to": _l("Choose the stage its deals move to.")})
    target = targets.get(move_to)
    if target is None:
        raise Invalid(fields={"move_to": _l("Choose another stage of the same kind.")})
    moved = db.session.execute(
        update(Deal).where(Deal.stage_id == stage.id)
        .values(stage_id=target.id, version=Deal.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    audit(actor, "stage_deleted", stage=stage.name, stage_id=stage.id, moved_to=target.name)
    db.session.delete(stage)
    db.session.flush()
    return moved


def stage_of_input(stage_id: int | None, kind: str | None, current: DealStage | int | None) -> DealStage:
    """The stage a deal's input names: ``stage_id``, or else only its kind (``stage``, the first
    release's field), which keeps the deal's current stage if that is of the kind, else takes the
    first stage of the kind. Both sent must agree. :class:`Invalid` on the field at fault."""
    if stage_id is not None:
        stage = db.session.get(DealStage, stage_id)
        if stage is None:
            raise Invalid(fields={"stage_id": _l("No such stage.")})
        if kind is not None and kind != stage.kind:
            raise Invalid(fields={"stage": _l("The stage is of another kind.")})
        return stage
    kind = kind or "open"
    if current is not None:
        stage = current if isinstance(current, DealStage) else db.session.get(DealStage, current)
        if stage is not None and stage.kind == kind:
            return stage
    stage = first_of_kind(kind)
    if stage is None:  # (every kind keeps a stage: delete_stage refuses the last one)
        raise NotFound(fields={"stage": _l("No such stage.")})
    return stage
