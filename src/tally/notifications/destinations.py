"""Where webhooks may go: public addresses only, unless the operator allows more.

A tenant names the URL, and Tally's servers make the request: without a rule, a policy could
aim at Tally's own pages, its database, the cloud's metadata service or anything else on the
inside network. So a destination on a loopback, private, link-local, unique-local,
multicast, unspecified, reserved or cloud metadata address is refused, twice:

- when a recipient is set (`refusal`): the host as httpx parses it, numeric forms included
  (`2130706433`, `0x7f000001` and `127.1` are 127.0.0.1, read by the system's own parser),
  and names that are local by definition (`localhost`, `*.internal`, single labels ...);
  no DNS lookup there;
- when connecting (`guarded_transport`): the name is resolved, every address it gives is
  checked, and the connection is made to the address checked (never resolved again), so a
  name that resolves inside later, or rebinds between check and connect, gets nowhere.

`TALLY_WEBHOOK_ALLOWED_HOSTS` lists host names, addresses and networks that are allowed all
the same (a deployment's internal receivers; the test suite's local ones).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any

import httpcore
import httpx

from tally.core.hosts import HOST_NAME, AllowList, IPAddress, IPNetwork, plain_host

_METADATA = [
    ipaddress.ip_network(n)
    for n in (
        "169.254.169.254/32",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle ...
        "169.254.170.2/32",  # AWS ECS task metadata
        "100.100.100.200/32",  # Alibaba Cloud
        "fd00:ec2::254/128",  # AWS over IPv6
    )
]
_METADATA_NAMES = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data"}
)
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Names that are local by definition: RFC 6761 (.localhost), 6762 (.local), 8375
# (home.arpa), ICANN's private-use .internal, and the usual /etc/hosts aliases.
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_LOCAL_SUFFIXES = (".localhost", ".local", ".localdomain", ".internal", ".home.arpa")


def _embedded(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _within(networks: Iterable[IPNetwork]) -> Callable[[IPAddress], bool]:
    return lambda a: any(a.version == n.version and a in n for n in networks)


# What makes an address internal, first match named (metadata before link-local, unique-local
# and carrier-grade NAT before the catch-alls).
_KINDS: list[tuple[Callable[[IPAddress], bool], str]] = [
    (_within(_METADATA), "cloud metadata"),
    (lambda a: a.is_unspecified, "unspecified"),
    (lambda a: a.is_loopback, "loopback"),
    (lambda a: a.is_link_local, "link-local"),
    (lambda a: a.is_multicast, "multicast"),
    (_within([_UNIQUE_LOCAL]), "unique-local"),
    (_within([_SHARED]), "shared (carrier-grade NAT)"),
    (lambda a: a.is_reserved, "reserved"),
    (lambda a: a.is_private, "private"),
    (lambda a: not a.is_global, "non-public"),
]


def address_refusal(address: IPAddress, allowed: AllowList) -> str | None:
    """Why a connection to `address` is refused ("private address 10.0.0.1"), or None."""
    if allowed.allows_address(address):
        return None
    if isinstance(address, ipaddress.IPv6Address) and (inner := _embedded(address)):
        reason = address_refusal(inner, allowed)
        return reason and f"{reason} (as {address})"
    kind = next((name for test, name in _KINDS if test(address)), None)
    return None if kind is None else f"{kind} address {address}"


def numeric(host: str) -> IPAddress | None:
    """`host` as an address, when it is one in any form the system's resolver reads as one
    (dotted, decimal, hex, shortened: what the connection would use), without a lookup."""
    try:
        infos = socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    return ipaddress.ip_address(str(infos[0][4][0]))


def host_of(url: str) -> str:
    """The host a request to `url` connects to, as httpx (which sends it) parses it."""
    return httpx.URL(url).raw_host.decode("ascii")


def refusal(url: str, allowed: AllowList) -> str | None:
    """Why webhooks to `url` are refused before any lookup, or None. Names that resolve
    inside are caught when connecting."""
    try:
        host = plain_host(host_of(url))
    except (httpx.InvalidURL, UnicodeError):
        return "its host is no valid host name"
    if allowed.allows_name(host):
        return None
    if (address := numeric(host)) is not None:
        return address_refusal(address, allowed)
    return _name_refusal(host)


def _name_refusal(host: str) -> str | None:
    if not HOST_NAME.fullmatch(host):
        return f"{host!r} is no valid host name"
    if host in _METADATA_NAMES:
        return f"cloud metadata name {host}"
    if host in _LOCAL_NAMES or host.endswith(_LOCAL_SUFFIXES) or "." not in host:
        return f"local name {host}"
    return None


class Undeliverable(Exception):
    """A connection not made, with Tally's own words for why (shown in the delivery log)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _GuardedBackend(httpcore.SyncBackend):
    """httpcore's network backend, resolving and checking before connecting, then connecting
    to the checked address itself (TLS still verifies the URL's host name: httpcore hands
    it to `start_tls`)."""

    def __init__(self, allowed: AllowList) -> None:
        self.allowed = allowed

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise Undeliverable(f"could not resolve {host}") from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(str(i[4][0])) for i in infos))
        if not self.allowed.allows_name(host):
            for address in addresses:
                if reason := address_refusal(address, self.allowed):
                    raise Undeliverable(f"destination not allowed: {reason}")
        failure = "connection failed"
        for address in addresses:
            try:
                return super().connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectTimeout:
                failure = f"timed out after {timeout:g} s" if timeout else "timed out"
            except httpcore.ConnectError as exc:
                refused = isinstance(exc.__cause__, ConnectionRefusedError)
                failure = "connection refused" if refused else "connection failed"
        raise Undeliverable(failure)


def guarded_transport(allowed: AllowList, limits: httpx.Limits) -> httpx.HTTPTransport:
    """An httpx transport whose every connection goes through `_GuardedBackend`; no proxy
    from the environment (it would connect for us, unchecked)."""
    transport = httpx.HTTPTransport(trust_env=False, limits=limits)
    # httpx takes no network backend: its pool is replaced by one with ours (every webhook
    # test delivers through it, so an httpx change that breaks this shows at once).
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_GuardedBackend(allowed),
    )
    return transport
