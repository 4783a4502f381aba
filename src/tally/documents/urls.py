"""What a document may load while it renders: `data:` URLs and local files, never the network.

A merchant's logo is the only resource a document names. Fetching it from the network at
render time would let one slow host stall every PDF (and let a merchant make the server
request any address), so the fetcher refuses every scheme but `data:` and `file:`, and
files only when they are regular files, small, and under one of the directories it is given
(the data directory's `assets/` folder, `render.ASSETS`): never `/dev/zero`, never `/etc`,
never the SQLite database beside it.
"""

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

MAX_FILE_BYTES = 5 * 1024 * 1024


class RefusedUrl(ValueError):
    """WeasyPrint logs it and renders without the resource."""


class LocalUrlFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint has no type hints
    def __init__(self, roots: list[Path]) -> None:
        super().__init__(timeout=1, allowed_protocols={"data", "file"}, allow_redirects=False)
        self.roots = [root.resolve() for root in roots]

    def fetch(self, url: str, headers: Any = None) -> Any:
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme != "file":
            raise RefusedUrl(f"not fetched while rendering (only data: and local files): {url}")
        path = Path(unquote(urlsplit(url).path)).resolve()
        if not any(path.is_relative_to(root) for root in self.roots):
            raise RefusedUrl(f"outside the directories documents may read: {url}")
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            raise RefusedUrl(f"not a regular file of at most {MAX_FILE_BYTES} bytes: {url}")
        return URLFetcherResponse(path.as_uri(), path.read_bytes())
