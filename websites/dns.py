"""The DNS look-up of a custom domain's verification record (dnspython, configured resolvers)."""

from __future__ import annotations

import logging

import dns.exception
import dns.resolver
from django.conf import settings

from blahaj import resolvers

logger = logging.getLogger(__name__)


def _resolver() -> dns.resolver.Resolver:
    resolver = resolvers.resolver(settings.WEBSITES_DNS_RESOLVERS)
    resolver.lifetime = settings.WEBSITES_DNS_TIMEOUT
    resolver.cache = None  # a record just added must be seen at once
    return resolver


def txt_values(name: str) -> list[str]:
    """The TXT strings published at `name`; none if it does not resolve (or DNS fails)."""
    try:
        answer = _resolver().resolve(name, "TXT", raise_on_no_answer=False)
    except (dns.exception.DNSException, OSError) as error:
        logger.info("TXT look-up of %s failed (%s).", name, type(error).__name__)
        return []
    values = []
    for record in answer.rrset or []:
        values.append(b"".join(record.strings).decode("utf-8", "replace"))
    return values
