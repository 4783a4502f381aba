"""URLs a merchant sets: one rule for all of them, and origins rebuilt from their parts.

A merchant's logo, the portal's "back to app" link and the origins allowed to embed the portal
end up in pages, `href`s, `src`s and the portal's Content-Security-Policy, so each must be a
plain web address and nothing more:

- `https://`, or `http://` only on this machine (`localhost`, `127.0.0.0/8`, `[::1]`): a
  plain-http page can be read and changed by anyone on the way;
- a host name of letters, digits and hyphens (IDNs in their `xn--` form) or an IP address,
  an optional port, no user name or password (`https://user:pass@host` hands them to every
  visitor);
- no spaces, control characters, quotes, `<>`, backslashes, backticks, `;` or `,` anywhere:
  `;` and `,` separate CSP directives and sources, the others break out of attributes;
- at most `MAX_URL` characters.

`origin` gives the only part of such a URL a CSP source may take, `scheme://host[:port]`,
rebuilt from the parsed parts, never copied from the text; `embedding_origin` checks an origin
the merchant lists for `frame-ancestors` (a `*.` wildcard allowed as its first label).
Standard library only: the bottom layer.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

MAX_URL = 2000

_FORBIDDEN = re.compile(r"[\s\"'`<>\\;,\x00-\x1f\x7f-\x9f\u2028\u2029]")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_ORIGIN = re.compile(
    r"(?P<scheme>[a-z]+)://(?P<wildcard>\*\.)?(?P<host>[^/?#]+?)(?::(?P<port>[0-9]{1,5}))?"
)
_DEFAULT_PORTS = {"https": 443, "http": 80}
_WHERE = "an https:// URL (http:// only on this machine: localhost, 127.0.0.1 or [::1])"


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    """This machine: `localhost` (and its subdomains, which resolve here), 127.0.0.0/8, ::1."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    address = _ip(host)
    return address is not None and address.is_loopback


def _check_host(host: str, what: str) -> None:
    if _ip(host) is None and not _HOST_NAME.fullmatch(host):
        raise ValueError(
            f"{what}: {host!r} is not a host name (letters, digits, hyphens; "
            "international names in their xn-- form) or an IP address"
        )


def _check_scheme(scheme: str, host: str, what: str) -> None:
    if scheme == "https" or (scheme == "http" and is_loopback(host)):
        return
    raise ValueError(f"{what} must be {_WHERE}")


def _parsed(value: str, what: str) -> SplitResult:
    if len(value) > MAX_URL:
        raise ValueError(f"{what} is at most {MAX_URL} characters")
    if _FORBIDDEN.search(value):
        raise ValueError(
            f"{what} must not contain spaces, control characters, quotes, <, >, \\, ;, or ,"
        )
    parts = urlsplit(value)
    try:
        host, port = parts.hostname, parts.port  # port: ValueError when not a number 0-65535
    except ValueError as error:
        raise ValueError(f"{what} has a port that is not a number from 1 to 65535") from error
    if not host or not parts.scheme:
        raise ValueError(f"{what} must be {_WHERE}")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{what} must not carry a user name or password")
    if port == 0:
        raise ValueError(f"{what} has a port that is not a number from 1 to 65535")
    _check_scheme(parts.scheme.lower(), host, what)
    _check_host(host, what)
    return parts


def web_url(value: str, what: str = "the URL") -> str:
    """`value` when it follows the rule above, else ValueError saying what is wrong (`what`
    names the field)."""
    _parsed(value, what)
    return value


def page_image(value: str | None) -> str | None:
    """`value` when a browser can load it as an image of a page: a web URL by the rule above,
    or a `data:image/` URL; None for anything else. A `file:` logo is the PDFs' alone: in a
    page it would load nothing and show customers a path on the server."""
    if not value:
        return None
    if value[:11].lower() == "data:image/":
        return value
    try:
        return web_url(value)
    except ValueError:
        return None


def _origin_of(scheme: str, host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{shown}:{port}"
    return f"{scheme}://{shown}"


def origin(value: str | None) -> str | None:
    """`scheme://host[:port]` of a URL `web_url` accepts, from its parsed parts (the host
    lower-case, a default port left out); None for anything else."""
    if not value:
        return None
    try:
        parts = _parsed(value, "the URL")
    except ValueError:
        return None
    assert parts.hostname is not None  # _parsed refuses a URL without one
    return _origin_of(parts.scheme.lower(), parts.hostname, parts.port)


def embedding_origin(value: str) -> str:
    """An origin allowed to embed a page (CSP `frame-ancestors`), as CSP writes it:
    `scheme://host[:port]` by the rule above, no path; a `*.` wildcard only as the leftmost
    label of a host of at least two labels (`https://*.example.com`). ValueError otherwise."""
    text = value.strip().lower().removesuffix("/")
    match = _ORIGIN.fullmatch(text)
    shape = (
        f"{value!r} is not an origin: give scheme://host[:port], no path "
        "(e.g. https://app.example.com)"
    )
    if match is None or _FORBIDDEN.search(text):
        raise ValueError(shape)
    host = match["host"]
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    _check_host(host, repr(value))
    if match["wildcard"] and (_ip(host) is not None or "." not in host):
        raise ValueError(f"{value!r}: a wildcard needs a domain of two labels (*.example.com)")
    port = int(match["port"]) if match["port"] is not None else None
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"{value!r}: the port must be between 1 and 65535")
    _check_scheme(match["scheme"], host, repr(value))
    built = _origin_of(match["scheme"], host, port)
    return built.replace("://", "://*.", 1) if match["wildcard"] else built
