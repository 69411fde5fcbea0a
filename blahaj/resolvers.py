"""A DNS resolver from a list of servers in settings (dnspython): the one way the apps build one.

`servers` entries are `host`, `host:port` or `[IPv6]:port`; an empty list means the system's
resolvers. Raises ValueError for an entry that is not a server address, and
`dns.resolver.NoResolverConfiguration` when the system has none.
"""

from __future__ import annotations

import dns.nameserver
import dns.resolver


def nameserver(value: str) -> dns.nameserver.Do53Nameserver:
    host, port = value, 53
    if value.startswith("["):  # [2001:db8::1]:5353
        host, _, rest = value[1:].partition("]")
        port = int(rest.lstrip(":") or 53)
    elif value.count(":") == 1:
        host, _, number = value.partition(":")
        port = int(number)
    return dns.nameserver.Do53Nameserver(host, port)


def resolver(servers: list[str]) -> dns.resolver.Resolver:
    built = dns.resolver.Resolver(configure=not servers)
    if servers:
        built.nameservers = [nameserver(server) for server in servers]
    return built
