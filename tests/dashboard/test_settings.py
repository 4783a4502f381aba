"""Settings from the dashboard: the account form (the API's `AccountUpdate`, saved as
`PUT /api/sequence-accounts/{id}` saves it), branding and the customer portal (the whole
`PortalSettingsIn` of `PUT /api/portal-settings`, each form changing only its own fields).
What the API answers afterwards is what was saved; the API's validation shows next to the
fields with a 422 and changes nothing; a form without the CSRF token is refused; the pages
only ever show the signed-in account's settings."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.dashboard.helpers import page_token
from tests.factories import new_customer
from tests.portal.helpers import link_path, portal_client, put_settings
from tests.support.api_client import ApiClient

ACCOUNT = "/dashboard/settings"
BRANDING = "/dashboard/settings/branding"
PORTAL = "/dashboard/settings/portal"
DATA_LOGO = "data:image/png;base64,iVBORw0KGgo="


def account_of(api: ApiClient) -> dict[str, Any]:
    answer = api.get("/api/sequence-accounts")
    assert answer.status_code == 200, answer.text
    (account,) = answer.json()["items"]
    return dict(account)


def portal_settings_of(api: ApiClient) -> dict[str, Any]:
    answer = api.get("/api/portal-settings")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def account_form(**fields: str) -> dict[str, str]:
    return {
        "companyName": "Acme Billing Ltd",
        "companyNumber": "09876543",
        "country": "GB",
        "timezone": "Europe/London",
        "currency": "GBP",
        "invoiceNumberPrefix": "ACME",
        "paymentTermsDays": "14",
        "address_line1": "1 Rocket Road",
        "address_line2": "",
        "address_town": "London",
        "address_state": "",
        "address_postcode": "E1 6AN",
        "address_country": "GB",
        "alertEmailAddresses": "finance@acme.example\n\n  ops@acme.example  \n",
        "logoUrl": "https://acme.example/logo.png",
        **fields,
    }


def post(dashboard: TestClient, path: str, **data: str) -> Any:
    return dashboard.post(path, data={"csrf_token": page_token(dashboard, path), **data})


def error_of(page: str, field: str) -> str:
    """The message shown next to a field ("form": above the form, for the others)."""
    start, end = (
        ('id="form-errors">', "</p>") if field == "form" else (f'id="{field}-error">', "</span>")
    )
    assert start in page, page
    return page.split(start)[1].split(end, maxsplit=1)[0]


# --- account ---------------------------------------------------------------------------------


def test_the_account_page_shows_the_accounts_settings_only(
    dashboard: TestClient, api: ApiClient, other_api: ApiClient
) -> None:
    mine = account_of(api)
    api.put(f"/api/sequence-accounts/{mine['id']}", json={"invoiceNumberPrefix": "MINE"})
    theirs = account_of(other_api)
    other_api.put(
        f"/api/sequence-accounts/{theirs['id']}",
        json={"companyName": "Their Company Ltd", "invoiceNumberPrefix": "THEIRS"},
    )
    page = dashboard.get(ACCOUNT)
    assert page.status_code == 200
    assert '<a href="/dashboard/settings" aria-current="page">Settings</a>' in page.text
    assert '<a href="/dashboard/settings" aria-current="page">Account</a>' in page.text
    assert 'value="MINE"' in page.text and f'value="{mine["companyName"]}"' in page.text
    assert "THEIRS" not in page.text and "Their Company Ltd" not in page.text
    assert '<option value="Europe/London">' in page.text  # the time zones the API accepts
    assert '<option value="UTC" selected>' not in page.text  # a datalist, not a select


def test_saving_the_account_form_saves_what_the_api_answers(
    dashboard: TestClient, api: ApiClient
) -> None:
    answer = post(dashboard, ACCOUNT, **account_form(sendCustomerNotifications="true"))
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/settings?saved=1"
    account = account_of(api)
    assert account["companyName"] == "Acme Billing Ltd"
    assert account["companyNumber"] == "09876543"
    assert account["timezone"] == "Europe/London"
    assert account["currency"] == "GBP"
    assert account["invoiceNumberPrefix"] == "ACME"
    assert account["paymentTermsDays"] == 14
    assert account["address"] == {
        "line1": "1 Rocket Road",
        "town": "London",
        "postcode": "E1 6AN",
        "country": "GB",
    }
    assert account["sendCustomerNotifications"] is True
    assert account["alertEmailAddresses"] == ["finance@acme.example", "ops@acme.example"]
    assert account["logoUrl"] == "https://acme.example/logo.png"

    page = dashboard.get(answer.headers["location"])
    assert "Account settings saved." in page.text
    assert 'value="ACME"' in page.text and "Acme Billing Ltd" in page.text

    # An unticked box is "off"; an emptied logo removes it; no address lines keep the address.
    blank_address = {f"address_{name}": "" for name in ("line1", "town", "postcode", "country")}
    answer = post(dashboard, ACCOUNT, **account_form(logoUrl="", **blank_address))
    assert answer.status_code == 303
    account = account_of(api)
    assert account["sendCustomerNotifications"] is False
    assert not account.get("logoUrl")
    assert account["address"]["line1"] == "1 Rocket Road"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "Time zone: choose a time zone from the list"),
        ({"timezone": "localtime"}, "timezone", "Time zone: choose a time zone from the list"),
        (
            {"invoiceNumberPrefix": "INV 2024"},
            "invoiceNumberPrefix",
            "Invoice number prefix: use letters, digits and dashes only",
        ),
        ({"paymentTermsDays": "400"}, "paymentTermsDays", "Payment terms: enter 365 or less"),
        ({"paymentTermsDays": "soon"}, "paymentTermsDays", "Payment terms: enter a whole number"),
        ({"companyName": " "}, "companyName", "Company name: fill this in"),
        ({"currency": "XYZ"}, "currency", "Currency: choose a currency"),
        ({"country": "XX"}, "country", "Country: choose a country"),
        ({"alertEmailAddresses": "a@acme.example\nnobody"}, "alertEmailAddresses", "line 2:"),
        ({"address_town": ""}, "address_town", "Town: fill this in"),
        ({"address_country": "US", "address_state": "ZZ"}, "form", "is not a state of US"),
    ],
)
def test_the_apis_validation_shows_next_to_the_field_and_nothing_changes(
    dashboard: TestClient, api: ApiClient, fields: dict[str, str], field: str, message: str
) -> None:
    before = account_of(api)
    answer = post(dashboard, ACCOUNT, **account_form(**fields))
    assert answer.status_code == 422
    assert message in error_of(answer.text, field)
    assert "Nothing was saved" in answer.text
    assert 'value="1 Rocket Road"' in answer.text  # the form comes back as it was sent
    assert account_of(api) == before


def test_an_account_form_without_the_csrf_token_is_refused(
    dashboard: TestClient, api: ApiClient
) -> None:
    before = account_of(api)
    answer = dashboard.post(ACCOUNT, data=account_form())
    assert answer.status_code == 403
    assert "Nothing was changed" in answer.text
    assert account_of(api) == before


# --- branding --------------------------------------------------------------------------------

PORTAL_CHOICES: dict[str, Any] = {
    "enabled": False,
    "tabs": ["OVERVIEW", "INVOICES"],
    "frameAncestors": ["https://app.acme.example"],
}
BRANDING_CHOICES: dict[str, Any] = {
    "logoUrl": "https://cdn.acme.example/logo.png",
    "brandColor": "#123abc",
    "applicationUrl": "https://app.acme.example/",
}


def branding_form(**fields: str) -> dict[str, str]:
    return {
        "logoUrl": DATA_LOGO,
        "brandColor": "#0A7D5A",
        "brandColorPicker": "#2f5bea",
        "brandColorShown": "",
        "applicationUrl": "https://app.acme.example/billing",
        **fields,
    }


def test_saving_branding_keeps_the_portal_settings(dashboard: TestClient, api: ApiClient) -> None:
    assert put_settings(api, **PORTAL_CHOICES).status_code == 200
    answer = post(dashboard, BRANDING, **branding_form())
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/settings/branding?saved=1"
    assert portal_settings_of(api) == {
        **PORTAL_CHOICES,
        "logoUrl": DATA_LOGO,
        "brandColor": "#0a7d5a",
        "applicationUrl": "https://app.acme.example/billing",
    }
    page = dashboard.get(answer.headers["location"])
    assert "Branding saved." in page.text
    assert 'value="#0a7d5a"' in page.text  # the text field and the picker
    assert f'<img class="brand-logo" src="{DATA_LOGO}"' in page.text  # the preview
    preview = dashboard.get("/dashboard/settings/branding/preview.css")
    assert preview.status_code == 200
    assert preview.headers["content-type"].startswith("text/css")
    assert preview.text == ".brand-preview { --brand: #0a7d5a; }\n"


def test_the_colour_picker_counts_when_the_text_was_left_alone(
    dashboard: TestClient, api: ApiClient
) -> None:
    put_settings(api, brandColor="#123abc")
    picked = branding_form(
        brandColor="#123abc", brandColorShown="#123abc", brandColorPicker="#FF8800"
    )
    assert post(dashboard, BRANDING, **picked).status_code == 303
    assert portal_settings_of(api)["brandColor"] == "#ff8800"
    # Typed over, the text wins whatever the picker says; emptied, the portal's own colour.
    typed = branding_form(
        brandColor="#00aa00", brandColorShown="#ff8800", brandColorPicker="#ff0000"
    )
    assert post(dashboard, BRANDING, **typed).status_code == 303
    assert portal_settings_of(api)["brandColor"] == "#00aa00"
    emptied = branding_form(brandColor="", brandColorShown="#00aa00", brandColorPicker="#00aa00")
    assert post(dashboard, BRANDING, **emptied).status_code == 303
    assert "brandColor" not in portal_settings_of(api)
    assert dashboard.get("/dashboard/settings/branding/preview.css").text == ""


def test_the_portal_shows_each_new_brand_colour_at_once(
    app: FastAPI, dashboard: TestClient, api: ApiClient
) -> None:
    customer = new_customer(api)
    visitor = portal_client(app)
    for colour in ("#0a7d5a", "#aa3300"):  # the portal's page cache must see both saves
        assert post(dashboard, BRANDING, **branding_form(brandColor=colour)).status_code == 303
        page = visitor.get(link_path(customer))
        assert page.status_code == 200
        assert f"--brand: {colour};" in page.text


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"brandColor": "red"}, "brandColor", "hex colour like #1a2b3c"),
        ({"brandColor": "#12345"}, "brandColor", "hex colour"),
        ({"applicationUrl": "javascript:alert(1)"}, "applicationUrl", "an https:// URL"),
        ({"logoUrl": "javascript:alert(1)"}, "logoUrl", "an https:// URL"),
        ({"logoUrl": "data:text/html,<b>"}, "logoUrl", "must be an image"),
    ],
)
def test_branding_validation_shows_next_to_the_field_and_nothing_changes(
    dashboard: TestClient, api: ApiClient, fields: dict[str, str], field: str, message: str
) -> None:
    put_settings(api, **BRANDING_CHOICES, **PORTAL_CHOICES)
    before = portal_settings_of(api)
    answer = post(dashboard, BRANDING, **branding_form(**fields))
    assert answer.status_code == 422
    assert message in error_of(answer.text, field)
    preview = answer.text.split('class="card stack settings-form branding-form"')[0]
    assert "javascript:" not in preview and "data:text" not in preview  # the saved ones
    assert portal_settings_of(api) == before


def test_a_branding_form_without_the_csrf_token_is_refused(
    dashboard: TestClient, api: ApiClient
) -> None:
    put_settings(api, **BRANDING_CHOICES)
    before = portal_settings_of(api)
    assert dashboard.post(BRANDING, data=branding_form()).status_code == 403
    assert portal_settings_of(api) == before


# --- the customer portal ---------------------------------------------------------------------


def test_saving_the_portal_settings_keeps_the_branding(
    app: FastAPI, dashboard: TestClient, api: ApiClient
) -> None:
    put_settings(api, **BRANDING_CHOICES)
    customer = new_customer(api)
    visitor = portal_client(app)
    assert visitor.get(link_path(customer)).status_code == 200

    form = {"tab_OVERVIEW": "true", "tab_USAGE": "true", "tab_GOLD": "true"}
    origins = "https://app.acme.example/\n\nHTTPS://*.Acme.example\n"
    answer = post(dashboard, PORTAL, **form, frameAncestors=origins)  # no `enabled`: off
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/settings/portal?saved=1"
    assert portal_settings_of(api) == {
        **BRANDING_CHOICES,
        "enabled": False,
        "tabs": ["OVERVIEW", "USAGE"],
        "frameAncestors": ["https://app.acme.example", "https://*.acme.example"],
    }
    assert visitor.get(link_path(customer)).status_code == 404  # what "off" means
    page = dashboard.get(answer.headers["location"])
    assert "Portal settings saved." in page.text
    assert 'name="enabled" value="true" aria-describedby' in page.text  # unticked
    assert 'name="tab_USAGE" value="true" checked' in page.text
    assert 'name="tab_INVOICES" value="true">' in page.text

    answer = post(dashboard, PORTAL, enabled="true", tab_INVOICES="true", frameAncestors="")
    assert answer.status_code == 303
    assert portal_settings_of(api) == {
        **BRANDING_CHOICES,
        "enabled": True,
        "tabs": ["INVOICES"],
        "frameAncestors": [],
    }
    reopened = visitor.get(link_path(customer))  # on again: to its one tab, at once
    assert reopened.status_code == 303
    assert reopened.headers["location"] == link_path(customer) + "/invoices"
    invoices = visitor.get(reopened.headers["location"])
    assert 'data-tab="invoices"' in invoices.text and 'data-tab="overview"' not in invoices.text


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"tab_OVERVIEW": ""}, "tabs", "show at least one tab"),
        ({"frameAncestors": "https://app.acme.example/billing"}, "frameAncestors", "no path"),
        ({"frameAncestors": "https://a.example; script-src *"}, "frameAncestors", "not an origin"),
        ({"frameAncestors": "https://*.localhost"}, "frameAncestors", "two labels"),
        ({"frameAncestors": "*"}, "frameAncestors", "is not an origin"),
    ],
)
def test_portal_validation_shows_next_to_the_field_and_nothing_changes(
    dashboard: TestClient, api: ApiClient, fields: dict[str, str], field: str, message: str
) -> None:
    put_settings(api, **BRANDING_CHOICES)
    before = portal_settings_of(api)
    form = {"enabled": "true", "tab_OVERVIEW": "true", "frameAncestors": "", **fields}
    answer = post(dashboard, PORTAL, **form)
    assert answer.status_code == 422
    assert message in error_of(answer.text, field)
    assert portal_settings_of(api) == before


def test_a_portal_form_without_the_csrf_token_is_refused(
    dashboard: TestClient, api: ApiClient
) -> None:
    answer = dashboard.post(PORTAL, data={"tab_OVERVIEW": "true"})  # would turn it off
    assert answer.status_code == 403
    assert portal_settings_of(api)["enabled"] is True
    assert portal_settings_of(api)["tabs"] == ["OVERVIEW", "INVOICES", "USAGE", "CREDITS"]


def test_the_portal_pages_show_the_accounts_own_settings_only(
    dashboard: TestClient, api: ApiClient, other_api: ApiClient
) -> None:
    put_settings(api, **BRANDING_CHOICES, tabs=["INVOICES"])
    put_settings(
        other_api,
        brandColor="#654321",
        applicationUrl="https://theirs.example/app",
        frameAncestors=["https://theirs.example"],
    )
    their_settings = portal_settings_of(other_api)
    branding = dashboard.get(BRANDING)
    assert branding.status_code == 200
    assert (
        'value="#123abc"' in branding.text and 'value="https://app.acme.example/"' in branding.text
    )
    assert "#654321" not in branding.text and "theirs.example" not in branding.text
    assert dashboard.get("/dashboard/settings/branding/preview.css").text == (
        ".brand-preview { --brand: #123abc; }\n"
    )
    portal = dashboard.get(PORTAL)
    assert 'name="tab_INVOICES" value="true" checked' in portal.text
    assert 'name="tab_OVERVIEW" value="true">' in portal.text
    assert "theirs.example" not in portal.text

    # Saving one account's settings never touches another's.
    assert post(dashboard, BRANDING, **branding_form()).status_code == 303
    assert post(dashboard, PORTAL, tab_USAGE="true", frameAncestors="").status_code == 303
    assert portal_settings_of(other_api) == their_settings


def test_signed_out_visitors_go_to_sign_in(visitor: TestClient) -> None:
    for path in (ACCOUNT, BRANDING, PORTAL):
        answer = visitor.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/dashboard/sign-in?next={path}"
    assert visitor.get("/dashboard/settings/branding/preview.css").status_code == 303


def test_the_account_form_sets_the_customers_language(
    dashboard: TestClient, api: ApiClient
) -> None:
    assert '<option value="en" selected>English</option>' in dashboard.get(ACCOUNT).text
    answer = post(dashboard, ACCOUNT, **account_form(language="fr"))
    assert answer.status_code == 303, answer.text
    assert account_of(api)["language"] == "fr"
    assert '<option value="fr" selected>French (français)</option>' in dashboard.get(ACCOUNT).text
    refused = post(dashboard, ACCOUNT, **account_form(language="xx"))
    assert refused.status_code == 422
    assert account_of(api)["language"] == "fr"
