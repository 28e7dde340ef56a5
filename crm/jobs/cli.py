"""``flask --app app worker``: the job queue's consumer (Huey), with the app's config and context.

It runs the tasks the app puts on the queue (CSV imports, large group assignments and their undo,
search rebuilds) and the periodic ones (every minute: jobs whose worker died, and on PostgreSQL the
deals' sums added up; daily: the recycle bin's purge). Run one next to the web server (``make run``
does; README: the systemd unit). With ``REDIS_URL`` several app servers share one queue, else it is
the SQLite file in ``instance/`` (``KONTOR_QUEUE_FILE``), which the web server and the worker on the
same machine share.
"""
from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import huey


@click.command("worker")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=2, show_default=True,
              help="How many jobs run at the same time (threads).")
@click.option("--no-periodic", is_flag=True, help="Leave the periodic jobs (purge, stale jobs) to another worker.")
@with_appcontext
def worker_command(workers: int, no_periodic: bool) -> None:
    """Run the job queue's worker until Ctrl+C (or SIGTERM: it lets running jobs finish)."""
    huey.immediate = False
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    backend = "Redis" if current_app.config.get("REDIS_URL") else current_app.config["JOBS_SQLITE_PATH"]
    click.echo(f"Kontor worker: queue {huey.name!r} on {backend}, {workers} at a time.")
    # an idle worker looks at the queue at least every second (Redis: it waits on the list anyway)
    huey.create_consumer(workers=workers, worker_type="thread", periodic=not no_periodic, max_delay=1.0,
                         check_worker_health=True).run()
