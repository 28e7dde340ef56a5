"""A gunicorn worker's slowest requests with and without ``gc.freeze`` after it loaded Kontor
(gunicorn.conf.py's ``post_worker_init``), in turn, on one database.

    .venv/bin/python bench/worker_tail.py --database-url sqlite:////path/to/bench-1m.sqlite3 \
        [--email user00002@generated.example] [--requests 600] [--rounds 2]

A database a benchmark left (``bench/run.py --data-dir``, ``bench/many_groups.py``) and one of its
users (password ``demo1234``). One gunicorn worker with one thread on a free port serves a list,
a detail page, home and the task list in turn to one client on loopback, ``--requests`` times;
printed: p50, p95, p99, the slowest request and how many took over 60 ms. The garbage collector's
full passes read every object the worker holds (about 210,000 once warm); frozen, those it held
after loading the app (about 160,000) are left out.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from run import free_port, logged_in, wait_until_listening  # noqa: E402  (bench/run.py)

PAGES = ("/people", "/deals", "/", "/tasks")


def measure(config: Path, url: str, email: str, requests: int) -> list[float]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "KONTOR_WORKERS": "1",
           "KONTOR_THREADS": "1"}
    server = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "-c", str(config), "--bind", f"127.0.0.1:{port}",
                               "app:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_listening(port, tries=600)  # (the startup check of a large database takes a while)
        client = logged_in(port, email)
        detail = re.search(r'href="(/people/\d+)"', client.request("GET", "/people")[1])
        pages = PAGES + ((detail.group(1),) if detail else ())
        for path in pages * 5:  # (warm)
            client.request("GET", path)
        times = []
        for i in range(requests):
            t0 = time.perf_counter()
            client.request("GET", pages[i % len(pages)])
            times.append((time.perf_counter() - t0) * 1000)
        return sorted(times)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--email", default="user00002@generated.example")
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        unfrozen = Path(tmp) / "unfrozen.conf.py"  # the same settings without the hook
        unfrozen.write_text(f"exec(open({str(ROOT / 'gunicorn.conf.py')!r}).read())\ndel post_worker_init\n")
        print("| round | worker | p50 ms | p95 ms | p99 ms | slowest ms | over 60 ms |")
        print("|---|---|---|---|---|---|---|")
        for n in range(1, args.rounds + 1):
            for label, config in (("frozen", ROOT / "gunicorn.conf.py"), ("not frozen", unfrozen)):
                t = measure(config, args.database_url, args.email, args.requests)
                q = lambda f, t=t: t[min(len(t) - 1, int(f * len(t)))]
                print(f"| {n} | {label} | {q(0.5):.1f} | {q(0.95):.1f} | {q(0.99):.1f} | {t[-1]:.1f} | "
                      f"{sum(x > 60 for x in t)} of {len(t)} |", flush=True)


if __name__ == "__main__":
    main()
