"""POST /api/attachments, GET /api/attachments/{id} and its download: files kept in the
database for invoices and schedules to name, tenant scoped, checked for size and type."""

from typing import Any

import pytest

from tally.attachments.service import MAX_BYTES
from tests.attachments.helpers import PDF, upload
from tests.support.api_client import ApiClient

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.mark.parametrize(
    ("file_name", "content", "asset_type", "fmt", "media_type"),
    [
        ("terms.pdf", PDF, "DOCUMENT", "PDF", "application/pdf"),
        ("logo.PNG", PNG, "IMAGE", "PNG", "image/png"),
        ("usage.csv", "metric,qty\napi,3\nnaïve,1\n".encode(), "DOCUMENT", "CSV", "text/csv"),
    ],
)
def test_an_upload_is_described_and_downloads_as_it_was_sent(
    api: ApiClient, file_name: str, content: bytes, asset_type: str, fmt: str, media_type: str
) -> None:
    asset = upload(api, file_name, content)
    assert (asset["fileName"], asset["fileSizeBytes"]) == (file_name, len(content))
    assert (asset["type"], asset["format"]) == (asset_type, fmt)
    assert asset["url"].endswith(f"/api/attachments/{asset['id']}/download")
    assert api.get(f"/api/attachments/{asset['id']}").json() == asset
    download = api.get(f"/api/attachments/{asset['id']}/download")
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"].startswith(media_type)
    assert file_name in download.headers["content-disposition"]


def test_another_account_s_attachment_is_not_found(api: ApiClient, other_api: ApiClient) -> None:
    asset = upload(other_api)
    for url in (f"/api/attachments/{asset['id']}", f"/api/attachments/{asset['id']}/download"):
        response = api.get(url)
        assert response.status_code == 404, response.text
        assert "terms.pdf" not in response.text


@pytest.mark.parametrize(
    ("file_name", "content", "field"),
    [
        ("virus.exe", b"MZ\x90\x00", "fileName"),
        ("noextension", PDF, "fileName"),
        ("fake.pdf", b"<html>not a pdf</html>", "body"),
        ("fake.png", PDF, "body"),
        ("binary.txt", b"\xff\xfe\x00\x01", "body"),
        ("empty.pdf", b"", "body"),
        ("a/b.pdf", PDF, "fileName"),
        ('quote".pdf', PDF, "fileName"),
    ],
)
def test_a_bad_file_is_refused_and_nothing_is_kept(
    api: ApiClient, file_name: str, content: bytes, field: str
) -> None:
    error = upload(api, file_name, content, status=400)["error"]
    assert error["details"][0]["field"] == field
    assert not [
        log
        for log in api.get("/api/activity-logs").json()["items"]
        if log["activityType"] == "ATTACHMENT"
    ]


def test_the_size_limit_is_the_attachment_s_not_the_json_bodies(api: ApiClient) -> None:
    # Over the 1 MiB limit of other bodies, within the attachments' own.
    big = PDF + b"0" * (2 * 1024 * 1024)
    assert upload(api, "big.pdf", big)["fileSizeBytes"] == len(big)
    too_big = PDF + b"0" * MAX_BYTES
    response = api.post(
        "/api/attachments",
        params={"fileName": "huge.pdf"},
        content=too_big,
        headers={"Content-Type": "application/pdf"},
    )
    assert response.status_code == 413
    # Other operations keep their limit.
    response = api.post("/api/customers", content=b"{" + b" " * (2 * 1024 * 1024) + b"}")
    assert response.status_code == 413


def test_an_upload_is_in_the_activity_log(api: ApiClient) -> None:
    asset: dict[str, Any] = upload(api, "contract.pdf")
    items = [
        item
        for log in api.get("/api/activity-logs").json()["items"]
        for item in log["activityLogItems"]
    ]
    [entry] = [item for item in items if item["activityLogObject"]["entityId"] == asset["id"]]
    assert (entry["verb"], entry["summary"]) == (
        "CREATED",
        "Attachment 'contract.pdf' uploaded (45 bytes)",
    )


def test_a_file_may_hold_what_json_would_call_a_nul(api: ApiClient) -> None:
    content = PDF + b'stream "\\u0000" endstream'
    assert upload(api, "escaped.pdf", content)["fileSizeBytes"] == len(content)
    assert (
        api.get(f"/api/attachments/{upload(api, 'again.pdf', content)['id']}/download").content
        == content
    )
