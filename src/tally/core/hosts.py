"""Host names and the operator's allow list of internal webhook destinations
(`TALLY_WEBHOOK_ALLOWED_HOSTS`).

Here, below settings, because settings parse the list at start; the rules for which
destinations are refused are `notifications/destinations.py`'s."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*")


def plain_host(host: str) -> str:
    return host.lower().rstrip(".")


@dataclass(frozen=True)
class AllowList:
    """`TALLY_WEBHOOK_ALLOWED_HOSTS`: names (exact, any case) and networks allowed although
    internal."""

    names: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AllowList:
        names: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in text.split(","):
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            if not HOST_NAME.fullmatch(entry):
                raise ValueError(f"{raw.strip()!r} is no host name, IP address or CIDR network")
            names.add(entry)
        return cls(frozenset(names), tuple(networks))

    def allows_name(self, host: str) -> bool:
        return plain_host(host) in self.names

    def allows_address(self, address: IPAddress) -> bool:
        return any(address.version == n.version and address in n for n in self.networks)
