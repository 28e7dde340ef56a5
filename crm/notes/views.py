"""The contact history of a record: add a note in place (htmx), load more, delete."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..common import to_int
from ..errors import Refused, apply_to_form
from ..extensions import db
from ..htmx import targets
from ..input_types import parse_input
from ..records.loaders import load_record
from ..records.types import BY_PLURAL
from ..visibility import current_viewer, note_visible_to
from .forms import NoteForm
from .models import Note
from .queries import PAGE, notes_for
from .schemas import NoteInput
from .services import add_note

bp = Blueprint("notes", __name__)

PLURALS = "any(companies, people, deals, projects)"


def _timeline(rtype, record, form, offset=0, status=200):
    notes = notes_for(rtype.key, record.id, offset=offset)
    return render_template("notes/_timeline.html", rtype=rtype, record=record, notes=notes[:PAGE],
                           more=len(notes) > PAGE, offset=offset, note_form=form), status


@bp.get(f"/<{PLURALS}:plural>/<int:record_id>/notes")
def timeline(plural: str, record_id: int):
    rtype = BY_PLURAL[plural]
    record = load_record(rtype, record_id, write=True)  # notes exist only for fully visible records
    offset = to_int(request.args.get("offset"), 0, max_digits=8)
    if targets("notes-more"):
        notes = notes_for(rtype.key, record.id, offset=offset)
        return render_template("notes/_items.html", rtype=rtype, record=record, notes=notes[:PAGE],
                               more=len(notes) > PAGE, offset=offset)
    return _timeline(rtype, record, NoteForm(formdata=None), offset)


@bp.post(f"/<{PLURALS}:plural>/<int:record_id>/notes")
def create(plural: str, record_id: int):
    rtype = BY_PLURAL[plural]
    record = load_record(rtype, record_id, write=True)
    form = NoteForm()
    if form.validate_on_submit():
        try:
            add_note(rtype.key, record.id, parse_input(NoteInput, form.to_input()), current_user.id)
        except Refused as refused:
            apply_to_form(form, refused)
        else:
            db.session.commit()
            if targets("notes"):
                return _timeline(rtype, record, NoteForm(formdata=None))
            return redirect(url_for(f"{rtype.plural}.detail", record_id=record.id) + "#notes")
    if targets("notes"):
        return _timeline(rtype, record, form, status=422)
    from ..records.pages import detail_context

    ctx = detail_context(rtype, record)
    ctx["note_form"] = form
    return render_template("records/detail.html", **ctx), 400


@bp.post("/notes/<int:note_id>/delete")
def delete(note_id: int):
    note = db.session.scalar(select(Note).where(Note.id == note_id, note_visible_to(current_viewer())))
    if note is None:
        abort(404)
    rtype = next(t for t in BY_PLURAL.values() if t.key == note.record_key)
    record = load_record(rtype, note.record_id, write=True)
    if note.author_id != current_user.id and not current_user.can_delete:
        abort(403)
    db.session.delete(note)
    db.session.commit()
    if targets("notes"):
        return _timeline(rtype, record, NoteForm(formdata=None))
    return redirect(url_for(f"{rtype.plural}.detail", record_id=record.id) + "#notes")
