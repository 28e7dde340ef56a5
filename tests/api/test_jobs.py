"""A large group assignment in the API runs as a job: ``202 Accepted`` with ``Location:
/api/v1/jobs/<id>``, and that URL answers its owner and admins only - for anyone else it is the
404 of an id that never existed (issue 16, "Requests answer in time")."""
from __future__ import annotations

from crm.extensions import db
from crm.models import Company, Deal, Person, Project


def test_a_large_assignment_answers_202_and_its_job_url_answers_the_owner(app, api, world):
    w = world
    app.config["BULK_JOB_THRESHOLD"] = 2  # Nordlicht with its person, deal and project: 4 records
    resp = api.post("/companies/assign-group", token=w.tokens.normal,
                    json={"ids": [w.c_nord.id], "group_id": 1, "cascade": ["people", "deals", "projects"]})
    assert resp.status_code == 202, resp.get_json()
    url = resp.headers["Location"]
    job = resp.get_json()["job"]
    assert url.endswith(f"/api/v1/jobs/{job['id']}") and job["kind"] == "assign"
    # (the tests run a job when it is queued: it is done by now)
    got = api.get(url, token=w.tokens.normal)
    assert got.status_code == 200
    body = got.get_json()
    assert (body["status"], body["total"]) == ("done", 4)
    assert body["result"]["updated"] == {"companies": 1, "people": 1, "deals": 1, "projects": 1}
    db.session.expire_all()
    for rec in (w.c_nord, w.p_nord, w.d_nord, w.pr_nord):
        assert db.session.get(type(rec), rec.id).group_id == 1
    # admins see it too; anyone else gets what a made-up id gets
    assert api.get(url, token=w.tokens.admin).status_code == 200
    made_up = api.get(f"/jobs/{job['id'] + 1000}", token=w.tokens.sued)
    for token in (w.tokens.sued, w.tokens.extended):
        other = api.get(url, token=token)
        assert other.status_code == 404 and other.get_json() == made_up.get_json()


def test_a_small_assignment_still_answers_at_once(app, api, world):
    w = world
    resp = api.post("/companies/assign-group", token=w.tokens.normal, json={"ids": [w.c_nord.id], "group_id": 1})
    assert resp.status_code == 200 and resp.get_json()["updated"]["companies"] == 1


def test_what_the_service_refuses_is_refused_before_anything_is_queued(app, api, world):
    """A group not one's own: the same 422 as the small assignment, and no job."""
    from sqlalchemy import func, select

    from crm.jobs.models import Job

    w = world
    app.config["BULK_JOB_THRESHOLD"] = 0
    resp = api.post("/companies/assign-group", token=w.tokens.normal,
                    json={"ids": [w.c_nord.id], "group_id": w.sued.id, "cascade": ["people"]})
    assert resp.status_code == 422 and "group_id" in resp.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0
    db.session.expire_all()
    assert db.session.get(Company, w.c_nord.id).group_id == w.nord.id
    assert {db.session.get(m, r.id).group_id for m, r in ((Person, w.p_nord), (Deal, w.d_nord),
                                                          (Project, w.pr_nord))} == {w.nord.id}
