"""/docs (Swagger UI) and /redoc work offline: every script, style sheet, font and image they
load is served by Tally itself, and answers."""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient


class _Assets(HTMLParser):
    """Every URL a page loads: src and href attributes, and the spec URL it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href", "spec-url"} and value:
                self.urls.append(value)


def loaded_urls(html: str) -> list[str]:
    parser = _Assets()
    parser.feed(html)
    # Swagger UI is given its document in an inline script: `url: '/openapi.json'`.
    return parser.urls + re.findall(r"""\burl:\s*['"]([^'"]+)['"]""", html)


@pytest.mark.parametrize(("path", "viewer"), [("/docs", "swagger-ui"), ("/redoc", "redoc")])
def test_the_api_documentation_loads_nothing_from_elsewhere(
    http: TestClient, path: str, viewer: str
) -> None:
    page = http.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    urls = loaded_urls(page.text)
    assert any(viewer in url for url in urls), urls  # the viewer's own script
    assert "/openapi.json" in urls
    assert "googleapis" not in page.text and "cdn" not in page.text.lower()
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{path} loads {url} from elsewhere"
        asset = http.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url


def test_the_viewers_scripts_are_served_as_javascript(http: TestClient) -> None:
    for name in ("swagger-ui-bundle.js", "redoc.standalone.js"):
        answer = http.get(f"/docs-assets/{name}")
        assert answer.status_code == 200
        assert "javascript" in answer.headers["content-type"]
        assert len(answer.content) > 100_000  # the real bundle, not a stub
