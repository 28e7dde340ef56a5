"""Pages of the four record types: list, detail, new, edit, delete, CSV export, link picker.

One set of handlers, registered once per record type. Every handler that touches a single record
goes through :func:`load_record`; every list goes through :mod:`.queries`.
"""
from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from ..common import to_id, to_int
from ..errors import Refused, apply_to_form
from ..extensions import db
from ..groups.queries import contact_names
from ..htmx import redirect_htmx, targets
from ..visibility import HIDDEN, current_viewer, fully_visible_to
from . import queries
from .forms import error_names, form_input
from .loaders import RestrictedRecord, load_record
from .pages import (
    MERGE_ATTEMPTS,
    TAKE,
    ask_for_group,
    base_token,
    bulk_message,
    conflict_rows,
    current_form,
    default_notice,
    detail_context,
    field_digests,
    fill_form,
    filter_problems,
    group_parent,
    list_context,
    merge_plan,
    page_arg,
    parent_from_args,
    picked,
    proposed_group_id,
    read_base,
    record_form,
    record_handovers,
    rules_notice,
    take_current,
)
from .services import (
    EditConflict,
    create_record,
    default_group_id,
    delete_records,
    inherited_links,
    read_record_input,
    update_record,
)
from .types import TYPES, RecordType


def make_blueprint(rtype: RecordType) -> Blueprint:
    bp = Blueprint(rtype.plural, __name__, url_prefix=f"/{rtype.plural}")
    from .bulk import add_bulk_routes

    add_bulk_routes(bp, rtype)

    @bp.get("")
    def index():
        ctx = list_context(rtype, queries.ListFilter.from_args(rtype, request.args), page_arg())
        # a filter value the list could not read is named, not silently dropped (new-user trial)
        ctx["filter_problems"] = filter_problems(rtype, ctx["filter_fields"])
        if targets("record-list"):
            return render_template("records/_list.html", **ctx)
        return render_template("records/list.html", **ctx, bulk=bulk_message(rtype))

    @bp.get("/<int:record_id>")
    def detail(record_id: int):
        record = load_record(rtype, record_id)
        if isinstance(record, RestrictedRecord):
            return render_template("records/restricted.html", rtype=rtype, record=record,
                                   contacts=contact_names(record.group_id))
        return render_template("records/detail.html", **detail_context(rtype, record))

    @bp.get("/<int:record_id>/handovers")
    def handovers(record_id: int):
        """The detail page's hand-over buttons (loaded on demand): the groups the record's group may
        hand records over to though the user is not a member there."""
        record = load_record(rtype, record_id, write=True)  # hidden 404, restricted 403
        return render_template("records/_handovers.html", rtype=rtype, record=record,
                               handovers=record_handovers(record))

    @bp.get("/<int:record_id>/access")
    def access(record_id: int):
        """The "who can see this" table (the detail page loads it on demand): of a fully visible
        record every user's line for an admin, else the viewer's own line; of a restricted record
        the viewer's own line only - their level and its reason (product.md §8)."""
        from ..visibility import access_report

        record = load_record(rtype, record_id)
        viewer = current_viewer()
        if not viewer.groups_enabled:
            abort(404)
        restricted = isinstance(record, RestrictedRecord)
        group_name = record.group_name if restricted else record.group.name
        everyone = viewer.is_admin and not restricted
        access = access_report(rtype.key, record.group_id, viewer, everyone=everyone)
        template = "records/_access_table.html" if targets("access-body") else "records/access.html"
        return render_template(template, rtype=rtype, record=record, access=access, everyone=everyone,
                               group_name=group_name)

    @bp.route("/new", methods=["GET", "POST"])
    def new():
        viewer = current_viewer()
        parent = parent_from_args()
        form = record_form(rtype, new=True)
        if request.method == "GET":
            form.group_id.data = proposed = default_group_id(viewer, current_user, parent, rtype.key)
            if targets("group-field"):
                # a company picked (``?company_id=``, the parent): the group field proposes its group,
                # unless the user chose another group than the one proposed before (product.md §5)
                chosen = to_id(request.args.get("group_id"))
                if chosen is not None and chosen != to_id(request.args.get("proposed")) and chosen in {
                        c[0] for c in form.group_id.choices}:
                    form.group_id.data = chosen
                ask_for_group(form)
                return render_template("records/_group_field.html", rtype=rtype, form=form, live=True,
                                       proposed=proposed, default_notice=default_notice(rtype),
                                       rules_notice=rules_notice(rtype))
            if parent is not None:
                for fk, target in inherited_links(rtype, parent, viewer).items():
                    getattr(form, fk).data = target
            form.responsible_id.data = current_user.id
        if form.validate_on_submit():
            try:
                obj = create_record(rtype, read_record_input(rtype.key, form_input(rtype, form)), viewer,
                                    current_user, group_parent(rtype, form, parent))
            except Refused as refused:
                db.session.rollback()
                apply_to_form(form, refused, error_names(form))
            else:
                name, group_id, group_name = obj.display_name, obj.group_id, obj.group.name
                db.session.commit()
                if viewer.level(rtype.key, group_id) == HIDDEN:
                    flash(_("%(type)s “%(name)s” was created in the group %(group)s, which you are not a "
                            "member of, so you no longer see it.", type=rtype.label, name=name,
                            group=group_name), "warning")
                    return redirect(url_for(f"{rtype.plural}.index"))
                flash(_("%(type)s “%(name)s” was created.", type=rtype.label, name=obj.display_name), "success")
                return redirect(url_for(f"{rtype.plural}.detail", record_id=obj.id))
        status = 400 if request.method == "POST" else 200
        ask_for_group(form)
        return render_template("records/form.html", rtype=rtype, form=form, record=None,
                               proposed=proposed_group_id(rtype, form, parent),
                               picked=picked(rtype, form), parent=parent,
                               default_notice=default_notice(rtype), rules_notice=rules_notice(rtype)), status

    @bp.route("/<int:record_id>/edit", methods=["GET", "POST"])
    def edit(record_id: int):
        obj = load_record(rtype, record_id, write=True)
        viewer = current_viewer()
        form = record_form(rtype, obj=obj)
        if request.method == "GET":
            fill_form(form, rtype, obj)
        else:  # after a conflict: the fields the user took over from the current version
            take_current(rtype, form, obj, request.form.getlist(TAKE))
        conflict = False
        rows = None
        if form.validate_on_submit():
            version = to_int(form.version.data)  # the record's own version if the field is missing
            base, mine = read_base(form.base.data), field_digests(rtype, form)
            for attempt in range(MERGE_ATTEMPTS):
                try:
                    data = read_record_input(rtype.key, form_input(rtype, form), patch=True)
                    update_record(rtype, obj, data, viewer, expected_version=version)
                except EditConflict:
                    # Someone else saved meanwhile: what only they changed is taken over, what
                    # only this user changed is kept; saved again unless both changed a field
                    db.session.rollback()
                    obj = load_record(rtype, record_id, write=True)
                    theirs = current_form(rtype, obj)
                    their_refs = picked(rtype, theirs, obj)
                    take, clashes = merge_plan(base, mine, field_digests(rtype, theirs))
                    take_current(rtype, form, obj, take, theirs)
                    version = obj.version
                    if not clashes and attempt + 1 < MERGE_ATTEMPTS:
                        continue
                    conflict = True
                    form.form_errors.append(_(
                        "Someone else changed this record while you were editing. Below, the current "
                        "version is shown next to yours, field by field, with the differences marked. "
                        "Keep yours or take the current value per field, then save."
                    ))
                    form.version.raw_data = None
                    form.version.data = obj.version
                    form.base.raw_data = None  # the user has now seen the current version
                    form.base.data = base_token(rtype, theirs)
                    rows = conflict_rows(rtype, form, theirs, picked(rtype, form, obj), their_refs)
                except Refused as refused:
                    db.session.rollback()
                    obj = load_record(rtype, record_id, write=True)
                    apply_to_form(form, refused, error_names(form))
                else:
                    db.session.commit()
                    if viewer.groups_enabled and not viewer.is_member(obj.group_id):
                        flash(_("Saved. The record is now in a group you are not a member of, "
                                "so you no longer see it."), "warning")
                        return redirect(url_for(f"{rtype.plural}.index"))
                    flash(_("Saved."), "success")
                    return redirect(url_for(f"{rtype.plural}.detail", record_id=obj.id))
                break
        refs = picked(rtype, form, obj)
        if request.method == "GET":  # what the form starts from (the merge after a conflict)
            form.base.data = base_token(rtype, form)
        status = 409 if conflict else (400 if request.method == "POST" else 200)
        return render_template("records/form.html", rtype=rtype, form=form, record=obj,
                               picked=refs, conflict=conflict, conflict_rows=rows,
                               parent=None), status

    @bp.route("/<int:record_id>/delete", methods=["GET", "POST"])
    def delete(record_id: int):
        obj = load_record(rtype, record_id, write=True)
        if not current_user.can_delete:
            abort(403)
        if request.method == "GET":
            return render_template("records/delete.html", rtype=rtype, record=obj)
        name = obj.display_name
        delete_records(rtype, [obj.id], current_viewer())
        db.session.commit()
        flash(_("“%(name)s” was moved to the recycle bin.", name=name), "success")
        return redirect_htmx(url_for(f"{rtype.plural}.index"))

    @bp.get("/lookup")
    def lookup():
        """Options for a link picker: records the user fully sees, by name."""
        viewer = current_viewer()
        field = request.args.get("field", f"{rtype.key}_id")
        # The picker's search box is named "<field>_q" (so a form sent back keeps what was typed).
        q = (request.args.get("q") or request.args.get(f"{field}_q") or "").strip()[:100]
        # the merge page's picker leaves out the record being merged
        exclude = to_id(request.args.get("exclude"))
        rows = []
        if q:
            flt = queries.ListFilter(q=q)
            model = rtype.model
            stmt = (
                select(model.id, queries.display_name_column(rtype).label("name"))
                .where(queries.filtered(rtype, viewer, flt), fully_visible_to(model, viewer))
                .order_by(model.sort_key, model.id)
                .limit(10)
            )
            if exclude is not None:
                stmt = stmt.where(model.id != exclude)
            rows = [r._asdict() for r in db.session.execute(stmt)]
            details = queries.telling_details(rtype, viewer, [r["id"] for r in rows])
            for r in rows:
                r["details"] = details.get(r["id"], [])
        return render_template("records/_picker_options.html", rtype=rtype, rows=rows,
                               field=field, q=q)

    @bp.get("/export.csv")
    def export_csv():
        """The CSV, streamed; one larger than ``EXPORT_JOB_ROWS`` rows asks to start it as a job."""
        from ..jobs.services import export_size, export_threshold
        from .export import export_response, parse_ids

        if not current_user.can_export:
            abort(403)
        flt = queries.ListFilter.from_args(rtype, request.args)
        ids = parse_ids(request.args.get("ids"))
        size = export_size(rtype, current_viewer(), flt, ids)
        if size > export_threshold():
            return render_template("records/export_job.html", rtype=rtype, size=size,
                                   pairs=list(request.args.items(multi=True)))
        return export_response(rtype, flt, ids)

    @bp.post("/export")
    def export_job():
        """Start a large export as a job (the form of ``export.csv``'s page): its page shows the
        progress and then the download. Small enough by now: the CSV at once."""
        from ..jobs.services import start_export
        from .export import export_response, parse_ids

        if not current_user.can_export:
            abort(403)
        pairs = [(k, v) for k, v in request.form.items(multi=True) if k not in ("csrf_token", "ids")]
        ids = parse_ids(request.form.get("ids"))
        job = start_export(rtype, current_viewer(), pairs, ids)
        if job is None:
            return export_response(rtype, queries.ListFilter.from_args(rtype, MultiDict(pairs)), ids)
        return redirect(url_for("jobs.job", job_id=job.id))

    return bp


def register_record_blueprints(app: Flask) -> None:
    for rtype in TYPES.values():
        app.register_blueprint(make_blueprint(rtype))
