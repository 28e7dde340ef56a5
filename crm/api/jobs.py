"""Jobs in the API: ``GET /jobs/<id>``, where a ``202 Accepted`` points (``Location``).

A large group assignment (more than ``BULK_JOB_THRESHOLD`` records, cascade included) answers
``202`` with the job; the client polls its URL until ``status`` is ``done`` (``result`` holds
what the synchronous call would have answered), ``failed`` or ``cancelled``. Only the job's owner
and admins see it: for anyone else it is 404, the same answer as for an id that never existed.
"""
from __future__ import annotations

from flask import g, jsonify, url_for

from ..errors import NotFound
from ..jobs.models import Job
from ..jobs.schemas import JobOut
from ..jobs.services import find_job, shows_numbers
from .base import ID as ID_RULE
from .base import bp
from .serialize import timestamp


def job_json(job: Job) -> dict:
    """The job as the API shows it; someone else's export (an admin's view) without its counts
    and message (:func:`crm.jobs.services.shows_numbers`)."""
    numbers = shows_numbers(job, g.viewer)
    return JobOut(
        id=job.id, kind=job.kind, status=job.status, progress=job.progress if numbers else 0,
        total=job.total if numbers else 0, message=(job.message or "") if numbers else "",
        result=(job.result or {}) if numbers else {}, created_at=timestamp(job.created_at),
        finished_at=timestamp(job.finished_at),
    ).model_dump(mode="json")


def accepted(job: Job):
    """``202 Accepted`` with the job and its URL."""
    resp = jsonify(job=job_json(job))
    resp.status_code = 202
    resp.headers["Location"] = url_for("api.jobs_get", job_id=job.id)
    return resp


@bp.get(f"/jobs/<{ID_RULE}:job_id>", endpoint="jobs_get")
def get(job_id: int):
    job = find_job(job_id, g.viewer)
    if job is None:
        raise NotFound()
    return jsonify(job_json(job))
