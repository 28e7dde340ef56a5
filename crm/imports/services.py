"""CSV import of companies and people, and its undo.

1. **upload** - :func:`create_job` reads the file (encoding, delimiter, size, rows) and keeps it
   in an :class:`ImportJob` with a first guess of the column mapping;
2. **mapping** - :func:`configure` stores the mapping and the target group (one of the user's
   groups) and queues the job;
3. **run** - :func:`run` claims a queued job (one runner, even with several app servers), then
   - *checks* every row with the record form of the type (``crm.records.forms``): the same
     rules as a record entered by hand; progress is committed every few hundred rows;
   - if any row fails: the job fails with a report (line, column, message) and nothing is
     imported;
   - else *saves* every row through ``crm.records.services.create_records``, in short batches
     (:data:`BATCH` rows, one short transaction each: on SQLite the write lock is free for the
     team in between) into rows marked *pending* for the job, which exist for no one on any
     surface (``crm.visibility``); one short final step makes them exist, with the audit entry
     and the job's final state - all or nothing. A row the service refuses fails the whole file
     the same way, and a job that fails, is cancelled or dies leaves its pending rows to
     :func:`discard_pending`;
   *Duplicates* (:mod:`.queries`): a row that matches a record the user fully sees, or repeats
   an earlier row, is skipped, updates that record or is created anyway, as the job says
   (``on_duplicate``; the preview counts each, :func:`duplicates`). The updates are made in the
   final step, through ``crm.records.services.update_record``, each record read again under the
   visibility predicate (one that left the user's sight meanwhile is skipped). A people job may
   create the companies its rows name that the user fully sees none of (``create_companies``), in
   the job's group, in the final step too;
4. **undo** - :func:`undo` deletes, within 24 hours, exactly the records the import created,
   as far as they still exist and are unchanged: a record edited since (its version moved on),
   given notes or tasks, or linked from another record since, is kept and counted as such. The
   companies a people import created go with its people, on the same terms (one that a kept person
   still links to stays). (The records an import updated keep the change.)

The job's state and progress live in the database, so any app server shows the progress of a
job another one runs; the browser polls it (htmx).

Where it runs: a small file (``IMPORT_INLINE_ROWS``) while the browser waits, a larger one as a
task on the job queue (:func:`run_import`, run by ``flask --app app worker``; crm/jobs). A job
whose worker died (no heartbeat for ``JOBS_STALE_SECONDS``) is taken up once more, then failed
(:func:`reap_stale`); saving is one transaction, so either way nothing is half-imported. The owner
can cancel a job (:func:`cancel`): a queued one never runs, a running one stops at its next check
of the flag (every :data:`CHUNK` rows, in the check and in the save) and saves nothing.
"""
from __future__ import annotations

from datetime import timedelta
from itertools import islice

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from huey import crontab
from sqlalchemy import and_, delete, exists, func, insert, not_, or_, select, update

from ..audit.models import AuditEntry
from ..audit.services import audit
from ..auth.models import User
from ..common import utcnow
from ..customfields.services import fields_for
from ..errors import Invalid, Refused
from ..extensions import app_periodic_task, app_task, db
from ..files.models import Attachment
from ..groups.models import BASIS_ID, Group
from ..i18n import job_locale, requester_locale
from ..notes.models import Note
from ..records.forms import build_form, error_names, form_class, form_input
from ..records.models import Company, Deal, Person, Project
from ..records.schemas import custom_values, record_input
from ..records.services import (
    create_records,
    default_group_id,
    delete_records,
    group_for_new,
    member_groups,
    read_record_input,
    type_default,
    update_record,
)
from ..records.types import TYPES
from ..tasks.models import Task
from ..visibility import Viewer, fully_visible_to, unscoped, viewer_for
from . import csvfile, mapping, queries
from .models import FILE_ERRORS, ON_DUPLICATE, ImportItem, ImportJob

UNDO_WINDOW = timedelta(hours=24)
#: a job is taken up at most this often (the second time after its worker died), then failed
MAX_ATTEMPTS = 2
#: what a job is while a runner works on it
RUNNING = ("checking", "saving")
CHUNK = 200
#: rows per write transaction while saving (measured with bench/import_load.py: a batch holds SQLite's
#: write lock for a few tens of milliseconds; the checks of the next batch run without it)
BATCH = 50
MAX_ERRORS_KEPT = 300
#: What users attach to a record after it was imported: a record carrying one of these is no longer
#: as the import left it, and the undo leaves it alone. (The rest that hangs on a record - contact
#: details, field values, tags, the "created" entry of its change history - comes with the file's
#: rows; tests/test_import.py checks that every class crm.visibility.SCOPES declares as attached is
#: one or the other.)
ADDED_AFTER_IMPORT = (Note, Task, Attachment)


class ImportRefused(Invalid):
    """A request the import refuses (not the file's rows: those go into the job's report)."""


class Cancelled(Exception):
    """The job's owner cancelled it: the runner stops and saves nothing."""


def stale_after() -> timedelta:
    """A running job that has not reported for this long has died with its worker."""
    return timedelta(seconds=current_app.config["JOBS_STALE_SECONDS"])


def may_import(user) -> bool:
    """Imports create many records at once and their undo deletes them: extended users and
    admins, like exports and deleting."""
    return user.role in ("admin", "extended")


# ---------------------------------------------------------------------------------------------
# Upload and mapping
# ---------------------------------------------------------------------------------------------

def create_job(user: User, key: str, filename: str, data: bytes) -> ImportJob:
    if key not in mapping.IMPORTABLE:
        raise ImportRefused(_("Only companies and people can be imported."))
    cfg = current_app.config
    if len(data) > cfg["IMPORT_MAX_BYTES"]:
        raise csvfile.FileError(too_large_message())
    table = csvfile.read(data, cfg["IMPORT_MAX_ROWS"])
    fields = fields_for(key)
    guess = mapping.guess(key, table.header, fields)
    job = ImportJob(
        user_id=user.id, record_type=key, filename=(filename or "")[:255], encoding=table.encoding,
        delimiter=table.delimiter, content=table.text, header=table.header, total=table.rows,
        mapping={str(i): t for i, t in guess.items()}, status="mapping",
    )
    db.session.add(job)
    db.session.flush()
    return job


def too_large_message() -> str:
    limit = current_app.config["IMPORT_MAX_BYTES"] / (1024 * 1024)
    return _("The file is larger than %(mb)s MB. Split it into smaller files.",
             mb=f"{limit:.1f}".removesuffix(".0"))


def job_mapping(job: ImportJob) -> dict[int, str]:
    return {int(i): t for i, t in (job.mapping or {}).items() if t}


def preview(job: ImportJob, rows: int = 5) -> list[tuple[int, list[str]]]:
    out = []
    for line, cells in csvfile.rows(job.content, job.delimiter):
        out.append((line, cells))
        if len(out) >= rows:
            break
    return out


def _companies_refused(viewer: Viewer, user: User, record_type: str, create_companies: bool,
                       group_id: int | None) -> list[str]:
    """Why the companies a people import creates (``create_companies``, in the job's group) could
    not go into ``group_id``: the companies' own rule (their type's default group, the importer's
    groups) may refuse a group the people may go to. Empty if they can, or if none are created."""
    if not (create_companies and record_type == "person" and viewer.groups_enabled):
        return []
    try:
        group_for_new(viewer, user, group_id, lock=False, key="company")
    except Refused:
        return [_("New companies cannot go into this group: choose another group, or do not create "
                  "the missing companies.")]
    return []


def configure(job: ImportJob, viewer: Viewer, chosen: dict[int, str], group_id: int | None,
              on_duplicate: str = "skip", create_companies: bool = False) -> list[str]:
    """Store the mapping, the group, what to do with duplicates (:data:`ON_DUPLICATE`) and, for
    people, whether to create the companies the file names that the user fully sees none of; queue
    the job. Returns problems (then nothing changes)."""
    if job.status != "mapping":
        return [_("This import has been started already.")]
    if on_duplicate not in ON_DUPLICATE:
        return [_("Choose what happens with duplicates.")]
    fields = fields_for(job.record_type)
    problems = mapping.check(job.record_type, chosen, fields)
    if viewer.groups_enabled:
        # the admin's default group of the type (Settings -> Gruppen) holds for imports too
        td = type_default(job.record_type)
        if group_id is None or not (viewer.is_member(group_id) or (td is not None and group_id == td.group_id)):
            problems.append(_("Choose one of your groups."))
        elif td is not None and not td.allow_own and group_id != td.group_id:
            problems.append(_("You cannot put records in this group."))
    elif group_id is not None:
        # off: the new records go to the default group; naming another group is refused
        try:
            group_for_new(viewer, db.session.get(User, job.user_id), group_id)
        except Refused as err:
            problems.append(err.summary)
        group_id = None
    if not problems:
        problems += _companies_refused(viewer, db.session.get(User, job.user_id), job.record_type,
                                       create_companies, group_id)
    if problems:
        return problems
    job.mapping = {str(i): t for i, t in chosen.items() if t}
    job.group_id = group_id
    job.on_duplicate = on_duplicate
    job.create_companies = bool(create_companies) and job.record_type == "person"
    job.locale = requester_locale(job.user_id)  # the worker reads the file and writes the report in it
    job.status = "queued"
    return []


# ---------------------------------------------------------------------------------------------
# Duplicates
# ---------------------------------------------------------------------------------------------

def outcome(kind: str, on_duplicate: str) -> str:
    """What the import does with a row of that kind (:mod:`.queries`): ``create``, ``update`` (the
    record it matches) or ``skip``. A repetition inside the file is skipped unless the choice is to
    create anyway (the record of its first row is not there yet to update)."""
    if kind == queries.NEW or on_duplicate == "create":
        return "create"
    if kind == queries.EXISTING and on_duplicate == "update":
        return "update"
    return "skip"


def _input_keys(key: str, data, new_company: str | None = None) -> queries.Keys:
    """The keys of a checked row (its input model; ``new_company``: the name of the company the
    import will create for it)."""
    if key == "person":
        return queries.person_keys(data.first_name or "", data.last_name or "", new_company or data.company_id,
                                   data.emails or [])
    return queries.company_keys(data.name or "", data.website or "")


def duplicates(job: ImportJob, viewer: Viewer, chosen: dict[int, str], on_duplicate: str = "skip") -> dict:
    """How many rows of the file are new, match a record the viewer fully sees, or repeat an earlier
    row, and what the import will do with them (``create``, ``update``, ``skip``) - for the preview,
    as the mapping stands. Rows are read as the mapping says, unchecked (the run checks them)."""
    key = job.record_type
    mapped = {i: t for i, t in chosen.items() if t}
    counts = dict.fromkeys((queries.NEW, queries.EXISTING, queries.REPEATED, "create", "update", "skip",
                            "companies"), 0)
    missing: set[str] = set()
    if "last_name" not in mapped.values() and "name" not in mapped.values():
        return counts
    if on_duplicate not in ON_DUPLICATE:
        on_duplicate = "skip"
    # the whole file at once (at most IMPORT_MAX_ROWS rows): one statement per kind of key
    rows = [mapping.formdata(cells, mapped, set(), job.header)
            for _line, cells in csvfile.rows(job.content, job.delimiter)]
    if key == "person":
        named = queries.companies_named([c for _d, c in rows if c], viewer)
        keys = []
        for data, company in rows:
            ids = named.get(company.strip().lower(), []) if company else []
            if company and not ids:
                missing.add(company.strip().lower())
            employer = ids[0] if len(ids) == 1 else (company or None)
            keys.append(queries.person_keys(data.get("first_name", ""), data.get("last_name", ""), employer,
                                            data.get("emails", "").split("\n")))
    else:
        keys = [queries.company_keys(data.get("name", ""), data.get("website", "")) for data, _c in rows]
    for kind, _id in queries.Matcher(key, viewer).classify(keys):
        counts[kind] += 1
        counts[outcome(kind, on_duplicate)] += 1
    counts["companies"] = len(missing)  # (the companies a people import would create, if chosen)
    return counts


def _create_companies(rows: _Rows, job_id: int, viewer: Viewer) -> int:
    """The companies the people of a job named and the user fully saw none of (the option
    ``create_companies``), through the record service, in the job's group; the job's pending people
    are linked to them. Part of the job's final step (all or nothing). Returns how many."""
    made = 0
    items: list[dict] = []
    company = TYPES["company"]
    extra = {"group_id": rows.group_id} if rows.group_id is not None else {}
    for name, person_ids in rows.new_companies.values():
        obj = create_records(company, [record_input("company", {"name": name, **extra})], viewer, rows.user)[0]
        if isinstance(obj, Refused):
            raise obj
        for start in range(0, len(person_ids), queries.CHUNK):
            # (the job's own pending rows, created a moment ago: part of their creation, not a change)
            db.session.execute(update(Person).where(Person.id.in_(person_ids[start:start + queries.CHUNK]),
                                                    Person.pending_import_id == job_id)
                               .values(company_id=obj.id).execution_options(synchronize_session=False))
        made += 1
        # what the undo takes back, as it was created (the version the service gave it, as the
        # import's own rows in _save_batches)
        items.append({"job_id": job_id, "record_type": "company", "record_id": obj.id, "version": obj.version})
    if items:
        db.session.execute(insert(ImportItem), items)
    return made


def _update_input(rtype, obj, data):
    """The row's values as a change of the existing record ``obj``: only what the row fills in
    (an empty cell erases nothing); e-mail addresses, phone numbers, addresses and tags are added
    to the record's; the record keeps its group and responsible user."""
    kinds = {"emails": "email", "phones": "phone", "addresses": "address"}
    patch: dict = {}
    for name, value in data.model_dump(exclude_unset=True).items():
        if name in ("group_id", "responsible_id") or value in (None, "", [], {}):
            continue
        if name in kinds or name == "tags":
            have = ([d.value for d in obj.contact_details if d.kind == kinds[name]] if name in kinds
                    else [t.name for t in obj.tags])
            known = {v.lower() for v in have}
            value = have + [v for v in value if v.lower() not in known]
        elif name == "custom_fields":
            value = {k: v for k, v in value.items() if v not in (None, "")}
            if not value:
                continue
        patch[name] = value
    return record_input(rtype.key, patch, patch=True)


def _apply_updates(rtype, updates: list[tuple[int, object]], viewer: Viewer) -> tuple[int, int]:
    """Change the existing records the rows matched (``update``), through the record service: each
    only if the viewer still fully sees it (read under the predicate, in this transaction); one
    that has become hidden, restricted or deleted since is left alone and counted as skipped.
    Returns (updated, skipped)."""
    model = rtype.model
    updated = skipped = 0
    for record_id, data in updates:
        obj = db.session.scalar(select(model).where(model.id == record_id, fully_visible_to(model, viewer)))
        if obj is None:
            skipped += 1
            continue
        update_record(rtype, obj, _update_input(rtype, obj, data), viewer)
        updated += 1
    return updated, skipped


# ---------------------------------------------------------------------------------------------
# Running a job
# ---------------------------------------------------------------------------------------------

def _set(job_id: int, **values) -> None:
    """Write the job's state in a transaction of its own, so that others see it at once."""
    with db.engine.begin() as conn:
        conn.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))


def _claim(job_id: int) -> bool:
    now = utcnow()
    with db.engine.begin() as conn:
        return conn.execute(
            update(ImportJob).where(ImportJob.id == job_id, ImportJob.status == "queued")
            .values(status="checking", started_at=now, heartbeat_at=now, processed=0,
                    attempts=ImportJob.attempts + 1)
        ).rowcount == 1


def _check_cancel(job_id: int) -> None:
    """Raise :class:`Cancelled` if the owner asked to stop the job. Reads on a connection of its
    own: on SQLite, while the save holds the write lock, a reader still gets through (WAL)."""
    with db.engine.connect() as conn:
        if conn.scalar(select(ImportJob.cancel_requested).where(ImportJob.id == job_id)):
            raise Cancelled()


class _Rows:
    """The rows of a job as form data for the record form of its type."""

    def __init__(self, job: ImportJob, viewer: Viewer, user: User):
        self.job = job
        self.viewer = viewer
        self.user = user
        self.rtype = TYPES[job.record_type]
        self.fields = fields_for(job.record_type)
        self.mapping = job_mapping(job)
        self.labels = {t.key: str(t.label) for t in mapping.targets(job.record_type, self.fields)}
        self.date_fields = {f"cf_{f.id}" for f in self.fields if f.kind == "date"}
        self.groups = member_groups(viewer)
        #: the job's group (the service refuses it while the group system is off, unless it is the
        #: default group); a job configured while it was off gets the default group if it is on now
        self.group_id = job.group_id
        if self.group_id is None and viewer.groups_enabled:
            # (a member of several groups without a default one was asked nothing: Basis, as before)
            self.group_id = default_group_id(viewer, user, key=job.record_type) or BASIS_ID
        self.users = list(db.session.scalars(select(User).where(User.id == user.id)))
        self.companies: dict[str, list[int]] = {}
        #: the tags the saved batches used, by name (``create_records``' ``known_tags``)
        self.tags: dict[str, tuple[int, str]] = {}
        self.form_class = form_class(self.rtype, self.fields)
        #: the duplicates of the rows (records the viewer fully sees, earlier rows of the file)
        self.matcher = queries.Matcher(job.record_type, viewer)
        self.on_duplicate = job.on_duplicate or "skip"
        #: (record id, the row's input) of the rows that update an existing record, applied in the
        #: job's final step; how many rows were left out
        self.updates: list[tuple[int, object]] = []
        self.skipped = 0
        #: create the companies the user fully sees none of (people): lower-cased name -> (the name as
        #: first written, ids of the new people naming it); the company of the row checked last
        self.create_companies = job.record_type == "person" and job.create_companies
        self.new_companies: dict[str, tuple[str, list[int]]] = {}
        self.new_company: str | None = None
        #: how many of the saved records went to which group (the assignment rules may put a row
        #: elsewhere than the job's group): the service's answer for each row, no read
        self.by_group: dict[int | None, int] = {}

    def __iter__(self):
        """The rows; every :data:`CHUNK` rows (in the check and in the save) a look at whether
        the job was cancelled."""
        job_id = self.job.id
        for n, row in enumerate(csvfile.rows(self.job.content, self.job.delimiter), start=1):
            if n % CHUNK == 0:
                _check_cancel(job_id)
            yield row

    def _company(self, name: str) -> list[int]:
        """Companies of that name the user fully sees (a person can only be linked to those)."""
        key = name.casefold()
        if key not in self.companies:
            self.companies[key] = list(db.session.scalars(
                select(Company.id).where(func.lower(Company.name) == key, fully_visible_to(Company, self.viewer))
                .limit(2)
            ))
        return self.companies[key]

    def check(self, cells: list[str]):
        """(the input model, errors) of one row; errors are (column label, message)."""
        data, company = mapping.formdata(cells, self.mapping, self.date_fields, self.job.header)
        errors: list[tuple[str, str]] = []
        self.new_company = None
        if company:
            found = self._company(company)
            if len(found) == 1:
                data["company_id"] = str(found[0])
            elif not found and self.create_companies:
                self.new_company = company
            else:
                errors.append((self.labels["company"], _("There is no company “%(n)s”.", n=company) if not found
                               else _("There are several companies “%(n)s”.", n=company)))
        for key in self.labels:  # as a browser sends a form: every field, empty ones as ""
            if key != "company" and key not in data:
                data[key] = ""
        if self.group_id is not None:
            data["group_id"] = str(self.group_id)
        data["responsible_id"] = str(self.user.id)
        form = build_form(self.rtype, self.fields, groups=self.groups, users=self.users, cls=self.form_class,
                          groups_enabled=self.viewer.groups_enabled, formdata=data, meta={"csrf": False})
        if not form.validate():
            for name, messages in form.errors.items():
                errors += [(self.label(name, form), str(m)) for m in messages]
            return None, errors
        # every problem of the row at once: the company's, the input model's and the custom fields'
        try:
            data = read_record_input(self.rtype.key, form_input(self.rtype, form), fields=self.fields)
            custom_values(self.fields, data.custom_fields)  # (the service checks them again)
        except Refused as err:
            names = error_names(form)
            return None, errors + [(self.label(names.get(k, k), form), m) for k, m in err.fields.items()]
        return (None if errors else data), errors

    def label(self, name: str, form=None) -> str:
        """The column a message is about, as the mapping page names it."""
        if name == "company_id":
            name = "company"
        if name in self.labels:
            return self.labels[name]
        if form is not None and name in form:
            return str(form[name].label.text)
        return name


def _report(errors: list, line: int, problems) -> int:
    for column, message in problems:
        if len(errors) < MAX_ERRORS_KEPT:
            errors.append({"line": line, "column": column, "message": message})
    return len(problems)


def run(job_id: int, locale: str | None = None) -> None:
    """Run a queued job to its end (done or failed). Safe to call from several servers at once:
    only one claims the job. The file is read and the report written in ``locale`` if given (a task
    queued before jobs kept their language), else in the job's language (of the page that queued
    it: :func:`configure`), else the user's or the account's."""
    if not _claim(job_id):
        return
    job = db.session.get(ImportJob, job_id)
    user = db.session.get(User, job.user_id)
    language = job_locale(locale, job.locale, user.locale)
    try:
        with force_locale(language):
            _check_cancel(job_id)
            _run(job, user)
    except Cancelled:
        db.session.rollback()
        _set(job_id, status="cancelled", finished_at=utcnow(), content="", message="cancelled")
        discard_pending(job_id, job.record_type)  # the batches it had saved
    except Exception:
        db.session.rollback()
        _set(job_id, status="failed", finished_at=utcnow(), content="", message="crashed")
        discard_pending(job_id, job.record_type)
        raise


def _run(job: ImportJob, user: User) -> None:
    job_id = job.id
    viewer = viewer_for(user)
    if job.group_id is not None:
        try:  # switched off since the job was queued: one clear message instead of one per row
            # (with the type: its default group is the importer's to choose even if not a member)
            group_for_new(viewer, user, job.group_id, key=job.record_type)
        except Refused as err:
            db.session.rollback()
            _set(job_id, status="failed", finished_at=utcnow(), content="", message=err.summary)
            return
        # the companies it would create at the end: refused there, every row's work would be lost
        refused = _companies_refused(viewer, user, job.record_type, job.create_companies, job.group_id)
        if refused:
            db.session.rollback()
            _set(job_id, status="failed", finished_at=utcnow(), content="", message=refused[0])
            return
        db.session.rollback()  # the checks below read in short transactions of their own
    rows = _Rows(job, viewer, user)
    errors: list[dict] = []
    count = 0
    #: (line, input model, company to create) of every row, for the save: each row's form is built
    #: and checked once (the service checks every row again when it writes it)
    checked: list[tuple[int, object, str | None]] = []
    for done, (line, cells) in enumerate(rows, start=1):
        data, problems = rows.check(cells)
        count += _report(errors, line, problems)
        if not count:
            checked.append((line, data, rows.new_company))
        if done % CHUNK == 0:
            db.session.rollback()  # nothing to keep; ends the read transaction (SQLite: frees the file)
            _set(job_id, processed=done, heartbeat_at=utcnow(), error_count=count)
    if count:
        _fail(job_id, errors, count)
        return
    _set(job_id, status="saving", processed=0, heartbeat_at=utcnow())
    _save(job, rows, checked, viewer, user)


def _fail(job_id: int, errors: list[dict], count: int) -> None:
    db.session.rollback()
    _set(job_id, status="failed", errors=errors, error_count=count, finished_at=utcnow(), content="",
         message=FILE_ERRORS)


def _save(job: ImportJob, rows: _Rows, checked: list, viewer: Viewer, user: User) -> None:
    """Every row through the record service, in batches of :data:`BATCH` rows: each batch is checked
    first (reads only), then written in one short transaction of its own, its records marked
    *pending* for the job (:func:`_mark_pending`), so that on SQLite the write lock is free for the
    team between batches. :func:`_publish` makes them exist in one short final step with the audit
    entry and the job's final state. A row the service refuses fails the whole file: nothing more
    is written (the later rows are still checked, for the report) and the pending rows are removed -
    all or nothing, as before."""
    job_id, key, group_id, filename = job.id, job.record_type, job.group_id, job.filename
    rtype = TYPES[key]
    discard_pending(job_id, key)  # left by an earlier run of this job that was killed mid-way
    session = db.session()
    session.expire_on_commit = False  # the user, groups and fields of the checks stay loaded
    try:
        created, done = _save_batches(job_id, rtype, rows, checked, viewer, user)
    finally:
        session.expire_on_commit = True
    if created is not None:
        _publish(job_id, rtype, group_id, filename, viewer, created, done, rows)


def _save_batches(job_id: int, rtype, rows: _Rows, checked: list, viewer: Viewer, user: User
                  ) -> tuple[int | None, int]:
    """The batches of :func:`_save` (``checked``: the rows as the check left them, see :func:`_run`):
    (records created, rows done), or (None, rows done) when the job ended otherwise (failed, or
    stopped by someone else)."""
    key = rtype.key
    errors: list[dict] = []
    count = done = created = 0
    lines = _cancellable(job_id, checked)
    while batch := list(islice(lines, BATCH)):
        checked_batch = [(line, data, [], new) for line, data, new in batch]
        decisions = iter([] if count else [
            (outcome(kind, rows.on_duplicate), record_id) for kind, record_id in rows.matcher.classify(
                [_input_keys(key, data, new) for _line, data, problems, new in checked_batch if not problems])])
        todo = []
        for line, data, problems, new in checked_batch:
            decision = ("create", None) if problems or count else next(decisions)
            todo.append((line, data, problems, decision[0], new))
            if decision[0] == "update":
                rows.updates.append((decision[1], data))
            elif decision[0] == "skip":
                rows.skipped += 1
        # every check of the service first, then the writes in one flush: on SQLite the write lock
        # is taken by the first INSERT, and held until the commit below
        results = iter(create_records(rtype, [d for _l, d, p, what, _n in todo if not p and what == "create"],
                                      viewer, user, pending_import_id=job_id,
                                      import_name=rows.job.filename or "", known_tags=rows.tags))
        items: list[dict] = []
        links: list[tuple[str, int]] = []
        groups: list[int | None] = []
        for line, _data, problems, what, new in todo:
            if not problems and what == "create":
                obj = next(results)
                if isinstance(obj, Refused):  # (a refused row added nothing to the session)
                    problems = [(rows.label(k), str(m)) for k, m in obj.fields.items()] or [("", obj.message)]
                else:
                    items.append({"job_id": job_id, "record_type": key, "record_id": obj.id,
                                  "version": obj.version})
                    groups.append(obj.group_id)
                    if new:
                        links.append((new, obj.id))
            count += _report(errors, line, problems)
            done += 1
        if count:
            db.session.rollback()  # this batch is not kept (its new objects leave the session)
            _set(job_id, processed=done, heartbeat_at=utcnow())
            continue
        _mark_pending(rtype, job_id, items)
        going_on = db.session.execute(update(ImportJob).where(ImportJob.id == job_id, ImportJob.status == "saving")
                                      .values(processed=done, heartbeat_at=utcnow())).rowcount
        if not going_on:  # failed or cancelled meanwhile (another server's view of it): stop
            db.session.rollback()
            discard_pending(job_id, key)
            return None, done
        db.session.commit()
        db.session.expunge_all()  # keep the session small (what the checks use stays loaded)
        created += len(items)
        for group_id in groups:
            rows.by_group[group_id] = rows.by_group.get(group_id, 0) + 1
        for name, person_id in links:
            rows.new_companies.setdefault(name.strip().lower(), (name.strip(), []))[1].append(person_id)
        after_batch(job_id, done)
    if count:
        discard_pending(job_id, key)
        _fail(job_id, errors, count)
        return None, done
    return created, done


def _cancellable(job_id: int, checked: list):
    """The checked rows; every :data:`CHUNK` rows a look at whether the job was cancelled (as while
    checking, :meth:`_Rows.__iter__`)."""
    for n, row in enumerate(checked, start=1):
        if n % CHUNK == 0:
            _check_cancel(job_id)
        yield row


def after_batch(job_id: int, done: int) -> None:
    """Called after each batch is committed (the import holds no transaction then): a hook for tests
    that look at the world while the import is half-way."""


def _mark_pending(rtype, job_id: int, items: list[dict]) -> None:
    """The import items of the batch's new records (pending rows of the job). Their search docs,
    which the insert triggers wrote, stay in the index: a search tests each doc's record by the
    visibility rule (which says ``pending_import_id IS NULL``) before it takes its candidates, so a
    pending row is never found and takes no candidate's place."""
    if not items:
        return
    db.session.execute(insert(ImportItem), items)


def _publish(job_id: int, rtype, group_id: int | None, filename: str, viewer: Viewer, created: int,
             done: int, rows: _Rows) -> None:
    """The final step, one transaction: the job's pending rows exist from now on (one ``UPDATE`` on
    the partial index; their search docs are in the index already, see :func:`_mark_pending`), the
    rows that update an existing record change it (:func:`_apply_updates`), the audit entry and
    the job's final state are written."""
    key, model = rtype.key, rtype.model
    group = db.session.get(Group, group_id) if group_id else None
    # (first, while the people are the job's pending rows)
    companies = _create_companies(rows, job_id, viewer)
    db.session.execute(update(model).where(model.pending_import_id == job_id).values(pending_import_id=None)
                       .execution_options(synchronize_session=False))
    updated, gone = _apply_updates(rtype, rows.updates, viewer)
    skipped = rows.skipped + gone
    counts = {rtype.plural: created, **({"companies": companies} if companies else {})}
    entry = audit(viewer, "import", job_id=job_id, record_type=rtype.plural, counts=counts,
                  group=group.name if group else None, group_id=group_id, filename=filename,
                  updated=updated, skipped=skipped, by_group=_by_group(rows.by_group))
    finished = db.session.execute(update(ImportJob).where(ImportJob.id == job_id, ImportJob.status == "saving")
                                  .values(status="done", created=created, processed=done, finished_at=utcnow(),
                                          content="", audit_id=entry.id, updated=updated, skipped=skipped,
                                          companies_created=companies)).rowcount
    if not finished:  # failed or cancelled meanwhile
        db.session.rollback()
        discard_pending(job_id, key)
        return
    db.session.commit()


def _by_group(counts: dict[int | None, int]) -> list[dict]:
    """Where the created records went, for the import's audit entry: ``[{"group_id", "group", "n"}]``,
    most first (the group's name as it was then)."""
    ids = [g for g in counts if g is not None]
    names = dict(db.session.execute(select(Group.id, Group.name).where(Group.id.in_(ids))).all()) if ids else {}
    return sorted(({"group_id": g, "group": names.get(g), "n": n} for g, n in counts.items()),
                  key=lambda r: (-r["n"], r["group"] or ""))


def where_they_went(job: ImportJob, viewer: Viewer) -> list[dict]:
    """The groups the records of a finished import went to (the assignment rules may have put
    some elsewhere than the job's group), each with its count and how the viewer sees records of
    that type there (``full``, ``restricted``, ``hidden``: their own membership and the shared
    fields, nothing of any record). Empty for an import that did not record it (older ones) or
    while the group system is off."""
    entry = db.session.get(AuditEntry, job.audit_id) if job.audit_id else None
    rows = (entry.details or {}).get("by_group") if entry is not None else None
    if not rows or not viewer.groups_enabled:
        return []
    return [{**r, "level": viewer.level(job.record_type, r["group_id"]) if r["group_id"] is not None else "full"}
            for r in rows]


def discard_pending(job_id: int, key: str) -> int:
    """Delete the pending rows of a job that did not finish (failed, cancelled, killed), in short
    transactions of :data:`BATCH` rows; what hangs on them goes by the foreign keys' cascade. No one
    ever saw them, and nothing links to them: a link is only made to a record its author fully sees.
    Returns how many were removed."""
    model = TYPES[key].model
    removed = 0
    db.session.rollback()
    while ids := list(db.session.scalars(unscoped(  # (the job's own pending rows: see _publish)
            select(model.id).where(model.pending_import_id == job_id).order_by(model.id).limit(BATCH)))):
        db.session.execute(delete(ImportItem).where(ImportItem.job_id == job_id, ImportItem.record_id.in_(ids)))
        removed += db.session.execute(delete(model).where(model.id.in_(ids), model.pending_import_id == job_id)
                                      .execution_options(synchronize_session=False)).rowcount
        db.session.commit()
    return removed


def start(job: ImportJob) -> None:
    """Run the job now (small files) or put it on the job queue; the browser polls its page.
    The caller has committed the job as ``queued`` (with its language: :func:`configure`)."""
    if job.total <= current_app.config["IMPORT_INLINE_ROWS"]:
        run(job.id)
        return
    run_import(job.id)


@app_task()
def run_import(job_id: int, locale: str | None = None) -> None:
    """The import as a task on the job queue (crm/jobs): :func:`run` in the worker (``locale``:
    only from a task queued before the job kept its language)."""
    try:
        run(job_id, locale)
    except Exception:
        current_app.logger.exception("import %s failed", job_id)


def cancel(job: ImportJob, user) -> bool:
    """Stop the owner's job: a queued one at once, a running one at its runner's next check (it
    then saves nothing). Returns whether the job was still running or queued."""
    if job.user_id != user.id:
        return False  # (the page offers it to the owner only; explicit deny for everyone else)
    with db.engine.begin() as conn:
        queued = conn.execute(
            update(ImportJob).where(ImportJob.id == job.id, ImportJob.status == "queued").values(
                status="cancelled", cancel_requested=True, finished_at=utcnow(), content="",
                message="cancelled")
        ).rowcount
        running = conn.execute(
            update(ImportJob).where(ImportJob.id == job.id, ImportJob.status.in_(RUNNING))
            .values(cancel_requested=True)
        ).rowcount
    db.session.refresh(job)
    return bool(queued or running)


def refresh_stale(job: ImportJob) -> ImportJob:
    """A job whose runner stopped reporting (its worker died): see :func:`reap_stale`."""
    beat = job.heartbeat_at or job.started_at or job.created_at
    if job.status in RUNNING and beat and utcnow() - beat > stale_after():
        reap_stale([job.id])
        db.session.refresh(job)
    return job


def reap_stale(ids=None) -> dict[str, int]:
    """Running jobs whose heartbeat is older than ``JOBS_STALE_SECONDS``: their worker died, and
    with it the save's transaction, so nothing of them was saved. Taken up once more (back to
    ``queued``, onto the queue again), failed the second time - or at once if their owner asked
    to cancel. Each change is conditional on the state just read, and on SQLite waits for the
    write lock: a save that is still running (it holds the lock) finishes first, and is then no
    longer "running"."""
    cutoff = utcnow() - stale_after()
    stale = (ImportJob.status.in_(RUNNING),
             or_(ImportJob.heartbeat_at < cutoff, ImportJob.heartbeat_at.is_(None)))
    stmt = select(ImportJob.id, ImportJob.attempts, ImportJob.cancel_requested,
                  ImportJob.record_type).where(*stale)
    if ids is not None:
        stmt = stmt.where(ImportJob.id.in_(ids))
    with db.engine.connect() as conn:
        rows = list(conn.execute(stmt))
    counts = {"retried": 0, "failed": 0}
    kinds = {row[0]: row[3] for row in rows}
    for job_id, attempts, cancelled, _kind in rows:
        retry = attempts < MAX_ATTEMPTS and not cancelled
        with db.engine.begin() as conn:
            values = ({"status": "queued", "processed": 0} if retry else
                      {"status": "failed", "finished_at": utcnow(), "content": "", "message": "interrupted"})
            changed = conn.execute(update(ImportJob).where(ImportJob.id == job_id, *stale).values(**values)).rowcount
        if changed == 1:
            counts["retried" if retry else "failed"] += 1
            if retry:  # (the new run removes the dead one's pending rows before it saves; in the
                run_import(job_id)  # job's language, like the first)
            else:
                discard_pending(job_id, kinds[job_id])
    return counts


@app_periodic_task(crontab(minute="*"))
def reap_stale_periodically() -> None:
    reap_stale()


# ---------------------------------------------------------------------------------------------
# Undo
# ---------------------------------------------------------------------------------------------

def undo_deadline(job: ImportJob):
    return job.finished_at + UNDO_WINDOW if job.finished_at else None


def can_undo(job: ImportJob, user) -> bool:
    return (job.status == "done" and job.finished_at is not None and utcnow() < undo_deadline(job)
            and (job.user_id == user.id or user.role == "admin"))


def _undo_items(job: ImportJob, rtype, viewer: Viewer) -> dict[str, int]:
    """:func:`undo` for the records of one type the import created."""
    model = rtype.model
    items = select(ImportItem.record_id, ImportItem.version).where(
        ImportItem.job_id == job.id, ImportItem.record_type == rtype.key).subquery()
    total = db.session.scalar(select(func.count()).select_from(items)) or 0
    if not total:
        return {"deleted": 0, "kept": 0, "gone": 0}
    existing = db.session.scalar(
        select(func.count()).select_from(model)
        .where(model.id.in_(select(items.c.record_id)), fully_visible_to(model, viewer))) or 0
    deleted = delete_records(rtype, select(model.id).where(_untouched(model, items, viewer)), viewer)
    return {"deleted": deleted, "kept": existing - deleted, "gone": total - existing}


def _untouched(model, items, viewer: Viewer):
    """Records of the import that are as the import left them: same version, fully visible, nothing
    attached since (:data:`ADDED_AFTER_IMPORT`), no record the viewer fully sees linking to them.
    (A link from a record the viewer cannot see neither keeps a record nor shows in any count: it
    stays, pointing at a record in the recycle bin, like any link to a deleted record.)"""
    key = model.KEY
    conds = [
        model.id.in_(select(items.c.record_id)),
        model.version == select(items.c.version).where(items.c.record_id == model.id).scalar_subquery(),
        fully_visible_to(model, viewer),
        *(not_(exists().where(getattr(cls, f"{key}_id") == model.id)) for cls in ADDED_AFTER_IMPORT),
    ]
    for other in (Person, Deal, Project):
        fk = getattr(other, f"{key}_id", None)
        if fk is not None and other is not model:
            conds.append(not_(exists().where(fk == model.id, fully_visible_to(other, viewer))))
    return and_(*conds)


def undo(job: ImportJob, viewer: Viewer, user) -> dict[str, int]:
    """Move the records the import created that are still as it left them to the recycle bin: its
    rows' records, then the companies a people import created (after its people: a company that a
    kept person links to stays). Returns counts over both, all of records the viewer fully sees:
    ``deleted`` (exactly those moved), ``kept`` (changed since, or linked from a record the viewer
    sees), ``gone`` (deleted already, or no longer visible to the viewer: one sentence for both)."""
    if not can_undo(job, user):
        raise ImportRefused(_("This import can no longer be undone."))
    rtype = TYPES[job.record_type]
    counts = {"deleted": 0, "kept": 0, "gone": 0}
    by_type: dict[str, int] = {}
    for key in dict.fromkeys([job.record_type, "company" if job.record_type == "person" else job.record_type]):
        done = _undo_items(job, TYPES[key], viewer)
        for k in counts:
            counts[k] += done[k]
        if done["deleted"] or key == job.record_type:
            by_type[TYPES[key].plural] = done["deleted"]
    now = utcnow()
    job.status = "undone"
    job.undone_at = now
    audit(viewer, "import_undone", job_id=job.id, record_type=rtype.plural, counts=by_type,
          kept=counts["kept"], gone=counts["gone"], filename=job.filename)
    if job.audit_id:
        db.session.execute(update(AuditEntry).where(AuditEntry.id == job.audit_id).values(
            undone_at=now, undone_by_id=viewer.user_id))
    db.session.expire_all()
    return counts
