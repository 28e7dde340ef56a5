"""A job reads and writes in its requester's language, not in the worker's (German) default: the
job keeps the language of the request that queued it, and the worker runs its work in it
(crm/i18n.py). "1,250" is 1250 to an English user and 1.25 to a German one - in the list, in the
export job of that list and in an import retried after its worker died - and a job's messages are
in its requester's language whoever ends it (an admin's cancel, the reaper).

The suite runs a job when it is queued (``JOBS_IMMEDIATE``)."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from crm.common import utcnow
from crm.customfields.models import CustomFieldValue
from crm.extensions import db
from crm.imports import services as imports
from crm.imports.models import ImportJob
from crm.jobs import services
from crm.jobs.models import Job
from crm.visibility import viewer_for

#: what the users type in a number filter: 1250 in English, 1.25 in German
TYPED = "1,250"


@pytest.fixture
def world(make):
    make.enable_groups()
    user = make.user("extended")  # no language of their own: the browser's
    admin = make.user("admin")
    nord = make.group("Nord", [user, admin])
    sued = make.group("Süd", [user, admin])
    size = make.field("company", "Umsatz", "number")
    companies = []
    for name, value in (("Eins", "1"), ("Hundert", "100"), ("Tausend", "1000"), ("Zweitausend", "2000")):
        companies.append(make.company(name, group=nord))
        make.value(size, companies[-1], value)
    return locals()


def speaking(client, language: str):
    """The client's browser asks for ``language`` (the user has no setting of their own)."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    return client


def listed(client, url: str) -> list[str]:
    body = client.get(url).get_data(as_text=True)
    table = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return sorted(re.findall(r'<td><a href="/companies/\d+">([^<]+)</a>', table))


@pytest.mark.parametrize("language, expected", [("en", ["Zweitausend"]),
                                                ("de", ["Hundert", "Tausend", "Zweitausend"])])
def test_an_export_job_has_exactly_the_rows_of_the_list_in_its_requesters_language(
        app, client, make, world, language, expected):
    w = world
    make.login(speaking(client, language), w["user"])
    query = f"?cf_{w['size'].id}_from={TYPED}"
    assert listed(client, f"/companies{query}") == expected
    app.config["EXPORT_JOB_ROWS"] = 0  # every export is a job
    page = client.get(f"/companies/export.csv{query}").get_data(as_text=True)
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
    resp = client.post("/companies/export", data=hidden)
    assert resp.status_code == 302, resp.status_code
    job_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    data = client.get(f"/jobs/{job_id}/download").data.decode("utf-8")
    assert sorted(r["name"] for r in csv.DictReader(io.StringIO(data[1:]))) == expected
    done = {"en": f"Done: {len(expected)} row", "de": f"Fertig: {len(expected)} Zeile"}[language]
    assert done in client.get(f"/jobs/{job_id}").get_data(as_text=True)


def test_a_job_reports_in_its_requesters_language_whoever_ends_it(app, client, make, world):
    w = world
    app.config["BULK_JOB_THRESHOLD"] = 1
    make.login(speaking(client, "en"), w["user"])
    resp = client.post("/companies/bulk/assign", headers={"HX-Request": "true", "HX-Target": "dialog"}, data={
        "scope": "ids", "ids": [str(c.id) for c in w["companies"]], "target_id": str(w["sued"].id),
        "step": "run"})
    url = resp.headers["HX-Redirect"]
    assert "Done: 4 records moved." in client.get(url).get_data(as_text=True)
    english = db.session.get(Job, int(url.rsplit("/", 1)[1])).locale
    assert english == "en"

    def queued(**values) -> Job:
        job = Job(kind="assign", user_id=w["user"].id, total=4, params={
            "type": "company", "ids": [c.id for c in w["companies"]], "group_id": w["nord"].id,
            "cascade": [], "source": "list"}, **{"status": "queued", **values})
        db.session.add(job)
        db.session.commit()
        return job

    # a German admin cancels the English user's waiting job: the user reads why in English
    waiting = queued(locale=english)
    client.post("/logout")
    make.login(speaking(client, "de"), w["admin"])
    assert client.post(f"/jobs/{waiting.id}/cancel").status_code == 302
    db.session.expire_all()
    assert db.session.get(Job, waiting.id).message == "Cancelled before it started. Nothing was changed."
    # a job queued before jobs kept their language runs in its owner's; the reaper that fails it
    # writes in that language too (it wrote German)
    w["user"].locale = "en"
    db.session.commit()
    dead = queued(locale="", status="running", attempts=2, heartbeat_at=utcnow() - timedelta(hours=1))
    assert services.reap_stale_jobs([dead.id]) == {"retried": 0, "failed": 1}
    db.session.expire_all()
    assert db.session.get(Job, dead.id).message.startswith("The job was interrupted twice")


def test_an_import_retried_after_its_worker_died_reads_numbers_in_its_requesters_language(app, make, world):
    """The first run reads the file in the language of the page that queued it; the run that takes
    the job up after its worker died read it in the owner's setting (none: German)."""
    w = world
    job = imports.create_job(w["user"], "company", "x.csv", f'Name,Umsatz\nNeu,"{TYPED}"\n'.encode())
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert imports.configure(job, viewer_for(w["user"]), {0: "name", 1: f"cf_{w['size'].id}"},
                                 w["nord"].id) == []
    db.session.commit()
    # its worker died while it saved: the reaper (or a look at its page) takes it up once more
    db.session.execute(update(ImportJob).where(ImportJob.id == job.id).values(
        status="saving", attempts=1, heartbeat_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    assert imports.reap_stale([job.id]) == {"retried": 1, "failed": 0}
    db.session.expire_all()
    assert db.session.get(ImportJob, job.id).status == "done"
    assert db.session.scalar(select(CustomFieldValue.value).where(
        CustomFieldValue.field_id == w["size"].id, CustomFieldValue.value.not_in(("1", "100", "1000", "2000")))
    ) == "1250"


@pytest.mark.parametrize("language, done", [("en", "Done: 1,004 rows exported."),
                                            ("de", "Fertig: 1.004 Zeilen exportiert.")])
def test_a_jobs_message_writes_its_numbers_as_the_lists_do(app, client, make, world, language, done):
    """"Done: 8358 rows exported" beside a list saying "8,358 records" (new-user trial)."""
    from crm.records.models import Company, sort_key

    w = world
    db.session.add_all([Company(name=f"Firma {i:04d}", sort_key=sort_key(f"Firma {i:04d}"), group_id=w["nord"].id)
                        for i in range(1000)])
    db.session.commit()
    make.login(speaking(client, language), w["admin"])
    app.config["EXPORT_JOB_ROWS"] = 0  # every export is a job
    resp = client.post("/companies/export", data={})
    job_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert done in client.get(f"/jobs/{job_id}").get_data(as_text=True)
