"""Downloads answer alike everywhere: the file's name safe in the header (a quote or a
non-ASCII character cannot break it, RFC 6266 carries the real name), never cached, never
sniffed."""

from tally.api.downloads import download
from tests.support.api_client import ApiClient


def test_a_plain_name_is_sent_as_it_is() -> None:
    answer = download(b"%PDF", "application/pdf", "INV-0001.pdf")
    assert answer.headers["Content-Disposition"] == 'attachment; filename="INV-0001.pdf"'
    assert answer.headers["Cache-Control"] == "private, no-store"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_quotes_controls_and_accents_cannot_break_the_header() -> None:
    answer = download(b"x", "text/plain", 'Fa"cture\r\nX-Evil: 1 é.txt')
    header = answer.headers["Content-Disposition"]
    assert header.startswith('attachment; filename="Fa_cture__X-Evil: 1 _.txt"; filename*=')
    assert header.endswith("filename*=UTF-8''Fa%22cture%0D%0AX-Evil%3A%201%20%C3%A9.txt")
    assert "\r" not in header and "\n" not in header


def test_an_uploaded_attachment_keeps_its_accented_name(api: ApiClient) -> None:
    uploaded = api.post(
        "/api/attachments?fileName=Relevé.pdf",
        content=b"%PDF-1.4\n%%EOF\n",
        headers={"Content-Type": "application/pdf"},
    )
    assert uploaded.status_code == 201, uploaded.text
    answer = api.get(f"/api/attachments/{uploaded.json()['id']}/download")
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"] == (
        "attachment; filename=\"Relev_.pdf\"; filename*=UTF-8''Relev%C3%A9.pdf"
    )
