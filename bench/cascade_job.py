"""Benchmark: the cascade of 10,000 companies as a job, while a colleague keeps saving (issue 16).

    .venv/bin/python bench/cascade_job.py [--companies 10000] [--saves 100] [--pause 0.05]
    .venv/bin/python bench/cascade_job.py --database-url postgresql://…/an_empty_database

The data of ``bench/cascade.py`` (10,000 companies, about 40,000 people, deals and projects in 20
groups, the group system on, an admin in every group), plus a colleague (normal role) in a group
of their own with one company. Then, with Flask's test client for the colleague:

* **idle**: the colleague adds a note to their company (``POST /companies/<id>/notes``, the page
  form) ``--saves`` times: p50 / p95 of the request;
* **assign**: the admin's assignment of the 10,000 companies with their people, deals and
  projects to an empty group is started as the list page starts it
  (:func:`crm.jobs.services.start_assignment`: more than ``BULK_JOB_THRESHOLD`` records make it a
  job) and run by **another process** (``run_job``, what the worker runs), while the colleague
  keeps adding notes, one every ``--pause`` seconds, until the job is done;
* **undo**: the same for the undo of that assignment (:func:`crm.jobs.services.start_undo`).

It prints each job's time from start to done and the colleague's p50 / p95 / max meanwhile, and the
ratio to idle measured in the same run (the steadier figure on a noisy shared machine). The
issue's target for the cascade: done within 3 s; for the colleague: requests keep answering.
This is not a test: it asserts only that both jobs end "done" and that every record moved back.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cascade import build, setup_actor  # noqa: E402  (after the sys.path lines)
from import_load import PASSWORD, colleague_idle, db_url, figures, make_app, run_cli, save_once  # noqa: E402

from crm.extensions import db  # noqa: E402


def setup(companies: int) -> dict:
    """The cascade's data, the colleague with their company, the admin's viewer; plain values."""
    from crm.auth.models import User
    from crm.auth.services import hash_password
    from crm.groups.models import Group, group_members
    from crm.records.models import Company

    build("", companies)
    viewer, target = setup_actor()
    ids = list(db.session.scalars(select(Company.id).order_by(Company.id)))
    team = Group(name="Team")
    colleague = User(email="colleague@bench.example", name="colleague", role="normal",
                     password_hash=hash_password(PASSWORD), active=True)
    db.session.add_all([team, colleague])
    db.session.flush()
    db.session.execute(group_members.insert().values(group_id=team.id, user_id=colleague.id))
    company = Company(name="Kollegen GmbH", group_id=team.id)
    db.session.add(company)
    db.session.commit()
    return {"admin_id": viewer.user_id, "target": target, "ids": ids, "company_id": company.id,
            "colleague": colleague.email}


def start(kind: str, s: dict, entry_id: int | None = None) -> int:
    """The job as the page starts it; its id."""
    from crm.audit.models import AuditEntry
    from crm.auth.models import User
    from crm.jobs import services
    from crm.records.types import TYPES
    from crm.visibility import viewer_for

    viewer = viewer_for(db.session.get(User, s["admin_id"]))
    if kind == "assign":
        job = services.start_assignment(TYPES["company"], viewer, s["target"], ids=s["ids"],
                                        cascade=["people", "deals", "projects"], source="bench")
    else:
        job = services.start_undo(db.session.get(AuditEntry, entry_id), "companies", viewer)
    assert job is not None, "below BULK_JOB_THRESHOLD: not a job"
    db.session.commit()
    return job.id


def run_while_saving(url: str, app, client, job_id: int, company_id: int, pause: float) -> dict:
    """Run the job in a child process; the colleague saves until it ends."""
    state = create_engine(db_url(url))
    t0 = time.perf_counter()
    child = subprocess.Popen([sys.executable, __file__, "--child", url, str(job_id)], stdout=subprocess.PIPE,
                             text=True)
    samples, i = [], 0
    while child.poll() is None:
        samples.append(save_once(client, company_id, 20_000 + i))
        i += 1
        time.sleep(pause)
    out = child.stdout.read()
    assert child.returncode == 0, out
    with state.connect() as conn:
        status, result = conn.execute(text("SELECT status, result FROM jobs WHERE id = :i"), {"i": job_id}).one()
    state.dispose()
    assert status == "done", status
    result = json.loads(result) if isinstance(result, str) else result  # (SQLite: JSON as text)
    return {"seconds": float(out.split("=")[1]), "wall_seconds": time.perf_counter() - t0, "result": result,
            "colleague": figures(samples)}


def measure(url: str, companies: int = 10_000, saves: int = 100, pause: float = 0.05) -> dict:
    app = make_app(url)
    with app.app_context():
        t0 = time.perf_counter()
        s = setup(companies)
        built = time.perf_counter() - t0
        engine = db.engine.dialect.name
        db.session.remove()
    client, samples = colleague_idle(app, s, saves)
    idle = figures(samples)
    with app.app_context():
        job_id = start("assign", s)
        db.session.remove()
    assign = run_while_saving(url, app, client, job_id, s["company_id"], pause)
    with app.app_context():
        undo_id = start("undo", s, assign["result"]["audit_id"])
        db.session.remove()
    undo = run_while_saving(url, app, client, undo_id, s["company_id"], pause)
    with app.app_context():
        db.engine.dispose()
    return {"engine": engine, "companies": companies, "build_seconds": built, "idle": idle, "assign": assign,
            "undo": undo}


def child(url: str, job_id: int) -> None:
    """The worker's part: run the queued job; print how long it took."""
    from crm.jobs import services

    app = make_app(url)
    with app.app_context():
        t0 = time.perf_counter()
        services.run_job.call_local(job_id)
        seconds = time.perf_counter() - t0
    print(f"seconds={seconds:.3f}")


def report(r: dict) -> list[str]:
    idle = r["idle"]
    lines = [f"{r['engine']}, {r['companies']:,} companies (built in {r['build_seconds']:.0f} s)",
             f"colleague's note, idle:          p50 {idle['p50']:.1f} ms  p95 {idle['p95']:.1f} ms  (n={idle['n']})"]
    for name in ("assign", "undo"):
        run = r[name]
        c = run["colleague"]
        moved = run["result"].get("updated") or run["result"].get("restored")
        lines += [
            f"{name:6} job: {run['seconds']:.2f} s in the worker ({run['wall_seconds']:.2f} s start to done); {moved}",
            f"  colleague's note meanwhile:    p50 {c['p50']:.1f} ms  p95 {c['p95']:.1f} ms  max {c['max']:.1f} ms"
            f"  (n={c['n']}; p95 / idle {c['p95'] / idle['p95']:.1f}x)",
        ]
    return lines


def main() -> None:
    run_cli(__doc__, ("--companies", 10_000), measure, report, child)


if __name__ == "__main__":
    main()
