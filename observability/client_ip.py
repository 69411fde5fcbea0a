"""Who is the client? The one answer every per-IP limit, lockout and log line uses.

`X-Forwarded-For` is a list anyone can start: only the entries our own proxies appended are
facts. TRUSTED_PROXIES says which those are:

- empty (the default): no proxy, `REMOTE_ADDR` is the client and the header is ignored;
- a count, e.g. `1`: that many proxies stand in front of us, each appending the address it
  saw; the client is the entry that many places from the right of `X-Forwarded-For, REMOTE_ADDR`;
- addresses or networks, e.g. `127.0.0.1,10.0.0.0/8`: walk the chain from the right while the
  hop is one of them; the first hop that is not is the client.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def parse_trusted_proxies(value: str) -> int | tuple[Network, ...]:
    """`TRUSTED_PROXIES` as a hop count or the trusted networks (an empty tuple: none)."""
    value = value.strip()
    if not value:
        return ()
    if value.isdigit():
        return int(value)
    try:
        return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in value.split(",") if item.strip())
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES must be a number of proxies or a comma-separated list of addresses "
            f"or networks, not {value!r}"
        ) from None


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _chain(request: HttpRequest) -> list[str]:
    """Every hop the request went through, the client first, our peer (REMOTE_ADDR) last."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    return [*hops, request.META.get("REMOTE_ADDR", "")]


def _trusted(hop: str, networks: tuple[Network, ...]) -> bool:
    address = _address(hop)
    return address is not None and any(address in network for network in networks)


def client_ip(request: HttpRequest) -> str:
    trusted = parse_trusted_proxies(str(getattr(settings, "TRUSTED_PROXIES", "") or ""))
    remote = request.META.get("REMOTE_ADDR", "")
    if not trusted:
        return remote
    chain = _chain(request)
    if isinstance(trusted, int):
        # Our proxies' entries are the last `trusted` ones; the one before is the client.
        index = max(0, len(chain) - 1 - trusted)
    else:
        index = len(chain) - 1
        while index > 0 and _trusted(chain[index], trusted):
            index -= 1
    # A hop that is not an address (garbage a client sent, or a proxy's "unknown") is never
    # taken: the nearest address to its right, which a trusted proxy wrote, stands for it.
    while index < len(chain) - 1 and _address(chain[index]) is None:
        index += 1
    return chain[index]
