"""The web application: API routers, middleware and error handling."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib.resources import files

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute

from tally import __version__
from tally.accounts.endpoints import router as accounts_router
from tally.activity.endpoints import router as activity_router
from tally.alerts.endpoints import router as alerts_router
from tally.analytics.endpoints import router as analytics_router
from tally.api.errors import install_error_handlers
from tally.api.idempotency import IdempotencyMiddleware, IdempotentReplay, replay_response
from tally.api.middleware import BodyLimit, RememberWrites, RequestContext
from tally.api.unavailable import install_unavailable_handler
from tally.api.versioning import SequenceVersionMiddleware
from tally.attachments.endpoints import router as attachments_router
from tally.attachments.service import MAX_BYTES as ATTACHMENT_MAX_BYTES
from tally.billing.endpoints import router as billing_router
from tally.catalog.billing_product_endpoints import router as billing_products_router
from tally.catalog.endpoints import router as catalog_router
from tally.catalog.list_price_endpoints import router as list_prices_router
from tally.catalog.price_endpoints import router as prices_router
from tally.credit_notes.endpoints import router as credit_notes_router
from tally.credits.endpoints import router as credits_router
from tally.customers.endpoints import router as customers_router
from tally.dashboard.pages import install_dashboard
from tally.db import Database
from tally.documents.endpoints import router as documents_router
from tally.einvoice.endpoints import router as einvoice_router
from tally.exports.endpoints import router as exports_router
from tally.invoices.endpoints import router as invoices_router
from tally.invoices.operation_endpoints import router as invoice_operations_router
from tally.jobs import Background
from tally.metering.endpoints import ingestion_router
from tally.metering.endpoints import router as metering_router
from tally.notifications.endpoints import router as notifications_router
from tally.ops import heap
from tally.ops.health import router as health_router
from tally.ops.limits import Limits
from tally.ops.metrics import router as metrics_router
from tally.payments.collection_endpoints import router as collection_router
from tally.payments.connection_endpoints import router as payment_providers_router
from tally.payments.event_endpoints import router as provider_events_router
from tally.payments.manual_endpoints import router as payments_router
from tally.payments.settings_endpoints import router as payment_settings_router
from tally.portal.access import install_portal_errors
from tally.portal.api import router as portal_api_router
from tally.portal.pages import install_pages as install_portal_pages
from tally.portal.payments import install_payments as install_portal_payments
from tally.portal.security import PortalSecurityMiddleware
from tally.portal.session_endpoints import exchange_router as portal_exchange_router
from tally.portal.session_endpoints import flexprice_router as portal_flexprice_router
from tally.portal.session_endpoints import router as portal_sessions_router
from tally.portal.settings_endpoints import router as portal_settings_router
from tally.schedules.discount_endpoints import router as discounts_router
from tally.schedules.endpoints import router as schedules_router
from tally.schedules.extra_endpoints import router as schedule_extras_router
from tally.seats.endpoints import router as seats_router
from tally.settings import Settings, get_settings
from tally.tax.category_endpoints import router as tax_categories_router
from tally.tax.endpoints import router as tax_router
from tally.tax.registration_endpoints import router as tax_registrations_router
from tally.users.endpoints import router as users_router
from tally.workflows import presenters  # noqa: F401  (registers every event's presenter)

API_DESCRIPTION = """\
Tally's billing API, wire-compatible with Sequence's public API (version 2024-07-30).

Authenticate with HTTP Basic: your API key as the user name, your API secret as the password.
Errors are `{"error": {"type", "message", "details"?}}`, with status 400 for every invalid or
refused request (a state conflict's `type` names it); lists are
`{"items", "pagination": {"after"?, "before"?, "totalResultSize"}}`, a cursor left out when
there is no such page.
"""


def api_routes() -> APIRouter:
    api = APIRouter(prefix="/api")
    for router in (
        accounts_router,
        customers_router,
        catalog_router,
        prices_router,
        list_prices_router,
        billing_products_router,
        tax_router,
        tax_registrations_router,
        tax_categories_router,
        metering_router,
        seats_router,
        schedules_router,
        schedule_extras_router,
        discounts_router,
        billing_router,
        alerts_router,
        invoice_operations_router,  # before invoices_router: its /invoices/{id} takes all
        invoices_router,
        attachments_router,
        credit_notes_router,
        credits_router,
        notifications_router,
        documents_router,
        einvoice_router,
        portal_sessions_router,
        portal_settings_router,
        activity_router,
        users_router,
        payment_providers_router,
        payment_settings_router,
        payments_router,
        collection_router,
        analytics_router,
        exports_router,
    ):
        api.include_router(router)
    return api


def _home() -> Response:
    """`/`: the dashboard, which signs a visitor in first (a person opening the server's
    address lands somewhere useful, not on a 404)."""
    return RedirectResponse("/dashboard", status_code=307)


# Swagger UI's and ReDoc's files, served by Tally from the fastapi-offline package: /docs and
# /redoc work without reaching a CDN (an air-gapped server, a laptop on a train).
DOCS_ASSETS = "/docs-assets"


def install_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc, their scripts and styles from DOCS_ASSETS."""
    openapi_url = app.openapi_url or "/openapi.json"
    title = f"{app.title} documentation"
    app.mount(
        DOCS_ASSETS,
        StaticFiles(directory=str(files("fastapi_offline") / "static")),
        name="docs-assets",
    )

    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        )

    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=title,
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )

    app.add_api_route("/docs", swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_api_route("/redoc", redoc, methods=["GET"], include_in_schema=False)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    owns_database = database is None
    db = database or Database(
        settings.resolved_database_url,
        replica_url=settings.database_replica_url,
        replica_max_lag_seconds=settings.database_replica_max_lag_seconds,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        worker = None
        if settings.billing_scheduler:
            worker = Background(db, settings)
            worker.start()
        yield
        if worker is not None:
            worker.stop()
        if owns_database:
            db.dispose()

    app = FastAPI(
        title="Tally API",
        version=__version__,
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # install_docs: served from local files, not a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    install_error_handlers(app)
    install_unavailable_handler(app)  # database down: 503 + Retry-After, not 500

    async def _replay(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, IdempotentReplay)
        return replay_response(exc)

    app.add_exception_handler(IdempotentReplay, _replay)
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(SequenceVersionMiddleware)
    # Outermost of the domains' middleware: its headers go on every /portal answer, error
    # pages included.
    app.add_middleware(PortalSecurityMiddleware)
    if db.replicas is not None:
        app.add_middleware(RememberWrites, database=db)  # read-your-writes (tally.replicas)
    # Operations wrap everything: oversized bodies refused first; every answer (refusals
    # included) gets a request id, an access log line and a latency observation.
    app.add_middleware(
        BodyLimit,
        max_body_bytes=settings.max_body_bytes,
        uploads={"/api/attachments": ATTACHMENT_MAX_BYTES},
    )
    app.add_middleware(RequestContext)
    app.state.limits = Limits(
        per_minute=settings.rate_limit_per_minute,
        ingestion_per_minute=settings.ingestion_rate_limit_per_minute,
        failures=settings.auth_failure_limit,
        failure_window=settings.auth_failure_window_seconds,
    )
    # Usage ingestion first: FastAPI tries routes in order, each at a cost, and a batch
    # endpoint tried after every portal, dashboard and API route lost ~2 ms a request.
    app.include_router(ingestion_router, prefix="/api")
    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(provider_events_router)  # /webhooks/stripe/{accountId}: signed, no API key
    install_portal_errors(app)
    # The portal first: routes are matched in order, and a portal request would otherwise be
    # tried against every API route (~1 ms per request). No portal path overlaps /api.
    install_portal_pages(app)
    install_portal_payments(app)
    install_dashboard(app)  # /dashboard: pages, static files, headers, error pages
    app.add_api_route("/", _home, methods=["GET"], include_in_schema=False)
    install_docs(app)
    app.include_router(portal_api_router)
    app.include_router(portal_exchange_router)
    app.include_router(api_routes())
    app.include_router(portal_flexprice_router)
    return app


def create_served_app() -> FastAPI:
    """The application as `tally serve` runs it (uvicorn's factory, in each server process):
    built, its routes prepared, then its heap settled for a long life (`ops.heap`)."""
    app = create_app()
    prepare_routes(app.router.routes)
    heap.settle()
    return app


def prepare_routes(routes: Sequence[BaseRoute]) -> None:
    """Build now what FastAPI builds for each included router on the first request that
    walks it (each route's parameters and validators: about a second of CPU in all), so
    that no early request pays for it, and the result is frozen with the rest of startup."""
    for route in routes:
        candidates = getattr(route, "effective_candidates", None)
        if callable(candidates):
            prepare_routes(candidates())
            low_priority = getattr(route, "effective_low_priority_routes", None)
            if callable(low_priority):
                low_priority()
