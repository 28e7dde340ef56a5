"""The job queue (crm/jobs, issue 16): a large group assignment from the list page and its undo
run as jobs with a progress page; a job whose worker died is taken up once more, then failed,
never half-applied; a waiting job can be cancelled; an import can be cancelled while it runs.

The suite runs a job when it is queued (``JOBS_IMMEDIATE``): the tests with a real worker
process, a real queue and kill -9 are in tests/test_queue_worker.py."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from crm.audit.models import AuditEntry
from crm.common import utcnow
from crm.extensions import db
from crm.imports import services as imports
from crm.imports.models import ImportJob
from crm.jobs import services
from crm.jobs.models import Job
from crm.models import Company, Person

HX = {"HX-Request": "true", "HX-Target": "dialog"}


@pytest.fixture
def world(make):
    make.enable_groups()
    owner = make.user("extended")
    other = make.user("extended")
    admin = make.user("admin")
    nord = make.group("Nord", [owner, other, admin])
    sued = make.group("Süd", [owner])
    companies = [make.company(f"Firma {i}", group=nord) for i in range(3)]
    people = [make.person(f"Person {i}", company=companies[0], group=nord) for i in range(2)]
    return locals()


def groups_of(model, records) -> set[int]:
    db.session.expire_all()
    return {db.session.get(model, r.id).group_id for r in records}


def assign_all(client, w, target):
    return client.post("/companies/bulk/assign", headers=HX, data={
        "scope": "ids", "ids": [str(c.id) for c in w["companies"]], "target_id": str(target.id),
        "cascade": ["people"], "step": "run"})


def test_a_large_assignment_from_the_list_runs_as_a_job_with_a_progress_page(app, client, make, world):
    w = world
    app.config["BULK_JOB_THRESHOLD"] = 4  # 3 companies + 2 people
    make.login(client, w["owner"])
    resp = assign_all(client, w, w["sued"])
    assert resp.status_code == 204 and resp.headers["HX-Redirect"].startswith("/jobs/")
    url = resp.headers["HX-Redirect"]
    job = db.session.get(Job, int(url.rsplit("/", 1)[1]))
    assert (job.status, job.total, job.user_id) == ("done", 5, w["owner"].id)
    assert groups_of(Company, w["companies"]) == groups_of(Person, w["people"]) == {w["sued"].id}
    page = client.get(url).get_data(as_text=True)
    assert "5 records moved" in page or "5 Datensätze verschoben" in page
    assert 'hx-trigger="every 1s"' not in page  # finished: no more polling
    # while it waits or runs, the page polls its state (htmx, no script of its own)
    db.session.execute(update(Job).where(Job.id == job.id).values(status="running", heartbeat_at=utcnow()))
    db.session.commit()
    part = client.get(url, headers={"HX-Request": "true", "HX-Target": "job-status"}).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in part and "<html" not in part and "<script" not in part
    db.session.execute(update(Job).where(Job.id == job.id).values(status="done"))
    db.session.commit()
    # the undo is as large: a job too, and everything is back
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "group_assigned"))
    resp = client.post(f"/companies/bulk/undo/{entry.id}", headers={"HX-Request": "true", "HX-Target": "bulk-message"},
                       data={"scope": "ids"})
    assert resp.status_code == 204 and resp.headers["HX-Redirect"].startswith("/jobs/")
    undo = db.session.get(Job, int(resp.headers["HX-Redirect"].rsplit("/", 1)[1]))
    assert (undo.kind, undo.status) == ("assign_undo", "done")
    assert groups_of(Company, w["companies"]) == groups_of(Person, w["people"]) == {w["nord"].id}
    # its page has no "Show them" that would open the whole list (the assignment's page has one)
    page = client.get(f"/jobs/{undo.id}").get_data(as_text=True)
    assert "Show them" not in page and "Anzeigen</a>" not in page
    assert f'?assignment={job.id}"' in client.get(url).get_data(as_text=True)


def test_a_small_assignment_still_runs_in_the_request(app, client, make, world):
    w = world
    make.login(client, w["owner"])
    resp = assign_all(client, w, w["sued"])
    assert resp.status_code == 200 and "HX-Redirect" not in resp.headers
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0
    assert groups_of(Company, w["companies"]) == {w["sued"].id}


def test_a_job_page_is_its_owners_and_the_admins(app, client, make, world):
    w = world
    app.config["BULK_JOB_THRESHOLD"] = 1
    make.login(client, w["owner"])
    url = assign_all(client, w, w["sued"]).headers["HX-Redirect"]
    job_id = int(url.rsplit("/", 1)[1])
    client.post("/logout")
    make.login(client, w["other"])
    made_up = client.get(f"/jobs/{job_id + 1000}")
    theirs = client.get(url)
    assert theirs.status_code == made_up.status_code == 404
    assert make.without_csrf(theirs.data) == make.without_csrf(made_up.data)
    assert client.post(f"{url}/cancel").status_code == 404
    client.post("/logout")
    make.login(client, w["admin"])
    assert client.get(url).status_code == 200


def test_show_them_after_an_assignment_job_lists_what_it_moved_to_its_owner_only(app, client, make, world):
    """"Show them" on the page of a bulk assignment that ran as a job opens the list narrowed to the
    records the job moved - a company's people taken along on the people list - and says so in the
    filter bar. Anyone but the job's owner (and the admins) gets the answer of an id no job has."""
    import re

    from crm.groups.models import group_members
    from tests.adversarial.probes import normalized
    from tests.test_list_filters import names

    w = world
    for u in (w["other"], w["admin"]):
        db.session.execute(group_members.insert().values(group_id=w["sued"].id, user_id=u.id))
    db.session.commit()
    app.config["BULK_JOB_THRESHOLD"] = 2
    make.login(client, w["owner"])
    resp = client.post("/companies/bulk/assign", headers=HX, data={
        "scope": "ids", "ids": [str(c.id) for c in w["companies"][:2]], "target_id": str(w["sued"].id),
        "cascade": ["people"], "step": "run"})
    job_id = int(resp.headers["HX-Redirect"].rsplit("/", 1)[1])
    page = client.get(f"/jobs/{job_id}").text
    show = re.search(r'<a href="([^"]+)">(?:Show them|Anzeigen)</a>', page).group(1)
    assert show == f"/companies?assignment={job_id}"
    assert f'<a href="/people?assignment={job_id}">' in page  # what the companies took along
    assert names(client, show) == ["Firma 0", "Firma 1"] and len(names(client, "/companies")) == 3
    assert sorted(names(client, f"/people?assignment={job_id}")) == ["Anna Person 0", "Anna Person 1"]
    listing = client.get(show).text
    assert re.search(rf"(Group assignment|Gruppenzuweisung): #{job_id}\b", listing)
    clear = re.search(r'<a href="([^"]+)" aria-label="(?:Remove filter Group assignment|'
                      r'Filter Gruppenzuweisung entfernen)">', listing).group(1)
    assert "assignment=" not in clear
    # another user sees the records (in Nord and Süd), not the job: like a made-up id, nothing;
    # an admin (in both groups too) sees any job
    made_up = job_id + 1000
    theirs = app.test_client()
    make.login(theirs, w["other"])
    assert len(names(theirs, "/companies")) == 3 and names(theirs, show) == []

    def answer(job):
        """The list page, the job id it names (the filter chip, its links) written as ID."""
        body = normalized(theirs.get(f"/companies?assignment={job}"))
        return re.sub(rf'(assignment=|: #|name="assignment" value="){job}\b', r"\1ID", body)

    assert answer(job_id) == answer(made_up)
    admin = app.test_client()
    make.login(admin, w["admin"])
    assert names(admin, show) == ["Firma 0", "Firma 1"]


def _queued(w, **values) -> Job:
    job = Job(kind="assign", user_id=w["owner"].id, status="queued", total=5, params={
        "type": "company", "ids": [c.id for c in w["companies"]], "group_id": w["sued"].id,
        "cascade": ["people"], "source": "list"}, **values)
    db.session.add(job)
    db.session.commit()
    return job


def test_a_waiting_job_can_be_cancelled_and_then_never_runs(app, client, make, world):
    w = world
    job = _queued(w)
    make.login(client, w["owner"])
    assert client.post(f"/jobs/{job.id}/cancel").status_code == 302
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == "cancelled"
    services.run_job(job.id)  # the worker takes it up later: nothing happens
    assert groups_of(Company, w["companies"]) == {w["nord"].id}
    assert db.session.get(Job, job.id).status == "cancelled"


@pytest.mark.parametrize("attempts, status", [(1, "done"), (2, "failed")])
def test_a_job_whose_worker_died_is_retried_once_then_failed(app, client, make, world, attempts, status):
    """Its worker died mid-transaction: nothing was applied. The reaper (every minute, and the
    job's page) runs it once more; after the second death it fails, with a message, still
    nothing applied."""
    w = world
    job = _queued(w)
    db.session.execute(update(Job).where(Job.id == job.id).values(
        status="running", attempts=attempts, heartbeat_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    make.login(client, w["owner"])
    page = client.get(f"/jobs/{job.id}")
    assert page.status_code == 200
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status == status
    moved = {w["sued"].id} if status == "done" else {w["nord"].id}
    assert groups_of(Company, w["companies"]) == groups_of(Person, w["people"]) == moved
    if status == "failed":
        assert job.message and job.finished_at is not None


def test_a_run_taken_for_dead_does_not_end_the_job_that_another_run_took_up(app, make, world, monkeypatch):
    """Work in several transactions (applying the rules): a slow run the reaper took for dead, whose
    job another run then finished, may fail afterwards - the job stays done, with its message."""
    w = world
    job = _queued(w)

    def taken_up_meanwhile_then_fails(job, user):
        with db.engine.begin() as conn:  # the reaper and the second run, while this one still works
            conn.execute(update(Job).where(Job.id == job.id).values(status="done", attempts=2, message="Fertig"))
        raise RuntimeError("the first run's worker breaks down")

    monkeypatch.setitem(services.RUNNERS, "assign", taken_up_meanwhile_then_fails)
    with pytest.raises(RuntimeError):
        services.run_job.call_local(job.id)
    db.session.expire_all()
    assert (db.session.get(Job, job.id).status, db.session.get(Job, job.id).message) == ("done", "Fertig")


def test_a_job_queued_again_after_its_worker_died_cannot_be_cancelled(app, client, make, world):
    """It may have done part of its work (applying the rules commits assignment by assignment):
    "cancelled, nothing was changed" would not be true."""
    w = world
    job = _queued(w, attempts=1)
    make.login(client, w["owner"])
    client.post(f"/jobs/{job.id}/cancel")
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == "queued"


def test_a_job_runs_with_what_its_owner_sees_when_it_runs(app, make, world):
    """Queued by the owner, who then left Süd: the job is refused as the request would be."""
    w = world
    job = _queued(w)
    w["sued"].members.remove(w["owner"])
    db.session.commit()
    services.run_job(job.id)
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == "failed"
    assert groups_of(Company, w["companies"]) == {w["nord"].id}


def test_the_search_rebuild_can_be_queued(app, make, world):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["search", "rebuild", "--queue"])
    assert result.exit_code == 0 and "queued as job" in result.output
    job = db.session.scalar(select(Job).where(Job.kind == "search_rebuild"))
    assert job.status == "done" and job.result["docs"] > 0


# -- imports -----------------------------------------------------------------------------------

def _import(w, rows: int) -> ImportJob:
    from crm.visibility import viewer_for

    text = "Name\n" + "".join(f"Import {i:04d}\n" for i in range(rows))
    job = imports.create_job(w["owner"], "company", "x.csv", text.encode())
    assert imports.configure(job, viewer_for(w["owner"]), {0: "name"}, w["nord"].id) == []
    db.session.commit()
    return job


def imported() -> int:
    return db.session.scalar(select(func.count()).select_from(Company).where(Company.name.like("Import %")))


def test_an_import_cancelled_while_it_waits_never_runs(app, client, make, world):
    w = world
    job = _import(w, 3)
    make.login(client, w["owner"])
    assert client.post(f"/import/{job.id}/cancel").status_code == 302
    imports.run(job.id)
    db.session.expire_all()
    assert db.session.get(ImportJob, job.id).status == "cancelled" and imported() == 0
    page = client.get(f"/import/{job.id}").get_data(as_text=True)
    assert 'hx-trigger="every 1s"' not in page


def test_an_import_cancelled_while_it_saves_saves_nothing(app, make, world, monkeypatch):
    """The cancel arrives once the check is through and the save has begun: the save stops at its
    next look at the flag and nothing is imported."""
    w = world
    job = _import(w, 450)
    real_set = imports._set

    def cancel_when_saving(job_id, **values):
        real_set(job_id, **values)
        if values.get("status") == "saving":
            real_set(job_id, cancel_requested=True)  # (as the owner's cancel does)

    monkeypatch.setattr(imports, "_set", cancel_when_saving)
    imports.run(job.id)
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    assert (job.status, imported()) == ("cancelled", 0)
    assert "cancelled" in job.message or "abgebrochen" in job.message


def test_only_the_owner_cancels_an_import(app, client, make, world):
    w = world
    job = _import(w, 3)
    make.login(client, w["admin"])
    assert client.post(f"/import/{job.id}/cancel").status_code == 404
    db.session.expire_all()
    assert db.session.get(ImportJob, job.id).status == "queued"
