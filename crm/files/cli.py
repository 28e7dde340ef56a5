"""``flask --app app files sweep``: remove bytes from the file store that no file names any more."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from .services import sweep

files_cli = AppGroup("files", help="Attached files.")


@files_cli.command("sweep")
def sweep_command() -> None:
    """Remove the bytes of files whose record was purged from the recycle bin (the database
    removes the rows with the record), and any left behind by an interrupted delete."""
    click.echo(f"Removed {sweep():,} files from the store.")
