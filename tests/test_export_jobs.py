"""A CSV export larger than ``EXPORT_JOB_ROWS`` rows runs as a job (issue 16): the list's export
link asks to start it, the job's page shows the progress and then the download, which is its
owner's only - not even an admin's, whose groups may differ - until it expires. The job writes
what its owner sees when it runs, the same CSV the request would have streamed.

The suite runs a job when it is queued (``JOBS_IMMEDIATE``)."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from crm.auth.services import issue_token
from crm.common import utcnow
from crm.extensions import db
from crm.jobs import services
from crm.jobs.models import Job


@pytest.fixture
def world(make):
    make.enable_groups()
    owner = make.user("extended")
    admin = make.user("admin")
    normal = make.user("normal")
    nord = make.group("Nord", [owner, admin, normal])
    sued = make.group("Süd", [admin])
    field = make.field("company", "Kundenstatus", shared_with=[nord])
    mine = [make.company(f"Nordfirma {i}", group=nord, emails=[f"{i}@nord.example"], tags=["Messe"])
            for i in range(3)]
    theirs = make.company("Südfirma", group=sued, emails=["geheim@sued.example"])
    make.value(field, theirs, "Top-Kunde")
    return locals()


def names(data: bytes) -> list[str]:
    text = data.decode("utf-8")
    assert text.startswith("\ufeff")
    return [r["name"] for r in csv.DictReader(io.StringIO(text[1:]))]


def start(app, client, make, user, query="", rows=4) -> tuple[int, bytes]:
    """The export as a user does it: the link, the page's button, the job's page; returns the job
    id and the CSV the request would have streamed (asked again with a high threshold)."""
    make.login(client, user)
    app.config["EXPORT_JOB_ROWS"] = 100
    streamed = client.get(f"/companies/export.csv{query}").data
    app.config["EXPORT_JOB_ROWS"] = 2
    page = client.get(f"/companies/export.csv{query}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "Export starten" in html and f"{rows} Zeilen" in html
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
    resp = client.post("/companies/export", data=hidden)
    assert resp.status_code == 302, resp.status_code
    job_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    return job_id, streamed


def test_a_large_export_runs_as_a_job_and_its_owner_downloads_the_same_csv(app, client, make, world):
    w = world
    job_id, streamed = start(app, client, make, w["owner"])
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "4 Zeilen exportiert" in page and "CSV-Datei herunterladen" in page
    download = client.get(f"/jobs/{job_id}/download")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert download.headers["Content-Disposition"].startswith('attachment; filename="companies-')
    assert download.data == streamed
    assert sorted(names(download.data)) == ["Nordfirma 0", "Nordfirma 1", "Nordfirma 2", "Südfirma"]
    assert b"0@nord.example" in download.data
    assert b"geheim@" not in download.data and b"Top-Kunde" in download.data  # restricted: shared fields only


def test_the_filter_goes_with_the_job(app, client, make, world):
    w = world
    make.company("Andere", group=w["nord"])
    job_id, streamed = start(app, client, make, w["owner"], "?q=nordfirma&sort=name&dir=desc", rows=3)
    data = client.get(f"/jobs/{job_id}/download").data
    assert data == streamed
    assert names(data) == ["Nordfirma 2", "Nordfirma 1", "Nordfirma 0"]  # "Andere" and Südfirma: not matching


def test_the_download_is_the_owners_only_and_answers_others_like_an_unknown_id(app, client, make, world):
    w = world
    job_id, _streamed = start(app, client, make, w["owner"])
    client.post("/logout")
    make.login(client, w["admin"])
    assert client.get(f"/jobs/{job_id}").status_code == 200  # an admin sees the job's state ...
    theirs = client.get(f"/jobs/{job_id}/download")
    made_up = client.get(f"/jobs/{job_id + 1000}/download")
    assert theirs.status_code == made_up.status_code == 404  # ... but not what its owner sees
    assert make.without_csrf(theirs.data) == make.without_csrf(made_up.data)
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "herunterladen" not in page and "4 Zeilen" not in page  # not even how many rows it holds
    token = issue_token(w["admin"])
    shown = client.get(f"/api/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert (shown["status"], shown["total"], shown["progress"], shown["message"], shown["result"]) == (
        "done", 0, 0, "", {})


def test_an_export_expires(app, client, make, world):
    w = world
    job_id, _streamed = start(app, client, make, w["owner"])
    assert services.expire_exports() == 0  # kept for EXPORT_KEEP_HOURS
    db.session.execute(update(Job).where(Job.id == job_id).values(finished_at=utcnow() - timedelta(hours=25)))
    db.session.commit()
    assert services.expire_exports() == 1
    assert client.get(f"/jobs/{job_id}/download").status_code == 404
    assert "nicht mehr verfügbar" in client.get(f"/jobs/{job_id}").get_data(as_text=True)


def test_normal_users_start_no_export(app, client, make, world):
    make.login(client, world["normal"])
    app.config["EXPORT_JOB_ROWS"] = 2
    assert client.post("/companies/export", data={}).status_code == 403
    assert db.session.query(Job).count() == 0


def test_a_selection_exports_as_a_job_its_fully_visible_rows(app, client, make, world):
    w = world
    make.login(client, w["owner"])
    app.config["EXPORT_JOB_ROWS"] = 2
    ids = [str(c.id) for c in (*w["mine"], w["theirs"])]
    resp = client.post("/companies/bulk/export.csv", data={"scope": "ids", "ids": ids})
    assert resp.status_code == 302, resp.status_code
    job_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert sorted(names(client.get(f"/jobs/{job_id}/download").data)) == ["Nordfirma 0", "Nordfirma 1",
                                                                          "Nordfirma 2"]


def test_the_worker_writes_what_the_owner_sees_when_it_runs_outside_any_request(app, client, make, world):
    """The worker has no request, so no safety net: the export's own predicates decide alone."""
    w = world
    make.login(client, w["owner"])
    app.config["EXPORT_JOB_ROWS"] = 100
    streamed = client.get("/companies/export.csv").data
    app.config["EXPORT_JOB_ROWS"] = 2
    job = Job(kind="export", user_id=w["owner"].id, status="queued", total=3, locale="de",
              params={"type": "company", "filter": [], "full_only": False})
    db.session.add(job)
    db.session.commit()
    services.run_job(job.id)
    db.session.expire_all()
    done = db.session.get(Job, job.id)
    assert done.status == "done" and done.file == streamed
    # the owner leaves Nord: a job queued before writes what they see when it runs
    job2 = Job(kind="export", user_id=w["owner"].id, status="queued", total=3, locale="de",
               params={"type": "company", "filter": [], "full_only": False})
    db.session.add(job2)
    w["nord"].members.remove(w["owner"])
    db.session.commit()
    services.run_job(job2.id)
    db.session.expire_all()
    later = db.session.get(Job, job2.id).file
    assert later != streamed and b"@nord.example" not in later
    app.config["EXPORT_JOB_ROWS"] = 100
    assert later == client.get("/companies/export.csv").data


@pytest.mark.parametrize("change", ["left the group", "may no longer export"])
def test_an_export_is_no_longer_downloadable_when_its_owners_access_changed(app, client, make, world, change):
    w = world
    job_id, _streamed = start(app, client, make, w["owner"])
    assert client.get(f"/jobs/{job_id}/download").status_code == 200
    if change == "left the group":
        w["nord"].members.remove(w["owner"])
    else:
        w["owner"].role = "normal"
    db.session.commit()
    assert client.get(f"/jobs/{job_id}/download").status_code == 404
    assert "nicht mehr verfügbar" in client.get(f"/jobs/{job_id}").get_data(as_text=True)
