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

from ..auth.models import User
from ..common import to_id, to_int
from ..customfields.services import fields_for
from ..extensions import db
from ..htmx import redirect_htmx, targets
from ..visibility import current_viewer, fully_visible_to
from . import queries
from .forms import build_form, form_to_data
from .loaders import FULL, RESTRICTED, RestrictedRecord, load_record, reference, references_by_type, trashed_ids
from .services import (
    UNCHANGED,
    Conflict,
    ServiceError,
    default_group_id,
    delete_records,
    inherited_links,
    member_groups,
)
from .types import TYPES, RecordType


def page_arg() -> int:
    return max(1, min(to_int(request.args.get("page"), 1), 100_000))


def active_users() -> list[User]:
    from ..auth.services import active_users as cached

    return cached()


def list_context(rtype: RecordType, flt: queries.ListFilter, page: int) -> dict:
    from flask import current_app

    viewer = current_viewer()
    per_page = current_app.config["PAGE_SIZE"]
    stmt = queries.list_page(rtype, viewer, flt, per_page, (page - 1) * per_page)
    rows = [r._asdict() for r in db.session.execute(stmt)]
    tags = queries.tags_for(rtype, [r["id"] for r in rows if r["full"]])
    for r in rows:
        r["tags"] = tags.get(r["id"], [])
    for _fk, key in rtype.references:  # links to records in the recycle bin read "(deleted)"
        deleted = trashed_ids(key, [r[f"{key}_fk"] for r in rows if r[f"{key}_fk"] and not r[f"{key}_ref_id"]],
                              viewer)
        for r in rows:
            r[f"{key}_deleted"] = r[f"{key}_fk"] in deleted and not r[f"{key}_ref_id"]
    total, capped = queries.count_capped(rtype, viewer, flt, current_app.config["COUNT_CAP"])
    pages = max(1, -(-total // per_page))
    from .bulk import list_extras

    return {
        **list_extras(rtype, viewer, flt, total, capped),
        "rtype": rtype,
        "rows": rows,
        "flt": flt,
        "page": page,
        "pages": pages,
        "total": total,
        "capped": capped,
        "has_more": capped or page < pages,
        "filter_groups": member_groups(viewer) if viewer.groups_enabled else [],
        "filter_tags": queries.all_tags(rtype, viewer),
    }


def _form_for(rtype: RecordType, obj=None, **kwargs):
    viewer = current_viewer()
    return build_form(
        rtype, fields_for(rtype.key), groups=member_groups(viewer), users=active_users(),
        groups_enabled=viewer.groups_enabled, obj=obj, **kwargs,
    )


def _fill_custom(form, rtype: RecordType, obj) -> None:
    from datetime import date
    from decimal import Decimal

    for field, value in queries.custom_values(rtype, obj.id):
        f = getattr(form, f"cf_{field.id}")
        if value is None:
            continue
        if field.kind == "date":
            f.data = date.fromisoformat(value)
        elif field.kind == "number":
            f.data = Decimal(value)
        else:
            f.data = value


def _picked(rtype: RecordType, form, record=None) -> dict:
    """The link pickers of a form as the viewer may see them (field -> :class:`Ref`). A link whose
    target the viewer does not fully see is sent as "unchanged", never with its id (the record's
    current link, shown as the placeholder or the restricted name)."""
    viewer = current_viewer()
    out = {}
    for fk, key in rtype.references:
        f = getattr(form, fk)
        current = getattr(record, fk) if record is not None else None
        value = current if f.data is UNCHANGED else f.data
        ref = reference(key, value, viewer) if isinstance(value, int) else None
        if ref is not None and ref.level != FULL and not (ref.level == RESTRICTED and value == current):
            # an id sent back that the service refused (hidden, missing, restricted): the form
            # shows the link as it is - the same answer whatever the id was
            value = current
            ref = reference(key, value, viewer) if value is not None else None
        f.data = UNCHANGED if ref is not None and ref.level != FULL else value
        out[fk] = ref
    return out


def _apply_service_errors(form, err: ServiceError) -> None:
    for name, message in err.errors.items():
        field = getattr(form, name, None)
        if name == "group_id" and not form.offers_group:
            field = None  # not shown while the group system is off: the message goes on top
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message]
        else:
            form.form_errors.append(message)


def make_blueprint(rtype: RecordType) -> Blueprint:
    bp = Blueprint(rtype.plural, __name__, url_prefix=f"/{rtype.plural}")
    from .bulk import add_bulk_routes

    add_bulk_routes(bp, rtype)

    @bp.get("")
    def index():
        ctx = list_context(rtype, queries.ListFilter.from_args(rtype, request.args), page_arg())
        if targets("record-list"):
            return render_template("records/_list.html", **ctx)
        return render_template("records/list.html", **ctx)

    @bp.get("/<int:record_id>")
    def detail(record_id: int):
        record = load_record(rtype, record_id)
        if isinstance(record, RestrictedRecord):
            return render_template("records/restricted.html", rtype=rtype, record=record)
        return render_template("records/detail.html", **detail_context(rtype, record))

    @bp.get("/<int:record_id>/access")
    def access(record_id: int):
        """The "who can see this" table of a fully visible record (the detail page loads it on demand)."""
        from ..visibility import access_report

        record = load_record(rtype, record_id)
        if isinstance(record, RestrictedRecord):
            abort(403)  # like every other part of a record beyond its name
        if not current_viewer().groups_enabled:
            abort(404)
        viewer = current_viewer()
        access = access_report(rtype.key, record.group_id, viewer)
        template = "records/_access_table.html" if targets("access-body") else "records/access.html"
        return render_template(template, rtype=rtype, record=record, access=access, everyone=viewer.is_admin)

    @bp.route("/new", methods=["GET", "POST"])
    def new():
        viewer = current_viewer()
        parent = _parent_from_args()
        form = _form_for(rtype)
        if request.method == "GET":
            form.group_id.data = default_group_id(viewer, current_user, parent)
            if parent is not None:
                for fk, target in inherited_links(rtype, parent, viewer).items():
                    getattr(form, fk).data = target
            form.responsible_id.data = current_user.id
        if form.validate_on_submit():
            data = form_to_data(rtype, form)
            try:
                obj = _create(rtype, data, parent)
            except ServiceError as err:
                db.session.rollback()
                _apply_service_errors(form, err)
            else:
                flash(_("%(type)s “%(name)s” was created.", type=rtype.label, name=obj.display_name), "success")
                return redirect(url_for(f"{rtype.plural}.detail", record_id=obj.id))
        status = 400 if request.method == "POST" else 200
        return render_template("records/form.html", rtype=rtype, form=form, record=None,
                               picked=_picked(rtype, form), parent=parent), status

    @bp.route("/<int:record_id>/edit", methods=["GET", "POST"])
    def edit(record_id: int):
        obj = load_record(rtype, record_id, write=True)
        viewer = current_viewer()
        form = _form_for(rtype, obj=obj)
        if request.method == "GET":
            form.version.data = obj.version
            form.tags.data = [t.name for t in obj.tags]
            if rtype.has_contact_details:
                for kind, name in (("email", "emails"), ("phone", "phones"), ("address", "addresses")):
                    getattr(form, name).data = [d.value for d in obj.contact_details if d.kind == kind]
            if rtype.key == "deal":
                form.value.data = obj.value
            _fill_custom(form, rtype, obj)
        conflict = False
        if form.validate_on_submit():
            data = form_to_data(rtype, form)
            version = to_int(form.version.data)  # the record's own version if the field is missing
            try:
                update_ = _update(rtype, obj, data, version)
            except ServiceError as err:
                db.session.rollback()
                obj = load_record(rtype, record_id, write=True)
                _apply_service_errors(form, err)
            except Conflict:
                db.session.rollback()
                conflict = True
                obj = load_record(rtype, record_id, write=True)
                form.form_errors.append(_(
                    "Someone else changed this record while you were editing. Your input is "
                    "kept below; the current version is shown on the right. Save again to overwrite it."
                ))
                form.version.raw_data = None
                form.version.data = obj.version
            else:
                if viewer.groups_enabled and not viewer.is_member(update_.group_id):
                    flash(_("Saved. The record is now in a group you are not a member of, "
                            "so you no longer see it."), "warning")
                    return redirect(url_for(f"{rtype.plural}.index"))
                flash(_("Saved."), "success")
                return redirect(url_for(f"{rtype.plural}.detail", record_id=obj.id))
        status = 409 if conflict else (400 if request.method == "POST" else 200)
        return render_template("records/form.html", rtype=rtype, form=form, record=obj,
                               picked=_picked(rtype, form, obj), conflict=conflict, parent=None), status

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
            rows = [r._asdict() for r in db.session.execute(stmt)]
        return render_template("records/_picker_options.html", rtype=rtype, rows=rows,
                               field=field, q=q)

    @bp.get("/export.csv")
    def export_csv():
        from .export import export_response, parse_ids

        if not current_user.can_export:
            abort(403)
        return export_response(rtype, queries.ListFilter.from_args(rtype, request.args),
                               parse_ids(request.args.get("ids")))

    return bp


def _create(rtype: RecordType, data: dict, parent=None):
    from .services import create_record

    obj = create_record(rtype, data, current_viewer(), current_user, parent)
    db.session.commit()
    return obj


def _update(rtype: RecordType, obj, data: dict, version: int | None):
    from .services import update_record

    obj = update_record(rtype, obj, data, current_viewer(), expected_version=version)
    db.session.commit()
    return obj


def _parent_from_args():
    """A record named in the query string (``?company_id=3``) that the new record is created from."""
    viewer = current_viewer()
    for key in ("company", "person", "deal", "project"):
        raw = to_id(request.args.get(f"{key}_id"))
        if raw is not None:
            model = TYPES[key].model
            parent = db.session.scalar(
                select(model).where(model.id == raw, fully_visible_to(model, viewer))
            )
            if parent is not None:
                return parent
    return None


def detail_context(rtype: RecordType, obj) -> dict:
    from ..notes.queries import PAGE, notes_for
    from ..tasks.queries import tasks_for_record

    viewer = current_viewer()
    related = queries.related([TYPES[key] for key in rtype.related], f"{rtype.key}_id", obj.id, viewer)
    wanted: dict[str, list] = {}
    for fk_, key in rtype.references:
        wanted.setdefault(key, []).append(getattr(obj, fk_))
    by_type = references_by_type(wanted, viewer)
    refs = {fk_: by_type.get(key, {}).get(getattr(obj, fk_)) for fk_, key in rtype.references}
    notes = notes_for(rtype.key, obj.id)
    return {
        "rtype": rtype,
        "record": obj,
        "refs": refs,
        "custom": queries.custom_values(rtype, obj.id),
        "related": related,
        "notes": notes[:PAGE],
        "more": len(notes) > PAGE,
        "offset": 0,
        "tasks": tasks_for_record(rtype.key, obj.id),
        "users": active_users(),
    }


def register_record_blueprints(app: Flask) -> None:
    for rtype in TYPES.values():
        app.register_blueprint(make_blueprint(rtype))
