"""A file answered for download (PDFs, e-invoices, attachments, CSV and Parquet exports),
alike from the API, the dashboard and the portal: saved under its name, never kept by a
shared cache or the browser (a merchant's or a customer's document), never sniffed as
another type."""

from urllib.parse import quote

from starlette.responses import Response


def _ascii_name(filename: str) -> str:
    """The name old clients read (`filename=`): ASCII, no quote, backslash or control."""
    return "".join(
        "_" if char in '"\\' or ord(char) < 0x20 or ord(char) > 0x7E else char for char in filename
    )


def download_headers(filename: str) -> dict[str, str]:
    """The headers of a file answered for download, whether whole or streamed."""
    plain = _ascii_name(filename)
    disposition = f'attachment; filename="{plain}"'
    if plain != filename:  # RFC 6266: the real name, UTF-8, for clients that read it
        disposition += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return {
        "Content-Disposition": disposition,
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }


def download(content: bytes | str, media_type: str, filename: str) -> Response:
    return Response(content, media_type=media_type, headers=download_headers(filename))
