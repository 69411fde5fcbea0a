"""Custom domains verified by a DNS TXT record, against a real DNS server on 127.0.0.1.

The server is dnslib's, started by the test on a free UDP port with a zone the test writes;
the project's resolver (dnspython, WEBSITES_DNS_RESOLVERS) asks it over the network.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from dnslib import QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSServer

from websites import services
from websites.models import Website
from websites.tests.conftest import confirmation_token, run_lane

API = "/api/websites/"
DOMAIN = "alice.example.org"
pytestmark = pytest.mark.django_db


class Zone(BaseResolver):
    """TXT records by name; every other name is NXDOMAIN."""

    def __init__(self) -> None:
        self.txt: dict[str, list[str]] = {}

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        if request.q.qtype == QTYPE.TXT and name in self.txt:
            for value in self.txt[name]:
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(value), ttl=60))
        elif name not in self.txt:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def zone(settings) -> Iterator[Zone]:
    zone = Zone()
    port = _free_udp_port()
    server = DNSServer(zone, port=port, address="127.0.0.1")
    server.start_thread()
    settings.WEBSITES_DNS_RESOLVERS = [f"127.0.0.1:{port}"]
    settings.WEBSITES_DNS_TIMEOUT = 2
    try:
        yield zone
    finally:
        server.stop()
        server.server.server_close()


@pytest.fixture
def custom_site(owner_api, user, plus_tier, mailoutbox, emulator) -> Website:
    user.tier = plus_tier
    user.save()
    created = owner_api.post(API, {"domain": DOMAIN})
    assert created.status_code == 202, created.content
    confirmed = owner_api.post(f"{API}{created.json()['id']}/confirm", {"token": confirmation_token(mailoutbox)})
    assert confirmed.status_code == 202
    return Website.objects.get(pk=created.json()["id"])


def test_a_custom_domain_waits_for_its_record_then_provisioning_starts(owner_api, custom_site, zone, emulator):
    assert custom_site.status == Website.Status.PENDING_VERIFICATION
    url = f"{API}{custom_site.pk}/verify-domain"

    missing = owner_api.post(url)
    zone.txt[f"_blahaj-verify.{DOMAIN}"] = ["some other value"]
    wrong = owner_api.post(url)
    zone.txt[f"_blahaj-verify.{DOMAIN}"] = ["some other value", custom_site.verification_token]
    found = owner_api.post(url)

    assert missing.status_code == wrong.status_code == 409
    assert missing.json()["verified"] is False and missing.json()["record"] == f"_blahaj-verify.{DOMAIN}"
    assert missing.json()["value"] == custom_site.verification_token
    assert found.status_code == 200 and found.json() == {"verified": True}
    run_lane()
    custom_site.refresh_from_db()
    assert custom_site.status == Website.Status.LIVE and custom_site.verified_at is not None
    assert DOMAIN in emulator.state()["domains"]


def test_nothing_is_provisioned_before_the_record_is_found(owner_api, custom_site, zone, emulator):
    run_lane()

    assert owner_api.post(f"{API}{custom_site.pk}/verify-domain").status_code == 409
    assert DOMAIN not in emulator.state()["domains"]


def test_the_periodic_check_tells_staff_when_a_verified_domain_stops_verifying(
    custom_site, zone, staff_notes, settings
):
    settings.DISCORD_WEBHOOK_URL = "https://discord.example/hook"
    zone.txt[f"_blahaj-verify.{DOMAIN}"] = [custom_site.verification_token]
    assert services.website_verify_domain(website=custom_site)
    run_lane()

    assert services.websites_recheck_domains() == []
    zone.txt.pop(f"_blahaj-verify.{DOMAIN}")
    lost = services.websites_recheck_domains()

    assert lost == [DOMAIN]
    custom_site.refresh_from_db()
    assert custom_site.verified_at is None and custom_site.status == Website.Status.LIVE
    assert staff_notes[-1][0] == "domain_unverified" and "alice.example.org" in staff_notes[-1][1]


def test_a_dead_resolver_means_not_verified_not_an_error(owner_api, custom_site, settings):
    settings.WEBSITES_DNS_RESOLVERS = [f"127.0.0.1:{_free_udp_port()}"]
    settings.WEBSITES_DNS_TIMEOUT = 1

    response = owner_api.post(f"{API}{custom_site.pk}/verify-domain")

    assert response.status_code == 409 and response.json()["verified"] is False
