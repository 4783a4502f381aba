"""The `tally` command."""

import json
import logging
import os
import signal
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import typer.core
from rich.console import Console

from tally.exceptions import TallyError

# Each command imports what it uses inside its function: importing the whole of Tally takes
# seconds, and `tally --help` or a mistyped option should answer at once.
if TYPE_CHECKING:
    from tally.billing.runs import RunReport
    from tally.db import Database
    from tally.demo.banner import Banner


class _Commands(typer.core.TyperGroup):
    """Every command: what Tally refuses (a name with a line break, an unknown account ...)
    is one line in red and exit status 1, never a traceback."""

    def invoke(self, ctx: typer._click.Context) -> Any:  # typer bundles its own click
        try:
            return super().invoke(ctx)
        except TallyError as error:
            console.print(f"[red]{' '.join(error.message.split())}[/]", highlight=False)
            raise typer.Exit(1) from error


app = typer.Typer(help="Tally: open-source billing.", no_args_is_help=True, cls=_Commands)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
accounts_app = typer.Typer(help="Accounts (tenants) and their API keys.", no_args_is_help=True)
import_app = typer.Typer(help="Backfill data from files.", no_args_is_help=True)
portal_app = typer.Typer(help="Customer portal links.", no_args_is_help=True)
users_app = typer.Typer(help="Merchant dashboard users.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(portal_app, name="portal")
app.add_typer(accounts_app, name="accounts")
app.add_typer(import_app, name="import")
app.add_typer(users_app, name="users")
console = Console(soft_wrap=True)


def _migrated_database() -> "Database":
    from tally import migrations
    from tally.db import Database
    from tally.settings import get_settings
    from tally.workflows import presenters

    # Every command that opens the database may emit events: their presenters must be known.
    assert presenters.REGISTERING

    database = Database(get_settings().resolved_database_url)
    migrations.upgrade(database.engine)
    return database


def _startable(database: "Database") -> "Database":
    """Refuse to run with payment credentials stored and no TALLY_SECRET_KEY to read them."""
    from tally.payments.connections import check_secret_key
    from tally.payments.secrets import SecretKeyMissing
    from tally.settings import get_settings

    with database.session() as session:
        try:
            check_secret_key(session, get_settings())
        except SecretKeyMissing as error:
            database.dispose()
            console.print(f"[red]{error.message}[/red]")
            raise typer.Exit(1) from error
    return database


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (TALLY_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (TALLY_PORT).")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Server processes (TALLY_WORKERS).")
    ] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Load the demo account first (once per data directory), and print its "
            "credentials once the server is ready (`make run`).",
        ),
    ] = False,
) -> None:
    """Migrate the database, then serve the API. On SIGTERM, in-flight requests (up to
    TALLY_SHUTDOWN_TIMEOUT_SECONDS) and the background job in progress finish, then it exits 0."""
    import uvicorn

    from tally.ops import logging as ops_logging
    from tally.ops import metrics, server
    from tally.settings import get_settings

    settings = get_settings()
    # The demo is read by a person at a terminal: text lines unless TALLY_LOG_FORMAT says.
    log_format = settings.log_format or ("text" if demo else "json")
    ops_logging.configure(log_format, settings.log_level)
    database = _startable(_migrated_database())
    banner = _load_demo(database, host, port)[0].text() if demo else None
    database.dispose()
    processes = workers or settings.workers
    if processes > 1:
        metrics.prepare_multiprocess(settings.data_dir)
    _exit_quietly_on_sigterm()
    config = uvicorn.Config(
        "tally.app:create_served_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=processes,
        log_level=settings.log_level,
        log_config=ops_logging.log_config(log_format, settings.log_level),
        access_log=False,  # tally.access logs each request, by route template
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        # A worker answers the supervisor's health check only once Tally is imported, which
        # takes longer than uvicorn's 5 s on a busy machine: workers were declared dead and
        # replaced in a loop. Give them time.
        timeout_worker_healthcheck=60,
    )
    server.run(config, banner)
    console.print("Server stopped.")


def _load_demo(database: "Database", host: str | None, port: int | None) -> tuple["Banner", bool]:
    """The demo account, loaded once per data directory (True: by this call), and what to
    print about it."""
    from tally.demo import load_demo, load_demo_user
    from tally.demo.banner import demo_banner
    from tally.settings import get_settings

    settings = get_settings()
    started = time.monotonic()
    credentials, created = load_demo(database, settings.data_dir)
    if created:
        logging.getLogger(__name__).info(
            "demo account loaded in %.1f s", time.monotonic() - started
        )
    user = load_demo_user(database, settings.data_dir, credentials.account_id)
    base = f"http://{host or settings.host}:{port or settings.port}"
    # The portal's links start with TALLY_PUBLIC_URL when it is set; otherwise with where
    # this server listens (its default names port 8000).
    public = settings.public_url if "public_url" in settings.model_fields_set else base
    return demo_banner(database, credentials, user, base, public), created


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="One pass, then exit.")] = False,
) -> None:
    """Run the background work in this process: billing, email and webhook outboxes, payment
    reminders (start several, on PostgreSQL, to share it). Set TALLY_BILLING_SCHEDULER=false
    on `tally serve` when workers run it."""
    import prometheus_client

    from tally.jobs import Background, alerts_once, background_jobs, run_once, webhooks_once
    from tally.ops import heap
    from tally.ops import logging as ops_logging
    from tally.settings import get_settings

    settings = get_settings()
    ops_logging.configure(settings.log_format or "json", settings.log_level)
    database = _startable(_migrated_database())
    if once:
        done = run_once(
            database, [*background_jobs(settings), alerts_once(), webhooks_once(settings)]
        )
        database.dispose()
        console.print(f"Worker ran once: {_worker_summary(done)}.", highlight=False)
        # A job that failed fails the command too, so cron and scripts see it.
        if failed_jobs(done):
            raise typer.Exit(1)
        return
    if settings.worker_metrics_port:
        prometheus_client.start_http_server(settings.worker_metrics_port, addr=settings.host)
    background = Background(database, settings)
    heap.settle()

    def stop(signum: int, _: object) -> None:
        # Only flag it here: the loop below joins the threads once the job in progress and
        # the webhooks being sent end.
        logging.getLogger(__name__).info("%s received", signal.Signals(signum).name)
        background.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    background.start()
    while background.is_alive():
        if background.stopping.wait(timeout=0.5):
            background.stop()
    database.dispose()
    console.print("Worker stopped.")


def failed_jobs(done: dict[str, object]) -> list[str]:
    """The jobs of a pass that raised."""
    return [name for name, outcome in done.items() if isinstance(outcome, Exception)]


def _worker_summary(done: dict[str, object]) -> str:
    """One pass of the jobs in a few words: what each did, which failed."""
    from tally.billing.runs import RunReport
    from tally.credits.expiry import ExpiryReport
    from tally.invoices.reminders import ReminderReport
    from tally.notifications.outbox import SendReport
    from tally.notifications.webhooks import DeliveryReport
    from tally.payments.collection import CollectionReport
    from tally.payments.reconciliation import ReconciliationReport

    parts = []
    for name, outcome in done.items():
        match outcome:
            case Exception():
                parts.append(f"{name} FAILED (see the log)")
            case RunReport():
                parts.append(
                    f"{outcome.billing_schedules} schedules billed "
                    f"({outcome.invoices_created} invoices created, "
                    f"{outcome.invoices_finalized} finalized)"
                )
            case SendReport():
                parts.append(f"{len(outcome.delivered)} emails sent")
            case ReminderReport():
                parts.append(f"{len(outcome.queued)} payment reminders queued")
            case ExpiryReport():
                parts.append(f"{len(outcome.expired)} credit grants expired")
            case CollectionReport():
                parts.append(f"{len(outcome.succeeded)} payments collected")
            case ReconciliationReport():
                parts.append(f"{outcome.checked} payment attempts reconciled")
            case DeliveryReport():
                parts.append(f"{outcome.delivered} webhooks delivered")
    return ", ".join(parts) or "nothing to do"


def _exit_quietly_on_sigterm() -> None:
    """uvicorn shuts down gracefully on SIGTERM, then raises the signal again for the
    handler that was there before it: with Python's default one the process would die by
    the signal (exit status 143) after a clean shutdown. This one lets `serve` return: 0."""
    signal.signal(signal.SIGTERM, lambda *_: None)


@app.command()
def bill(
    account: Annotated[
        str | None, typer.Option(help="Only this account (default: every account).")
    ] = None,
    day: Annotated[
        datetime | None,
        typer.Option(
            "--date",
            formats=["%Y-%m-%d"],
            help="Default: the account's today (the regular run). A past date backfills: "
            "missing invoices dated up to it are created as DRAFTs, open ones recalculated; "
            "nothing is deleted, issued or moved back, later invoices are left alone. A "
            "future date previews: billed as of it, then rolled back (nothing stored).",
        ),
    ] = None,
) -> None:
    """Run billing now and wait for it: every schedule brought up to date (or, with --date,
    backfilled up to a past date, or previewed for a future one)."""
    from sqlalchemy import select

    from tally.billing.runs import RunReport
    from tally.billing.scheduler import bill_account
    from tally.models import Account

    database = _migrated_database()
    with database.session(write=False) as session:
        if account is None:
            account_ids = list(session.scalars(select(Account.id)))
        else:  # a mistyped id would bill nothing and look like success
            account_ids = list(session.scalars(select(Account.id).where(Account.id == account)))
    if account is not None and not account_ids:
        database.dispose()
        console.print(f"[red]No account {account}: nothing billed.[/]", highlight=False)
        raise typer.Exit(1)
    report = RunReport()
    for account_id in account_ids:
        report.add(bill_account(database, account_id, today=day.date() if day else None))
    database.dispose()
    _print_report(report, len(account_ids))
    if report.failed_schedules:
        raise typer.Exit(1)


def _print_report(report: "RunReport", accounts: int) -> None:
    from tally.core.wire import money

    if report.preview:
        console.print("Preview, nothing stored: a run for that date would do this.")
        for invoice in report.previewed:
            console.print(
                f"  {invoice.invoice_date} {invoice.status.value:<11} schedule "
                f"{invoice.billing_schedule_id} customer {invoice.customer_id}: "
                f"{money(invoice.gross_total, invoice.currency)} {invoice.currency}"
            )
    for schedule_id in report.failed_schedules:
        console.print(f"[red]  failed: billing schedule {schedule_id}[/]")
    console.print(
        f"{report.billing_schedules} schedules billed: {report.invoices_created} invoices "
        f"created, {report.invoices_updated} recalculated ({report.invoices_unchanged} more "
        f"unchanged), {report.invoices_deleted} removed, "
        f"{report.invoices_finalized} finalized, for {accounts} "
        f"account{'' if accounts == 1 else 's'}"
        + (f"; {len(report.failed_schedules)} schedules failed" if report.failed_schedules else "")
        + ".",
        highlight=False,
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
    language: Annotated[
        str,
        typer.Option(
            help="The language of its customers' documents, emails and portal: en, de, fr, "
            "es or nl (each customer may have its own)."
        ),
    ] = "en",
    currency: Annotated[
        str | None,
        typer.Option(help="Its default invoice currency, an ISO 4217 code (default USD)."),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            help="The IANA time zone of its billing periods, e.g. Europe/Berlin (default UTC)."
        ),
    ] = None,
    country: Annotated[
        str | None,
        typer.Option(help="Where it is established, an ISO 3166 code, e.g. DE (default GB)."),
    ] = None,
) -> None:
    """Create an account and its first API key. The secret is shown only now."""
    from pydantic import ValidationError

    from tally.accounts.schemas import AccountUpdate
    from tally.accounts.service import create_account
    from tally.core.i18n import LANGUAGES

    if language not in LANGUAGES:
        console.print(f"[red]--language must be one of {', '.join(LANGUAGES)}.[/]")
        raise typer.Exit(2)
    given = {"currency": currency, "timezone": timezone, "country": country}
    try:  # the rules the API's account settings follow
        valid = AccountUpdate.model_validate({k: v for k, v in given.items() if v is not None})
    except ValidationError as error:
        for problem in error.errors():
            option = "--" + str(problem["loc"][0])
            value = given.get(str(problem["loc"][0]))
            console.print(f"[red]{option} {value}: {problem['msg']}[/]", highlight=False)
        raise typer.Exit(2) from error
    chosen = valid.model_dump(exclude_unset=True, mode="json")
    database = _migrated_database()
    try:
        with database.transaction() as session:
            account, credentials = create_account(session, name, language=language, **chosen)
            summary = f"{account.currency}, {account.timezone}, {account.country}"
    finally:
        database.dispose()
    if as_json:
        payload = {
            "accountId": credentials.account_id,
            "apiKey": credentials.api_key,
            "apiSecret": credentials.api_secret,
        }
        typer.echo(json.dumps(payload))
        return
    console.print(f"API key:    {credentials.api_key}", highlight=False)
    console.print(f"API secret: {credentials.api_secret}  (shown once; store it now)")
    console.print(
        f"Account [bold]{name}[/] created: {credentials.account_id} ({summary}).",
        highlight=False,
    )


@users_app.command("create")
def users_create(
    account: Annotated[str, typer.Argument(help="The account's id.")],
    email: Annotated[str, typer.Argument(help="The user's email: unique across accounts.")],
    password: Annotated[
        str | None,
        typer.Option(help="The password (visible to other local users: prefer the prompt)."),
    ] = None,
    generate: Annotated[
        bool, typer.Option("--generate", help="Generate a password and print it once.")
    ] = False,
) -> None:
    """Create a user who signs in to the merchant dashboard of ACCOUNT."""
    from tally.dashboard import users as dashboard_users

    if password is not None and generate:
        console.print("[red]Give --password or --generate, not both.[/]")
        raise typer.Exit(2)
    if generate:
        password = dashboard_users.generate_password()
    elif password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    database = _migrated_database()
    try:
        with database.transaction() as session:
            user = dashboard_users.create_user(session, account, email, password)
    finally:
        database.dispose()
    if generate:
        console.print(f"Password: {password}  (shown once; store it now)", highlight=False)
    console.print(f"User {user.email} created in account {user.account_id}.", highlight=False)


@app.command()
def demo() -> None:
    """Load the demo account once (a year of billing history) and print its credentials."""
    started = time.monotonic()
    database = _migrated_database()
    banner, created = _load_demo(database, None, None)
    database.dispose()
    typer.echo(banner.text())
    took = f"{time.monotonic() - started:.1f} s"
    console.print(
        f"Demo loaded in {took}." if created else "Demo already loaded: nothing changed.",
        highlight=False,
    )


@portal_app.command("link")
def portal_link(
    customer: Annotated[str, typer.Argument(help="The customer's id or one of its aliases.")],
    account: Annotated[
        str | None, typer.Option(help="The account the alias belongs to (aliases only).")
    ] = None,
) -> None:
    """Print a customer's permanent portal link (TALLY_PUBLIC_URL + /portal/c/...)."""
    from tally.documents.links import portal_url
    from tally.portal.sessions import customer_by_reference
    from tally.settings import get_settings

    settings = get_settings()
    database = _migrated_database()
    try:
        with database.transaction() as session:
            found = customer_by_reference(session, customer, account)
            link = portal_url(session, found.id, settings.public_url)
            name = found.legal_name
    finally:
        database.dispose()
    typer.echo(link)
    # stdout holds the link alone (`$(tally portal link ...)`); the summary goes beside it.
    typer.echo(f"Permanent portal link of {name}.", err=True)


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
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from tally.metering.imports import import_events

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
    for line, reason in report.rejected[:50]:
        console.print(f"  line {line}: {reason}")
    if len(report.rejected) > 50:
        console.print(f"  ... and {len(report.rejected) - 50} more")
    console.print(
        f"Imported {file.name}: {report.accepted} accepted, {report.replaced} replaced, "
        f"{len(report.rejected)} rejected.",
        highlight=False,
    )
    if report.rejected:
        raise typer.Exit(1)


def _moment(option: str, text: str | None) -> datetime | None:
    """`--from`/`--to`: a timestamp with its offset, or a date (midnight UTC)."""
    from datetime import UTC, date

    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or (moment.utcoffset() is None and len(text) != len("2024-05-01")):
        console.print(
            f"[red]{option} {text}: give a date (2024-05-01, midnight UTC) or a timestamp "
            "with its offset (2024-05-01T09:30:00+02:00).[/]",
            highlight=False,
        )
        raise typer.Exit(2)
    if moment.utcoffset() is None:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
    return moment


@app.command("export")
def export_command(
    datasets: Annotated[
        list[str],
        typer.Argument(
            help="What to export: usage-events, invoices, invoice-lines (one or more).",
            show_default=False,
        ),
    ],
    account: Annotated[str, typer.Option("--account", help="The account whose data it is.")],
    output_text: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="A directory (an existing one, or a path ending with /: each dataset a file "
            "named after it and the time) or, for one dataset, a file (replaced if it exists).",
        ),
    ] = ".",
    format: Annotated[
        str | None,
        typer.Option(
            "--format", help="parquet or csv (default: the output file's extension, else parquet)."
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Inclusive: a date (midnight UTC) or a timestamp with its offset. Usage "
            "events by their timestamp, invoices and their lines by when they last changed.",
        ),
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="Exclusive, as --from.")] = None,
    customer_alias: Annotated[
        list[str] | None,
        typer.Option("--customer-alias", help="Usage events of this alias only (repeatable)."),
    ] = None,
    event_type: Annotated[
        str | None, typer.Option("--event-type", help="Usage events of this type only.")
    ] = None,
    customer: Annotated[
        str | None, typer.Option("--customer", help="Invoices of this customer id only.")
    ] = None,
) -> None:
    """Export an account's usage events, invoices or invoice lines to Parquet or CSV files,
    for a warehouse. Each file is written whole or not at all; each export is logged in the
    account's activity log."""
    from tally.core.clock import utcnow
    from tally.exports.queries import Filters
    from tally.exports.service import ExportRequest, checked, export_to_file, record_export
    from tally.exports.writers import Format
    from tally.models.scoped import get_account

    output = Path(output_text)
    to_directory = output.is_dir() or output_text.endswith(("/", os.sep))
    if not to_directory and len(datasets) > 1:
        console.print("[red]--output: several datasets need a directory.[/]")
        raise typer.Exit(2)
    chosen = format or (output.suffix.lstrip(".").lower() if not to_directory else "")
    if format is None and chosen not in ("parquet", "csv"):
        chosen = "parquet"
    if chosen not in ("parquet", "csv"):
        console.print(f"[red]--format {format}: use parquet or csv.[/]", highlight=False)
        raise typer.Exit(2)
    filters = Filters(
        start=_moment("--from", start),
        end=_moment("--to", end),
        customer_aliases=tuple(customer_alias or ()),
        event_type=event_type,
        customer_id=customer,
    )
    exports = [checked(ExportRequest(name, Format(chosen), filters)) for name in datasets]
    now = utcnow()
    database = _migrated_database()
    try:
        with database.session(write=False) as session:
            get_account(session, account)  # a mistyped id would export nothing, silently
        if to_directory:
            output.mkdir(parents=True, exist_ok=True)
        for export in exports:
            path = output / export.filename(now) if to_directory else output
            written = export_to_file(database, account, export, path)
            with database.transaction() as session:
                record_export(session, account, export, written.rows)
            console.print(
                f"Wrote {written.rows} {export.table.label} to {path} ({written.bytes} bytes).",
                highlight=False,
            )
    finally:
        database.dispose()
