"""The DNS look-up of a custom domain's verification record (dnspython, configured resolvers).

verify-domain looks in the request, so that its answer says what DNS holds now (docs/api.md
§3): each look-up lives at most WEBSITES_DNS_TIMEOUT seconds, one per name at a time, and at
most WEBSITES_DNS_CONCURRENCY at once across every server process (slots in the shared cache).
A request that finds no free slot is refused at once instead of waiting: resolvers that never
answer hold at most that many server workers, for at most that long each.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import dns.exception
import dns.resolver
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from blahaj import resolvers
from blahaj.errors import TooManyAttempts

logger = logging.getLogger(__name__)
# A slot outlives its look-up by this much, so that one whose process died frees itself.
_SLOT_MARGIN = 5


class VerificationRunning(TooManyAttempts):
    code = "verification_running"
    message = _("This domain is being checked right now. Try again in a few seconds.")  # a lazy translation


class VerificationBusy(TooManyAttempts):
    code = "verification_busy"
    message = _("Too many domains are being checked right now. Try again in a few seconds.")  # a lazy translation


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


@contextmanager
def _slot(key: str) -> Iterator[bool]:
    """Hold `key` in the shared cache if it is free (an atomic add); yields whether we hold it."""
    token = secrets.token_hex(8)
    held = cache.add(key, token, timeout=settings.WEBSITES_DNS_TIMEOUT + _SLOT_MARGIN)
    try:
        yield held
    finally:
        # Ours still: the look-up is bounded well within the slot's own expiry.
        if held and cache.get(key) == token:
            cache.delete(key)


def txt_values_now(name: str) -> list[str]:
    """`txt_values` for a request: refused at once (429, Retry-After) while `name` is being
    looked up already or every slot is taken."""
    retry_after = settings.WEBSITES_DNS_TIMEOUT
    # Hashed: a DNS name may be longer than a portable cache key.
    with _slot(f"websites:dns:name:{hashlib.sha256(name.encode()).hexdigest()}") as mine:
        if not mine:
            raise VerificationRunning(retry_after=retry_after)
        for number in range(settings.WEBSITES_DNS_CONCURRENCY):
            with _slot(f"websites:dns:slot:{number}") as held:
                if held:
                    return txt_values(name)
    raise VerificationBusy(retry_after=retry_after)
