"""Let's Encrypt as the emulator plays it: HTTP-01 validation needs the name to resolve to the
server, and failed validations are limited per hostname (docs/yunohost.md §10.1).

Off unless ``YUNOHOST_EMULATOR_DNS`` names a DNS server (``host:port``, e.g. a test's dnslib
server): then ``domain cert install`` asks it for the domain's A and AAAA records, as Let's
Encrypt's validation servers would, and the validation fails unless one of them is among
``YUNOHOST_EMULATOR_PUBLIC_IPS`` (comma-separated: the server's public addresses). Each failure
is counted per hostname (state key ``letsencrypt_failures``: name -> list of times); from the
fifth in the last hour, Let's Encrypt refuses new orders for that name.

The DNS client is a minimal one from the standard library (one UDP query per record type).
"""

from __future__ import annotations

import os
import time

# typing is only needed by type checkers; importing it would cost start-up time on every run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FAILURES_PER_HOUR = 5  # https://letsencrypt.org/docs/failed-validation-limit/
RATE_LIMITED = "too many failed authorizations recently: see https://letsencrypt.org/docs/failed-validation-limit/"
_TYPES = {"A": 1, "AAAA": 28}


def enabled() -> bool:
    return bool(os.environ.get("YUNOHOST_EMULATOR_DNS"))


def public_addresses() -> set[str]:
    return {a.strip() for a in os.environ.get("YUNOHOST_EMULATOR_PUBLIC_IPS", "").split(",") if a.strip()}


def _server() -> tuple[str, int]:
    host, _, port = os.environ["YUNOHOST_EMULATOR_DNS"].rpartition(":")
    return (host or "127.0.0.1").strip("[]"), int(port or 53)


def _query(name: str, rtype: str, timeout: float = 2.0) -> list[str]:
    import secrets  # modules used by one command are imported there: start-up stays cheap
    import socket
    import struct

    ident = secrets.randbelow(0x10000)
    question = b"".join(bytes([len(label)]) + label.encode("idna") for label in name.rstrip(".").split("."))
    packet = (
        struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0) + question + b"\x00" + struct.pack(">HH", _TYPES[rtype], 1)
    )
    host, port = _server()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(packet, (host, port))
        data, _ = sock.recvfrom(4096)
    answer_id, flags, qdcount, ancount = struct.unpack(">HHHH", data[:8])
    if answer_id != ident or flags & 0x000F:  # another answer, or NXDOMAIN/SERVFAIL...
        return []
    offset = 12
    for _ in range(qdcount):
        offset = _skip_name(data, offset) + 4
    found = []
    for _ in range(ancount):
        offset = _skip_name(data, offset)
        atype, _class, _ttl, length = struct.unpack(">HHIH", data[offset : offset + 10])
        offset += 10
        rdata = data[offset : offset + length]
        offset += length
        if atype == _TYPES["A"] and length == 4:
            found.append(socket.inet_ntop(socket.AF_INET, rdata))
        elif atype == _TYPES["AAAA"] and length == 16:
            found.append(socket.inet_ntop(socket.AF_INET6, rdata))
    return found


def _skip_name(data: bytes, offset: int) -> int:
    while True:
        length = data[offset]
        if length & 0xC0 == 0xC0:  # a compression pointer ends the name
            return offset + 2
        if length == 0:
            return offset + 1
        offset += 1 + length


def resolve(name: str) -> list[str]:
    import contextlib

    addresses: list[str] = []
    for rtype in _TYPES:
        with contextlib.suppress(OSError):  # no answer: nothing found
            addresses += _query(name, rtype)
    return addresses


def validate(state: dict[str, Any], domain: str) -> None:
    """Raise ValueError as acme_tiny would when the order or the HTTP-01 challenge fails."""
    now = time.time()
    failures = state.setdefault("letsencrypt_failures", {})
    recent = [t for t in failures.get(domain, []) if now - t < 3600]
    failures[domain] = recent
    if len(recent) >= FAILURES_PER_HOUR:
        raise ValueError(
            "Error creating new order:\nUrl: https://acme-v02.api.letsencrypt.org/acme/new-order\n"
            f"Response Code: 429\nResponse: {{'type': 'urn:ietf:params:acme:error:rateLimited', "
            f"'detail': '{RATE_LIMITED}', 'status': 429}}"
        )
    addresses = resolve(domain)
    if not set(addresses) & public_addresses():
        recent.append(now)
        detail = f"no valid A records found for {domain}" if not addresses else f"Invalid response from {domain}"
        raise ValueError(
            f"Challenge did not pass for {domain}: {{'status': 'invalid', 'challenges': [{{'type': 'http-01', "
            f"'status': 'invalid', 'error': {{'type': 'urn:ietf:params:acme:error:dns', 'detail': '{detail}'}}}}]}}"
        )
