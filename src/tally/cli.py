"""The `tally` command."""

import json
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from tally import migrations
from tally.accounts.service import create_account
from tally.db import Database
from tally.demo import load_demo
from tally.metering.imports import import_events
from tally.settings import get_settings

app = typer.Typer(help="Tally: open-source billing.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
accounts_app = typer.Typer(help="Accounts (tenants) and their API keys.", no_args_is_help=True)
import_app = typer.Typer(help="Backfill data from files.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(accounts_app, name="accounts")
app.add_typer(import_app, name="import")
console = Console(soft_wrap=True)


def _migrated_database() -> Database:
    database = Database(get_settings().resolved_database_url)
    migrations.upgrade(database.engine)
    return database


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (TALLY_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (TALLY_PORT).")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Server processes (TALLY_WORKERS).")
    ] = None,
) -> None:
    """Migrate the database, then serve the API."""
    settings = get_settings()
    _migrated_database().dispose()
    uvicorn.run(
        "tally.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_level=settings.log_level,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    _migrated_database().dispose()
    console.print("Database is up to date.")


@accounts_app.command("create")
def accounts_create(
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Create an account and its first API key. The secret is shown only now."""
    database = _migrated_database()
    with database.transaction() as session:
        _, credentials = create_account(session, name)
    database.dispose()
    if as_json:
        payload = {
            "accountId": credentials.account_id,
            "apiKey": credentials.api_key,
            "apiSecret": credentials.api_secret,
        }
        typer.echo(json.dumps(payload))
        return
    console.print(f"Account [bold]{name}[/] created: {credentials.account_id}")
    console.print(f"API key:    {credentials.api_key}")
    console.print(f"API secret: {credentials.api_secret}  (shown once; store it now)")


@app.command()
def demo() -> None:
    """Load the demo account once and print its credentials."""
    settings = get_settings()
    database = _migrated_database()
    credentials, created = load_demo(database, settings.data_dir)
    database.dispose()
    base = f"http://{settings.host}:{settings.port}"
    console.print("Demo data " + ("loaded." if created else "already loaded."))
    console.print(f"  API key:    {credentials.api_key}")
    console.print(f"  API secret: {credentials.api_secret}")
    console.print(
        f"  Try: curl -u {credentials.api_key}:{credentials.api_secret} {base}/api/customers"
    )
    console.print(f"  API docs: {base}/docs")


@import_app.command("events")
def import_events_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    account: Annotated[str, typer.Option("--account", help="The account the events belong to.")],
) -> None:
    """Import usage events from a CSV or NDJSON file (.csv: CSV; anything else: NDJSON).

    Rows use the API's names (customerAlias, eventType, eventTimestamp, customerEventId,
    eventProperties); in CSV, other columns become properties. Invalid rows are listed and
    skipped; the exit code is 1 when there were any.
    """
    database = _migrated_database()
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"Importing {file.name}", total=file.stat().st_size)
        try:
            report = import_events(
                database, account, file, lambda done: bar.update(task, completed=done)
            )
        except LookupError as error:
            console.print(f"[red]{error}[/]")
            raise typer.Exit(2) from error
    database.dispose()
    console.print(
        f"{report.accepted} accepted, {report.replaced} replaced, {len(report.rejected)} rejected"
    )
    for line, reason in report.rejected[:50]:
        console.print(f"  line {line}: {reason}")
    if len(report.rejected) > 50:
        console.print(f"  ... and {len(report.rejected) - 50} more")
    if report.rejected:
        raise typer.Exit(1)
