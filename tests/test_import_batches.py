"""CSV import in short batches (issue 16): the rows an unfinished import has written are pending -
invisible to everyone on every surface -, a failed, stopped or killed job leaves nothing, and the
undo works on a batched import as before."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, update

from crm.auth.models import User
from crm.auth.services import issue_token
from crm.common import utcnow
from crm.extensions import db
from crm.imports import services
from crm.imports.models import ImportItem, ImportJob
from crm.models import ContactDetail, CustomFieldValue, Person
from crm.records.models import PersonTag
from crm.search.models import SearchDoc
from crm.visibility import viewer_for
from tests.factories import PASSWORD, without_csrf
from tests.test_import import refusing

BATCH = 5


@pytest.fixture
def world(make, app, monkeypatch):
    monkeypatch.setattr(services, "BATCH", BATCH)
    make.enable_groups()
    u = make.user("extended")
    colleague = make.user("normal")
    admin = make.user("admin")
    nord = make.group("Nord", [u, colleague, admin])
    field = make.field("person", "Quelle", kind="text")
    alt = make.company("Alt GmbH", group=nord)
    make.person("Bestand", first_name="Berta", group=nord, company=alt, tags=["Kunde"])
    db.session.commit()
    # (plain values too: the import empties the session it shares with the test)
    return {"u": u, "colleague": colleague, "admin": admin, "nord": nord, "field": field, "alt": alt,
            "alt_id": alt.id, "users": {k: (x.id, x.email) for k, x in (("u", u), ("colleague", colleague),
                                                                         ("admin", admin))}}


def people_csv(n: int, start: int = 0) -> bytes:
    rows = "".join(f"Neu{i};Nina;neu{i}@example.com;Alt GmbH;Importiert;Messe\n" for i in range(start, start + n))
    return ("Nachname;Vorname;E-Mail;Firma;Schlagworte;Quelle\n" + rows).encode()


def queue(w, n: int = 12, start: int = 0) -> ImportJob:
    job = services.create_job(w["u"], "person", "leute.csv", people_csv(n, start))
    problems = services.configure(job, viewer_for(w["u"]), {
        0: "last_name", 1: "first_name", 2: "emails", 3: "company", 4: "tags", 5: f"cf_{w['field'].id}"},
        w["nord"].id)
    assert problems == []
    db.session.commit()
    return job


def counts() -> dict[str, int]:
    """What exists in the database, whoever may see it (rows of the import and what hangs on them)."""
    def n(model, *where):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))

    return {"people": n(Person), "details": n(ContactDetail, ContactDetail.person_id.is_not(None)),
            "values": n(CustomFieldValue), "tags": n(PersonTag), "items": n(ImportItem),
            "docs": n(SearchDoc, SearchDoc.record_type == "person")}


def surfaces(app, w, pending_id: int | None) -> dict:
    """Every surface the importer, a colleague and an admin look at, as they see it."""
    out = {}
    alt = w["alt_id"]
    pages = ["/people", "/people?q=neu", "/people?tag=Importiert", "/search?q=neu", "/search?q=nina",
             "/people/lookup?q=neu", f"/companies/{alt}", "/companies", "/", "/tasks", "/people/export.csv",
             "/people/new"]
    api = ["/api/v1/people", "/api/v1/people?q=neu", "/api/v1/search?q=neu", "/api/v1/people?tag=Importiert"]
    for who in ("u", "colleague", "admin"):
        user_id, email = w["users"][who]
        with app.app_context():
            token = issue_token(db.session.get(User, user_id))
        client = app.test_client()
        resp = client.post("/login", data={"email": email, "password": PASSWORD})
        assert resp.status_code == 302
        for path in pages + (["/settings/groups", "/settings/trash"] if who == "admin" else []):
            resp = client.get(path)
            out[(who, path)] = (resp.status_code, without_csrf(resp.get_data()))
        headers = {"Authorization": f"Bearer {token}"}
        for path in api:
            resp = client.get(path, headers=headers)
            out[(who, path)] = (resp.status_code, resp.get_json())
        if pending_id is not None:  # the id of a pending row answers as an id that never existed
            for prefix, kw in (("/people/", {}), ("/api/v1/people/", {"headers": headers})):
                hidden, unknown = client.get(f"{prefix}{pending_id}", **kw), client.get(f"{prefix}999999", **kw)
                assert hidden.status_code == unknown.status_code == 404
                assert without_csrf(hidden.get_data()) == without_csrf(unknown.get_data())
    return out


def test_pending_rows_are_invisible_on_every_surface_while_the_import_runs(app, make, world, monkeypatch):
    import crm.search.queries as sq

    w = world
    # one search candidate per type: the pending rows' newer docs must not take the place of an
    # older Nina everybody in Nord finds
    make.person("Alt", first_name="Nina", group=w["nord"])
    monkeypatch.setattr(sq, "CANDIDATES", 1)
    monkeypatch.setattr(sq, "_STATEMENTS", type(sq._STATEMENTS)())  # (built with the limit in them)
    before = surfaces(app, w, None)
    assert "Nina Alt" in before[("colleague", "/search?q=nina")][1]
    job = queue(w)
    seen = []

    def look(job_id, done):
        with app.app_context():
            pending = db.session.scalars(select(Person.id).where(Person.pending_import_id == job_id)).all()
            assert len(pending) == done
            # a pending row's docs are in the index (the final step does not write them), and
            # every search and list answers as before
            assert db.session.scalar(select(func.count()).select_from(SearchDoc).where(
                SearchDoc.record_type == "person", SearchDoc.record_id.in_(pending))) == 3 * done  # name, e-mail, field
            now = surfaces(app, w, pending[0])
        for key, answer in before.items():
            assert now[key] == answer, key
        seen.append(done)

    monkeypatch.setattr(services, "after_batch", look)
    services.run(job.id)
    assert seen == [5, 10, 12]  # 12 rows: batches of 5, 5, 2
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert (job.status, job.created, job.processed) == ("done", 12, 12)
    assert not db.session.scalar(select(func.count()).select_from(Person).where(Person.pending_import_id.is_not(None)))
    monkeypatch.setattr(sq, "CANDIDATES", 200)
    monkeypatch.setattr(sq, "_STATEMENTS", type(sq._STATEMENTS)())
    after = surfaces(app, w, None)
    for who in ("u", "colleague"):
        assert len(after[(who, "/api/v1/people?q=neu")][1]["items"]) == 12
        assert len(after[(who, "/api/v1/search?q=neu")][1]["items"]) == 12
        assert "Neu11" in after[(who, f"/companies/{w['alt_id']}")][1]
    with make.acting_as(app, w["u"]) as viewer:
        from crm.search.queries import search

        assert len(search(viewer, "nina")) == 13 and [h.name for h in search(viewer, "neu7")] == ["Nina Neu7"]


def test_a_batch_costs_about_as_many_statements_for_few_rows_as_for_many(app, make, world, monkeypatch):
    """The rows of a batch (name, e-mail, company, tags, a custom field) share the checks of their
    group, company and user, and what hangs on them is written in one statement per table: a row
    more adds at most its own INSERT and its history event's (one statement per row on SQLite, which
    cannot batch INSERT … RETURNING), not one per check, detail, field value or history field."""
    w = dict(world)
    ids = {k: (type(w[k]), w[k].id) for k in ("u", "nord", "field")}  # (the import empties the session)
    real = services.create_records
    seen: list[int] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen[-1] += 1

    def create_records(*args, **kwargs):
        seen.append(0)
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            return real(*args, **kwargs)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)

    monkeypatch.setattr(services, "create_records", create_records)
    sizes = {}
    for rows, start in ((3, 0), (15, 100)):
        monkeypatch.setattr(services, "BATCH", rows)  # (the whole file in one batch)
        seen.clear()
        w.update({k: db.session.get(cls, i) for k, (cls, i) in ids.items()})
        job = queue(w, rows, start)
        services.run(job.id)
        assert db.session.get(ImportJob, job.id).status == "done" and len(seen) == 1
        sizes[rows] = seen[0]
    per_row = 2 if db.engine.dialect.name == "sqlite" else 0
    assert sizes[15] - sizes[3] <= per_row * 12, sizes
    assert counts()["values"] == 18 and counts()["details"] == 18  # (and everything was written)


def test_a_row_refused_in_a_later_batch_leaves_nothing(app, make, world, monkeypatch):
    w = world
    empty = counts()
    # the eighth row: the first batch is written and committed by then
    monkeypatch.setattr(services, "create_records", refusing(services.create_records, 8, "last_name"))
    job = queue(w)
    services.run(job.id)
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert job.status == "failed" and [e["line"] for e in job.errors] == [9]
    assert counts() == empty


def test_an_error_mid_way_fails_the_job_and_leaves_nothing(app, make, world, monkeypatch):
    w = world
    empty = counts()

    def boom(job_id, done):
        if done == 2 * BATCH:
            raise RuntimeError("disk full")

    monkeypatch.setattr(services, "after_batch", boom)
    job = queue(w)
    with pytest.raises(RuntimeError):
        services.run(job.id)
    db.session.expire_all()
    assert db.session.get(ImportJob, job.id).status == "failed"
    assert counts() == empty


def test_a_job_stopped_by_someone_else_stops_and_leaves_nothing(app, make, world, monkeypatch):
    """Another server failed the job (it looked dead) or it was cancelled: the runner stops at its
    next batch and removes what it wrote."""
    w = world
    empty = counts()

    def stop(job_id, done):
        services._set(job_id, status="failed", message="cancelled")

    monkeypatch.setattr(services, "after_batch", stop)
    job = queue(w)
    services.run(job.id)
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert (job.status, job.processed) == ("failed", BATCH)  # (the second batch was not kept)
    assert counts() == empty


class Killed(BaseException):
    """Stands for kill -9: nothing of the runner's own error handling runs."""


def test_a_killed_job_leaves_nothing_visible_and_its_rows_are_removed(app, client, make, world, monkeypatch):
    w = world
    empty = counts()

    def kill(job_id, done):
        if done == 2 * BATCH:
            raise Killed

    monkeypatch.setattr(services, "after_batch", kill)
    job = queue(w)
    with pytest.raises(Killed):
        services.run(job.id)
    db.session.rollback()
    assert counts()["people"] == empty["people"] + 2 * BATCH  # written, pending
    with make.acting_as(app, w["u"]) as viewer:
        from crm.records.queries import ListFilter, ids_matching
        from crm.records.types import TYPES

        assert len(db.session.scalars(ids_matching(TYPES["person"], viewer, ListFilter())).all()) == 1
    # a server that polls the job finds it dead for the last time (it is retried once: see
    # tests/test_queue_worker.py): failed, and its pending rows go
    db.session.execute(update(ImportJob).where(ImportJob.id == job.id)
                       .values(heartbeat_at=utcnow() - timedelta(hours=1), attempts=services.MAX_ATTEMPTS))
    db.session.commit()
    with app.test_request_context():
        assert services.refresh_stale(db.session.get(ImportJob, job.id)).status == "failed"
    assert counts() == empty


def test_a_job_run_again_after_a_kill_imports_each_row_once(app, make, world, monkeypatch):
    """A queue that retries a killed job runs it again from the start: what the killed run wrote is
    removed first."""
    w = world

    def kill(job_id, done):
        if done == BATCH:
            raise Killed

    monkeypatch.setattr(services, "after_batch", kill)
    job = queue(w)
    with pytest.raises(Killed):
        services.run(job.id)
    db.session.rollback()
    monkeypatch.setattr(services, "after_batch", lambda job_id, done: None)
    db.session.execute(update(ImportJob).where(ImportJob.id == job.id).values(status="queued"))
    db.session.commit()
    services.run(job.id)
    db.session.expire_all()
    assert db.session.get(ImportJob, job.id).status == "done"
    assert db.session.scalar(select(func.count()).select_from(Person).where(Person.last_name.like("Neu%"))) == 12
    assert db.session.scalar(select(func.count()).select_from(ImportItem)) == 12


def test_undo_after_a_batched_import(app, client, make, world):
    w = world
    job = queue(w)
    services.run(job.id)
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert job.status == "done"
    kept = db.session.scalar(select(Person).where(Person.last_name == "Neu3"))
    make.note(kept, "Anruf")
    db.session.commit()
    with make.acting_as(app, w["u"]) as viewer:
        result = services.undo(job, viewer, w["u"])
        db.session.commit()
    assert result == {"deleted": 11, "kept": 1, "gone": 0}
    live = db.session.scalars(select(Person.last_name).where(Person.deleted_at.is_(None))).all()
    assert sorted(live) == ["Bestand", "Neu3"]
