"""Is a name ready for Let's Encrypt? Its A/AAAA records against the server's public addresses.

Let's Encrypt validates over HTTP-01 from the internet, so a name that does not resolve to the
YunoHost server fails, and each failure counts towards its limit of 5 failed validations per name
per hour (docs/yunohost.md §10.1). The cert step therefore asks DNS first (dnspython, through
the resolvers in WEBSITES_DNS_RESOLVERS) and asks YunoHost for a certificate only once the name
points at the server: YUNOHOST_PUBLIC_IPS, or else the addresses of the main domain.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field

import dns.exception
import dns.resolver
from django.conf import settings

from blahaj import resolvers

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DnsCheck:
    """What the name resolves to (``found``) and what it should (``expected``, the server's)."""

    domain: str
    found: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return bool(set(self.found) & set(self.expected))

    def records(self) -> list[dict[str, str]]:
        """The records to set at the name: one A per IPv4, one AAAA per IPv6 of the server."""
        return [
            {"type": "AAAA" if ipaddress.ip_address(ip).version == 6 else "A", "name": self.domain, "value": ip}
            for ip in self.expected
        ]

    def sentence(self) -> str:
        found = ", ".join(self.found) or "nothing"
        expected = ", ".join(self.expected) or "(unknown: the main domain does not resolve)"
        return (
            f"Waiting for the DNS of {self.domain} to point at the server: it resolves to {found}, not to {expected}."
        )


def _resolver() -> dns.resolver.Resolver:
    resolver = resolvers.resolver(settings.WEBSITES_DNS_RESOLVERS)
    resolver.lifetime = settings.WEBSITES_DNS_TIMEOUT
    resolver.cache = None  # a record just changed must be seen at once
    return resolver


def addresses(name: str) -> list[str]:
    """The A and AAAA values of `name`; none if it does not resolve (or DNS fails)."""
    resolver = _resolver()
    found: list[str] = []
    for rtype in ("A", "AAAA"):
        try:
            answer = resolver.resolve(name, rtype, raise_on_no_answer=False)
        except (dns.exception.DNSException, OSError) as error:
            logger.info("%s look-up of %s failed (%s).", rtype, name, type(error).__name__)
            continue
        found += [record.to_text() for record in answer.rrset or []]
    return found


def server_addresses() -> list[str]:
    return list(settings.YUNOHOST_PUBLIC_IPS) or addresses(settings.YUNOHOST_DOMAIN)


def check(domain: str, *, expected: list[str] | None = None) -> DnsCheck:
    """`domain` against `expected` (its server's addresses; default: the first server's)."""
    return DnsCheck(
        domain=domain, found=addresses(domain), expected=server_addresses() if expected is None else expected
    )
