"""The contact history of a record: add a note in place (htmx), load more, edit, delete."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import get_timezone
from flask_login import current_user

from ..common import to_int
from ..errors import Refused, apply_to_form
from ..extensions import db
from ..htmx import targets
from ..input_types import parse_input
from ..records.loaders import load_record
from ..records.types import BY_PLURAL, TYPES
from ..visibility import current_viewer
from .forms import NoteEditForm, NoteForm
from .queries import PAGE, notes_for
from .schemas import NoteInput, NotePatch
from .services import add_note, delete_note, load_note, may_change, update_note

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


def _load(note_id: int):
    """The note and its record (404 like an unknown id; 403 on a restricted record), and may the
    user change it (403 otherwise)."""
    try:
        note, record = load_note(note_id, current_viewer())
    except Refused as refused:
        abort(refused.status)
    if not may_change(note, current_viewer()):
        abort(403)
    return note, record


def _back(note, record):
    rtype = TYPES[note.record_key]
    return redirect(url_for(f"{rtype.plural}.detail", record_id=record.id) + "#notes")


@bp.route("/notes/<int:note_id>/edit", methods=["GET", "POST"])
def edit(note_id: int):
    """Change a note's text, kind and time: its author or an admin. In place in the timeline
    (htmx swaps the note's entry for the form and back), or as a page of its own."""
    note, record = _load(note_id)
    rtype = TYPES[note.record_key]
    if request.method == "GET":
        form = NoteEditForm(formdata=None, obj=note, prefix=f"note{note.id}")
        form.occurred_at.data = _local(note.occurred_at)
    else:
        form = NoteEditForm(prefix=f"note{note.id}")
    status = 200
    if request.method == "POST":
        status = 422 if targets(f"note-{note.id}") else 400
        if form.validate_on_submit():
            try:
                update_note(note, parse_input(NotePatch, form.to_patch()), current_viewer())
            except Refused as refused:
                db.session.rollback()
                note, record = _load(note_id)
                apply_to_form(form, refused)
            else:
                db.session.commit()
                if targets(f"note-{note.id}"):
                    return render_template("notes/_items.html", rtype=rtype, record=record, notes=[note],
                                           more=False, offset=1, focus_note=note.id)
                return _back(note, record)
    template = "notes/_edit.html" if targets(f"note-{note.id}") else "notes/edit.html"
    return render_template(template, rtype=rtype, record=record, note=note, form=form), status


def _local(at):
    """A stored UTC time as the account's local time, naive, for the form's datetime-local input."""
    from datetime import UTC

    return at.replace(tzinfo=UTC).astimezone(get_timezone()).replace(tzinfo=None)


@bp.get("/notes/<int:note_id>")
def show(note_id: int):
    """One entry of the timeline (htmx: "Cancel" of the in-place edit puts it back)."""
    try:
        note, record = load_note(note_id, current_viewer())
    except Refused as refused:
        abort(refused.status)
    rtype = TYPES[note.record_key]
    if targets(f"note-{note.id}"):
        return render_template("notes/_items.html", rtype=rtype, record=record, notes=[note], more=False,
                               offset=1, focus_note=note.id)
    return _back(note, record)


@bp.post("/notes/<int:note_id>/delete")
def delete(note_id: int):
    note, record = _load(note_id)
    rtype = TYPES[note.record_key]
    try:
        delete_note(note, current_viewer())
    except Refused as refused:
        abort(refused.status)
    db.session.commit()
    if targets("notes"):
        return _timeline(rtype, record, NoteForm(formdata=None))
    return redirect(url_for(f"{rtype.plural}.detail", record_id=record.id) + "#notes")
