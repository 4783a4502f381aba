"""A `file:` logo reads only the data directory's `assets/` folder (issue 16).

Rendering fetched any file under the data directory for a `file:` logo, the SQLite database
and the outbox included (only images were embedded, but an image there was shown to every
customer). Now only `<data dir>/assets/` is read; the logo URL itself is refused when it is
no plain absolute path.
"""

import io
import uuid
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI
from pypdf import PdfReader

from tally.models import InvoiceStatus
from tests.documents.helpers import PNG_PIXEL
from tests.factories import new_customer
from tests.invoices.helpers import insert_invoice
from tests.portal.helpers import portal_client
from tests.support.api_client import ApiClient


def images_in(pdf: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)


def _logo_in_pdf(app: FastAPI, api: ApiClient, logo: Path) -> int:
    account_id = api.get("/api/sequence-accounts").json()["items"][0]["id"]
    answer = api.put(f"/api/sequence-accounts/{account_id}", json={"logoUrl": logo.as_uri()})
    assert answer.status_code == 200, answer.text
    invoice_id = insert_invoice(app.state.db, account_id, new_customer(api))
    download = api.get(f"/api/invoices/{invoice_id}/download")
    assert download.status_code == 200
    return images_in(download.content)


def test_a_logo_in_the_assets_folder_is_shown(app: FastAPI, api: ApiClient) -> None:
    assets = Path(app.state.settings.data_dir) / "assets"
    assets.mkdir(exist_ok=True)
    logo = assets / f"logo-{uuid.uuid4()}.png"
    logo.write_bytes(PNG_PIXEL)
    assert _logo_in_pdf(app, api, logo) == 1


def test_a_file_elsewhere_in_the_data_directory_is_never_read(app: FastAPI, api: ApiClient) -> None:
    # As the database or an outbox message would be: in the data directory, not in assets/.
    elsewhere = Path(app.state.settings.data_dir) / f"uploaded-{uuid.uuid4()}.png"
    elsewhere.write_bytes(PNG_PIXEL)
    assert _logo_in_pdf(app, api, elsewhere) == 0


def test_a_file_logo_that_walks_out_of_its_folder_is_refused(app: FastAPI, api: ApiClient) -> None:
    account_id = api.get("/api/sequence-accounts").json()["items"][0]["id"]
    data_dir = Path(app.state.settings.data_dir)
    for logo in (
        f"file://{data_dir}/assets/../tally.db",
        f"file://{data_dir}/assets/%2e%2e/tally.db",
        f"file://elsewhere.example{data_dir}/assets/logo.png",
        f"file://{data_dir}/assets/logo.png?x=1",
        "file:assets/logo.png",
    ):
        answer = api.put(f"/api/sequence-accounts/{account_id}", json={"logoUrl": logo})
        assert answer.status_code == 400, (logo, answer.text)
        assert answer.json()["error"]["details"][0]["field"] == "logoUrl"


def test_the_portal_never_shows_a_file_logo(app: FastAPI, api: ApiClient) -> None:
    """A browser cannot load a file: URL, and in the page it would show customers a path on
    the server: the portal leaves it to the PDF and shows the merchant's name."""
    assets = Path(app.state.settings.data_dir) / "assets"
    assets.mkdir(exist_ok=True)
    logo = assets / f"logo-{uuid.uuid4()}.png"
    logo.write_bytes(PNG_PIXEL)
    account_id = api.get("/api/sequence-accounts").json()["items"][0]["id"]
    answer = api.put(f"/api/sequence-accounts/{account_id}", json={"logoUrl": logo.as_uri()})
    assert answer.status_code == 200, answer.text
    customer = new_customer(api)
    invoice_id = insert_invoice(
        app.state.db,
        account_id,
        customer,
        status=InvoiceStatus.SENT,
        invoice_number="INV00007",
        issue_date=date(2024, 6, 1),
        sent_at=datetime.fromisoformat("2024-06-01T09:00:00+00:00"),
    )
    link = urlsplit(customer["portalUrl"]).path
    with portal_client(app) as browser:
        pages = [browser.get(link + path) for path in ("/invoices", f"/invoices/{invoice_id}")]
        pdf = browser.get(f"{link}/invoices/{invoice_id}/pdf")
    for page in pages:
        assert page.status_code == 200, page.text
        assert "file:" not in page.text and str(assets) not in page.text
        assert "<img" not in page.text
        assert '<span class="brand-name">Test merchant</span>' in page.text
    assert pdf.status_code == 200
    assert images_in(pdf.content) == 1  # the PDF still shows it
