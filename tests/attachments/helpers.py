"""Uploading attachments through the API."""

from typing import Any

from tests.support.api_client import ApiClient

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def upload(
    api: ApiClient, file_name: str = "terms.pdf", content: bytes = PDF, status: int = 201
) -> dict[str, Any]:
    response = api.post(
        "/api/attachments",
        params={"fileName": file_name},
        content=content,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == status, response.text
    return dict(response.json())
