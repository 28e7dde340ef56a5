"""The rules of the deal stages (admins only): define, rename, set the probability, reorder and
delete a stage; and which stage a deal's input names.

A stage's *kind* (open / won / lost) is fixed once it exists, and a stage is deleted only into
another stage of the same kind: every deal keeps its kind (``deals.stage``), so no sum, filter or
forecast of a deal changes behind the back of those who see it. The target is required whether or
not the stage holds deals, so the answer never depends on deals the admin cannot see (as a group's
deletion, the move takes along every deal of the stage, those in the recycle bin included).

The won/lost reasons (:class:`~.models.DealReason`) are kept the same way: admins add, rename,
reorder and delete them (audited); a deleted reason is retired, never removed, so the answer does
not depend on whether deals the admin cannot see carry it, and those deals keep showing it.
:func:`reason_of_input` is the rule of a deal's reason, which the records' service applies."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from ..audit.services import audit
from ..auth.services import require_admin
from ..common import name_among, utcnow
from ..errors import Conflict, Invalid, NotFound
from ..extensions import db
from ..records.models import Deal
from .models import REASON_OUTCOMES, DealReason, DealStage
from .queries import all_stages, first_of_kind, reasons
from .schemas import ReasonCreate, ReasonUpdate, StageCreate, StageUpdate


def _named(model, name: str, other_than: int | None, *where) -> bool:
    """A row of ``model`` (a stage, a reason) among ``where`` has this name
    (:func:`crm.common.name_among`)."""
    stmt = select(model.name).where(*where)
    if other_than is not None:
        stmt = stmt.where(model.id != other_than)
    return name_among(name, db.session.scalars(stmt))


def _name_taken(name: str, other_than: int | None = None) -> bool:
    return _named(DealStage, name, other_than)


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


# ---------------------------------------------------------------------------------------------
# Won/lost reasons
# ---------------------------------------------------------------------------------------------

def _reason_taken(name: str, outcome: str, other_than: int | None = None) -> bool:
    """A reason of this name (case-insensitively) is in use for the outcome (retired ones are not)."""
    return _named(DealReason, name, other_than, DealReason.outcome == outcome, DealReason.retired_at.is_(None))


def _reason_name_taken() -> Invalid:
    return Invalid(fields={"name": _l("A reason of this name exists already.")})


def create_reason(actor, data: ReasonCreate) -> DealReason:
    """A new reason, last of its outcome (audited)."""
    require_admin(actor)
    if _reason_taken(data.name, data.outcome):
        raise _reason_name_taken()
    last = db.session.scalar(select(func.max(DealReason.position)).where(DealReason.outcome == data.outcome)) or 0
    reason = DealReason(name=data.name, outcome=data.outcome, position=last + 1)
    db.session.add(reason)
    db.session.flush()
    audit(actor, "reason_created", reason=reason.name, reason_id=reason.id, outcome=reason.outcome)
    return reason


def live_reason(reason_id: int) -> DealReason:
    """A reason that is not retired (:class:`NotFound` otherwise, as for an unknown id)."""
    reason = db.session.get(DealReason, reason_id)
    if reason is None or reason.retired_at is not None:
        raise NotFound(_l("There is no such reason."))
    return reason


def rename_reason(actor, reason: DealReason, data: ReasonUpdate) -> DealReason:
    """Rename a reason (audited when the name changed); deals that carry it show the new name."""
    require_admin(actor)
    if data.name != reason.name:
        if _reason_taken(data.name, reason.outcome, reason.id):
            raise _reason_name_taken()
        previous, reason.name = reason.name, data.name
        db.session.flush()
        audit(actor, "reason_changed", reason=reason.name, reason_id=reason.id, previous=previous)
    return reason


def move_reason(actor, reason: DealReason, direction: int) -> None:
    """Move a reason one place up (-1) or down (+1) among those of its outcome (not audited, as a stage)."""
    require_admin(actor)
    items = reasons(reason.outcome)
    idx = next(i for i, r in enumerate(items) if r.id == reason.id)
    other = idx + direction
    if 0 <= other < len(items):
        items[idx], items[other] = items[other], items[idx]
    for pos, r in enumerate(items, start=1):
        r.position = pos
    db.session.flush()


def delete_reason(actor, reason: DealReason) -> None:
    """Delete a reason: it is retired, no longer offered, while the deals that carry it keep it
    (audited). Never refused for being in use: whether it is may depend on deals the admin
    cannot see."""
    require_admin(actor)
    reason.retired_at = utcnow()
    db.session.flush()
    audit(actor, "reason_deleted", reason=reason.name, reason_id=reason.id, outcome=reason.outcome)


def reason_of_input(kind: str, previous_kind: str | None, sent_reason: bool, reason_id: int | None,
                    sent_note: bool, note: str | None, current_id: int | None, current_note: str
                    ) -> tuple[int | None, str]:
    """A deal's reason and note after a write: its stage is now of ``kind`` (what
    :func:`stage_of_input` decided), it was of ``previous_kind`` (``None``: a new deal).
    ``sent_*``: whether the input has the field; ``current_*``: what the deal has.

    - An open deal has none: leaving won or lost clears both (so does moving from won to lost or
      back, unless a new reason or note is sent); a reason or note sent for an open deal is refused.
    - A won or lost deal may have a reason of its outcome - a reason of the other outcome, an
      unknown or a deleted one is refused, except that the deal's current reason, deleted
      meanwhile, may be sent back unchanged - and a note.

    :class:`Invalid` on the field at fault."""
    if kind not in REASON_OUTCOMES:
        errors = {}
        if sent_reason and reason_id is not None:
            errors["reason_id"] = _l("Only a won or lost deal has a reason.")
        if sent_note and note:
            errors["reason_note"] = _l("Only a won or lost deal has a reason.")
        if errors:
            raise Invalid(fields=errors)
        return None, ""
    if previous_kind != kind:  # the deal left the outcome its reason and note were about
        current_id, current_note = None, ""
    new_id = current_id
    if sent_reason and reason_id is None:
        new_id = None
    elif sent_reason and reason_id != current_id:
        reason = db.session.get(DealReason, reason_id)
        if reason is None or reason.retired_at is not None:
            raise Invalid(fields={"reason_id": _l("There is no such reason.")})
        if reason.outcome != kind:
            raise Invalid(fields={"reason_id": _l("This reason is for won deals.") if reason.outcome == "won"
                                  else _l("This reason is for lost deals.")})
        new_id = reason.id
    new_note = (note or "") if sent_note else current_note
    return new_id, new_note
