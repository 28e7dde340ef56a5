"""The job queue with a real worker process (``flask --app app worker``) on both backends: the
SQLite file (the default, no server) and Redis (``REDIS_URL``; skipped when it is not set - CI
sets it, .ci/run). kill -9 of the worker in the middle of an import's save and in the middle of a
group assignment's transaction: nothing is applied, and the job is taken up once more by the
next worker and then done completely - all or nothing, never half.

To kill at a known point, the worker of those tests is the real command with one service
wrapped: once half the work is done (an import: half its rows saved in batches, pending; an
assignment: inside its transaction), it writes a flag file and sleeps, so the test kills it there.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from crm import create_app
from crm.common import utcnow
from crm.extensions import db
from crm.imports import services as imports
from crm.imports.models import ImportJob
from crm.jobs import services as jobs
from crm.jobs.models import Job
from crm.models import Company
from tests.conftest import TEST_CONFIG

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("REDIS_URL", "")
BACKENDS = [
    "sqlite",
    pytest.param("redis", marks=pytest.mark.skipif(
        not REDIS_URL, reason="REDIS_URL is not set: the Redis backend is tested in CI (.ci/run starts one)")),
]

#: the worker of the kill tests: the real command, with a pause in the middle of the work
PAUSING_WORKER = """
import sys, time
from pathlib import Path
flag, pause_at = Path(sys.argv[1]), int(sys.argv[2])
import crm.imports.services as imports
import crm.jobs.services as jobs

real_create, real_assign, rows = imports.create_records, jobs.assign_service, []

def create_records(rtype, batch, *args, **kwargs):
    rows.extend(batch)
    if len(rows) >= pause_at:  # half the file is saved (pending), the next batch being written
        flag.write_text("saving")
        time.sleep(600)
    return real_create(rtype, batch, *args, **kwargs)

def assign_service(*args, **kwargs):
    result = real_assign(*args, **kwargs)  # every record moved, not committed
    flag.write_text("assigned")
    time.sleep(600)
    return result

imports.create_records, jobs.assign_service = create_records, assign_service
from flask.cli import main
sys.argv = ["flask", "--app", "app", "worker", "--workers", "1"]
main()
"""


@pytest.fixture(params=BACKENDS)
def queue(request, app, database_url, tmp_path):
    """The test's app with a real queue (not immediate): a fresh queue name on Redis, a fresh file
    on SQLite. ``queue.worker()`` starts a worker process on it."""
    name = f"kontor-test-{uuid.uuid4().hex[:12]}"
    config = {"JOBS_IMMEDIATE": False, "JOBS_QUEUE_NAME": name, "JOBS_STALE_SECONDS": 1}
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": TEST_CONFIG["SECRET_KEY"],
           "KONTOR_QUEUE_NAME": name, "KONTOR_JOBS_IMMEDIATE": "0", "PYTHONUNBUFFERED": "1"}
    if request.param == "redis":
        config["REDIS_URL"] = env["REDIS_URL"] = REDIS_URL
    else:
        config["REDIS_URL"] = ""
        config["JOBS_SQLITE_PATH"] = env["KONTOR_QUEUE_FILE"] = str(tmp_path / "jobs.sqlite3")
        env.pop("REDIS_URL", None)
    qapp = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, **config})
    procs: list[subprocess.Popen] = []

    class Queue:
        app = qapp
        backend = request.param

        def worker(self, pause_at: int | None = None, flag: Path | None = None) -> subprocess.Popen:
            if pause_at is None:
                cmd = [sys.executable, "-m", "flask", "--app", "app", "worker", "--workers", "1"]
            else:
                cmd = [sys.executable, "-c", PAUSING_WORKER, str(flag), str(pause_at)]
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    text=True)
            procs.append(proc)
            return proc

    with qapp.app_context():
        yield Queue()
        db.session.remove()
        db.engine.dispose()
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr:
            proc.stderr.close()
    if request.param == "redis":
        from huey import RedisHuey

        RedisHuey(name, url=REDIS_URL).storage.flush_all()


def wait_for(check, what: str, timeout: float = 120.0, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        db.session.rollback()
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the worker ended ({proc.returncode}) before {what}: {proc.stderr.read()[-3000:]}")
        time.sleep(0.2)
    pytest.fail(f"no {what} within {timeout:.0f} s")


@pytest.fixture
def owner(make):
    make.enable_groups()
    user = make.user("extended")
    nord = make.group("Nord", [user])
    db.session.commit()
    return user, nord


def queued_import(user, group, rows: int) -> ImportJob:
    from crm.visibility import viewer_for

    text = "Name\n" + "".join(f"Import {i:05d}\n" for i in range(rows))
    job = imports.create_job(user, "company", "x.csv", text.encode())
    assert imports.configure(job, viewer_for(user), {0: "name"}, group.id) == []
    db.session.commit()
    return job


def imported() -> int:
    """The imported companies that exist (not pending for a running import)."""
    return db.session.scalar(select(func.count()).select_from(Company).where(
        Company.name.like("Import %"), Company.pending_import_id.is_(None)))


def written() -> int:
    """The imported companies in the table, pending ones included."""
    return db.session.scalar(select(func.count()).select_from(Company).where(Company.name.like("Import %")))


def import_status(job_id: int) -> str:
    return db.session.scalar(select(ImportJob.status).where(ImportJob.id == job_id))


def test_a_worker_runs_an_import_from_the_queue(queue, owner):
    user, nord = owner
    job = queued_import(user, nord, 450)
    with queue.app.test_request_context():
        imports.start(job)  # 450 rows: onto the queue
    assert import_status(job.id) == "queued"  # nobody runs it yet
    worker = queue.worker()
    wait_for(lambda: import_status(job.id) == "done", "import done", proc=worker)
    assert imported() == 450


def test_a_worker_killed_in_the_middle_of_an_import_leaves_nothing_and_the_next_one_imports_it(
        queue, owner, tmp_path):
    user, nord = owner
    rows = 600
    job = queued_import(user, nord, rows)
    imports.run_import(job.id)
    flag = tmp_path / "flag"
    worker = queue.worker(pause_at=rows // 2, flag=flag)
    wait_for(flag.exists, "half the rows saved", proc=worker)
    assert import_status(job.id) == "saving"
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert imported() == 0 < written()  # its batches so far are pending: they exist for no one
    time.sleep(1.2)  # (JOBS_STALE_SECONDS = 1: its heartbeat is stale now)
    assert imports.reap_stale() == {"retried": 1, "failed": 0}
    assert import_status(job.id) == "queued"
    nxt = queue.worker()
    wait_for(lambda: import_status(job.id) == "done", "import done by the next worker", proc=nxt)
    assert imported() == written() == rows  # each row once: the dead run's pending rows went first
    assert db.session.scalar(select(ImportJob.attempts).where(ImportJob.id == job.id)) == 2


def test_an_import_killed_twice_is_failed_with_nothing_imported(queue, owner, tmp_path):
    user, nord = owner
    job = queued_import(user, nord, 400)
    db.session.execute(update(ImportJob).where(ImportJob.id == job.id).values(attempts=1))
    db.session.commit()
    imports.run_import(job.id)
    flag = tmp_path / "flag"
    worker = queue.worker(pause_at=200, flag=flag)
    wait_for(flag.exists, "half the rows saved", proc=worker)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    time.sleep(1.2)
    assert imports.reap_stale() == {"retried": 0, "failed": 1}
    assert (import_status(job.id), imported(), written()) == ("failed", 0, 0)


def test_a_worker_killed_in_the_middle_of_a_group_assignment_changes_nothing_and_the_next_one_does_it(
        queue, owner, make, tmp_path):
    user, nord = owner
    sued = make.group("Süd", [user])
    companies = [make.company(f"Firma {i}", group=nord) for i in range(30)]
    db.session.commit()
    job = Job(kind="assign", user_id=user.id, status="queued", total=30, params={
        "type": "company", "ids": [c.id for c in companies], "group_id": sued.id, "cascade": [],
        "source": "list"})
    db.session.add(job)
    db.session.commit()
    jobs.run_job(job.id)
    flag = tmp_path / "flag"
    worker = queue.worker(pause_at=0, flag=flag)
    wait_for(flag.exists, "every record moved (not committed)", proc=worker)
    worker.send_signal(signal.SIGKILL)
    worker.wait()

    def groups():
        return set(db.session.scalars(select(Company.group_id).where(Company.id.in_([c.id for c in companies]))))

    assert groups() == {nord.id}
    time.sleep(1.2)
    assert jobs.reap_stale_jobs() == {"retried": 1, "failed": 0}
    nxt = queue.worker()
    wait_for(lambda: db.session.scalar(select(Job.status).where(Job.id == job.id)) == "done",
             "assignment done by the next worker", proc=nxt)
    assert groups() == {sued.id}
    done = db.session.get(Job, job.id)
    assert (done.attempts, done.result["updated"]) == (2, {"companies": 30})
    assert done.heartbeat_at <= utcnow()
