"""Timing pages in-process (bench/many_groups.py, bench/pipeline.py): p50 wall and CPU time of the
app process over a number of requests, and the statements of the last one."""
from __future__ import annotations

import statistics
import time


def listen(app, db, stats: list) -> None:
    """Append ``(1, the number of bound parameters)`` to ``stats`` for every statement."""
    from sqlalchemy import event

    def count(conn, cursor, statement, parameters, context, executemany):
        stats.append((1, len(parameters or ())))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)


def time_page(client, path: str, rounds: int, stats: list) -> tuple[float, float, int]:
    """(p50 wall ms, p50 CPU ms, status) of ``rounds`` GETs; ``stats`` then holds the last one's
    statements (see :func:`listen`)."""
    walls, cpus, status = [], [], None
    for _ in range(rounds):
        stats.clear()
        w0, c0 = time.perf_counter(), time.process_time()
        resp = client.get(path)
        walls.append((time.perf_counter() - w0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
        status = resp.status_code
    return statistics.median(walls), statistics.median(cpus), status
