"""Figures for the closing note: how much the adversarial suite tried, and how often it failed.

Tests add to :data:`COUNTS`; each pytest process writes its counts to ``test-results/adversarial/``
when it ends, and the controlling process (the only one with xdist) adds them up into
``test-results/adversarial-figures.json`` and prints them under the test summary.
The hooks are imported by ``tests/conftest.py`` so that the xdist controller has them too.
"""
from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

COUNTS: Counter = Counter()
#: (world id, user, url rule) triples checked by the leak tests
TRIPLES: set = set()

#: what the closing note reports, in this order, with its wording
LABELS = {
    "worlds": "worlds built",
    "world_user_routes": "world × user × route combinations checked",
    "requests": "requests made",
    "leak_checks": "responses checked for forbidden tokens",
    "inputs_fuzzed": "bad inputs sent (forms and API bodies)",
    "unauthorized_attempts": "unauthorized write attempts",
    "csrf_attempts": "state-changing requests without a valid CSRF token",
    "concurrent_ops": "concurrent operations run",
    "conflicts_detected": "conflicting edits detected (409)",
    "faults_injected": "faults injected",
    "leaks": "leaks",
    "unauthorized_writes": "unauthorized writes",
    "server_errors": "500s",
    "lost_updates": "lost updates",
}
ZERO_EXPECTED = ("leaks", "unauthorized_writes", "server_errors", "lost_updates")


def add(name: str, n: int = 1) -> None:
    COUNTS[name] += n


def checked(world_id: str, user: str, rule: str) -> None:
    if (world_id, user, rule) not in TRIPLES:
        TRIPLES.add((world_id, user, rule))
        COUNTS["world_user_routes"] += 1


def _dir(config) -> Path:
    return Path(config.rootpath) / "test-results" / "adversarial"


def _is_worker(config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config) -> None:
    """The run's id, inherited by the xdist workers (started later, with this environment), so that
    two test runs in the same checkout never add up each other's counts."""
    if not _is_worker(config):
        os.environ["KONTOR_ADV_RUN"] = f"{os.getpid()}-{time.time_ns()}"


def _run() -> str:
    return os.environ.get("KONTOR_ADV_RUN", "single")


def pytest_sessionstart(session) -> None:
    if _is_worker(session.config):
        return
    folder = _dir(session.config)
    folder.mkdir(parents=True, exist_ok=True)
    for part in folder.glob("part-*.json"):
        if time.time() - part.stat().st_mtime > 24 * 3600:
            part.unlink()  # left over by an interrupted run


def pytest_sessionfinish(session, exitstatus) -> None:
    folder = _dir(session.config)
    folder.mkdir(parents=True, exist_ok=True)
    if COUNTS:
        name = session.config.workerinput["workerid"] if _is_worker(session.config) else "main"
        (folder / f"part-{_run()}-{name}-{os.getpid()}.json").write_text(json.dumps(dict(COUNTS)))
    if _is_worker(session.config):
        return
    total: Counter = Counter()
    for part in folder.glob(f"part-{_run()}-*.json"):
        total.update(json.loads(part.read_text()))
        part.unlink()
    if total:
        out = {k: total.get(k, 0) for k in LABELS}
        (folder.parent / "adversarial-figures.json").write_text(json.dumps(out, indent=2) + "\n")
        session.config._adversarial_figures = out


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    figures = getattr(config, "_adversarial_figures", None)
    if not figures:
        return
    terminalreporter.section("adversarial figures")
    for key, label in LABELS.items():
        terminalreporter.write_line(f"{figures.get(key, 0):>10,}  {label}")
