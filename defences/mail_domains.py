"""Can a domain receive mail? Its MX hosts, or the domain itself when it has only an address
record (RFC 5321's implicit MX), looked up with dnspython within SIGNUP_DNS_TIMEOUT seconds.

Definite answers are cached for an hour; a failure (timeout, no server answering) raises
DnsUnavailable and is not cached, so the next sign-up asks again.
"""

from __future__ import annotations

import time

import dns.exception
import dns.resolver
from django.conf import settings
from django.core.cache import cache

from blahaj import resolvers

_CACHE_SECONDS = 3600


class DnsUnavailable(Exception):
    """The DNS could not say (timeout, SERVFAIL, no resolver): neither yes nor no."""


def _resolver() -> dns.resolver.Resolver:
    try:
        return resolvers.resolver(settings.SIGNUP_DNS_RESOLVERS)
    except dns.resolver.NoResolverConfiguration as error:
        raise DnsUnavailable("no resolver configured") from error
    except ValueError as error:  # a mistyped SIGNUP_DNS_RESOLVERS: flag, never refuse
        raise DnsUnavailable("bad SIGNUP_DNS_RESOLVERS") from error


def _ask(resolver: dns.resolver.Resolver, domain: str, rdtype: str, deadline: float) -> dns.resolver.Answer | None:
    """The answer; None for "no such record"; raises NXDOMAIN, or DnsUnavailable."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise DnsUnavailable("out of time")
    try:
        return resolver.resolve(domain, rdtype, lifetime=left, search=False)
    except dns.resolver.NoAnswer:
        return None
    except dns.resolver.NXDOMAIN:
        raise
    except dns.exception.DNSException as error:  # Timeout, NoNameservers, LifetimeTimeout, ...
        raise DnsUnavailable(type(error).__name__) from error


def _lookup(domain: str) -> tuple[str, ...]:
    resolver = _resolver()
    deadline = time.monotonic() + settings.SIGNUP_DNS_TIMEOUT
    try:
        answer = _ask(resolver, domain, "MX", deadline)
        if answer is not None:
            # A "null MX" (RFC 7505: exchange ".") says the domain takes no mail.
            hosts = {str(record.exchange).rstrip(".").lower() for record in answer}
            return tuple(sorted(host for host in hosts if host))
        for rdtype in ("A", "AAAA"):
            if _ask(resolver, domain, rdtype, deadline) is not None:
                return (domain,)
    except dns.resolver.NXDOMAIN:
        return ()
    return ()


def mail_hosts(domain: str) -> tuple[str, ...]:
    """The hosts that take `domain`'s mail; () when it takes none. Raises DnsUnavailable."""
    key = f"mail-hosts:{domain}"
    cached = cache.get(key)
    if cached is not None:
        return tuple(cached)
    hosts = _lookup(domain)
    cache.set(key, list(hosts), _CACHE_SECONDS)
    return hosts
