"""``flask --app app search rebuild``: refill the search index from the records."""
from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from ..extensions import db
from . import schema

search_cli = AppGroup("search", help="The search index.")


@search_cli.command("rebuild")
@click.option("--queue", "queued", is_flag=True, help="Put it on the job queue: the worker does it.")
def rebuild(queued: bool) -> None:
    """Refill the search index from the records (after restoring a backup, or if in doubt).
    Migrations do this by themselves."""
    if queued:
        from ..jobs.services import start_search_rebuild

        job = start_search_rebuild()
        click.echo(f"Search index rebuild queued as job {job.id}.")
        return
    t0 = time.perf_counter()
    with db.engine.begin() as conn:
        if not schema.has_index(conn):
            raise click.UsageError("the database has no search index yet: run `flask db upgrade` first")
        docs = schema.rebuild(conn)
    click.echo(f"Search index rebuilt: {docs:,} texts in {time.perf_counter() - t0:.1f} s.")
