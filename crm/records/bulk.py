"""Bulk actions on the list pages: the selection, the Actions menu and its dialogs (product.md §5).

The selection comes with every request as form fields: ``scope=ids`` with ``ids`` (the ticked
rows, possibly from several pages), or ``scope=all`` with the list filter (``q``, ``tag``,
``group_id``) - "all N matching" is the filter itself, never a list of ids. Either way the server
resolves it to a subquery of the ids the user **fully** sees (:meth:`Selection.ids_select`):
restricted and hidden ids are ignored as if they did not exist.

Every action is set-based and runs in one transaction. The dialogs swap into ``<dialog
id="dialog">``; a finished action answers with an empty dialog (app.js closes it) and, out of
band, the refreshed list, a reset selection bar and a message (with Undo for an assignment).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from ..audit.models import AuditEntry
from ..common import to_id, to_int
from ..errors import Refused
from ..extensions import db
from ..groups.queries import contact_names
from ..htmx import is_htmx, redirect_htmx, targets
from ..jobs.services import start_assignment, start_export, start_undo
from ..visibility import Viewer, current_viewer, fully_visible_to
from . import queries
from .assign import (
    CASCADE,
    assign_group,
    find_assignment,
    handover_targets,
    is_handover,
    offers_undo,
    preview,
    undo_assignment,
    workers_losing_sight,
)
from .pages import flash_bulk, list_context
from .services import GroupsOff, allowed_groups, delete_records, require_groups_on
from .tagging import add_tag, remove_tag, tags_in
from .types import BY_PLURAL, RecordType

#: at most this many ticked ids per request; beyond that "select all matching" is the way
MAX_IDS = 5000


@dataclass
class Selection:
    rtype: RecordType
    everything: bool
    ids: list[int] = field(default_factory=list)
    flt: queries.ListFilter = field(default_factory=queries.ListFilter)
    page: int = 1

    @classmethod
    def from_form(cls, rtype: RecordType, form) -> Selection:
        """The selection a dialog's form carries. A ticked value that is no id (only a forged
        form has one) is ignored like an id the user does not fully see; more than
        :data:`MAX_IDS` is refused (413)."""
        ids = list(dict.fromkeys(i for i in map(to_id, form.getlist("ids")) if i is not None))
        if len(ids) > MAX_IDS:
            abort(413)
        return cls(
            rtype=rtype,
            everything=form.get("scope") == "all",
            ids=ids,
            flt=queries.ListFilter.from_args(rtype, form),
            page=max(1, min(to_int(form.get("page"), 1), 100_000)),
        )

    def ids_select(self, viewer: Viewer):
        """The selected ids the viewer fully sees, as a subquery."""
        if self.everything:
            return queries.ids_matching(self.rtype, viewer, self.flt)
        model = self.rtype.model
        return select(model.id).where(model.id.in_(self.ids), fully_visible_to(model, viewer))

    def count(self, viewer: Viewer) -> int:
        if not self.everything and not self.ids:
            return 0
        return db.session.scalar(select(func.count()).select_from(self.ids_select(viewer).subquery())) or 0

    def fields(self) -> list[tuple[str, object]]:
        """Hidden fields that carry the selection and the list state through the dialog's steps."""
        out: list[tuple[str, object]] = [("scope", "all" if self.everything else "ids")]
        if not self.everything:
            out += [("ids", i) for i in self.ids]
        out += [*self.flt.pairs(), ("page", self.page)]
        return out


# -- what the list page needs ------------------------------------------------------------------

def _list_ctx(rtype: RecordType, sel: Selection) -> dict:
    ctx = list_context(rtype, sel.flt, sel.page)
    if ctx["page"] > ctx["pages"]:
        ctx = list_context(rtype, sel.flt, ctx["pages"])
    return ctx


def _list_url(rtype: RecordType, sel: Selection) -> str:
    args = sel.flt.args()
    if sel.page > 1:
        args["page"] = sel.page
    return url_for(f"{rtype.plural}.index", **args)


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{format_decimal(n)} {BY_PLURAL[p].label if n == 1 else BY_PLURAL[p].label_plural}"
                     for p, n in counts.items())


# -- answers -------------------------------------------------------------------------------------

def _dialog(template: str, rtype: RecordType, sel: Selection, status: int = 200, **ctx):
    return render_template(template, rtype=rtype, sel=sel, **ctx), status


def _nothing(rtype: RecordType, sel: Selection):
    return _dialog("records/_bulk_nothing.html", rtype, sel, 422)


def _done(rtype: RecordType, sel: Selection, message: str, category: str = "success", entry_id: int | None = None):
    """After an action: htmx gets the closed dialog + refreshed list, bar and message; a plain
    request a redirect to the list with the message flashed."""
    if not is_htmx():
        flash_bulk(message, category, entry_id)
        return redirect(_list_url(rtype, sel))
    entry = db.session.get(AuditEntry, entry_id) if entry_id else None
    return render_template(
        "records/_bulk_done.html", message=message, category=category,
        undo_entry=entry if entry is not None and offers_undo(entry, current_viewer()) else None,
        **_list_ctx(rtype, sel),
    )


def _refused(rtype: RecordType, sel: Selection, title: str, err: Refused):
    """A dialog that only says why the action is refused (htmx); a plain request gets the message
    flashed on the list."""
    db.session.rollback()
    message = err.summary
    if not is_htmx():
        flash(message, "error")
        return redirect(_list_url(rtype, sel))
    return _dialog("records/_bulk_refused.html", rtype, sel, 422, title=title, message=message)


def _require(allowed: bool) -> None:
    if not allowed:
        abort(403)


# -- the routes, added to each record type's blueprint ----------------------------------------

def add_bulk_routes(bp: Blueprint, rtype: RecordType) -> None:
    plural = rtype.plural

    @bp.post("/bulk/assign")
    def bulk_assign():
        """Assign group. Steps: ``choose`` (the dialog), ``preview`` (its counts when the group
        changes), ``confirm`` (what will happen), ``run``."""
        viewer = current_viewer()
        sel = Selection.from_form(rtype, request.form)
        try:
            require_groups_on(viewer)  # (assign_group checks it again in its transaction)
        except GroupsOff as err:
            return _refused(rtype, sel, _("Assign group"), err)
        step = request.args.get("step") or request.form.get("step") or "choose"
        selected = sel.count(viewer)
        if not selected:
            return _nothing(rtype, sel)
        raw = request.form.get("target_id", "")  # (``group_id`` is the list's group filter)
        group_id = to_id(raw)
        cascade = [c for c in request.form.getlist("cascade") if c in CASCADE] if rtype.key == "company" else []
        groups = allowed_groups(viewer)
        # the hand-over targets of the viewer's groups (records of those groups only), with their labels
        handovers: dict[int, str] = {}
        for target, _source, label in handover_targets(viewer):
            if target.id not in handovers:
                handovers[target.id] = label or _("Hand over to %(group)s", group=target.name)
                groups.append(target)
        group = next((g for g in groups if g.id == group_id), None)
        ids = sel.ids_select(viewer)
        # opened from a record's page (its hand-over button): done, it goes to the list, where the
        # dialog's answer has its place (the record may have left the user's view)
        from_detail = request.form.get("origin") == "detail"
        ctx = {"groups": groups, "group": group, "cascade": cascade, "selected": selected, "handovers": handovers,
               "from_detail": from_detail,
               "leaving": group is not None and not viewer.is_member(group.id),
               "handover": group is not None and is_handover(viewer, group.id)}
        ctx["contacts"] = contact_names(group.id) if ctx["leaving"] else []
        if step in ("confirm", "run") and group is None:
            ctx["error"] = _("Choose one of the groups offered.") if raw else _("Choose a group.")
            step, status = "choose", 422
        else:
            status = 200
        if step == "run":
            try:  # a large one (BULK_JOB_THRESHOLD, cascade included) runs as a job: its page polls it
                job = start_assignment(rtype, viewer, group.id, cascade=cascade, source="list",
                                       **({"filter_args": sel.flt.pairs()} if sel.everything else {"ids": sel.ids}))
            except Refused as err:
                db.session.rollback()
                ctx["error"] = err.summary
                step, status = "choose", 422
            else:
                if job is not None:
                    return redirect_htmx(url_for("jobs.job", job_id=job.id))
        if step == "run":
            try:
                result = assign_group(rtype, ids, group.id, viewer, cascade=cascade, source="list")
            except Refused as err:
                db.session.rollback()
                ctx["error"] = err.summary
                step, status = "choose", 422
            else:
                db.session.commit()
                moved = result["updated"]
                if sum(moved.values()):
                    message = _("Assigned to %(group)s: %(counts)s.", group=group.name, counts=_counts_text(moved))
                    if ctx["leaving"]:
                        message += " " + _("You are not a member of %(group)s, so you no longer see them.",
                                           group=group.name)
                else:
                    message = _("Nothing changed: the records are in %(group)s already.", group=group.name)
                if from_detail:  # the list shows the message as after the list's own (with Undo)
                    flash_bulk(message, "success", result["audit_id"])
                    return redirect_htmx(url_for(f"{rtype.plural}.index"))
                return _done(rtype, sel, message, entry_id=result["audit_id"])
        counts = preview(rtype, ids, viewer, group.id if group else None,
                         list(CASCADE) if rtype.key == "company" else ())
        ctx["counts"] = counts
        if step == "preview":
            return _dialog("records/_bulk_assign_preview.html", rtype, sel, **ctx)
        if step == "confirm":
            ctx["moving"] = {p: counts[p] for p in [plural, *CASCADE] if p == plural or p in cascade}
            # (an admin: those who lose them; anyone else: everyone working on them, not judged by
            # memberships, which are not told to non-admins)
            workers, ctx["workers_judged"] = workers_losing_sight(rtype, ids, viewer, group.id, cascade)
            ctx["workers"] = ", ".join(f"{name} ({format_decimal(n)})" for name, n in workers)
            return _dialog("records/_bulk_assign_confirm.html", rtype, sel, **ctx)
        return _dialog("records/_bulk_assign.html", rtype, sel, status, **ctx)

    @bp.post("/bulk/tag")
    def bulk_tag():
        """Add or remove a tag. Steps: ``choose`` (the dialog), ``run``."""
        viewer = current_viewer()
        sel = Selection.from_form(rtype, request.form)
        mode = "remove" if request.values.get("mode") == "remove" else "add"
        step = request.form.get("step") or "choose"
        selected = sel.count(viewer)
        if not selected:
            return _nothing(rtype, sel)
        ids = sel.ids_select(viewer)
        name = (request.form.get("tag_name") or "").strip()  # (``tag`` is the list's tag filter)
        ctx = {"mode": mode, "selected": selected, "tag": name,
               "present": tags_in(rtype, ids, viewer) if mode == "remove" else [],
               "known": queries.all_tags(rtype, viewer) if mode == "add" else []}
        if step == "run":
            try:
                n = (add_tag if mode == "add" else remove_tag)(rtype, ids, name, viewer)
            except Refused as err:
                db.session.rollback()
                return _dialog("records/_bulk_tag.html", rtype, sel, 422, error=err.summary,
                               **ctx)
            db.session.commit()
            if mode == "add":
                message = ngettext("Tag “%(tag)s” added to %(num)s record.",
                                   "Tag “%(tag)s” added to %(num)s records.", n, tag=name)
            else:
                message = ngettext("Tag “%(tag)s” removed from %(num)s record.",
                                   "Tag “%(tag)s” removed from %(num)s records.", n, tag=name)
            return _done(rtype, sel, message)
        return _dialog("records/_bulk_tag.html", rtype, sel, **ctx)

    @bp.post("/bulk/delete")
    def bulk_delete():
        """Delete (extended users and admins). Steps: ``confirm`` (the dialog), ``run``."""
        _require(current_user.can_delete)
        viewer = current_viewer()
        sel = Selection.from_form(rtype, request.form)
        selected = sel.count(viewer)
        if not selected:
            return _nothing(rtype, sel)
        if request.form.get("step") != "run":
            return _dialog("records/_bulk_delete.html", rtype, sel, selected=selected)
        n = delete_records(rtype, sel.ids_select(viewer), viewer)
        db.session.commit()
        return _done(rtype, sel, ngettext("%(num)s record moved to the recycle bin.",
                                              "%(num)s records moved to the recycle bin.", n))

    @bp.post("/bulk/export.csv")
    def bulk_export():
        """Export selected (extended users and admins): a plain form post answering with the CSV."""
        from .export import export_response

        _require(current_user.can_export)
        viewer = current_viewer()
        sel = Selection.from_form(rtype, request.form)
        flt = sel.flt if sel.everything else queries.ListFilter()
        # more than EXPORT_JOB_ROWS rows: a job, whose page shows the progress and the download
        job = start_export(rtype, viewer, sel.flt.pairs() if sel.everything else [],
                           None if sel.everything else sel.ids, full_only=True)
        if job is not None:
            return redirect_htmx(url_for("jobs.job", job_id=job.id))
        return export_response(rtype, flt, sel.ids_select(viewer))

    @bp.post("/bulk/undo/<int:entry_id>")
    def bulk_undo(entry_id: int):
        """Undo a bulk assignment: from the message after it (htmx, refreshes the list) or from
        the audit log (a plain form, back to the log)."""
        viewer = current_viewer()
        entry = find_assignment(entry_id, plural, viewer)  # someone else's: 404, like a missing one
        if entry is None:
            abort(404)
        sel = Selection.from_form(rtype, request.form)
        job = start_undo(entry, plural, viewer)  # a large one runs as a job
        if job is not None:
            return redirect_htmx(url_for("jobs.job", job_id=job.id))
        try:
            result = undo_assignment(entry, viewer)
        except Refused as err:
            db.session.rollback()
            message, category = err.summary, "error"
        else:
            db.session.commit()
            restored = {p: n for p, n in result["restored"].items() if n}
            skipped = {p: n for p, n in result["skipped"].items() if n}
            message = _("Undone: %(counts)s back in their previous groups.", counts=_counts_text(restored))
            if skipped:
                message += " " + _("Kept where they are, because they were changed since or you may not "
                                   "move them back: %(counts)s.", counts=_counts_text(skipped))
            category = "warning" if skipped else "success"
        if targets("bulk-message"):
            return _done(rtype, sel, message, category)
        flash(message, category)
        return redirect(url_for("audit.log") if viewer.is_admin else _list_url(rtype, sel))

    @bp.app_template_global("may_undo_assignment")
    def may_undo_assignment(entry) -> bool:
        return offers_undo(entry, current_viewer())
