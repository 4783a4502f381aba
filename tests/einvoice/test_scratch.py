from tests.einvoice.helpers import *
from tests.support.api_client import ApiClient
from tests.support.en16931 import problems


def test_scratch(api: ApiClient) -> None:
    set_up_merchant(api)
    customer = customer_with_vat(api, "Example Ltd", "GB987654321")
    invoice = issued_invoice(api, customer["id"], [line("Platform", "1", "100.00"), line("API calls", "12000", "0.0125")])
    for syntax in ("cii", "ubl"):
        r = api.get(f"/api/invoices/{invoice['id']}/e-invoice", params={"syntax": syntax})
        print(r.status_code, r.headers)
        print(r.content.decode())
        print(problems(r.content, syntax))
    assert 0
