"""Notes and tasks in the API, by their own id: change and delete (``/notes/<id>``,
``/tasks/<id>``).

They follow their record (:func:`crm.notes.services.load_note`,
:func:`crm.tasks.services.load_task`): a note or task of a record the user does not fully see
answers 404 like an unknown id, and a write needs the record loaded for writing. The rules - who
may change a note, who may delete a task - are the services'; this module parses and serializes.
"""
from __future__ import annotations

from flask import g, jsonify

from ..extensions import db
from ..input_types import parse_input
from ..notes.schemas import NotePatch
from ..notes.services import delete_note, load_note, update_note
from ..tasks.schemas import TaskPatch
from ..tasks.services import delete_task, load_task, update_task
from .base import ID, bp
from .bodies import NOTE_READ_ONLY, TASK_READ_ONLY
from .inputs import json_body
from .serialize import note_json, task_json


def _without(body: dict, keys) -> dict:
    return {k: v for k, v in body.items() if k not in keys}


@bp.patch(f"/notes/<{ID}:note_id>")
def update_note_(note_id: int):
    note, _record = load_note(note_id, g.viewer)
    data = parse_input(NotePatch, _without(json_body(), (*NOTE_READ_ONLY, "edited_at")))
    update_note(note, data, g.viewer)
    db.session.commit()
    return jsonify(note_json(note))


@bp.delete(f"/notes/<{ID}:note_id>")
def delete_note_(note_id: int):
    note, _record = load_note(note_id, g.viewer)
    delete_note(note, g.viewer)
    db.session.commit()
    return "", 204


@bp.patch(f"/tasks/<{ID}:task_id>")
def update_task_(task_id: int):
    task = load_task(task_id, g.viewer, write=True)
    data = parse_input(TaskPatch, _without(json_body(), TASK_READ_ONLY))
    update_task(task, data, g.viewer)
    db.session.commit()
    return jsonify(task_json(task))


@bp.delete(f"/tasks/<{ID}:task_id>")
def delete_task_(task_id: int):
    task = load_task(task_id, g.viewer, write=True)
    delete_task(task, g.viewer)
    db.session.commit()
    return "", 204

