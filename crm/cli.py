"""Command line: ``flask --app app users create …``, ``demo load …``, ``demo generate …``,
``trash purge``, ``backup PATH`` / ``restore PATH`` (crm/ops/backup.py)."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from .extensions import db

users_cli = AppGroup("users", help="Manage users.")
demo_cli = AppGroup("demo", help="Demo and load-test data.")


@users_cli.command("create")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice(["admin", "extended", "normal"]), default="normal", show_default=True)
@click.option("--name", default=None)
def users_create(email: str, password: str, role: str, name: str | None) -> None:
    """Create a user who can log in at once."""
    from email_validator import EmailNotValidError, validate_email

    from .audit.services import audit
    from .auth.services import create_user

    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as err:
        raise click.UsageError(f"not an email address: {err}") from None
    if len(password) < 8:
        raise click.UsageError("the password needs at least 8 characters")
    try:
        user = create_user(email, password, role, name)
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    audit(None, "user_created", user=user.email, user_id=user.id, role=role, source="cli")
    db.session.commit()
    click.echo(f"Created {role} {user.email} (id {user.id}).")


@demo_cli.command("load")
@click.argument("example", type=click.Choice(["mueller", "meier", "schmidt"]))
@click.option("--reset", is_flag=True, help="Delete all existing data first.")
@click.option("--if-empty", is_flag=True, help="Do nothing (successfully) if the database holds data.")
def demo_load(example: str, reset: bool, if_empty: bool) -> None:
    """Load one of the three example companies of the feature text."""
    from .demo import examples

    if not examples.is_empty():
        if if_empty:
            click.echo("The database holds data already; no demo data loaded.")
            loaded = examples.loaded_example()
            if loaded is not None:
                print_logins(loaded)
            return
        if not reset:
            raise click.UsageError("the database is not empty; use --reset to replace everything")
        examples.wipe()
    ex = examples.load(example)
    db.session.commit()
    click.echo(f"Loaded the example {ex.account} ({example}).")
    print_logins(ex)


def print_logins(ex) -> None:
    from .demo.examples import DEMO_PASSWORD

    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for u in ex.users:
        groups = ", ".join(["Basis", *u.groups])
        click.echo(f"  {u.email:<36} {u.role:<9} {u.note} [{groups}]")


@demo_cli.command("logins")
@click.argument("example", type=click.Choice(["mueller", "meier", "schmidt"]))
def demo_logins(example: str) -> None:
    """Print the logins of an example."""
    from .demo.examples import EXAMPLES

    print_logins(EXAMPLES[example])


@demo_cli.command("generate")
@click.option("--companies", default=1000, show_default=True, type=click.IntRange(0, 5_000_000))
@click.option("--people", default=5000, show_default=True, type=click.IntRange(0, 10_000_000))
@click.option("--deals", default=1500, show_default=True, type=click.IntRange(0, 10_000_000))
@click.option("--projects", default=500, show_default=True, type=click.IntRange(0, 10_000_000))
@click.option("--groups", default=20, show_default=True, type=click.IntRange(1, 10_000),
              help="Groups the records spread over, Basis included: N - 1 new groups are added.")
@click.option("--users", default=50, show_default=True, type=click.IntRange(0, 100_000))
@click.option("--notes", default=0, show_default=True, type=click.IntRange(0, 50_000_000))
@click.option("--tasks", default=0, show_default=True, type=click.IntRange(0, 50_000_000))
@click.option("--tags", default=0, show_default=True, type=click.IntRange(0, 10_000),
              help="Distinct tags; about a quarter of the records get one.")
@click.option("--basis-share", default=0.2, show_default=True, type=click.FloatRange(0, 1),
              help="Share of the records left in Basis (which everyone sees).")
@click.option("--seed", default=1, show_default=True, type=int)
def demo_generate(companies, people, deals, projects, groups, users, notes, tasks, tags, basis_share, seed) -> None:
    """Insert a large synthetic data set in batches (adds to what is there)."""
    from .demo.generate import Counts, timed, total_rows

    counts = Counts(companies, people, deals, projects, groups, users, notes, tasks, tags, basis_share)
    with click.progressbar(length=total_rows(counts), label="Generating") as bar:
        done, seconds = timed(counts, seed, bar.update)
    rows = total_rows(counts)
    records = counts.companies + counts.people + counts.deals + counts.projects
    seconds = max(seconds, 1e-9)
    click.echo(f"Inserted {', '.join(f'{v} {k}' for k, v in done.items())} "
               f"({rows} rows with contact details) in {seconds:.1f} s with the search index: "
               f"{rows / seconds:,.0f} rows/s, {records / seconds:,.0f} records/s "
               "(companies, people, deals, projects).")


trash_cli = AppGroup("trash", help="The recycle bin (Papierkorb).")


@trash_cli.command("purge")
@click.option("--older-than", "older_than", type=click.IntRange(min=0), default=None,
              help="Remove records deleted more than DAYS days ago (default: the retention time, 30).",
              metavar="DAYS")
def trash_purge(older_than: int | None) -> None:
    """Empty the recycle bin for good: records deleted more than DAYS days ago, with their notes,
    tasks, contact details and field values; links to them are detached. Run it daily."""
    from .records.trash import RETENTION_DAYS, purge

    days = RETENTION_DAYS if older_than is None else older_than
    done = purge(None, older_than_days=days)
    db.session.commit()
    links = done.pop("links")
    click.echo(f"Purged {', '.join(f'{n} {k}' for k, n in done.items())} "
               f"(deleted more than {days} days ago); {links} links detached.")


def register_cli(app: Flask) -> None:
    from .files.cli import files_cli
    from .jobs.cli import worker_command
    from .ops.backup import backup_command, restore_command
    from .search.cli import search_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(search_cli)
    app.cli.add_command(files_cli)
    app.cli.add_command(trash_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(worker_command)
