"""Benchmark: duplicate detection of an import's preview (issue 15, "Imports that know their
duplicates"): a ``--rows`` people import against ``--people`` existing people.

    .venv/bin/python bench/dedupe.py [--rows 20000] [--people 100000] [--database-url postgresql://…/an_empty_database]

A temporary SQLite database (migrated like production; or the EMPTY database ``--database-url``)
gets a data set from ``crm.demo.generate`` (``--people`` people in 10 groups), the group system on
and an importer (extended role, in the group "Import" and Basis: most generated people are hidden
from them). The file: 40 % of the rows carry the e-mail address of an existing person (visible or
hidden), 20 % the first and last name and company of one, 10 % repeat an earlier row, the rest are
new. Timed: the preview's duplicate count (``crm.imports.services.duplicates``) alone, and the
preview request as the mapping page sends it (``POST /import/<id>/preview``, htmx). The issue's
target: the preview within 10 s. This is not a test: it prints numbers.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from import_load import PASSWORD, make_app  # noqa: E402  (bench/ is on the path when run as a script)

from crm.extensions import db  # noqa: E402

TARGET_SECONDS = 10
MAPPING = {0: "first_name", 1: "last_name", 2: "emails", 3: "company"}


def csv_of(rows: int, emails: list[tuple], names: list[tuple]) -> bytes:
    lines = ["Vorname;Nachname;E-Mail;Firma"]
    for i in range(rows):
        part = i % 10
        if part < 4 and emails:
            first, last, email = emails[i % len(emails)]
            lines.append(f"{first};{last};{email.upper()};")
        elif part < 6 and names:
            first, last, company = names[i % len(names)]
            lines.append(f"{first};{last};;{company or ''}")
        elif part == 6 and i > 10:
            lines.append(lines[-5])
        else:
            lines.append(f"Neu{i};Import{i};neu{i}@import.example;")
    return ("\n".join(lines) + "\n").encode()


def setup(rows: int, people: int) -> dict:
    from flask_migrate import upgrade

    from crm.auth.models import User
    from crm.auth.services import hash_password
    from crm.demo.generate import Counts, timed
    from crm.groups.models import Group, group_members
    from crm.imports import services
    from crm.records.models import Company, ContactDetail, Person
    from crm.settings.models import ACCOUNT_ID, Account

    upgrade(directory=str(ROOT / "migrations"))
    t0 = time.perf_counter()
    timed(Counts(companies=people // 5, people=people, deals=0, projects=0, groups=10, users=10, notes=0,
                 tags=10), seed=7)
    generated = time.perf_counter() - t0
    db.session.get(Account, ACCOUNT_ID).groups_enabled = True
    group = Group(name="Import")
    db.session.add(group)
    importer = User(email="importer@bench.example", name="importer", role="extended",
                    password_hash=hash_password(PASSWORD), active=True)
    db.session.add(importer)
    db.session.flush()
    db.session.execute(insert(group_members), [{"group_id": group.id, "user_id": importer.id}])
    db.session.commit()
    emails = list(db.session.execute(
        select(Person.first_name, Person.last_name, ContactDetail.value)
        .join(ContactDetail, ContactDetail.person_id == Person.id).where(ContactDetail.kind == "email")
        .order_by(Person.id).limit(rows)))
    names = list(db.session.execute(
        select(Person.first_name, Person.last_name, Company.name).outerjoin(Company, Company.id == Person.company_id)
        .order_by(Person.id.desc()).limit(rows)))
    job = services.create_job(importer, "person", "leute.csv", csv_of(rows, emails, names))
    db.session.commit()
    return {"job_id": job.id, "importer": importer.id, "email": importer.email, "generate_seconds": generated}


def measure(url: str, rows: int, people: int, analyze: bool = False) -> dict:
    from crm.auth.models import User
    from crm.imports import services
    from crm.imports.models import ImportJob
    from crm.visibility import viewer_for

    app = make_app(url)
    app.config["IMPORT_MAX_ROWS"] = max(rows, 20_000)
    with app.app_context():
        s = setup(rows, people)
        engine = db.engine.dialect.name
        if analyze:  # the planner's statistics (SQLite has none until ANALYZE; PostgreSQL's autovacuum)
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        job = db.session.get(ImportJob, s["job_id"])
        viewer = viewer_for(db.session.get(User, s["importer"]))
        t0 = time.perf_counter()
        counts = services.duplicates(job, viewer, MAPPING, "update")
        service = time.perf_counter() - t0
        db.session.remove()
    client = app.test_client()
    assert client.post("/login", data={"email": s["email"], "password": PASSWORD}).status_code == 302
    form = {f"col-{i}": t for i, t in MAPPING.items()} | {"on_duplicate": "update"}
    t0 = time.perf_counter()
    resp = client.post(f"/import/{s['job_id']}/preview", data=form,
                       headers={"HX-Request": "true", "HX-Target": "import-preview"})
    page = time.perf_counter() - t0
    assert resp.status_code == 200, resp.status_code
    with app.app_context():
        db.engine.dispose()
    return {"engine": engine, "rows": rows, "people": people, "generate_seconds": s["generate_seconds"],
            "service_seconds": service, "analyze": analyze, "preview_seconds": page, "counts": counts,
            "target_s": TARGET_SECONDS}


def report(r: dict) -> str:
    c = r["counts"]
    return (f"duplicates of a {r['rows']:,}-row people import against {r['people']:,} people on {r['engine']}: "
            f"count {r['service_seconds']:.2f} s, preview request {r['preview_seconds']:.2f} s "
            f"(target {r['target_s']} s); new {c['new']:,}, existing {c['existing']:,}, "
            f"repeated {c['repeated']:,}; data generated in {r['generate_seconds']:.0f} s"
            + ("; after ANALYZE" if r.get("analyze") else ""))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--database-url", help="an EMPTY PostgreSQL database (default: a temporary SQLite file)")
    parser.add_argument("--analyze", action="store_true", help="run ANALYZE after building the data")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/dedupe.db"
        result = measure(url, args.rows, args.people, args.analyze)
    print(report(result))
    return result


if __name__ == "__main__":
    main()
