"""Runtime configuration, read from `TALLY_*` environment variables (and `.env`)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tally.core.hosts import AllowList
from tally.core.outbox import Retries


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TALLY_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path("var"),
        description="Where the embedded SQLite database and local files live.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; defaults to an SQLite file in data_dir. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/dbname",
    )
    database_replica_url: str | None = Field(
        default=None,
        description="A PostgreSQL streaming replica of database_url. Portal pages, analytics "
        "and API lists read from it; a client's reads after its own write stay on the primary "
        "until the replica has replayed that write. Unset: everything on the primary.",
    )
    database_replica_max_lag_seconds: float = Field(
        default=10,
        ge=0,
        description="Reads go to the primary while the replica is further behind than this "
        "(and while it is unreachable); logged.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1, description="Processes `tally serve` runs.")
    log_level: str = "info"
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    billing_scheduler: bool = Field(
        default=True,
        description="Run billing inside `tally serve`; turn off when `tally worker` runs it.",
    )
    billing_interval_seconds: int = Field(
        default=300,
        ge=1,
        description="How often each schedule is billed again, so IN_PROGRESS invoices follow "
        "usage and invoice dates are acted on.",
    )
    billing_poll_seconds: float = Field(
        default=15, gt=0, description="How often the scheduler looks for schedules to bill."
    )
    billing_batch_size: int = Field(
        default=500,
        ge=1,
        description="Schedules billed per transaction: a smaller batch holds its locks for less "
        "time and loses less work when a worker dies mid-run.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where customers reach this server: the base of portal links in emails "
        "and PDFs.",
    )
    portal_session_ttl_seconds: int = Field(
        default=3600,
        ge=1,
        description="How long a customer portal session token (and its cookie) stays valid.",
    )
    dashboard_session_ttl_seconds: int = Field(
        default=12 * 3600,
        ge=60,
        description="How long a merchant dashboard sign-in lasts, counted from signing in "
        "(not sliding: a stolen cookie is good for this long at most).",
    )
    dashboard_secure_cookies: bool | None = Field(
        default=None,
        description="Mark dashboard cookies Secure (sent over HTTPS only). Unset: Secure, "
        "except when public_url is plain http on a loopback address (`make run`, tests).",
    )
    smtp_host: str | None = Field(
        default=None,
        description="SMTP server for outgoing email; unset: messages are written as .eml "
        "files to data_dir/outbox and logged.",
    )
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = Field(default=True, description="STARTTLS before authenticating.")
    smtp_from: str = Field(default="billing@tally.localhost", description="The From address.")
    delivery_max_attempts: int = Field(
        default=8, ge=1, description="Attempts at an email or webhook before giving up."
    )
    delivery_backoff_seconds: float = Field(
        default=30,
        gt=0,
        description="Wait before the first retry of an email or webhook; doubles each time.",
    )
    webhook_timeout_seconds: float = Field(default=10, gt=0)
    webhook_allowed_hosts: str = Field(
        default="",
        description="Webhook destinations allowed although internal (comma separated: host "
        "names, IP addresses or CIDR networks, e.g. `hooks.internal,10.1.0.0/16`). Others on "
        "loopback, private, link-local, unique-local, multicast, unspecified, reserved or cloud "
        "metadata addresses are refused.",
    )
    webhook_concurrency: int = Field(
        default=8, ge=1, description="Webhooks each process sends at once (its sender threads)."
    )
    webhook_policy_concurrency: int = Field(
        default=2,
        ge=1,
        description="Deliveries of one webhook policy a process sends at once: a slow receiver "
        "holds no more senders than this.",
    )
    webhook_poll_seconds: float = Field(
        default=1, gt=0, description="How often the webhook sender looks for due deliveries."
    )
    alert_poll_seconds: float = Field(
        default=0.5,
        gt=0,
        description="How often the alert evaluator looks for customers whose usage changed.",
    )
    # Payments (tally.payments).
    secret_key: SecretStr | None = Field(
        default=None,
        description="Encrypts payment providers' credentials at rest (any long random string; "
        "keep it out of the database's backups). Required once a provider is connected: "
        "`tally serve` and `tally worker` refuse to start without it then.",
    )
    stripe_api_base: str | None = Field(
        default=None,
        description="Send every Stripe API call to this server instead of api.stripe.com "
        "(tests point it at localstripe).",
    )
    payment_reconcile_after_seconds: int = Field(
        default=300,
        ge=0,
        description="How long an open payment attempt waits for the provider's webhook before "
        "the reconciliation job asks the provider itself.",
    )
    stripe_js_url: str = Field(
        default="https://js.stripe.com/v3/",
        description="Where the portal loads Stripe.js from; the portal's CSP admits its origin.",
    )
    # Operations (tally.ops): logs, metrics, limits, shutdown.
    log_format: Literal["json", "text"] | None = Field(
        default=None,
        description="json: one JSON object per line; text: for people. Unset: json for "
        "`tally serve` and `tally worker`, text for the other commands.",
    )
    metrics_token: str | None = Field(
        default=None, description="When set, /metrics requires `Authorization: Bearer <token>`."
    )
    worker_metrics_port: int | None = Field(
        default=None, description="`tally worker` serves its own /metrics on this port."
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Larger request bodies are refused (413)."
    )
    rate_limit_per_minute: int = Field(
        default=1500, ge=0, description="Requests a minute per API key (0: no limit)."
    )
    ingestion_rate_limit_per_minute: int = Field(
        default=12000,
        ge=0,
        description="POST /api/usage-events[/batch] a minute per API key (0: no limit).",
    )
    usage_events_retention_months: int | None = Field(
        default=None,
        ge=1,
        description="PostgreSQL: raw usage events of months older than this many months "
        "(the current one counts) are exported and their partitions dropped; rollups, "
        "invoices and the portal keep theirs. Unset: kept forever.",
    )
    usage_events_archive_dir: Path | None = Field(
        default=None,
        description="Where retention writes each month of usage events as Parquet before "
        "dropping it (`usage-events/<YYYY-MM>/<account id>.parquet`). Unset: nothing is "
        "dropped.",
    )
    auth_failure_limit: int = Field(
        default=20,
        ge=0,
        description="Failed logins a client address may make per window before 429 (0: off).",
    )
    auth_failure_window_seconds: float = Field(default=300, gt=0)
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies whose X-Forwarded-For/-Proto `tally serve` trusts (comma "
        "separated, or *): the client address rate limits and logs use.",
    )
    shutdown_timeout_seconds: int = Field(
        default=30,
        gt=0,
        description="On SIGTERM, how long `tally serve` waits for in-flight requests.",
    )

    @field_validator("webhook_allowed_hosts")
    @classmethod
    def _allowed_hosts(cls, value: str) -> str:
        AllowList.parse(value)  # a malformed entry stops the start, not the first webhook
        return value

    @property
    def delivery_retries(self) -> Retries:
        """The retry rule of emails and webhooks (`delivery_*`)."""
        return Retries(self.delivery_backoff_seconds, self.delivery_max_attempts)

    @property
    def webhook_allow_list(self) -> AllowList:
        return AllowList.parse(self.webhook_allowed_hosts)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'tally.db'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
