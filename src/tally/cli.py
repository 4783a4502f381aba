"""The `tally` command."""

import json
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from tally import migrations
from tally.accounts.service import create_account
from tally.app import create_app
from tally.db import Database
from tally.demo import load_demo
from tally.settings import get_settings

app = typer.Typer(help="Tally: open-source billing.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
accounts_app = typer.Typer(help="Accounts (tenants) and their API keys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(accounts_app, name="accounts")
console = Console(soft_wrap=True)


def _migrated_database() -> Database:
    database = Database(get_settings().resolved_database_url)
    migrations.upgrade(database.engine)
    return database


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (TALLY_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (TALLY_PORT).")] = None,
) -> None:
    """Migrate the database, then serve the API."""
    settings = get_settings()
    database = _migrated_database()
    uvicorn.run(
        create_app(settings, database),
        host=host or settings.host,
        port=port or settings.port,
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
