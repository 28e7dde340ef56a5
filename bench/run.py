"""Kontor benchmark (issue 8): every main page under the group system, at 10k, 100k and 1M people.

    make bench                                   # = .venv/bin/python bench/run.py
    .venv/bin/python bench/run.py --database-url postgresql://kontor:kontor@127.0.0.1/kontor_bench
    .venv/bin/python bench/run.py --smoke        # tiny run, a few seconds (CI)

For every size, the data goes through ``crm.demo.generate`` (what ``flask demo generate`` runs) into
a temporary, migrated database: SQLite always, PostgreSQL too when ``--database-url`` names a server
(the script creates and drops its own databases ``<name>_bench_<size>`` there). Then, in-process with
Flask's test client, for one **normal user who is a member of one group** (and so sees a small
part of the data) and for **the same user with the group extension switched off** (everything):

* the four lists: first page, a deep page, sorted by last change, text filter, group filter, tag filter;
* the four detail pages; search; the home page; the task list; the API list (when the API is there);
* p50 / p95 server time over ``--rounds`` requests each, on and off interleaved round by round;
* SQL statements per request (a ``before_cursor_execute`` counter), and the lists again at page size
  10 to show the count does not grow with the page;

plus ``demo generate`` throughput, the cascade of 10,000 companies (``bench/cascade.py``), a
colleague's save (p50 / p95) while a 20,000-row CSV import runs in another process, next to the same
save with no import, and the import's time (``bench/import_load.py``), and requests per second under
gunicorn with a small threaded load generator on loopback.
It writes ``bench/RESULTS.md`` (and the raw figures to ``bench/results.json``).
The machine is shared and noisy: the ratios (on/off, 10k → 1M) are measured in the same run.
"""
from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlencode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from sqlalchemy import create_engine, event, func, select, text, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
SMOKE_SIZES = {"tiny": 300}
SEED = 7
PASSWORD = "demo1234"
TARGETS = {"p50_ms": 30, "p95_ms": 60, "on_off": 1.1, "scale": 1.5, "statements": 10,
           "generate_rps": 20_000, "cascade_s": 3.0, "import_save_p95_ms": 100}


# -- data -----------------------------------------------------------------------------------------

def counts_for(people: int):
    """Companies, deals, projects, notes and tasks in proportion to the people; 20-200 groups and
    50-500 users growing with the data. Records spread evenly over the groups (1 % stays in Basis),
    so a member of one group sees a small part."""
    from crm.demo.generate import Counts

    if people <= 1000:
        groups, users = 5, 8
    elif people <= 10_000:
        groups, users = 20, 50
    elif people <= 100_000:
        groups, users = 100, 200
    else:
        groups, users = 200, 500
    return Counts(companies=people // 5, people=people, deals=people * 3 // 10, projects=people // 10,
                  groups=groups, users=users, notes=people, tasks=people // 20, tags=30, basis_share=0.01)


def make_app(url: str):
    from crm import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})


def pg_database(base_url: str, name: str, *, drop_only: bool = False) -> str:
    """(Re)create the database ``name`` on the server of ``base_url``; return its URL."""
    url = make_url(base_url.replace("postgres://", "postgresql://", 1))
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if not drop_only:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def build(url: str, people: int) -> dict:
    """Migrate, generate, commit: returns the generator's counts and its throughput."""
    from flask_migrate import upgrade

    from crm.demo.generate import timed, total_rows
    from crm.extensions import db

    counts = counts_for(people)
    app = make_app(url)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        c0 = time.process_time()
        done, seconds = timed(counts, seed=SEED)
        cpu = time.process_time() - c0
        rows = total_rows(counts)
        records = counts.companies + counts.people + counts.deals + counts.projects
        db.session.remove()
        db.engine.dispose()
    return {"counts": asdict(counts), "done": done, "seconds": seconds, "rows": rows, "cpu_seconds": cpu,
            "rows_per_s": rows / seconds, "rows_per_cpu_s": rows / cpu, "records": records,
            "records_per_s": records / seconds}


# -- the scenario ---------------------------------------------------------------------------------

@dataclass
class Scenario:
    user_id: int
    email: str
    group_id: int
    group_share: float  # part of the people the user sees with the extension on
    ids: dict[str, int]
    deep_page: int
    tag: str
    term: str
    token: str | None = None
    pages: list[tuple[str, str]] = field(default_factory=list)


def set_extension(on: bool) -> None:
    from crm.extensions import db
    from crm.settings.models import ACCOUNT_ID, Account

    db.session.execute(update(Account).where(Account.id == ACCOUNT_ID).values(groups_enabled=on))
    db.session.commit()


def scenario(app) -> Scenario:
    """The measured user (normal role, member of exactly one group), records of that group for the
    detail pages, and the list of pages."""
    from crm.auth.models import User
    from crm.auth.services import issue_token
    from crm.extensions import db
    from crm.groups.models import BASIS_ID, group_members
    from crm.records.models import Company, Deal, Person, Project

    with app.app_context():
        user = db.session.scalar(select(User).where(User.role == "normal").order_by(User.id))
        gid = db.session.scalar(select(func.min(group_members.c.group_id)).where(group_members.c.user_id == user.id))
        # a member of exactly one group (besides Basis)
        db.session.execute(group_members.delete().where(group_members.c.user_id == user.id,
                                                        group_members.c.group_id != gid))
        db.session.commit()
        groups = (BASIS_ID, gid)
        company = db.session.scalar(
            select(Person.company_id).where(Person.group_id == gid, Person.company_id.is_not(None))
            .group_by(Person.company_id).order_by(func.count().desc(), Person.company_id).limit(1))
        ids = {"company": company}
        for key, model in (("person", Person), ("deal", Deal), ("project", Project)):
            ids[key] = db.session.scalar(select(model.id).where(model.group_id == gid)
                                         .order_by(model.company_id.is_(None), model.id).limit(1))
        visible = db.session.scalar(select(func.count()).select_from(Person).where(Person.group_id.in_(groups)))
        total = db.session.scalar(select(func.count()).select_from(Person)) or 1
        per_page = app.config["PAGE_SIZE"]
        deep = max(2, min(100, math.ceil(visible / per_page)))
        token = issue_token(user) if "api.record_list" in app.view_functions or _has_api_list(app) else None
        sc = Scenario(user.id, user.email, gid, visible / total, ids, deep, "Tag 0001", "Becker", token)
        db.session.remove()
        _ = Company
    sc.pages = pages_for(sc)
    return sc


def _has_api_list(app) -> bool:
    return any(str(rule).startswith("/api/v1/") and "GET" in (rule.methods or ())
               and ("people" in str(rule) or "<plural>" in str(rule) or "<collection>" in str(rule))
               for rule in app.url_map.iter_rules())


def pages_for(sc: Scenario) -> list[tuple[str, str]]:
    pages = [("home", "/"), ("tasks", "/tasks"), ("search", f"/search?q={quote(sc.term)}")]
    texts = {"companies": "Hanse", "people": sc.term, "deals": "Wartung", "projects": "Umbau"}
    for plural in ("companies", "people", "deals", "projects"):
        pages += [
            (f"{plural} first", f"/{plural}"),
            (f"{plural} page {sc.deep_page}", f"/{plural}?page={sc.deep_page}"),
            (f"{plural} sorted", f"/{plural}?sort=updated&dir=desc"),
            (f"{plural} text", f"/{plural}?{urlencode({'q': texts[plural]})}"),
            (f"{plural} group", f"/{plural}?group_id={sc.group_id}"),
            (f"{plural} tag", f"/{plural}?{urlencode({'tag': sc.tag})}"),
        ]
    for key, plural in (("company", "companies"), ("person", "people"), ("deal", "deals"), ("project", "projects")):
        pages.append((f"{key} detail", f"/{plural}/{sc.ids[key]}"))
    if sc.token:
        pages.append(("api people", "/api/v1/people"))
        pages.append((f"api people page {sc.deep_page}", f"/api/v1/people?page={sc.deep_page}"))
    return pages


# -- in-process measurement -----------------------------------------------------------------------

class StatementCounter:
    def __init__(self, engine) -> None:
        self.n = 0
        self.statements: list[str] = []
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.n += 1
        self.statements.append(statement)

    def reset(self) -> None:
        self.n = 0
        self.statements = []


def percentile(samples: list[float], q: float) -> float:
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


def login(client, email: str) -> None:
    resp = client.post("/login", data={"email": email, "password": PASSWORD})
    if resp.status_code != 302:
        raise RuntimeError(f"login failed: {resp.status_code}")


def measure_pages(app, sc: Scenario, rounds: int) -> dict:
    """p50/p95 and statements for every page, extension on and off interleaved per round."""
    from crm.extensions import db

    client = app.test_client()
    headers = {"Authorization": f"Bearer {sc.token}"} if sc.token else {}
    samples: dict[str, dict[str, list[float]]] = {name: {"on": [], "off": []} for name, _ in sc.pages}
    stmts: dict[str, dict[str, list[int]]] = {name: {"on": [], "off": []} for name, _ in sc.pages}
    cpus: dict[str, dict[str, list[float]]] = {name: {"on": [], "off": []} for name, _ in sc.pages}
    errors: list[str] = []
    with app.app_context():  # never around a request: each request gets its own context, g and session
        engine = db.engine
    counter = StatementCounter(engine)

    def switch(on: bool) -> None:
        with app.app_context():
            set_extension(on)
            db.session.remove()

    login(client, sc.email)
    for r in range(rounds + 1):  # round 0 warms the caches and is not counted
        for mode in (("on", "off") if r % 2 else ("off", "on")):
            switch(mode == "on")
            for name, url in sc.pages:
                counter.reset()
                c0 = time.thread_time()
                t0 = time.perf_counter()
                resp = client.get(url, headers=headers if url.startswith("/api/") else {})
                dt = time.perf_counter() - t0
                cpu = time.thread_time() - c0
                if resp.status_code != 200:
                    errors.append(f"{mode} {url}: {resp.status_code}")
                if r:
                    samples[name][mode].append(dt)
                    cpus[name][mode].append(cpu)
                    stmts[name][mode].append(counter.n)
    # statements per page do not grow with the page size (no N+1)
    per_size = {}
    switch(True)
    for name, url in sc.pages:
        if " first" not in name and " tag" not in name and name not in ("tasks", "home"):
            continue
        got = []
        for size in (10, 50):
            app.config["PAGE_SIZE"] = size
            counter.reset()
            client.get(url)
            got.append(counter.n)
        per_size[name] = got
    app.config["PAGE_SIZE"] = 50
    event.remove(engine, "before_cursor_execute", counter._count)
    out = {}
    for name, _ in sc.pages:
        row = {}
        for mode in ("on", "off"):
            xs = samples[name][mode]
            row[mode] = {"p50": statistics.median(xs) * 1000, "p95": percentile(xs, 95) * 1000,
                         "cpu": statistics.median(cpus[name][mode]) * 1000, "min": min(xs) * 1000,
                         "stmts": max(stmts[name][mode]), "stmts_min": min(stmts[name][mode]), "n": len(xs)}
        out[name] = row
    return {"pages": out, "per_page_size": per_size, "errors": sorted(set(errors))}


def query_plans(app, sc: Scenario) -> list[tuple[str, str]]:
    """The plan of the group-filtered list query (the heart of the issue), as the database tells it."""
    from crm.extensions import db
    from crm.records.queries import ListFilter, list_select
    from crm.records.types import TYPES
    from crm.visibility import viewer_for

    plans = []
    with app.app_context():
        from crm.auth.models import User

        user = db.session.get(User, sc.user_id)
        for on in (True, False):
            set_extension(on)
            viewer = viewer_for(user)
            stmt = list_select(TYPES["person"], viewer, ListFilter()).limit(50)
            sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
            prefix = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
            rows = db.session.execute(text(prefix + sql)).all()
            plan = "\n".join(str(r[-1]) for r in rows)
            plans.append(("on" if on else "off", plan))
        db.session.remove()
    return plans


# -- gunicorn and a load generator ----------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Http:
    """One keep-alive-if-possible connection with a cookie."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookie = ""
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read().decode("utf-8", "replace")
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise
        cookie = resp.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        if resp.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return resp.status, data


def wait_until_listening(port: int, tries: int = 200) -> None:
    """Until something accepts connections on ``port`` (a gunicorn loading the app), or 20 s."""
    for _ in range(tries):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)


def logged_in(port: int, email: str) -> Http:
    """A connection to the Kontor on ``port`` logged in as ``email`` (the demo password)."""
    c = Http(port)
    _status, page = c.request("GET", "/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    body = urlencode({"email": email, "password": PASSWORD, "csrf_token": token.group(1) if token else ""})
    status, _ = c.request("POST", "/login", body)
    if status != 302:
        raise RuntimeError(f"gunicorn login failed: {status}")
    return c


def load_test(url: str, sc: Scenario, seconds: float, concurrency: int, workers: int) -> dict:
    """Requests per second of a page mix under gunicorn (``workers`` sync workers) on loopback."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-load"}
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--log-level", "warning", "app:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        wait_until_listening(port)
        mix = [u for n, u in sc.pages if n.endswith((" first", "detail")) or n in ("home",)]
        clients = [logged_in(port, sc.email) for _ in range(concurrency)]
        for c in clients:  # warm each worker's caches
            c.request("GET", mix[0])
        latencies: list[float] = []
        failures = [0]
        lock = threading.Lock()
        stop = time.perf_counter() + seconds

        def worker(c: Http, offset: int) -> None:
            i = offset
            mine = []
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                status, _ = c.request("GET", mix[i % len(mix)])
                mine.append(time.perf_counter() - t0)
                if status != 200:
                    with lock:
                        failures[0] += 1
                i += 1
            with lock:
                latencies.extend(mine)

        t0 = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(c, i)) for i, c in enumerate(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return {"requests": len(latencies), "seconds": elapsed, "rps": len(latencies) / elapsed,
            "p50_ms": statistics.median(latencies) * 1000 if latencies else 0,
            "p95_ms": percentile(latencies, 95) * 1000 if latencies else 0,
            "failures": failures[0], "concurrency": concurrency, "workers": workers, "pages": len(mix)}


# -- the machine ----------------------------------------------------------------------------------

def machine(pg_url: str | None) -> dict:
    import sqlite3

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines()
                   if x.startswith("MemTotal"))
        ram = f"{mem / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        ram = "?"
    info = {"cpu": cpu, "cores": os.cpu_count(), "ram": ram, "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "os": platform.platform(),
            "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg())}
    try:
        info["commit"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                        capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        info["commit"] = "?"
    if pg_url:
        engine = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1)
                               if pg_url.startswith("postgresql://") else pg_url)
        with engine.connect() as conn:
            info["postgresql"] = conn.scalar(text("show server_version"))
        engine.dispose()
    return info


# -- the run --------------------------------------------------------------------------------------

def run_engine(engine: str, sizes: dict[str, int], tmp: Path, args) -> dict:
    out: dict = {"sizes": {}}
    for label, people in sizes.items():
        print(f"[{engine} {label}] generating {people:,} people …", flush=True)
        kept = Path(args.data_dir) / f"bench-{label}.sqlite3" if args.data_dir else None
        if engine == "sqlite":
            path = kept or tmp / f"bench-{label}.sqlite3"
            url = f"sqlite:///{path}"
        else:
            url = pg_database(args.database_url, f"{make_url(args.database_url).database}_bench_{label}")
        if kept and engine == "sqlite" and kept.exists() and kept.with_suffix(".json").exists():
            gen = json.loads(kept.with_suffix(".json").read_text())  # reused: generated by an earlier run
            gen["reused"] = True
        else:
            gen = build(url, people)
            if kept and engine == "sqlite":
                kept.with_suffix(".json").write_text(json.dumps(gen))
        print(f"[{engine} {label}] {gen['rows']:,} rows in {gen['seconds']:.1f} s "
              f"({gen['rows_per_s']:,.0f} rows/s); measuring pages …", flush=True)
        app = make_app(url)
        sc = scenario(app)
        pages = measure_pages(app, sc, args.rounds)
        res = {"people": people, "generate": gen, "scenario": {k: v for k, v in asdict(sc).items() if k != "token"},
               **pages}
        if label == args.plans_at or args.smoke:
            res["plans"] = query_plans(app, sc)
        if not args.no_load and (label == args.load_at or args.smoke):
            print(f"[{engine} {label}] load test under gunicorn …", flush=True)
            with app.app_context():
                set_extension(True)
            res["load"] = load_test(url, sc, args.load_seconds, args.concurrency, args.workers)
        from crm.extensions import db

        with app.app_context():
            db.engine.dispose()
        out["sizes"][label] = res
        worst = max(res["pages"].items(), key=lambda kv: kv[1]["on"]["p50"])
        print(f"[{engine} {label}] slowest: {worst[0]} {worst[1]['on']['p50']:.1f} ms; "
              f"errors: {res['errors'] or 'none'}", flush=True)
        if engine == "sqlite":
            if not kept:
                (tmp / f"bench-{label}.sqlite3").unlink(missing_ok=True)
        elif not args.keep:
            pg_database(args.database_url, make_url(url).database, drop_only=True)
    if not args.no_cascade:
        print(f"[{engine}] cascade of {args.cascade_companies:,} companies …", flush=True)
        from cascade import measure

        if engine == "sqlite":
            url = f"sqlite:///{tmp / 'cascade.sqlite3'}"
        else:
            url = pg_database(args.database_url, f"{make_url(args.database_url).database}_bench_cascade")
        out["cascade"] = measure(url, args.cascade_companies, args.cascade_repeat)
        if engine != "sqlite":
            pg_database(args.database_url, make_url(url).database, drop_only=True)
    if not args.no_import:
        print(f"[{engine}] a colleague's saves during an import of {args.import_rows:,} people …", flush=True)
        from import_load import measure as measure_import

        if engine == "sqlite":
            url = f"sqlite:///{tmp / 'import.sqlite3'}"
        else:
            url = pg_database(args.database_url, f"{make_url(args.database_url).database}_bench_import")
        out["import"] = measure_import(url, args.import_rows, args.import_saves, base=args.import_base)
        if engine != "sqlite":
            pg_database(args.database_url, make_url(url).database, drop_only=True)
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k,100k,1m", help="comma-separated: " + ", ".join(SIZES))
    parser.add_argument("--pg-sizes", default=None, help="sizes on PostgreSQL (default: as --sizes)")
    parser.add_argument("--database-url", help="a PostgreSQL server to measure on as well")
    parser.add_argument("--rounds", type=int, default=15, help="requests per page and mode")
    parser.add_argument("--load-at", default="100k", help="size for the gunicorn load test")
    parser.add_argument("--plans-at", default="100k", help="size whose query plans go into the results")
    parser.add_argument("--load-seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cascade-companies", type=int, default=10_000)
    parser.add_argument("--cascade-repeat", type=int, default=3)
    parser.add_argument("--import-rows", type=int, default=20_000, help="people in the import (bench/import_load.py)")
    parser.add_argument("--import-saves", type=int, default=100, help="a colleague's saves measured idle")
    parser.add_argument("--import-base", type=int, default=5000, help="people in the database before the import")
    parser.add_argument("--no-import", action="store_true")
    parser.add_argument("--no-load", action="store_true")
    parser.add_argument("--no-cascade", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL databases")
    parser.add_argument("--data-dir", help="keep the generated SQLite databases here and reuse them in the next "
                                           "run (the generate figures are then those of the first run)")
    parser.add_argument("--smoke", action="store_true", help="tiny data, 2 rounds, short load test")
    parser.add_argument("--out", default=None, help="where to write the Markdown (default bench/RESULTS.md; "
                                                     "a smoke run writes to a temporary file)")
    args = parser.parse_args(argv)
    if args.smoke:
        sizes = dict(SMOKE_SIZES)
        args.rounds = min(args.rounds, 1)
        args.load_seconds = min(args.load_seconds, 1)
        args.cascade_companies = min(args.cascade_companies, 200)
        args.cascade_repeat = 1
        args.import_rows, args.import_saves, args.import_base = min(args.import_rows, 120), 5, 200
    else:
        sizes = {s: SIZES[s] for s in args.sizes.split(",") if s}
    pg_sizes = sizes if args.pg_sizes is None or args.smoke else {s: SIZES[s] for s in args.pg_sizes.split(",") if s}
    command = "python bench/run.py " + " ".join(a if "://" not in a else "<postgresql url>"
                                                 for a in (argv if argv is not None else sys.argv[1:]))
    started = time.time()
    results: dict = {"command": command.strip(), "started": datetime.now().isoformat(timespec="seconds"),
                     "machine": machine(args.database_url), "engines": {}}
    with tempfile.TemporaryDirectory(prefix="kontor-bench-") as tmp:
        results["engines"]["sqlite"] = run_engine("sqlite", sizes, Path(tmp), args)
        if args.database_url:
            results["engines"]["postgresql"] = run_engine("postgresql", pg_sizes, Path(tmp), args)
    results["machine"]["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results["seconds"] = time.time() - started
    out = Path(args.out) if args.out else (Path(tempfile.gettempdir()) / "kontor-bench-smoke.md" if args.smoke
                                           else HERE / "RESULTS.md")
    from report import render

    out.write_text(render(results, TARGETS))
    out.with_suffix(".json").write_text(json.dumps(results, indent=1, default=str))
    print(f"wrote {out} in {results['seconds']:.0f} s")
    return results


if __name__ == "__main__":
    main()
